//! Several certificates chosen by SNI, hot reload (file change and SIGHUP) with no failed
//! request, and `--redirect-http`: the real binary, real TLS clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Carafe, http_get, run, site_copy, wait_until};

/// `carafe cert new --out DIR --host NAME`; returns (cert, key, cert PEM).
fn make_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let out = dir.join(name);
    let status = run(
        &[
            "cert",
            "new",
            "--out",
            out.to_str().unwrap(),
            "--host",
            name,
            "--force",
        ],
        dir,
    );
    assert!(status.status.success(), "{status:?}");
    let (cert, key) = (out.join("server.crt"), out.join("server.key"));
    let pem = std::fs::read(&cert).unwrap();
    (cert, key, pem)
}

/// A client trusting only `pems`, reaching `host` at `addr`, opening a new connection (a new
/// handshake) for every request.
fn client_for(pems: &[&[u8]], host: &str, addr: SocketAddr) -> reqwest::Client {
    let certs = pems
        .iter()
        .map(|p| reqwest::Certificate::from_pem(p).unwrap());
    reqwest::Client::builder()
        .tls_certs_only(certs)
        .resolve(host, addr)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn get(client: &reqwest::Client, host: &str, addr: SocketAddr) -> reqwest::Result<u16> {
    let url = format!("https://{host}:{}/", addr.port());
    client.get(url).send().await.map(|r| r.status().as_u16())
}

fn serve_pairs(site: &Path, pairs: &[(&Path, &Path)], extra: &[&str]) -> Carafe {
    let mut args: Vec<&str> = Vec::new();
    for (cert, key) in pairs {
        args.extend([
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]);
    }
    args.extend_from_slice(extra);
    Carafe::start(site, &args)
}

/// Replaces `dst` with `src` the way deploy tools do: write a temporary file, rename over.
fn replace(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("tmp");
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

#[tokio::test]
async fn each_sni_name_gets_its_own_certificate_and_others_the_default() {
    let site = site_copy();
    let keys = tempfile::tempdir().unwrap();
    let (a_cert, a_key, a_pem) = make_cert(keys.path(), "a.test");
    let (b_cert, b_key, b_pem) = make_cert(keys.path(), "b.test");
    let server = serve_pairs(site.path(), &[(&a_cert, &a_key), (&b_cert, &b_key)], &[]);
    let out = server.stdout().join("\n");
    assert!(out.contains("(supplied, the default) for a.test"), "{out}");
    assert!(out.contains("(supplied, by SNI) for b.test"), "{out}");

    // Each client trusts only its own name's certificate, so a wrong pick fails the handshake.
    let a = client_for(&[&a_pem], "a.test", server.addr);
    let b = client_for(&[&b_pem], "b.test", server.addr);
    assert_eq!(get(&a, "a.test", server.addr).await.unwrap(), 200);
    assert_eq!(get(&b, "b.test", server.addr).await.unwrap(), 200);
    // A name no certificate covers gets the default (a.test), so a client trusting b fails.
    let other = client_for(&[&b_pem], "other.test", server.addr);
    let err = get(&other, "other.test", server.addr).await.unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");

    // openssl shows the same: the SNI picks the subject.
    if crate::harness::have("openssl") {
        for (name, want) in [("b.test", "b.test"), ("a.test", "a.test")] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "openssl s_client -connect 127.0.0.1:{} -servername {name} </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName",
                    server.addr.port()
                ))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&format!("DNS:{want}")), "{name}: {text}");
        }
    }
}

