//! What a person sees: headless Chromium loads `/signup` over HTTPS, trusting the development
//! certificate only through its SPKI pin, checks that the CSS applied and `signup.js` ran
//! (submitting the empty form shows the messages), and saves screenshots. In development mode,
//! it watches a page change by itself as its template is edited on disk (live reload),
//! including through a template error and its fix.
//!
//! Skipped when Chromium or the script's node modules are missing, unless
//! `CARAFE_REQUIRE_BROWSER=1` (set by CI) makes that a failure.

use std::process::Command;

use base64::Engine as _;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::harness::{Carafe, have, repo, site_copy};

fn spki_pin(pem: &[u8]) -> String {
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem)
        .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.public_key().raw);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Chromium's path when it, node and the driver are installed; `None` (skip) otherwise, unless
/// `CARAFE_REQUIRE_BROWSER` makes that a failure.
fn browser_ready(script_dir: &std::path::Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = std::path::Path::new(&chromium).exists()
        && script_dir.join("node_modules/playwright-core").exists()
        && have("node");
    if !ready {
        assert!(
            std::env::var_os("CARAFE_REQUIRE_BROWSER").is_none(),
            "CARAFE_REQUIRE_BROWSER is set but chromium, node or tests/browser/node_modules is missing"
        );
        eprintln!("skipping: chromium, node or tests/browser/node_modules missing");
        return None;
    }
    Some(chromium)
}

#[test]
fn chromium_renders_the_styled_signup_page_and_runs_its_script() {
    let script_dir = repo().join("tests/browser");
    let Some(chromium) = browser_ready(&script_dir) else {
        return;
    };
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let pem = std::fs::read(site.path().join("certs/carafe-dev.crt")).unwrap();
    let shots = repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(script_dir.join("signup.mjs"))
        .args(["--url", &server.url("/signup")])
        .args(["--spki", &spki_pin(&pem)])
        .arg("--screenshot")
        .arg(shots.join("signup.png"))
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"js\":\"ready\""), "{stdout}");
    assert!(shots.join("signup.png").exists());
}

#[test]
fn chromium_page_reloads_itself_when_its_template_changes_in_dev_mode() {
    let script_dir = repo().join("tests/browser");
    let Some(chromium) = browser_ready(&script_dir) else {
        return;
    };
    let site = site_copy();
    let template = site.path().join("templates/live.html");
    std::fs::write(
        &template,
        "<!doctype html>\n<html><body><p id=\"marker\">before</p></body></html>\n",
    )
    .unwrap();
    let server = Carafe::start(site.path(), &["--dev"]);
    let pem = std::fs::read(site.path().join("certs/carafe-dev.crt")).unwrap();
    let shots = repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(script_dir.join("live_reload.mjs"))
        .args(["--url", &server.url("/live")])
        .args(["--spki", &spki_pin(&pem)])
        .arg("--file")
        .arg(&template)
        .arg("--screenshot")
        .arg(shots.join("dev-error.png"))
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "live reload check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"fixed\":{\"ok\":true"), "{stdout}");
}
