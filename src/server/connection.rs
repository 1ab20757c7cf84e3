//! One accepted connection, served by hyper-util until it ends, with the timers hyper does not
//! provide:
//!
//! - a deadline for the first request ([`FIRST_REQUEST_TIMEOUT`]): a client that connects (and
//!   finishes the TLS handshake) but never sends a request is closed, whatever protocol it
//!   picked — hyper-util's version sniffing and HTTP/2's preface read have no timer of their own;
//! - an idle timeout between requests ([`IDLE_TIMEOUT`]), for HTTP/2 as well as HTTP/1.1;
//! - graceful shutdown: when the server drains, the connection finishes what is in flight and
//!   closes (HTTP/1.1: no more keep-alive; HTTP/2: GOAWAY).
//!
//! Each expiry asks hyper to shut the connection down gracefully, so a response in progress is
//! never cut.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Transport;

/// How long a new connection may take to send its first request (after the TLS handshake).
pub const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may sit with no request in flight before it is closed (nginx's
/// `keepalive_timeout` is 75 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

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

/// Requests in flight and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    idle_since: std::sync::Mutex<Option<Instant>>,
}

impl Activity {
    fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
    }

    /// When the connection may be closed for idleness, if no request is in flight.
    fn idle_deadline(&self, opened: Instant) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = *self.idle_since.lock().unwrap_or_else(|p| p.into_inner());
        Some(match since {
            Some(t) => t + IDLE_TIMEOUT,
            None => opened + FIRST_REQUEST_TIMEOUT,
        })
    }
}

/// Serves one connection until it closes, the server drains, or it idles out.
pub async fn serve_connection<S>(
    builder: auto::Builder<TokioExecutor>,
    app: Router,
    stream: S,
    transport: Transport,
    protocol: Protocol,
    mut draining: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let opened = Instant::now();
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        idle_since: std::sync::Mutex::new(None),
    });
    let service = Tracked {
        inner: app,
        activity: activity.clone(),
        transport,
    };
    let builder = match protocol {
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
        Protocol::Sniff => builder,
    };
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut closing = *draining.borrow();
    if closing {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = activity.idle_deadline(opened);
        tokio::select! {
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
            () = sleep_until(deadline), if !closing => {
                if activity.idle_deadline(opened).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(peer = %transport.peer, "closing idle connection");
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever when there is none (a request is in flight); the loop
/// above re-evaluates after every event.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        // Re-check periodically: the in-flight request may finish without waking this task.
        None => tokio::time::sleep(Duration::from_secs(1)).await,
    }
}

/// The app, with the connection's transport added to each request and its activity tracked.
#[derive(Clone)]
struct Tracked {
    inner: Router,
    activity: Arc<Activity>,
    transport: Transport,
}

impl tower::Service<hyper::Request<Incoming>> for Tracked {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::<hyper::Request<Incoming>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut req: hyper::Request<Incoming>) -> Self::Future {
        req.extensions_mut()
            .insert(ConnectInfo(self.transport.peer));
        req.extensions_mut().insert(self.transport);
        self.activity.started();
        let guard = Finished(self.activity.clone());
        let future = tower::Service::call(&mut self.inner, req);
        Box::pin(async move {
            let response = future.await;
            drop(guard);
            response
        })
    }
}

/// Marks a request finished when dropped (also when the client goes away mid-request).
struct Finished(Arc<Activity>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.finished();
    }
}
