//! The listener: accept TCP (at most [`ServerOptions::max_connections`] at once: the accept
//! loop waits for a free slot, leaving the rest in the kernel's backlog), hand each connection
//! to its own task (TLS handshake under a timeout there, never in the accept loop), and serve it
//! with hyper-util's auto builder so HTTP/1.1 and HTTP/2 (by ALPN, or prior knowledge on plain
//! TCP) both work. Idle and slow-header connections are closed by [`keep_alive`]'s timers.
//!
//! Shutdown is graceful: when the `shutdown` future completes, the listening socket is closed
//! (new connections are refused), every open connection is told to finish its in-flight
//! requests and close, and [`serve`] returns once they have — or after the drain timeout.

pub mod bind;
pub mod coalesce;
pub mod connection;
pub mod keep_alive;
pub mod shutdown;
pub mod systemd;
pub mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::http::front::Front;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use connection::{Protocol, serve_connection};

pub use bind::{BindError, bind};
pub use shutdown::shutdown_signal;

use keep_alive::Timeouts;

/// Longest time a client may take to send a request's headers, counted from their first byte
/// (slowloris guard, DESIGN §8).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time after which a keep-alive connection is closed, serving directly.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(75);
/// Idle keep-alive behind a router: longer than Heroku's router keeps idle connections to the
/// app (90 s), so the router, not carafe, closes them and never sends a request into a
/// connection carafe is closing (H13/H18 errors).
pub const ROUTER_KEEP_ALIVE: Duration = Duration::from_secs(100);
/// Longest a response write may wait for the client to read before the connection is closed
/// (nginx's `send_timeout` is 60 s too): a client that stops reading a download cannot hold a
/// connection and an open file forever.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once; the accept loop waits for a free slot above it (back-pressure:
/// waiting clients stay in the kernel's listen backlog). Each costs a file descriptor, so the
/// process's `ulimit -n` must be above it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// HTTP/2 streams a client may reset before the server has accepted them (CVE-2023-44487
/// "rapid reset"); above it hyper answers with GOAWAY.
pub const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// HTTP/2 streams the server may reset because of client protocol errors before it closes the
/// connection (hyper's protection against the variants of rapid reset).
pub const H2_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
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
    /// `TLSv1.3` or `TLSv1.2` when carafe terminated TLS.
    pub tls_version: Option<&'static str>,
}

/// Connection-level limits and timers.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Upper bound on draining in-flight requests at shutdown.
    pub drain_timeout: Duration,
    /// Longest a TLS handshake may take.
    pub tls_handshake_timeout: Duration,
    /// Longest a request head may take to arrive (slowloris bound).
    pub header_read_timeout: Duration,
    /// Idle time after which a keep-alive connection is closed.
    pub keep_alive: Duration,
    /// Longest a response write may wait for a client that does not read.
    pub send_timeout: Duration,
    /// Connections served at once (back-pressure above it).
    pub max_connections: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            tls_handshake_timeout: crate::tls::accept::TLS_HANDSHAKE_TIMEOUT,
            header_read_timeout: HEADER_READ_TIMEOUT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains for up to
/// `options.drain_timeout`. With `tls`, every connection is TLS.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Front,
    shutdown: impl Future<Output = ()>,
    options: ServerOptions,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let builder = connection_builder();
    let connections = TaskTracker::new();
    let (drain, draining) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let timeouts = Timeouts {
        header_read: options.header_read_timeout,
        keep_alive: options.keep_alive,
        send: options.send_timeout,
    };
    tokio::pin!(shutdown);

    loop {
        let (permit, (tcp, peer)) = tokio::select! {
            accepted = accept(&listener, &slots) => match accepted {
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
                let limit = options.tls_handshake_timeout;
                connections.spawn(async move {
                    let _permit = permit;
                    let Some(stream) =
                        crate::tls::accept::handshake(acceptor, tcp, peer, limit).await
                    else {
                        return;
                    };
                    let session = stream.get_ref().1;
                    let protocol = match session.alpn_protocol() {
                        Some(b"h2") => Protocol::Http2,
                        _ => Protocol::Http1,
                    };
                    let tls_version = session.protocol_version().map(|v| match v {
                        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
                        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
                        _ => "TLS",
                    });
                    let transport = Transport {
                        peer,
                        secure: true,
                        tls_version,
                    };
                    serve_connection(
                        builder, app, stream, transport, protocol, timeouts, draining,
                    )
                    .await;
                });
            }
            None => {
                let transport = Transport {
                    peer,
                    secure: false,
                    tls_version: None,
                };
                connections.spawn(async move {
                    let _permit = permit;
                    serve_connection(
                        builder,
                        app,
                        tcp,
                        transport,
                        Protocol::Sniff,
                        timeouts,
                        draining,
                    )
                    .await;
                });
            }
        }
    }

    drop(listener);
    connections.close();
    let open = connections.len();
    if open > 0 {
        tracing::info!(connections = open, timeout = ?options.drain_timeout, "draining in-flight requests");
    }
    let _ = drain.send(true);
    if tokio::time::timeout(options.drain_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(timeout = ?options.drain_timeout, "drain timed out; closing remaining connections");
    }
    Ok(())
}

/// Waits for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> std::io::Result<(OwnedSemaphorePermit, (tokio::net::TcpStream, SocketAddr))> {
    // The semaphore is never closed, so acquiring only fails if that invariant breaks.
    let permit = Arc::clone(slots)
        .acquire_owned()
        .await
        .map_err(std::io::Error::other)?;
    Ok((permit, listener.accept().await?))
}

/// [`serve`] over plain HTTP with the default options and the default front door
/// ([`crate::http::layers`]: request id, access log): the one-liner for library users. Pass
/// an app not yet wrapped in [`crate::http::layers`], or each request is logged twice.
pub async fn serve_plain(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let app = crate::http::layers(app, crate::http::HttpOptions::default());
    serve(listener, None, app, shutdown, ServerOptions::default()).await
}

fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper's timer would also run on idle keep-alive connections; `keep_alive` has ours.
        .header_read_timeout(None)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADER_COUNT)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
        // The same 64 KiB head limit as HTTP/1.1 (h2's default is 16 KiB, so a large Cookie
        // that works over HTTP/1.1 would fail over HTTP/2).
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_pending_accept_reset_streams(H2_MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(H2_MAX_LOCAL_ERROR_RESET_STREAMS);
    builder
}
