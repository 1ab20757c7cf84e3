//! Conditional requests (RFC 9110 §13): ETag comparison and the evaluation order of §13.2.2 —
//! If-Match, then If-Unmodified-Since, then If-None-Match, then If-Modified-Since (ignored
//! when If-None-Match is present) — and If-Range (§13.1.5).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};

/// What the preconditions say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve normally.
    Proceed,
    /// 304 Not Modified (GET/HEAD).
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions for a GET or HEAD of a representation with `etag` (quoted,
/// strong) last modified at `modified` (whole seconds since the epoch).
pub fn evaluate(headers: &HeaderMap, etag: &str, modified: u64) -> Precondition {
    if let Some(if_match) = header_str(headers, &header::IF_MATCH) {
        if !list_matches(if_match, etag, true) {
            return Precondition::Failed;
        }
    } else if let Some(since) = header_date(headers, &header::IF_UNMODIFIED_SINCE)
        && modified > since
    {
        return Precondition::Failed;
    }
    if let Some(if_none_match) = header_str(headers, &header::IF_NONE_MATCH) {
        if list_matches(if_none_match, etag, false) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = header_date(headers, &header::IF_MODIFIED_SINCE)
        && modified <= since
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// Whether a Range request may be honoured given its If-Range (absent: yes). An entity tag
/// must match strongly; a date must equal Last-Modified exactly.
pub fn if_range_allows(headers: &HeaderMap, etag: &str, modified: u64) -> bool {
    let Some(value) = header_str(headers, &header::IF_RANGE) else {
        return true;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return strong_eq(value, etag);
    }
    parse_date(value) == Some(modified)
}

/// Whether any tag of a comma-separated list (or `*`) matches `etag`.
fn list_matches(list: &str, etag: &str, strong: bool) -> bool {
    list.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || if strong {
                strong_eq(tag, etag)
            } else {
                weak_eq(tag, etag)
            }
    })
}

fn strong_eq(a: &str, b: &str) -> bool {
    !a.starts_with("W/") && !b.starts_with("W/") && a == b
}

fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_date(headers: &HeaderMap, name: &header::HeaderName) -> Option<u64> {
    parse_date(header_str(headers, name)?)
}

fn parse_date(value: &str) -> Option<u64> {
    httpdate::parse_http_date(value.trim())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

/// Seconds since the epoch of a modification time (0 if before it).
pub fn epoch_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const ETAG: &str = "\"abc\"";
    const MODIFIED: u64 = 1_700_000_000;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn evaluation_order_of_rfc_9110() {
        use Precondition::*;
        let cases: Vec<(Vec<(&'static str, String)>, Precondition)> = vec![
            (vec![], Proceed),
            (vec![("if-none-match", ETAG.into())], NotModified),
            (vec![("if-none-match", "W/\"abc\"".into())], NotModified),
            (
                vec![("if-none-match", "\"x\", \"abc\"".into())],
                NotModified,
            ),
            (vec![("if-none-match", "*".into())], NotModified),
            (vec![("if-none-match", "\"x\"".into())], Proceed),
            (vec![("if-modified-since", date(MODIFIED))], NotModified),
            (
                vec![("if-modified-since", date(MODIFIED + 10))],
                NotModified,
            ),
            (vec![("if-modified-since", date(MODIFIED - 1))], Proceed),
            (vec![("if-modified-since", "garbage".into())], Proceed),
            // If-None-Match wins over If-Modified-Since.
            (
                vec![
                    ("if-none-match", "\"other\"".into()),
                    ("if-modified-since", date(MODIFIED)),
                ],
                Proceed,
            ),
            (vec![("if-match", ETAG.into())], Proceed),
            (vec![("if-match", "*".into())], Proceed),
            (vec![("if-match", "\"x\"".into())], Failed),
            (vec![("if-match", "W/\"abc\"".into())], Failed),
            (vec![("if-unmodified-since", date(MODIFIED - 1))], Failed),
            (vec![("if-unmodified-since", date(MODIFIED))], Proceed),
        ];
        for (pairs, want) in cases {
            let pairs: Vec<(&'static str, &str)> =
                pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(
                evaluate(&headers(&pairs), ETAG, MODIFIED),
                want,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn if_range_needs_strong_etag_or_exact_date() {
        assert!(if_range_allows(&headers(&[]), ETAG, MODIFIED));
        assert!(if_range_allows(
            &headers(&[("if-range", ETAG)]),
            ETAG,
            MODIFIED
        ));
        assert!(!if_range_allows(
            &headers(&[("if-range", "\"x\"")]),
            ETAG,
            MODIFIED
        ));
        assert!(!if_range_allows(
            &headers(&[("if-range", "W/\"abc\"")]),
            ETAG,
            MODIFIED
        ));
        assert!(if_range_allows(
            &headers(&[("if-range", &date(MODIFIED))]),
            ETAG,
            MODIFIED
        ));
        assert!(!if_range_allows(
            &headers(&[("if-range", &date(MODIFIED + 1))]),
            ETAG,
            MODIFIED
        ));
    }
}
