//! `carafe cert new`: files, modes, refusal to overwrite, and the result served and verified.

use std::process::Command;

use reqwest::StatusCode;

use crate::harness::{Carafe, client, have, run, site_copy, stderr_of};

#[tokio::test]
async fn cert_new_writes_a_pair_that_serves() {
    let site = site_copy();
    let out = run(
        &[
            "cert",
            "new",
            "--out",
            "tls",
            "--host",
            "localhost",
            "--host",
            "dev.example.test",
        ],
        site.path(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("wrote tls/server.crt"), "{stdout}");
    assert!(
        stdout.contains("names: localhost, dev.example.test"),
        "{stdout}"
    );
    let (crt, key) = (
        site.path().join("tls/server.crt"),
        site.path().join("tls/server.key"),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let server = Carafe::start(
        site.path(),
        &[
            "--cert",
            crt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    assert!(server.stdout().iter().any(|l| l.contains("(supplied)")));
    let pem = std::fs::read(&crt).unwrap();
    let c = client(&pem, server.addr, false);
    let resp = c.get(server.url("/signup")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // And by the other name in the certificate.
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .resolve("dev.example.test", server.addr)
        .build()
        .unwrap();
    let url = format!("https://dev.example.test:{}/", server.addr.port());
    assert_eq!(c.get(url).send().await.unwrap().status(), StatusCode::OK);
}

#[test]
fn cert_new_refuses_to_overwrite_without_force() {
    let site = site_copy();
    let first = run(&["cert", "new"], site.path());
    assert!(first.status.success(), "{}", stderr_of(&first));
    let key = site.path().join("certs/server.key");
    let before = std::fs::read(&key).unwrap();

    let again = run(&["cert", "new"], site.path());
    assert_eq!(again.status.code(), Some(1));
    let err = stderr_of(&again);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already exists; pass --force"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), before, "key untouched");

    let forced = run(&["cert", "new", "--force"], site.path());
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    assert_ne!(std::fs::read(&key).unwrap(), before, "key replaced");
}

#[test]
fn cert_new_refuses_validity_browsers_reject() {
    let site = site_copy();
    let out = run(&["cert", "new", "--days", "3650"], site.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("more than 825 days"),
        "{}",
        stderr_of(&out)
    );
    assert!(!site.path().join("certs/server.key").exists());
}

#[test]
fn openssl_strictly_verifies_generated_certificates() {
    if !have("openssl") {
        eprintln!("skipping: openssl not installed");
        return;
    }
    let site = site_copy();
    let out = run(
        &["cert", "new", "--host", "localhost", "--host", "127.0.0.1"],
        site.path(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let crt = site.path().join("certs/server.crt");
    for extra in [
        vec![],
        vec!["-verify_hostname", "localhost"],
        vec!["-verify_ip", "127.0.0.1"],
    ] {
        let verify = Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
            .arg(&crt)
            .args(&extra)
            .arg(&crt)
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{extra:?}: {}{}",
            String::from_utf8_lossy(&verify.stdout),
            stderr_of(&verify)
        );
    }
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&crt)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(
        text.contains("DNS:localhost, IP Address:127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");
}
