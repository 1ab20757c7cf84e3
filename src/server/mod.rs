//! The listener: accept TCP, hand each connection to its own task (TLS handshake under a
//! timeout there, never in the accept loop), and serve it with hyper-util's auto builder so
//! HTTP/1.1 and HTTP/2 (by ALPN, or prior knowledge on plain TCP) both work.
//!
//! Shutdown is graceful: when the `shutdown` future completes, the listening socket is closed
//! (new connections are refused), every open connection is told to finish its in-flight
//! requests and close, and [`serve`] returns once they have — or after `drain_timeout`.

pub mod bind;
pub mod connection;
pub mod shutdown;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use connection::{Protocol, serve_connection};

pub use bind::{BindError, bind};
pub use shutdown::shutdown_signal;

/// Longest time a client may take to send a request's headers (slowloris guard, DESIGN §8).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line + headers) accepted; larger gets 431 (DESIGN §8).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most header fields in one HTTP/1.1 request (hyper's default is 100; browsers with many
/// cookies and proxies adding headers can exceed that). The byte limit is [`MAX_HEADER_BYTES`].
pub const MAX_HEADER_COUNT: usize = 256;
/// HTTP/2 streams a client may have open at once on one connection (advertised in SETTINGS).
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 128;
/// Default upper bound on draining in-flight requests at shutdown (under Heroku's 30 s).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(25);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// How a request reached carafe, available to handlers as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// The client's address (the TCP peer).
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub secure: bool,
}

/// Serves `app` on `listener` until `shutdown` completes, then drains for up to
/// `drain_timeout`. With `tls`, every connection is TLS.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    shutdown: impl Future<Output = ()>,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let builder = connection_builder();
    let connections = TaskTracker::new();
    let (drain, draining) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(cause = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let (builder, app, draining) = (builder.clone(), app.clone(), draining.clone());
        match &acceptor {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let Some(stream) = crate::tls::accept::handshake(acceptor, tcp, peer).await
                    else {
                        return;
                    };
                    let protocol = match stream.get_ref().1.alpn_protocol() {
                        Some(b"h2") => Protocol::Http2,
                        _ => Protocol::Http1,
                    };
                    let transport = Transport { peer, secure: true };
                    serve_connection(builder, app, stream, transport, protocol, draining).await;
                });
            }
            None => {
                let transport = Transport {
                    peer,
                    secure: false,
                };
                connections.spawn(serve_connection(
                    builder,
                    app,
                    tcp,
                    transport,
                    Protocol::Sniff,
                    draining,
                ));
            }
        }
    }

    drop(listener);
    connections.close();
    let open = connections.len();
    if open > 0 {
        tracing::info!(connections = open, timeout = ?drain_timeout, "draining in-flight requests");
    }
    let _ = drain.send(true);
    if tokio::time::timeout(drain_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(timeout = ?drain_timeout, "drain timed out; closing remaining connections");
    }
    Ok(())
}

/// [`serve`] over plain HTTP with the default drain timeout: the one-liner for library users
/// behind a TLS-terminating proxy.
pub async fn serve_plain(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(listener, None, app, shutdown, DEFAULT_DRAIN_TIMEOUT).await
}

fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADER_COUNT)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
        // The same 64 KiB head limit as HTTP/1.1 (h2's default is 16 KiB, so a large Cookie
        // that works over HTTP/1.1 would fail over HTTP/2).
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    builder
}
