//! The local CA: `cert ca` makes a constrained root + intermediate once; `serve --tls ca` serves
//! a leaf that clients trusting only the root accept (reqwest, `openssl verify`, `s_client`);
//! the intermediate cannot sign for public names; `cert trust` puts the root into an NSS
//! database that headless Chromium then trusts, and `cert untrust` takes it out again.
//!
//! Every test has its own `CARAFE_CA_DIR`, `HOME` and `CARAFE_TRUST_DIR`, so nothing outside
//! its temporary directory is touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::StatusCode;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::harness::{Carafe, bin, client, have, site_copy, stderr_of};

/// `carafe ARGS...` in `cwd` with `env` added.
fn carafe(args: &[&str], cwd: &Path, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(cwd).env_remove("PORT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run carafe")
}

/// Whether `program` is installed; when not, the test is skipped, except under CI.
fn tool(program: &str) -> bool {
    if have(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI installs {program}; it is missing"
    );
    eprintln!("skipping: {program} is not installed");
    false
}

/// A fresh CA in `tmp/ca`.
fn make_ca(tmp: &Path) -> PathBuf {
    let dir = tmp.join("ca");
    let out = carafe(&["cert", "ca"], tmp, &[("CARAFE_CA_DIR", &dir)]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    dir
}

fn der_of(pem: &[u8]) -> Vec<Vec<u8>> {
    CertificateDer::pem_slice_iter(pem)
        .map(|c| c.expect("pem").to_vec())
        .collect()
}

fn sha256_colon(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("subjectKeyIdentifier")
}

fn aki(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .expect("authorityKeyIdentifier")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn cert_ca_makes_a_constrained_root_and_intermediate_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let out = carafe(&["cert", "ca"], tmp.path(), &[("CARAFE_CA_DIR", &dir)]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("created the local CA in {}", dir.display())),
        "{stdout}"
    );
    assert!(stdout.contains("next: carafe cert trust"), "{stdout}");

    let root_pem = std::fs::read(dir.join("root.crt")).unwrap();
    let root_der = der_of(&root_pem).remove(0);
    assert!(
        stdout.contains(&format!("  sha256:         {}", sha256_colon(&root_der))),
        "{stdout}"
    );
    let (_, root) = X509Certificate::from_der(&root_der).unwrap();
    let bc = root.basic_constraints().unwrap().expect("basicConstraints");
    assert!(bc.critical && bc.value.ca, "root is CA:TRUE, critical");
    assert_eq!(bc.value.path_len_constraint, Some(1));
    let ku = root.key_usage().unwrap().expect("keyUsage");
    assert!(ku.critical && ku.value.key_cert_sign() && ku.value.crl_sign());
    assert!(!ku.value.digital_signature());
    let years = (root.validity().not_after.timestamp() - root.validity().not_before.timestamp())
        / (365 * 86_400);
    assert_eq!(years, 10);
    let user_host = root
        .subject()
        .iter_organizational_unit()
        .next()
        .and_then(|a| a.as_str().ok())
        .expect("OU")
        .to_string();
    assert!(user_host.contains('@'), "{user_host}");
    assert_eq!(
        root.subject()
            .iter_organization()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "carafe local CA"
    );

    let inter_der = der_of(&std::fs::read(dir.join("intermediate.crt")).unwrap()).remove(0);
    let (_, inter) = X509Certificate::from_der(&inter_der).unwrap();
    let bc = inter
        .basic_constraints()
        .unwrap()
        .expect("basicConstraints");
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    assert!(inter.key_usage().unwrap().unwrap().value.key_cert_sign());
    assert_eq!(aki(&inter), ski(&root));
    let days =
        (inter.validity().not_after.timestamp() - inter.validity().not_before.timestamp()) / 86_400;
    assert!(days <= 825, "{days}");
    let nc = inter.name_constraints().unwrap().expect("nameConstraints");
    assert!(nc.critical);
    let permitted = nc.value.permitted_subtrees.as_ref().expect("permitted");
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for subtree in permitted {
        match &subtree.base {
            GeneralName::DNSName(d) => dns.push(d.to_string()),
            GeneralName::IPAddress(b) => ips.push(b.to_vec()),
            other => panic!("unexpected subtree {other:?}"),
        }
    }
    for want in ["localhost", "test"] {
        assert!(dns.contains(&want.to_string()), "{dns:?}");
    }
    assert!(ips.contains(&vec![127, 0, 0, 0, 255, 0, 0, 0]), "{ips:?}");
    assert!(
        ips.contains(&vec![192, 168, 0, 0, 255, 255, 0, 0]),
        "{ips:?}"
    );
    assert!(nc.value.excluded_subtrees.is_none());

    let files = [
        "root.crt",
        "root.key",
        "intermediate.crt",
        "intermediate.key",
    ];
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("root.key")), 0o600);
        assert_eq!(mode(&dir.join("intermediate.key")), 0o600);
    }
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let again = carafe(&["cert", "ca"], tmp.path(), &[("CARAFE_CA_DIR", &dir)]);
    assert!(again.status.success(), "{}", stderr_of(&again));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains("it exists; nothing was changed"),
        "{stdout}"
    );
    for (file, old) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(dir.join(file)).unwrap(),
            old,
            "{file} changed"
        );
    }

    // A key others can read is pointed out (and left alone).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.join("root.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let shown = carafe(&["cert", "ca"], tmp.path(), &[("CARAFE_CA_DIR", &dir)]);
        let stdout = String::from_utf8_lossy(&shown.stdout);
        assert!(
            stdout.contains(&format!(
                "warning: {} has mode 0644, so other users can read it; run: chmod 600 {}",
                key.display(),
                key.display()
            )),
            "{stdout}"
        );
        assert_eq!(mode(&key), 0o644);
    }

    // Half a CA is never completed or overwritten.
    std::fs::remove_file(dir.join("intermediate.key")).unwrap();
    let broken = carafe(&["cert", "ca"], tmp.path(), &[("CARAFE_CA_DIR", &dir)]);
    assert!(!broken.status.success());
    let err = stderr_of(&broken);
    assert!(
        err.contains("is incomplete (intermediate.key missing); carafe never overwrites CA files"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("root.key")).unwrap(), before[1]);
}

