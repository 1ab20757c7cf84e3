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
        .map_err(|source| match source.kind() {
            io::ErrorKind::AddrInUse => BindError::InUse(addr),
            io::ErrorKind::PermissionDenied => BindError::Permission(addr),
            io::ErrorKind::AddrNotAvailable => BindError::NotLocal(addr),
            _ => BindError::Other {
                addr,
                cause: source,
            },
        })
}
