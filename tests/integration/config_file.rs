//! carafe.toml end to end: `[routes]`, `[mounts]`, `[headers]`, `[server]`, and
//! `carafe serve --check`.

use reqwest::StatusCode;

use crate::harness::{Carafe, dev_client, run, site_copy};

const CONFIG: &str = r#"
[server]
port = 1  # overridden by --port 0 in the harness

[mounts]
"/js" = "static/js"

[routes]
"/join" = "signup.html"

[headers]
"/**" = { X-Frame-Options = "DENY" }
"/static/**" = { Cache-Control = "public, max-age=60" }

[context]
site_name = "Demo"
"#;

#[tokio::test]
async fn routes_mounts_and_headers_from_the_file_apply() {
    let site = site_copy();
    std::fs::write(site.path().join("carafe.toml"), CONFIG).unwrap();
    let server = Carafe::start(site.path(), &[]);
    assert!(
        server
            .stdout()
            .iter()
            .any(|l| l.starts_with("carafe: config ") && l.ends_with("carafe.toml")),
        "{:?}",
        server.stdout()
    );
    let client = dev_client(site.path(), &server, false);
    let resp = client.get(server.url("/join")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(resp.text().await.unwrap().contains("id=\"signup-form\""));

    let resp = client
        .get(server.url("/js/signup.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let resp = client
        .get(server.url("/static/js/signup.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=60");
}

#[test]
fn check_prints_effective_settings_and_exits_zero() {
    let site = site_copy();
    std::fs::write(site.path().join("carafe.toml"), CONFIG).unwrap();
    let root = site.path().to_str().unwrap();
    let out = run(
        &["serve", "--root", root, "--check", "--port", "9443"],
        site.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "port = 9443  # flag or CARAFE_* variable",
        "bind = \"127.0.0.1\"  # default",
        "mode = \"gen\"  # default",
        "\"/join\" = \"signup.html\"",
        "\"/js\" = \"static/js\"",
        "# config keys: [\"site_name\"]",
        "# certificates: ",
        "carafe: check ok",
    ] {
        assert!(stdout.contains(want), "{want:?} not in:\n{stdout}");
    }
    assert!(!stdout.contains("listening on"));
    // Nothing written: no certificate made by a check.
    assert!(!site.path().join("certs/carafe-dev.crt").exists());

    // A broken template fails the check with the file and line.
    std::fs::write(site.path().join("templates/bad.html"), "\n{{ x }\n").unwrap();
    let out = run(&["serve", "--root", root, "--check"], site.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("templates/bad.html line 2"), "{err}");
}
