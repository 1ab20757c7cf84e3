//! Binding the listening socket, with errors that say what to do.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Why the port could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another process has the port.
    #[error(
        "cannot listen on {0}: the address is already in use; stop the other server or pick another port with --port (0 picks a free one)"
    )]
    InUse(SocketAddr),
    /// A privileged port without the privilege.
    #[error(
        "cannot listen on {0}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE, so use a port such as 8443"
    )]
    Permission(SocketAddr),
    /// The address is not on this machine.
    #[error(
        "cannot listen on {0}: no interface on this machine has that address; use 127.0.0.1, 0.0.0.0 or ::"
    )]
    NotLocal(SocketAddr),
    /// Anything else.
    #[error("cannot listen on {addr}: {cause}")]
    Other {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        cause: io::Error,
    },
}

/// Binds `addr` for TCP.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| explain(addr, source))
}

/// Binds `addr` for TCP before any runtime exists, ready for
/// [`TcpListener::from_std`]. The binary binds first and loads the site after: connections
/// that arrive meanwhile wait in the kernel's backlog instead of being refused, so a client
/// polling for the server gets its first answer as soon as the site is loaded.
pub fn bind_std(addr: SocketAddr) -> Result<std::net::TcpListener, BindError> {
    let listener = std::net::TcpListener::bind(addr).map_err(|source| explain(addr, source))?;
    listener
        .set_nonblocking(true)
        .map_err(|cause| BindError::Other { addr, cause })?;
    Ok(listener)
}

fn explain(addr: SocketAddr, source: io::Error) -> BindError {
    match source.kind() {
        io::ErrorKind::AddrInUse => BindError::InUse(addr),
        io::ErrorKind::PermissionDenied => BindError::Permission(addr),
        io::ErrorKind::AddrNotAvailable => BindError::NotLocal(addr),
        _ => BindError::Other {
            addr,
            cause: source,
        },
    }
}
