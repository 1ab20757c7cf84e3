//! systemd integration, without libsystemd: socket activation (`LISTEN_FDS`, `LISTEN_PID`;
//! the first passed socket, a TCP listener, is served — with TLS on top when configured) and
//! readiness notification (`READY=1` once listening, `STOPPING=1` when a drain starts) as
//! datagrams to `$NOTIFY_SOCKET` (sd_notify(3)).
//!
//! With socket activation systemd owns the port: carafe can serve 443 without root, and a
//! restart never refuses a connection (they wait in the socket's backlog meanwhile).

use std::io;

/// Takes the first socket systemd passed (`LISTEN_FDS` ≥ 1 for this process), if any. Call it
/// once, before starting threads: it clears `LISTEN_FDS`/`LISTEN_PID` so children do not
/// inherit them.
pub fn activated_listener() -> io::Result<Option<std::net::TcpListener>> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(None);
    }
    let listener = fds.take_tcp_listener(0).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!(
                "the socket systemd passed (LISTEN_FDS) is not a TCP listener ({err}); use ListenStream= with a port in the .socket unit"
            ),
        )
    })?;
    if let Some(listener) = &listener {
        listener.set_nonblocking(true)?;
    }
    Ok(listener)
}

/// Tells systemd the service is ready (`Type=notify`); does nothing without `$NOTIFY_SOCKET`.
pub fn notify_ready() {
    notify("READY=1\nSTATUS=serving");
}

/// Tells systemd the service is stopping; does nothing without `$NOTIFY_SOCKET`.
pub fn notify_stopping() {
    notify("STOPPING=1\nSTATUS=draining in-flight requests");
}

/// Sends `state` to `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket). Failures are
/// logged, never fatal: a missing supervisor must not stop the site.
#[cfg(unix)]
fn notify(state: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(err) = send(&target, state.as_bytes()) {
        tracing::warn!(socket = ?target, cause = %err, "cannot notify systemd");
    }
}

#[cfg(unix)]
fn send(target: &std::ffi::OsStr, message: &[u8]) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;

    let socket = UnixDatagram::unbound()?;
    let bytes = target.as_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            return socket.send_to_addr(message, &addr).map(drop);
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return Err(io::Error::other("abstract sockets exist only on Linux"));
        }
    }
    socket.send_to(message, target).map(drop)
}

#[cfg(not(unix))]
fn notify(_state: &str) {}
