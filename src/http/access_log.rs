//! The access log: one line per request on stdout, with the client, method, path, status, body
//! bytes, duration and protocol:
//!
//! ```text
//! 2026-12-03T19:12:30.119251Z request client=127.0.0.1 method=GET path=/signup status=200 bytes=2930 duration_ms=0.358 protocol=HTTP/2.0
//! ```
//!
//! The line is formatted here, into a reused per-thread buffer with a per-second timestamp
//! cache, and appended to a [`BatchWriter`]: no allocation, no syscall and no thread wake-up per
//! request (going through `tracing`'s formatter cost several µs each). It is on when
//! [`crate::logging::init`] installed it, i.e. unless `RUST_LOG` turns target `carafe::access`
//! off.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::{Method, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Body as _;

use crate::batch_writer::BatchWriter;
use crate::server::Transport;

static WRITER: OnceLock<BatchWriter> = OnceLock::new();

/// Turns the access log on, writing to `writer` (first call wins).
pub fn install(writer: BatchWriter) {
    let _ = WRITER.set(writer);
}

thread_local! {
    /// The line being built, and the formatted second it starts with.
    static LINE: RefCell<(String, u64, String)> = RefCell::new((String::with_capacity(256), u64::MAX, String::new()));
}

/// Middleware that logs each request once its response head is ready.
pub async fn log_request(req: Request, next: Next) -> Response {
    let Some(writer) = WRITER.get() else {
        return next.run(req).await;
    };
    let start = Instant::now();
    let method = req.method().clone();
    // A `Uri` clone shares its bytes.
    let uri = req.uri().clone();
    let version = req.version();
    let client = req.extensions().get::<Transport>().map(|t| t.peer.ip());
    let response = next.run(req).await;
    let bytes = if method == Method::HEAD {
        Some(0)
    } else {
        response.body().size_hint().exact().or_else(|| {
            response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
        })
    };
    let micros = start.elapsed().as_micros();
    LINE.with(|cell| {
        let (line, cached_sec, stamp) = &mut *cell.borrow_mut();
        line.clear();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if now.as_secs() != *cached_sec {
            *cached_sec = now.as_secs();
            *stamp = format_second(now.as_secs());
        }
        let _ = write!(line, "{stamp}.{:06}Z request client=", now.subsec_micros());
        match client {
            Some(ip) => {
                let _ = write!(line, "{ip}");
            }
            None => line.push('-'),
        }
        let _ = write!(
            line,
            " method={method} path={} status={} bytes=",
            uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()),
            response.status().as_u16()
        );
        match bytes {
            Some(n) => {
                let _ = write!(line, "{n}");
            }
            None => line.push('-'),
        }
        let _ = writeln!(
            line,
            " duration_ms={}.{:03} protocol={}",
            micros / 1000,
            micros % 1000,
            protocol(version)
        );
        writer.append(line.as_bytes());
    });
    response
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) for seconds since the epoch.
fn format_second(secs: u64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_seconds() {
        assert_eq!(format_second(0), "1970-01-01T00:00:00");
        assert_eq!(format_second(1_796_331_150), "2026-12-03T20:52:30");
    }
}
