//! One accepted connection, served by hyper-util until it ends, with the timers hyper does not
//! provide (see [`super::keep_alive`]: a head must arrive within the header timeout, an idle
//! connection is closed after the keep-alive timeout, for HTTP/2 as well as HTTP/1.1) and
//! graceful shutdown: when the server drains, the connection finishes what is in flight and
//! closes (HTTP/1.1: no more keep-alive; HTTP/2: GOAWAY).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::Transport;
use super::coalesce::coalesce;
use super::keep_alive::{Activity, GuardedBody, Timeouts, Tracked};

/// How long a connection whose timer expired may take to close after being asked to (to send
/// an HTTP/2 GOAWAY); then it is dropped.
const EXPIRED_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Which protocol to speak, when it is already known (TLS ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// ALPN chose `http/1.1` (or nothing): HTTP/1.1 only.
    Http1,
    /// ALPN chose `h2`.
    Http2,
    /// Plain TCP: detect HTTP/2 prior knowledge from the preface.
    Sniff,
}

/// Serves one connection until it closes, the server drains, or it idles out (or is too slow
/// sending a request head).
pub async fn serve_connection<S>(
    builder: auto::Builder<TokioExecutor>,
    app: crate::http::front::Front,
    stream: S,
    transport: Transport,
    protocol: Protocol,
    timeouts: Timeouts,
    mut draining: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(timeouts);
    let requests = Arc::clone(&activity);
    let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
        let guard = requests.begin_request(req.version() == hyper::Version::HTTP_2);
        req.extensions_mut().insert(ConnectInfo(transport.peer));
        req.extensions_mut().insert(transport);
        let app = app.clone();
        async move {
            let response = app.oneshot(req).await?;
            Ok::<_, Infallible>(response.map(|body| Body::new(GuardedBody::new(body, guard))))
        }
    });
    let builder = match protocol {
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
        Protocol::Sniff => builder,
    };
    // Only ALPN h2 has many responses in flight at once to send together.
    let http2 = protocol == Protocol::Http2;
    let (io, mut flusher) = coalesce(Tracked::new(stream, Arc::clone(&activity)), http2);
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut closing = *draining.borrow();
    if closing {
        connection.as_mut().graceful_shutdown();
    }
    // Set once a timer expired: the connection was asked to close and is dropped at this
    // instant if it has not (a half-sent head keeps hyper's HTTP/1 reader waiting).
    let mut cut_off: Option<tokio::time::Instant> = None;
    // Made once: the loop turns after every batch of HTTP/2 writes, and a timer made anew
    // each turn would cost a timer-wheel registration each.
    let expired = activity.expired();
    tokio::pin!(expired);
    loop {
        tokio::select! {
            // The connection first, then what it wrote (see `coalesce`).
            biased;
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(peer = %transport.peer, cause = %err, "connection ended with an error");
                }
                return;
            }
            changed = draining.changed(), if !closing => {
                if changed.is_err() || *draining.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            // Expiry only happens with no request in flight, so nothing is cut short; HTTP/2
            // clients get a GOAWAY, so they know no stream was lost.
            () = &mut expired, if cut_off.is_none() => {
                tracing::debug!(peer = %transport.peer, "closing an idle or slow connection");
                closing = true;
                connection.as_mut().graceful_shutdown();
                cut_off = Some(tokio::time::Instant::now() + EXPIRED_CLOSE_GRACE);
            }
            () = sleep_until(cut_off) => return,
            flushed = flusher.flush(), if http2 => {
                if let Err(err) = flushed {
                    tracing::debug!(peer = %transport.peer, cause = %err, "connection ended with a write error");
                    return;
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
