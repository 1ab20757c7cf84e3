//! The access log: one line per request on stdout (target [`crate::logging::ACCESS_TARGET`]),
//! with the client, method, path, status, body bytes, duration and protocol.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use http_body::Body as _;

use crate::logging::ACCESS_TARGET;
use crate::server::Transport;

/// Middleware that logs each request once its response head is ready.
pub async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    // A `Uri` clone shares its bytes; nothing is formatted unless the event is enabled.
    let uri = req.uri().clone();
    let version = req.version();
    let client = Client(req.extensions().get::<Transport>().map(|t| t.peer.ip()));
    let response = next.run(req).await;
    let bytes = if method == Method::HEAD {
        Some(0)
    } else {
        response.body().size_hint().exact().or_else(|| {
            response
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
        })
    };
    tracing::info!(
        target: ACCESS_TARGET,
        client = %client,
        method = %method,
        path = %PathAndQuery(&uri),
        status = response.status().as_u16(),
        bytes = format_args!("{}", Bytes(bytes)),
        duration_ms = format_args!("{:.3}", start.elapsed().as_secs_f64() * 1000.0),
        protocol = ?version,
        "request"
    );
    response
}

/// A body size for the log: the number, or `-` when streamed with no known length.
struct Bytes(Option<u64>);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("-"),
        }
    }
}

/// The client address for the log, or `-`.
struct Client(Option<std::net::IpAddr>);

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("-"),
        }
    }
}

/// The request target as sent (path and query).
struct PathAndQuery<'a>(&'a axum::http::Uri);

impl std::fmt::Display for PathAndQuery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.path_and_query() {
            Some(pq) => f.write_str(pq.as_str()),
            None => f.write_str(self.0.path()),
        }
    }
}