#[tokio::test]
async fn a_replaced_certificate_is_served_with_no_failed_request() {
    let site = site_copy();
    let keys = tempfile::tempdir().unwrap();
    let (cert, key, old_pem) = make_cert(keys.path(), "app.test");
    let new_dir = tempfile::tempdir().unwrap();
    let (new_cert, new_key, new_pem) = make_cert(new_dir.path(), "app.test");
    let server = serve_pairs(site.path(), &[(&cert, &key)], &[]);
    let addr = server.addr;

    // Clients trusting either certificate hammer the server (a new handshake per request)
    // while the files are replaced; not one request may fail.
    let both = client_for(&[&old_pem, &new_pem], "app.test", addr);
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut loops = Vec::new();
    for _ in 0..4 {
        let (client, ok, failed) = (both.clone(), ok.clone(), failed.clone());
        loops.push(tokio::spawn(async move {
            let end = Instant::now() + Duration::from_secs(3);
            while Instant::now() < end {
                match get(&client, "app.test", addr).await {
                    Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    replace(&new_cert, &cert);
    replace(&new_key, &key);
    for l in loops {
        l.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed requests");
    assert!(ok.load(Ordering::Relaxed) > 20, "{ok:?} requests");

    // New handshakes get the new certificate: a client trusting only it succeeds.
    let new_only = client_for(&[&new_pem], "app.test", addr);
    assert_eq!(get(&new_only, "app.test", addr).await.unwrap(), 200);
    assert!(
        server
            .stderr()
            .iter()
            .any(|l| l.contains("certificate reloaded") && l.contains("FileChange")),
        "{:?}",
        server.stderr()
    );
}

#[tokio::test]
async fn a_broken_replacement_keeps_the_old_certificate_and_sighup_reloads() {
    let site = site_copy();
    let keys = tempfile::tempdir().unwrap();
    let (cert, key, pem) = make_cert(keys.path(), "app.test");
    let server = serve_pairs(site.path(), &[(&cert, &key)], &[]);
    let client = client_for(&[&pem], "app.test", server.addr);

    std::fs::write(&cert, "not a certificate\n").unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || server.stderr().iter().any(|l| l
            .contains(
                "certificate reload failed, still serving the previous certificate"
            )
            && l.contains("no certificate in"))),
        "{:?}",
        server.stderr()
    );
    assert_eq!(get(&client, "app.test", server.addr).await.unwrap(), 200);

    // Fixed by hand (no watcher event needed) and reloaded with SIGHUP.
    let fresh = tempfile::tempdir().unwrap();
    let (new_cert, new_key, new_pem) = make_cert(fresh.path(), "app.test");
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    server.signal("HUP");
    assert!(
        wait_until(Duration::from_secs(5), || {
            server
                .stderr()
                .iter()
                .any(|l| l.contains("certificate reloaded") && l.contains("Hangup"))
        }),
        "{:?}",
        server.stderr()
    );
    let new_only = client_for(&[&new_pem], "app.test", server.addr);
    assert_eq!(get(&new_only, "app.test", server.addr).await.unwrap(), 200);
}

#[tokio::test]
async fn a_certificate_directory_deleted_and_made_anew_is_picked_up_without_sighup() {
    let site = site_copy();
    let keys = tempfile::tempdir().unwrap();
    let (cert, key, _) = make_cert(keys.path(), "app.test");
    let server = serve_pairs(site.path(), &[(&cert, &key)], &[]);
    let dir = cert.parent().unwrap().to_path_buf();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || server
            .stderr()
            .iter()
            .any(|l| l.contains("certificate reload failed"))),
        "{:?}",
        server.stderr()
    );
    // The directory comes back with a new certificate: the retry loads it, no signal needed.
    let (_, _, new_pem) = make_cert(keys.path(), "app.test");
    assert!(
        wait_until(Duration::from_secs(8), || server
            .stderr()
            .iter()
            .any(|l| l.contains("certificate reloaded"))),
        "{:?}",
        server.stderr()
    );
    let new_only = client_for(&[&new_pem], "app.test", server.addr);
    assert_eq!(get(&new_only, "app.test", server.addr).await.unwrap(), 200);
    // And the new directory is watched: a later replacement is seen too.
    let fresh = tempfile::tempdir().unwrap();
    let (newer_cert, newer_key, newer_pem) = make_cert(fresh.path(), "app.test");
    replace(&newer_cert, &cert);
    replace(&newer_key, &key);
    let newer_only = client_for(&[&newer_pem], "app.test", server.addr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(&newer_only, "app.test", server.addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the replacement was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn redirect_http_sends_every_request_to_https() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--tls", "gen", "--redirect-http", "0"]);
    let line = server
        .stdout()
        .into_iter()
        .find(|l| l.starts_with("carafe: redirecting http://"))
        .expect("a redirect line");
    let plain: SocketAddr = line
        .trim_start_matches("carafe: redirecting http://")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let resp = http_get(plain, "/signup?next=%2F", &[("Host", "localhost:80")]).await;
    assert_eq!(resp.status, 308);
    assert_eq!(
        resp.header("location"),
        Some(format!("https://localhost:{}/signup?next=%2F", server.addr.port()).as_str())
    );
    // The HTTPS side still serves, and the dev client follows the redirect there.
    let pem = std::fs::read(site.path().join("certs/carafe-dev.crt")).unwrap();
    let follow = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    // The port in the URL is used; `resolve` only maps `localhost` to 127.0.0.1.
    let resp = follow
        .get(format!("http://localhost:{}/signup", plain.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.url().scheme(), "https");
    assert_eq!(resp.url().port(), Some(server.addr.port()));
    assert_eq!(resp.status(), 200);

    // A form POST is redirected with 308, which keeps the method and body (301 would not).
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_follow
        .post(format!("http://127.0.0.1:{}/signup", plain.port()))
        .body("name=Ana")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 308);
    assert_eq!(
        resp.headers()["location"],
        format!("https://127.0.0.1:{}/signup", server.addr.port()).as_str()
    );
}
