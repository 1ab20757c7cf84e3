//! Limits that keep carafe up (DESIGN §8, case A08): keep-alive and header timers, slowloris,
//! silent TLS clients, connection floods. Timeouts are set small so the tests stay fast; other
//! clients must keep being served, and file descriptors must return to baseline.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Carafe, dev_client, http_get, read_response, site_copy, wait_until};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn fds(server: &Carafe) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn local(server: &Carafe) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], server.addr.port()))
}

/// Whether the server closes `tcp` within `limit` (reads EOF or a reset).
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// A request on a kept-alive connection gets 200.
async fn request_on(tcp: &mut TcpStream) -> Option<u16> {
    tcp.write_all(GET).await.ok()?;
    tokio::time::timeout(Duration::from_secs(5), read_response(tcp))
        .await
        .ok()?
        .map(|r| r.status)
}

#[tokio::test]
async fn idle_keep_alive_outlives_the_header_timeout_then_closes() {
    let site = site_copy();
    let server = Carafe::start(
        site.path(),
        &["--tls", "off", "--header-timeout", "1", "--keep-alive", "4"],
    );
    let mut tcp = TcpStream::connect(local(&server)).await.unwrap();
    assert_eq!(request_on(&mut tcp).await, Some(200));
    // Idle for more than the header timeout: hyper's own timer would have closed it here.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(request_on(&mut tcp).await, Some(200));
    let start = Instant::now();
    assert!(closed_within(&mut tcp, Duration::from_secs(8)).await);
    let idle = start.elapsed();
    assert!(
        idle > Duration::from_secs(3) && idle < Duration::from_secs(6),
        "closed after {idle:?}"
    );
}

#[tokio::test]
async fn a_head_begun_on_an_idle_connection_gets_the_header_timeout() {
    let site = site_copy();
    let server = Carafe::start(
        site.path(),
        &[
            "--tls",
            "off",
            "--header-timeout",
            "1",
            "--keep-alive",
            "30",
        ],
    );
    let mut tcp = TcpStream::connect(local(&server)).await.unwrap();
    assert_eq!(request_on(&mut tcp).await, Some(200));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Half a head after the idle pause, then nothing: cut off after the 1 s header timeout
    // (plus the 1 s close grace), not after the 30 s keep-alive.
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: loc").await.unwrap();
    let start = Instant::now();
    assert!(closed_within(&mut tcp, Duration::from_secs(10)).await);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
}

/// A client that stops reading a large download is closed after the send timeout, and the
/// file and socket it held are released.
#[tokio::test]
async fn a_client_that_stops_reading_is_closed_after_the_send_timeout() {
    let site = site_copy();
    std::fs::write(
        site.path().join("static/big.bin"),
        vec![7u8; 32 * 1024 * 1024],
    )
    .unwrap();
    let server = Carafe::start(
        site.path(),
        &[
            "--tls",
            "off",
            "--send-timeout",
            "2",
            "--header-timeout",
            "1",
        ],
    );
    http_get(server.addr, "/", &[]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = fds(&server);

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(local(&server)).await.unwrap();
    stalled
        .write_all(b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 100];
    stalled.read_exact(&mut first).await.unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"));
    assert!(
        fds(&server) > baseline,
        "the download holds a socket and the file"
    );
    // Others are served meanwhile, and the stalled one is dropped by the server.
    assert_eq!(http_get(server.addr, "/", &[]).await.status, 200);
    assert!(
        wait_until(Duration::from_secs(10), || fds(&server) <= baseline),
        "fds {} > baseline {baseline}: the stalled download was not closed",
        fds(&server)
    );
    drop(stalled);
}

#[tokio::test]
async fn router_mode_keeps_an_idle_connection_for_35_seconds() {
    let site = site_copy();
    let server = Carafe::start_exact(site.path(), &[], &[("PORT", "0")]);
    let mut tcp = TcpStream::connect(local(&server)).await.unwrap();
    assert_eq!(request_on(&mut tcp).await, Some(200));
    // Longer than hyper's default 30 s header timer, shorter than Heroku's 90 s pool.
    tokio::time::sleep(Duration::from_secs(35)).await;
    assert_eq!(request_on(&mut tcp).await, Some(200));
}

#[tokio::test]
async fn slowloris_heads_are_cut_off_and_others_are_served() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--tls", "off", "--header-timeout", "1"]);
    http_get(server.addr, "/", &[]).await;
    let baseline = fds(&server);

    let mut partial = Vec::new();
    for _ in 0..20 {
        let mut tcp = TcpStream::connect(local(&server)).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-A: ")
            .await
            .unwrap();
        partial.push(tcp);
    }
    // One that keeps trickling: the bound counts from the first byte, not the last.
    let mut trickle = TcpStream::connect(local(&server)).await.unwrap();
    trickle.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let trickler = tokio::spawn(async move {
        let start = Instant::now();
        while trickle.write_all(b"X").await.is_ok() && start.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        start.elapsed()
    });

    let start = Instant::now();
    let resp = http_get(server.addr, "/", &[]).await;
    assert_eq!(resp.status, 200);
    assert!(start.elapsed() < Duration::from_secs(1));

    for tcp in &mut partial {
        assert!(closed_within(tcp, Duration::from_secs(4)).await);
    }
    let trickled = trickler.await.unwrap();
    assert!(
        trickled < Duration::from_secs(5),
        "trickled for {trickled:?}"
    );
    drop(partial);
    assert!(
        wait_until(Duration::from_secs(5), || fds(&server) <= baseline),
        "fds {} > baseline {baseline}",
        fds(&server)
    );
}

#[tokio::test]
async fn silent_tls_clients_are_closed_after_the_handshake_timeout() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--tls-handshake-timeout", "1"]);
    let client = dev_client(site.path(), &server, true);
    client.get(server.url("/")).send().await.unwrap();
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = fds(&server);

    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(TcpStream::connect(local(&server)).await.unwrap());
    }
    let mut partial = TcpStream::connect(local(&server)).await.unwrap();
    // The first 20 bytes of a ClientHello.
    partial
        .write_all(&[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 1, 2, 3, 4, 5, 6,
            7, 8,
        ])
        .await
        .unwrap();
    silent.push(partial);

    let client = dev_client(site.path(), &server, true);
    for _ in 0..3 {
        let start = Instant::now();
        let resp = client.get(server.url("/")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
    drop(client);
    for tcp in &mut silent {
        assert!(closed_within(tcp, Duration::from_secs(4)).await);
    }
    drop(silent);
    assert!(
        wait_until(Duration::from_secs(5), || fds(&server) <= baseline),
        "fds {} > baseline {baseline}",
        fds(&server)
    );
}

#[tokio::test]
async fn a_connection_flood_is_held_to_max_connections() {
    let site = site_copy();
    let server = Carafe::start(
        site.path(),
        &[
            "--tls",
            "off",
            "--max-connections",
            "10",
            "--header-timeout",
            "1",
        ],
    );
    http_get(server.addr, "/", &[]).await;
    let baseline = fds(&server);

    let mut flood = Vec::new();
    for _ in 0..30 {
        flood.push(TcpStream::connect(local(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open = fds(&server);
    assert!(
        open <= baseline + 10,
        "{open} fds with 10 connections allowed (baseline {baseline})"
    );
    // A real client waits in the backlog until idle flooders time out, then is served.
    let start = Instant::now();
    let resp = http_get(server.addr, "/", &[]).await;
    assert_eq!(resp.status, 200);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    drop(flood);
    assert!(
        wait_until(Duration::from_secs(10), || fds(&server) <= baseline),
        "fds {} > baseline {baseline}",
        fds(&server)
    );
}
