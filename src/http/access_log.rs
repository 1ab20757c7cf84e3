//! The access log: one line per request on stdout, with the client (through trusted proxies),
//! method, path, status, body bytes, duration, request id, protocol and, when carafe
//! terminated TLS itself, the TLS version:
//!
//! ```text
//! 2026-12-03T19:12:30.119251Z request client=127.0.0.1 method=GET path=/signup status=200 bytes=2930 duration_ms=0.358 request_id=9f1c… protocol=HTTP/2.0 tls=TLSv1.3
//! ```
//!
//! `--log-format json` writes one JSON object per line with the same fields (and `timestamp`).
//! Written by [`super::front`] once the response head is ready.
//!
//! The line is formatted here, into a reused per-thread buffer with a per-second timestamp
//! cache, and appended to a [`BatchWriter`]: no allocation, no syscall and no thread wake-up per
//! request (going through `tracing`'s formatter cost several µs each). It is on when
//! [`crate::logging::init`] installed it, i.e. unless `RUST_LOG` turns target `carafe::access`
//! off.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, Uri, Version, header};
use axum::response::Response;
use http_body::Body as _;

use super::proxy::RequestOrigin;
use super::request_id::RequestId;
use crate::batch_writer::BatchWriter;
use crate::logging::LogFormat;

static WRITER: OnceLock<(BatchWriter, LogFormat)> = OnceLock::new();

/// Turns the access log on, writing lines in `format` to `writer` (first call wins).
pub fn install(writer: BatchWriter, format: LogFormat) {
    let _ = WRITER.set((writer, format));
}

/// Whether [`log`] writes anything (callers can skip gathering an [`Entry`]).
pub fn is_enabled() -> bool {
    WRITER.get().is_some()
}

/// What one access-log line is made of.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Client, scheme and host as seen through trusted proxies.
    pub origin: &'a RequestOrigin,
    /// The request method.
    pub method: &'a Method,
    /// The request target.
    pub uri: &'a Uri,
    /// The HTTP version.
    pub version: Version,
    /// `TLSv1.3` or `TLSv1.2` when carafe terminated TLS itself.
    pub tls_version: Option<&'static str>,
    /// The request id.
    pub id: &'a RequestId,
    /// The response (its head; the body may still be streaming).
    pub response: &'a Response,
    /// Time until the response head was ready.
    pub elapsed: Duration,
}

thread_local! {
    /// The line being built, and the formatted second it starts with.
    static LINE: RefCell<(String, u64, String)> = RefCell::new((String::with_capacity(320), u64::MAX, String::new()));
}

/// Writes the access-log line for `entry`, if the access log is on.
pub fn log(entry: &Entry<'_>) {
    let Some((writer, format)) = WRITER.get() else {
        return;
    };
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
        let fields = Fields::of(entry);
        match format {
            LogFormat::Text => fields.text(line, stamp, now.subsec_micros()),
            LogFormat::Json => fields.json(line, stamp, now.subsec_micros()),
        }
        writer.append(line.as_bytes());
    });
}

/// Appends `n` with leading zeros to `width` digits.
fn push_padded(line: &mut String, n: u32, width: usize) {
    let mut num = itoa::Buffer::new();
    let digits = num.format(n);
    for _ in digits.len()..width {
        line.push('0');
    }
    line.push_str(digits);
}

/// Appends the client address (`-` when unknown); IPv4, the common case, without `fmt`.
fn push_client(line: &mut String, client: Option<std::net::IpAddr>) {
    match client {
        Some(std::net::IpAddr::V4(ip)) => {
            let mut num = itoa::Buffer::new();
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push('.');
                }
                line.push_str(num.format(octet));
            }
        }
        Some(ip) => {
            let _ = write!(line, "{ip}");
        }
        None => line.push('-'),
    }
}

/// The values of one line, ready to format.
struct Fields<'a> {
    client: Option<std::net::IpAddr>,
    method: &'a Method,
    target: &'a str,
    status: u16,
    bytes: Option<u64>,
    micros: u128,
    id: &'a RequestId,
    protocol: &'static str,
    tls: &'static str,
}

impl<'a> Fields<'a> {
    fn of(entry: &'a Entry<'a>) -> Self {
        let response = entry.response;
        let bytes = if entry.method == Method::HEAD {
            Some(0)
        } else {
            response.body().size_hint().exact().or_else(|| {
                response
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
            })
        };
        Self {
            client: entry.origin.client,
            method: entry.method,
            target: entry
                .uri
                .path_and_query()
                .map_or(entry.uri.path(), |pq| pq.as_str()),
            status: response.status().as_u16(),
            bytes,
            micros: entry.elapsed.as_micros(),
            id: entry.id,
            protocol: protocol(entry.version),
            tls: entry.tls_version.unwrap_or("-"),
        }
    }

