//! The listener: accept TCP, hand each connection to its own task (TLS handshake under a
//! timeout there, never in the accept loop), and serve it with hyper-util's auto builder so
//! HTTP/1.1 and HTTP/2 (by ALPN, or prior knowledge on plain TCP) both work.
//!
//! Shutdown is graceful: when the `shutdown` future completes, the listening socket is closed
//! (new connections are refused), every open connection is told to finish its in-flight
//! requests and close, and [`serve`] returns once they have — or after `drain_timeout`.

pub mod bind;
pub mod shutdown;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub use bind::{BindError, bind};
pub use shutdown::shutdown_signal;

/// Longest time a client may take to send a request's headers (slowloris guard, DESIGN §8).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line + headers) accepted; larger gets 431 (DESIGN §8).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
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
    let graceful = GracefulShutdown::new();
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
        let conn = Conn {
            builder: builder.clone(),
            app: app.clone(),
            watcher: graceful.watcher(),
        };
        match &acceptor {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Some(stream) = crate::tls::accept::handshake(acceptor, tcp, peer).await {
                        conn.serve(stream, Transport { peer, secure: true }).await;
                    }
                });
            }
            None => {
                tokio::spawn(conn.serve(
                    tcp,
                    Transport {
                        peer,
                        secure: false,
                    },
                ));
            }
        }
    }

    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(connections = open, timeout = ?drain_timeout, "draining in-flight requests");
    }
    if tokio::time::timeout(drain_timeout, graceful.shutdown())
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
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS);
    builder
}

/// One accepted connection and what it needs to be served.
struct Conn {
    builder: auto::Builder<TokioExecutor>,
    app: Router,
    watcher: hyper_util::server::graceful::Watcher,
}

impl Conn {
    async fn serve<S>(self, stream: S, transport: Transport)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let service = self
            .app
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(transport.peer));
                req.extensions_mut().insert(transport);
                req
            });
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        if let Err(err) = self.watcher.watch(connection).await {
            tracing::debug!(peer = %transport.peer, cause = %err, "connection ended with an error");
        }
    }
}
