//! `carafe new DIR` makes a site that `carafe serve` serves at once.

use reqwest::StatusCode;

use crate::harness::{Carafe, dev_client, run, stderr_of};

#[tokio::test]
async fn new_site_serves_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mysite");
    let out = run(&["new", dir.to_str().unwrap()], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("carafe: next: carafe serve --root"),
        "{stdout}"
    );

    let server = Carafe::start(&dir, &[]);
    let client = dev_client(&dir, &server, false);
    for (path, want) in [
        ("/", "<h1>My site</h1>"),
        ("/about", "<h1>About</h1>"),
        ("/nope", "Page not found"),
    ] {
        let resp = client.get(server.url(path)).send().await.unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert!(body.contains(want), "{path}: {body}");
        assert!(body.contains("Served by carafe."), "{path}: config.footer");
        assert_eq!(status == StatusCode::NOT_FOUND, path == "/nope");
    }
    for path in ["/static/css/site.css", "/static/js/site.js"] {
        let resp = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    assert!(dir.join("certs/carafe-dev.crt").exists());
    let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(gitignore.contains("certs/"));

    let again = run(&["new", dir.to_str().unwrap()], tmp.path());
    assert_eq!(again.status.code(), Some(1));
    let err = stderr_of(&again);
    assert!(
        err.starts_with("carafe: error: ") && err.contains("is not empty"),
        "{err}"
    );
}
