//! systemd: readiness (`READY=1`, `STOPPING=1` to a test `$NOTIFY_SOCKET`) and socket
//! activation through `systemd-socket-activate`, with TLS on the passed socket.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Carafe, bin, dev_client, have, site_copy};

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("a notification in time");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn notifies_ready_once_listening_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let site = site_copy();
    let mut server = Carafe::start_with_env(
        site.path(),
        &["--tls", "off"],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    assert!(receive(&socket).starts_with("READY=1"));
    server.signal("TERM");
    assert!(receive(&socket).starts_with("STOPPING=1"));
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

#[tokio::test]
async fn serves_tls_on_a_socket_from_systemd_socket_activate() {
    if !have("systemd-socket-activate") {
        eprintln!("skipping: systemd-socket-activate not installed (apt-get install systemd)");
        return;
    }
    let site = site_copy();
    // systemd-socket-activate cannot bind port 0; it fails cleanly on a taken port, so try a
    // few (the binder itself reports the conflict: no check-then-bind race).
    let base = 20_000 + (std::process::id() % 20_000) as u16;
    let server = (0..20)
        .find_map(|i| {
            let listen = format!("127.0.0.1:{}", base + i * 7);
            // systemd-socket-activate starts carafe on the first connection to the socket.
            let knock = listen.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    std::thread::sleep(Duration::from_millis(100));
                    if std::net::TcpStream::connect(&knock).is_ok() {
                        return;
                    }
                }
            });
            Carafe::try_start_command(
                Command::new("systemd-socket-activate")
                    .args(["-l", &listen, bin(), "serve", "--root"])
                    .arg(site.path())
                    .args(["--tls", "gen", "--port", "1"]),
            )
            .ok()
        })
        .expect("systemd-socket-activate found a free port");
    assert!(
        server
            .stdout()
            .iter()
            .any(|l| l.contains("socket from systemd (LISTEN_FDS)")),
        "{:?}",
        server.stdout()
    );
    assert_eq!(server.scheme, "https");
    let resp = dev_client(site.path(), &server, false)
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