#[tokio::test]
async fn serve_tls_ca_chain_verifies_against_the_root_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let site = site_copy();
    let ca_env = ca.to_str().unwrap();
    let server = Carafe::start_with_env(
        site.path(),
        &["--tls", "ca", "--host", "app.test"],
        &[("CARAFE_CA_DIR", ca_env)],
    );
    assert!(
        server
            .stdout()
            .iter()
            .any(|l| l.contains("carafe-ca-leaf.crt (created) for localhost, 127.0.0.1, ::1")),
        "{:?}",
        server.stdout()
    );
    let root_pem = std::fs::read(ca.join("root.crt")).unwrap();
    let c = client(&root_pem, server.addr, false);
    let resp = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Serve your Jinja site"));

    let chain_path = site.path().join("certs/carafe-ca-leaf.crt");
    let chain = der_of(&std::fs::read(&chain_path).unwrap());
    assert_eq!(chain.len(), 2, "leaf + intermediate");
    let inter_der = der_of(&std::fs::read(ca.join("intermediate.crt")).unwrap()).remove(0);
    assert_eq!(chain[1], inter_der);
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    let (_, inter) = X509Certificate::from_der(&inter_der).unwrap();
    assert_eq!(aki(&leaf), ski(&inter));
    assert!(!ski(&leaf).is_empty());
    assert!(!leaf.is_ca());
    assert!(
        leaf.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
    assert!(leaf.key_usage().unwrap().unwrap().value.digital_signature());
    let days =
        (leaf.validity().not_after.timestamp() - leaf.validity().not_before.timestamp()) / 86_400;
    assert!(days <= 366, "{days}");
    #[cfg(unix)]
    assert_eq!(mode(&site.path().join("certs/carafe-ca-leaf.key")), 0o600);

    if tool("openssl") {
        let leaf_pem = tmp.path().join("leaf.pem");
        let first = String::from_utf8(std::fs::read(&chain_path).unwrap()).unwrap();
        let end = first.find("-----END CERTIFICATE-----").unwrap() + 26;
        std::fs::write(&leaf_pem, &first[..end]).unwrap();
        let verify = Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslserver"])
            .args(["-verify_hostname", "app.test", "-CAfile"])
            .arg(ca.join("root.crt"))
            .arg("-untrusted")
            .arg(ca.join("intermediate.crt"))
            .arg(&leaf_pem)
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}{}",
            String::from_utf8_lossy(&verify.stdout),
            stderr_of(&verify)
        );

        let s_client = Command::new("openssl")
            .args(["s_client", "-connect", &server.addr.to_string()])
            .args([
                "-servername",
                "localhost",
                "-verify_return_error",
                "-showcerts",
            ])
            .arg("-CAfile")
            .arg(ca.join("root.crt"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&s_client.stdout);
        assert!(s_client.status.success(), "{text}{}", stderr_of(&s_client));
        assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
        assert_eq!(
            text.matches("-----BEGIN CERTIFICATE-----").count(),
            2,
            "{text}"
        );
    }
    drop(server);

    // Restarted: the same leaf is reused.
    let again = Carafe::start_with_env(
        site.path(),
        &["--tls", "ca", "--host", "app.test"],
        &[("CARAFE_CA_DIR", ca_env)],
    );
    assert!(
        again.stdout().iter().any(|l| l.contains("(reused)")),
        "{:?}",
        again.stdout()
    );
    assert_eq!(der_of(&std::fs::read(&chain_path).unwrap())[0], chain[0]);
}

