//! Graceful shutdown: SIGTERM/SIGINT stop accepting, let in-flight responses finish, exit 0;
//! a second signal exits at once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::{Carafe, dev_client, site_copy};

const BIG: usize = 16 * 1024 * 1024;

fn site_with_big_file() -> tempfile::TempDir {
    let site = site_copy();
    let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    std::fs::write(site.path().join("static/big.bin"), data).unwrap();
    site
}

#[tokio::test]
async fn sigterm_lets_a_slow_download_finish_then_exits_zero() {
    let site = site_with_big_file();
    let mut server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let mut resp = client
        .get(server.url("/static/big.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut received = resp.chunk().await.unwrap().map_or(0, |c| c.len());

    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused while the download drains.
    let refused = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(server.addr),
    )
    .await
    .expect("connect attempt ends quickly");
    assert!(refused.is_err(), "listener still accepting during drain");

    while let Some(chunk) = resp.chunk().await.unwrap() {
        received += chunk.len();
        // A slow reader: the response is still being written when the signal arrives.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(received, BIG, "the in-flight response completed");
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(
        server
            .stderr()
            .iter()
            .any(|l| l.contains("shutting down") && l.contains("SIGTERM"))
    );
}

#[test]
fn idle_sigint_exits_zero_quickly() {
    let site = site_copy();
    let mut server = Carafe::start(site.path(), &[]);
    let start = Instant::now();
    server.signal("INT");
    let status = server.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "{status}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn second_signal_exits_at_once() {
    let site = site_with_big_file();
    let mut server = Carafe::start(site.path(), &["--shutdown-timeout", "60"]);
    let client = dev_client(site.path(), &server, true);
    let mut resp = client
        .get(server.url("/static/big.bin"))
        .send()
        .await
        .unwrap();
    resp.chunk().await.unwrap();
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(5));
    assert!(
        !status.success(),
        "forced exit is not a clean one: {status}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}
