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
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let version = req.version();
    let client = req
        .extensions()
        .get::<Transport>()
        .map(|t| t.peer.ip().to_string())
        .unwrap_or_else(|| "-".into());
    let response = next.run(req).await;
    let bytes = if method == Method::HEAD {
        Some(0)
    } else {
        response.body().size_hint().exact()
    };
    tracing::info!(
        target: ACCESS_TARGET,
        client = %client,
        method = %method,
        path = %target,
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
