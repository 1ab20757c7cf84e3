//! Logs: the access log on stdout (one line per request, text or JSON), diagnostics on stderr,
//! no colours when not a terminal, `RUST_LOG` filtering.

use std::time::Duration;

use crate::harness::{Carafe, dev_client, http_get, site_copy, wait_until};

fn access_lines(server: &Carafe) -> Vec<String> {
    server
        .stdout()
        .into_iter()
        .filter(|l| !l.starts_with("carafe"))
        .collect()
}

#[tokio::test]
async fn json_access_log_has_every_field_including_tls_version() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--log-format", "json"]);
    let resp = dev_client(site.path(), &server, true)
        .get(server.url("/signup?x=1"))
        .header("X-Request-Id", "abcdefghijklmnopqrstuvwxyz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(wait_until(Duration::from_secs(5), || !access_lines(
        &server
    )
    .is_empty()));
    let lines = access_lines(&server);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let entry: serde_json::Value = serde_json::from_str(&lines[0]).expect("a JSON line");
    assert!(entry["timestamp"].is_string(), "{entry}");
    assert_eq!(entry["client"], "127.0.0.1");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/signup?x=1");
    assert_eq!(entry["status"], 200);
    assert!(entry["bytes"].as_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(entry["duration_ms"].is_string());
    assert_eq!(entry["request_id"], "abcdefghijklmnopqrstuvwxyz");
    assert_eq!(entry["protocol"], "HTTP/1.1");
    assert_eq!(entry["tls"], "TLSv1.3");
}

#[tokio::test]
async fn text_access_log_on_stdout_diagnostics_on_stderr_no_colours() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--tls", "off", "--log-format", "text"]);
    http_get(server.addr, "/missing", &[]).await;
    assert!(wait_until(Duration::from_secs(5), || !access_lines(
        &server
    )
    .is_empty()));
    let line = &access_lines(&server)[0];
    for field in [
        "client=127.0.0.1",
        "method=GET",
        "path=/missing",
        "status=404",
        "protocol=HTTP/1.1",
        "tls=-",
        "request_id=",
        "duration_ms=",
        "bytes=",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
    server.signal("TERM");
    assert!(wait_until(Duration::from_secs(5), || server
        .stderr()
        .iter()
        .any(|l| l.contains("shutting down"))));
    let everything = [server.stdout(), server.stderr()].concat();
    assert!(
        everything.iter().all(|l| !l.contains('\u{1b}')),
        "ANSI colour codes off a TTY"
    );
    assert!(server.stdout().iter().all(|l| !l.contains("shutting down")));
}

#[tokio::test]
async fn rust_log_filters_the_access_log() {
    let site = site_copy();
    let server = Carafe::start_with_env(site.path(), &["--tls", "off"], &[("RUST_LOG", "warn")]);
    http_get(server.addr, "/", &[]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        access_lines(&server).is_empty(),
        "{:?}",
        access_lines(&server)
    );
}