    /// One text line. Written with `push_str` and `itoa` rather than `write!`: the formatting
    /// machinery was a tenth of carafe's instructions per small-file request.
    fn text(&self, line: &mut String, stamp: &str, subsec_micros: u32) {
        let mut num = itoa::Buffer::new();
        line.push_str(stamp);
        line.push('.');
        push_padded(line, subsec_micros, 6);
        line.push_str("Z request client=");
        push_client(line, self.client);
        line.push_str(" method=");
        line.push_str(self.method.as_str());
        line.push_str(" path=");
        line.push_str(self.target);
        line.push_str(" status=");
        line.push_str(num.format(self.status));
        line.push_str(" bytes=");
        match self.bytes {
            Some(n) => line.push_str(num.format(n)),
            None => line.push('-'),
        }
        line.push_str(" duration_ms=");
        line.push_str(num.format(self.micros / 1000));
        line.push('.');
        push_padded(line, (self.micros % 1000) as u32, 3);
        line.push_str(" request_id=");
        line.push_str(self.id.as_str());
        line.push_str(" protocol=");
        line.push_str(self.protocol);
        line.push_str(" tls=");
        line.push_str(self.tls);
        line.push('\n');
    }

    /// One JSON object; every value is a string but `status`, so collectors need no schema.
    fn json(&self, line: &mut String, stamp: &str, subsec_micros: u32) {
        let _ = write!(
            line,
            "{{\"timestamp\":\"{stamp}.{subsec_micros:06}Z\",\"message\":\"request\",\"client\":\""
        );
        match self.client {
            Some(ip) => {
                let _ = write!(line, "{ip}");
            }
            None => line.push('-'),
        }
        let _ = write!(line, "\",\"method\":");
        json_string(line, self.method.as_str());
        line.push_str(",\"path\":");
        json_string(line, self.target);
        let _ = write!(line, ",\"status\":{},\"bytes\":\"", self.status);
        match self.bytes {
            Some(n) => {
                let _ = write!(line, "{n}");
            }
            None => line.push('-'),
        }
        let _ = write!(
            line,
            "\",\"duration_ms\":\"{}.{:03}\",\"request_id\":",
            self.micros / 1000,
            self.micros % 1000
        );
        json_string(line, self.id.as_str());
        let _ = writeln!(
            line,
            ",\"protocol\":\"{}\",\"tls\":\"{}\"}}",
            self.protocol, self.tls
        );
    }
}

/// Appends `value` as a JSON string literal (request targets may hold `"` and `\`).
fn json_string(line: &mut String, value: &str) {
    line.push('"');
    for c in value.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(line, "\\u{:04x}", c as u32);
            }
            c => line.push(c),
        }
    }
    line.push('"');
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
    fn text_lines_have_every_field_padded_and_in_order() {
        let id = RequestId::from_headers(&{
            let mut h = axum::http::HeaderMap::new();
            h.insert("x-request-id", "abcdefghij0123456789".parse().unwrap());
            h
        });
        let mut fields = Fields {
            client: Some("10.0.0.7".parse().unwrap()),
            method: &Method::GET,
            target: "/static/a.js?v=1",
            status: 200,
            bytes: Some(1024),
            micros: 1_005,
            id: &id,
            protocol: "HTTP/1.1",
            tls: "TLSv1.3",
        };
        let mut line = String::new();
        fields.text(&mut line, "2026-12-04T10:00:00", 42);
        assert_eq!(
            line,
            "2026-12-04T10:00:00.000042Z request client=10.0.0.7 method=GET path=/static/a.js?v=1 status=200 bytes=1024 duration_ms=1.005 request_id=abcdefghij0123456789 protocol=HTTP/1.1 tls=TLSv1.3\n"
        );
        fields.client = Some("::1".parse().unwrap());
        fields.bytes = None;
        fields.micros = 999_999;
        line.clear();
        fields.text(&mut line, "2026-12-04T10:00:00", 999_999);
        assert!(
            line.starts_with("2026-12-04T10:00:00.999999Z request client=::1 "),
            "{line}"
        );
        assert!(line.contains(" bytes=- duration_ms=999.999 "), "{line}");
        fields.client = None;
        line.clear();
        fields.text(&mut line, "s", 0);
        assert!(line.starts_with("s.000000Z request client=- "), "{line}");
    }

    #[test]
    fn formats_utc_seconds() {
        assert_eq!(format_second(0), "1970-01-01T00:00:00");
        assert_eq!(format_second(1_796_331_150), "2026-12-03T20:52:30");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut line = String::new();
        json_string(&mut line, "/a\"b\\c\u{1}");
        assert_eq!(line, r#""/a\"b\\c\u0001""#);
        let parsed: String = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, "/a\"b\\c\u{1}");
    }
}