#[test]
fn serve_tls_ca_without_a_ca_or_for_a_public_name_fails_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let site = site_copy();
    let missing = tmp.path().join("no-ca");
    let out = carafe(
        &[
            "serve",
            "--root",
            site.path().to_str().unwrap(),
            "--tls",
            "ca",
            "--port",
            "0",
        ],
        tmp.path(),
        &[("CARAFE_CA_DIR", &missing)],
    );
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.lines().any(|l| l
            == format!(
                "carafe: error: no local CA in {}; create one with `carafe cert ca`",
                missing.display()
            )),
        "{err}"
    );
    assert!(!site.path().join("certs/carafe-ca-leaf.crt").exists());

    let ca = make_ca(tmp.path());
    let root = site.path().to_str().unwrap();
    let check = carafe(
        &["serve", "--root", root, "--tls", "ca", "--check"],
        tmp.path(),
        &[("CARAFE_CA_DIR", &ca)],
    );
    assert!(check.status.success(), "{}", stderr_of(&check));
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(stdout.contains("mode = \"ca\""), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "# certificates: {} will be issued by the local CA in {} at start",
            site.path().join("certs/carafe-ca-leaf.crt").display(),
            ca.display()
        )),
        "{stdout}"
    );
    assert!(
        !site.path().join("certs").exists(),
        "--check writes nothing"
    );
    let out = carafe(
        &[
            "serve",
            "--root",
            root,
            "--tls",
            "ca",
            "--host",
            "example.com",
            "--port",
            "0",
        ],
        tmp.path(),
        &[("CARAFE_CA_DIR", &ca)],
    );
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("the local CA only signs local names") && err.contains("not example.com"),
        "{err}"
    );
}

#[test]
fn cert_new_ca_writes_a_chain_openssl_accepts() {
    if !tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let out = carafe(
        &[
            "cert",
            "new",
            "--ca",
            "--out",
            "tls",
            "--host",
            "shop.localhost",
        ],
        tmp.path(),
        &[("CARAFE_CA_DIR", &ca)],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("signed by: carafe intermediate CA"),
        "{stdout}"
    );
    let chain = der_of(&std::fs::read(tmp.path().join("tls/server.crt")).unwrap());
    assert_eq!(chain.len(), 2);
    let verify = Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-verify_hostname",
            "shop.localhost",
        ])
        .arg("-CAfile")
        .arg(ca.join("root.crt"))
        .arg("-untrusted")
        .arg(tmp.path().join("tls/server.crt"))
        .arg(tmp.path().join("tls/server.crt"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", stderr_of(&verify));
}

/// A leaf for `host` signed with the intermediate's key from the CA directory, bypassing
/// carafe's own check, written to `out`; returns the leaf's key (PEM).
fn forge_leaf(ca: &Path, host: &str, out: &Path) -> String {
    let inter_pem = std::fs::read_to_string(ca.join("intermediate.crt")).unwrap();
    let key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca.join("intermediate.key")).unwrap())
            .unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&inter_pem, key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(30);
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, host);
    params.distinguished_name = dn;
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&leaf_key, &issuer).unwrap();
    std::fs::write(out, cert.pem()).unwrap();
    leaf_key.serialize_pem()
}

