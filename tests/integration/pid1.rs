//! Case A22: carafe as PID 1 (a container without an init), run in a new PID namespace with
//! `unshare --pid --fork --mount-proc`. The kernel drops signals PID 1 has no handler for, so
//! this shows carafe's SIGTERM handling really runs there: an in-flight slow download drains,
//! then exit 0; an idle stop is fast.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Carafe, bin, site_copy};

const BIG: usize = 5 * 1024 * 1024;

/// carafe under `unshare`, and its pid as seen from here; `None` (skip) when namespaces are not
/// available (not root).
fn start_as_pid1(site: &std::path::Path, args: &[&str]) -> Option<(Carafe, u32)> {
    let server = Carafe::try_start_command(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", bin(), "serve", "--root"])
            .arg(site)
            .args(["--port", "0", "--tls", "off"])
            .args(args),
    );
    let server = match server {
        Ok(server) => server,
        Err(err) => {
            eprintln!("skipping: cannot run in a new PID namespace here: {err}");
            return None;
        }
    };
    let pid = child_of(server.pid()).expect("carafe under unshare");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(nspid.ends_with("\t1"), "carafe is PID 1 inside: {nspid}");
    Some((server, pid))
}

/// The pid of the (only) child of `parent`.
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == parent).then_some(pid)
    })
}

fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[tokio::test]
async fn as_pid1_sigterm_drains_a_slow_download_then_exits_zero() {
    let site = site_copy();
    let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    std::fs::write(site.path().join("static/big.bin"), data).unwrap();
    let Some((mut server, pid)) = start_as_pid1(site.path(), &[]) else {
        return;
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // A slow reader (about 1 MB/s) for the first half second.
    let mut received = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        received += tcp.read(&mut buf).await.unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    assert!(received < BIG, "still in flight when the signal comes");

    kill(pid, "TERM");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
            .await
            .expect("a new connection is refused at once");
    assert!(refused.is_err(), "no new connections while draining");

    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received += n;
    }
    assert!(
        received > BIG,
        "the whole response arrived (head + {BIG} bytes): {received}"
    );
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let stderr = server.stderr();
    let lines: Vec<_> = stderr
        .iter()
        .filter(|l| l.contains("shutting down"))
        .collect();
    assert_eq!(lines.len(), 1, "one line for the signal: {stderr:?}");
}

#[test]
fn as_pid1_an_idle_stop_is_fast() {
    let site = site_copy();
    let Some((mut server, pid)) = start_as_pid1(site.path(), &[]) else {
        return;
    };
    let start = Instant::now();
    kill(pid, "TERM");
    let status = server.wait_exit(Duration::from_secs(5));
    assert!(status.success(), "{status}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}