#[test]
fn the_intermediate_cannot_sign_for_a_public_name() {
    if !tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let verify = |leaf: &Path| {
        Command::new("openssl")
            .args(["verify", "-x509_strict", "-CAfile"])
            .arg(ca.join("root.crt"))
            .arg("-untrusted")
            .arg(ca.join("intermediate.crt"))
            .arg(leaf)
            .output()
            .unwrap()
    };
    // The same forging path for an allowed name verifies, so the failure below is the
    // constraint and nothing else.
    let allowed = tmp.path().join("allowed.pem");
    let _ = forge_leaf(&ca, "app.test", &allowed);
    let ok = verify(&allowed);
    assert!(ok.status.success(), "{}", stderr_of(&ok));

    let forged = tmp.path().join("example.pem");
    let _ = forge_leaf(&ca, "example.com", &forged);
    let bad = verify(&forged);
    assert!(!bad.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        stderr_of(&bad)
    );
    assert!(text.contains("permitted subtree violation"), "{text}");
}

#[tokio::test]
async fn rustls_clients_trusting_the_root_reject_a_forged_public_name() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let root_pem = std::fs::read(ca.join("root.crt")).unwrap();
    let intermediate = std::fs::read_to_string(ca.join("intermediate.crt")).unwrap();
    for (host, allowed) in [("app.test", true), ("example.com", false)] {
        let leaf = tmp.path().join(format!("{host}.pem"));
        let key_pem = forge_leaf(&ca, host, &leaf);
        let mut chain = std::fs::read_to_string(&leaf).unwrap();
        chain.push_str(&intermediate);
        let (chain_path, key_path) = (
            tmp.path().join(format!("{host}.chain")),
            tmp.path().join(format!("{host}.key")),
        );
        std::fs::write(&chain_path, chain).unwrap();
        std::fs::write(&key_path, key_pem).unwrap();
        let site = site_copy();
        let server = Carafe::start(
            site.path(),
            &[
                "--cert",
                chain_path.to_str().unwrap(),
                "--key",
                key_path.to_str().unwrap(),
            ],
        );
        let c = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&root_pem).unwrap()])
            .resolve(host, server.addr)
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap();
        let url = format!("https://{host}:{}/", server.addr.port());
        let result = c.get(&url).send().await;
        if allowed {
            assert_eq!(result.unwrap().status(), StatusCode::OK);
        } else {
            let err = result.expect_err("a forged public name must be rejected");
            let chain: Vec<String> =
                std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
                    .map(ToString::to_string)
                    .collect();
            assert!(
                chain.iter().any(|m| m.contains("NameConstraintViolation")
                    || m.contains("name constraint")),
                "{chain:?}"
            );
        }
    }
}

/// Chromium's path, or `None` (skip) when it is missing, unless `CARAFE_REQUIRE_BROWSER` makes
/// that a failure (as in browser.rs).
fn chromium() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if Path::new(&chromium).exists() {
        return Some(chromium);
    }
    assert!(
        std::env::var_os("CARAFE_REQUIRE_BROWSER").is_none(),
        "CARAFE_REQUIRE_BROWSER is set but {chromium} is missing"
    );
    eprintln!("skipping: {chromium} is missing");
    None
}

/// Headless Chromium with `HOME=home` (so it reads `home/.pki/nssdb`) and a fresh profile,
/// loading `url`: the page's DOM on stdout, errors on stderr.
fn chromium_dump(chromium: &str, home: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    // Files, not pipes: nothing reads while Chromium runs, so a full pipe would stall it.
    let (out_path, err_path) = (
        profile.path().join("dom.html"),
        profile.path().join("log.txt"),
    );
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
        ])
        .args(["--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--dump-dom"])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(extra)
        .arg(url)
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn chromium");
    let exited = crate::harness::wait_until(std::time::Duration::from_secs(60), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let _ = child.wait();
    assert!(exited, "chromium did not finish loading {url} in 60 s");
    (
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

fn certutil_lists(db: &Path) -> String {
    let out = Command::new("certutil")
        .args(["-L", "-d"])
        .arg(format!("sql:{}", db.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn trust_puts_the_root_into_nss_so_chromium_loads_the_page_and_untrust_removes_it() {
    let Some(chromium) = chromium() else {
        return;
    };
    if !tool("certutil") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let home = tmp.path().join("home");
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let made = Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", db.display()))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr_of(&made));
    let anchors = tmp.path().join("anchors");
    std::fs::create_dir(&anchors).unwrap();
    let empty = PathBuf::new();
    let env: [(&str, &Path); 5] = [
        ("CARAFE_CA_DIR", &ca),
        ("HOME", &home),
        ("CARAFE_TRUST_DIR", &anchors),
        ("CARAFE_TRUST_UPDATE", &empty),
        ("CARAFE_TRUST_PLATFORM", Path::new("linux")),
    ];

    let out = carafe(&["cert", "trust"], tmp.path(), &env);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let root_der = der_of(&std::fs::read(ca.join("root.crt")).unwrap()).remove(0);
    let id = {
        let (_, root) = X509Certificate::from_der(&root_der).unwrap();
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, root.public_key().raw);
        d.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let nick = format!("carafe local CA {id}");
    assert!(
        stdout.contains(&format!("NSS {}: added {nick}", db.display())),
        "{stdout}"
    );
    let anchor = anchors.join(format!("carafe-{id}.crt"));
    assert!(
        stdout.contains(&format!(
            "system store {}: added {}",
            anchors.display(),
            anchor.display()
        )),
        "{stdout}"
    );
    assert_eq!(der_of(&std::fs::read(&anchor).unwrap()), vec![root_der]);
    let listed = certutil_lists(&db);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&nick))
        .unwrap_or_else(|| panic!("{nick} not in {listed}"));
    assert_eq!(line[nick.len()..].trim(), "C,,");
    // A second run changes nothing.
    let again = carafe(&["cert", "trust"], tmp.path(), &env);
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(&format!("already trusts {nick}")),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    let site = site_copy();
    let server = Carafe::start_with_env(
        site.path(),
        &["--tls", "ca"],
        &[("CARAFE_CA_DIR", ca.to_str().unwrap())],
    );
    let (dom, errors) = chromium_dump(&chromium, &home, &server.url("/"), &[]);
    assert!(
        dom.contains("Serve your Jinja site over HTTPS in one command."),
        "chromium did not render the page: {dom}\n{errors}"
    );
    assert!(!errors.contains("ERR_CERT"), "{errors}");

    let out = carafe(&["cert", "untrust"], tmp.path(), &env);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("NSS {}: removed {nick}", db.display())),
        "{stdout}"
    );
    assert!(!anchor.exists());
    assert!(!certutil_lists(&db).contains(&nick));
    // And Chromium no longer trusts the server.
    let (dom, errors) = chromium_dump(&chromium, &home, &server.url("/"), &[]);
    assert!(!dom.contains("Serve your Jinja site"), "{dom}");
    assert!(errors.contains("ERR_CERT_AUTHORITY_INVALID"), "{errors}");
}

#[test]
fn chromium_rejects_a_public_name_forged_with_the_intermediate() {
    let Some(chromium) = chromium() else {
        return;
    };
    if !tool("certutil") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let home = tmp.path().join("home");
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let nss = |args: &[&str]| {
        let out = Command::new("certutil")
            .args(args)
            .arg("-d")
            .arg(format!("sql:{}", db.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    };
    nss(&["-N", "--empty-password"]);
    let root = ca.join("root.crt");
    nss(&[
        "-A",
        "-t",
        "C,,",
        "-n",
        "carafe test root",
        "-i",
        root.to_str().unwrap(),
    ]);

    // A leaf signed by the intermediate, served with its chain. For the allowed name it loads
    // (so the forging path is sound); for example.com Chromium refuses it (its verifier reports
    // a name-constraint violation as ERR_CERT_INVALID).
    for (host, allowed) in [("app.test", true), ("example.com", false)] {
        let leaf = tmp.path().join(format!("{host}.pem"));
        let key_pem = forge_leaf(&ca, host, &leaf);
        let chain = tmp.path().join(format!("{host}.chain.pem"));
        let mut pem = std::fs::read_to_string(&leaf).unwrap();
        pem.push_str(&std::fs::read_to_string(ca.join("intermediate.crt")).unwrap());
        std::fs::write(&chain, pem).unwrap();
        let key = tmp.path().join(format!("{host}.key"));
        std::fs::write(&key, key_pem).unwrap();
        let site = site_copy();
        let server = Carafe::start(
            site.path(),
            &[
                "--cert",
                chain.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
            ],
        );
        let port = server.addr.port();
        let rule = format!("--host-resolver-rules=MAP {host} 127.0.0.1:{port}");
        let url = format!("https://{host}:{port}/");
        let (dom, errors) = chromium_dump(&chromium, &home, &url, &[&rule]);
        if allowed {
            assert!(
                dom.contains("Serve your Jinja site"),
                "{host}: {dom}\n{errors}"
            );
        } else {
            assert!(!dom.contains("Serve your Jinja site"), "{host}: {dom}");
            assert!(errors.contains("net::ERR_CERT_INVALID"), "{host}: {errors}");
        }
    }
}

#[test]
fn trust_fails_in_one_line_when_a_store_cannot_be_updated_and_prints_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-ca");
    let out = carafe(
        &["cert", "trust"],
        tmp.path(),
        &[("CARAFE_CA_DIR", &missing)],
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr_of(&out),
        format!(
            "carafe: error: no local CA in {}; create one with `carafe cert ca`\n",
            missing.display()
        )
    );

    let ca = make_ca(tmp.path());
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let update = PathBuf::from("false");
    let out = carafe(
        &["cert", "trust"],
        tmp.path(),
        &[
            ("CARAFE_CA_DIR", &ca),
            ("HOME", &home),
            ("CARAFE_TRUST_DIR", tmp.path()),
            ("CARAFE_TRUST_UPDATE", &update),
            ("CARAFE_TRUST_PLATFORM", Path::new("wsl")),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("carafe: error: 1 trust store(s) not updated: added ")
            && err.contains("but `false` failed"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\n    sudo false\n"), "{stdout}");
    assert!(
        stdout.contains("NSS (Chromium, Firefox): skipped: no NSS database under"),
        "{stdout}"
    );
    // Under WSL, the Windows side is printed for the user to run.
    assert!(
        stdout.contains("Windows certificate store: to do by hand:")
            && stdout.contains("    certutil.exe -addstore -f ROOT "),
        "{stdout}"
    );
}

#[tokio::test]
async fn cert_ca_renews_an_ending_intermediate_and_the_same_root_still_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = make_ca(tmp.path());
    let root_before = std::fs::read(ca.join("root.crt")).unwrap();
    // An intermediate ending in 5 days, signed by the CA's root (as an old CA would have).
    let root_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca.join("root.key")).unwrap()).unwrap();
    let root_issuer =
        rcgen::Issuer::from_ca_cert_pem(&String::from_utf8(root_before.clone()).unwrap(), root_key)
            .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "carafe local CA");
    dn.push(rcgen::DnType::CommonName, "old intermediate");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    params.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(820);
    params.not_after = now + time::Duration::days(5);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &root_issuer).unwrap();
    std::fs::write(ca.join("intermediate.crt"), cert.pem()).unwrap();
    std::fs::write(ca.join("intermediate.key"), key.serialize_pem()).unwrap();

    let out = carafe(&["cert", "ca"], tmp.path(), &[("CARAFE_CA_DIR", &ca)]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let until = (now + time::Duration::days(5)).date();
    let kept = ca.join(format!("intermediate-until-{until}.crt"));
    assert!(
        stdout.starts_with(&format!(
            "renewed the intermediate (it expires on {until}, in 4 days); the old one is kept as {}",
            kept.display()
        )),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), cert.pem());
    assert_eq!(std::fs::read(ca.join("root.crt")).unwrap(), root_before);
    let inter = der_of(&std::fs::read(ca.join("intermediate.crt")).unwrap()).remove(0);
    let (_, inter) = X509Certificate::from_der(&inter).unwrap();
    let days = (inter.validity().not_after.timestamp() - now.unix_timestamp()) / 86_400;
    assert!((824..=825).contains(&days), "{days}");
    assert!(inter.name_constraints().unwrap().is_some());

    let site = site_copy();
    let server = Carafe::start_with_env(
        site.path(),
        &["--tls", "ca"],
        &[("CARAFE_CA_DIR", ca.to_str().unwrap())],
    );
    let c = client(&root_before, server.addr, false);
    let resp = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
