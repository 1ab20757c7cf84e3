//! `X-Request-Id`: an incoming id that looks like one (as Heroku's router sets) is kept, so a
//! request can be followed from the router's log to carafe's; anything else is replaced by a
//! fresh random id. The id is echoed on the response, written in the access log and given to
//! templates as `request.id`.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// `X-Request-Id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Shortest incoming id kept (Heroku's rule).
pub const MIN_REQUEST_ID_LEN: usize = 20;
/// Longest incoming id kept (Heroku's rule); longer ones are replaced, so a client cannot
/// bloat every log line.
pub const MAX_REQUEST_ID_LEN: usize = 200;
/// Random bytes in a generated id (hex-encoded: 32 characters).
const GENERATED_ID_BYTES: usize = 16;

/// The request's id, a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The incoming id when valid, else a new one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(&X_REQUEST_ID)
            .filter(|v| is_valid(v.as_bytes()))
            .map_or_else(Self::generate, |v| RequestId(v.clone()))
    }

    /// A new random id: 32 hex digits.
    pub fn generate() -> Self {
        let mut bytes = [0u8; GENERATED_ID_BYTES];
        if aws_lc_rs::rand::fill(&mut bytes).is_err() {
            // The system RNG failing is not a reason to fail a request; a time-based id is
            // still unique enough to follow one request through the logs.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = nanos.to_le_bytes();
        }
        let mut hex = String::with_capacity(GENERATED_ID_BYTES * 2);
        for b in bytes {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        RequestId(HeaderValue::try_from(hex).unwrap_or(HeaderValue::from_static("-")))
    }

    /// The id as header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// The id as text (always ASCII).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("-")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 20–200 characters of `[A-Za-z0-9+/=-]`.
fn is_valid(id: &[u8]) -> bool {
    (MIN_REQUEST_ID_LEN..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(id: &str) -> RequestId {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_str(id).unwrap());
        RequestId::from_headers(&h)
    }

    #[test]
    fn keeps_valid_incoming_ids() {
        for id in [
            "a".repeat(20),
            "Z".repeat(200),
            "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e".into(),
            "abc+def/ghi=jkl-mno0123".into(),
        ] {
            assert_eq!(with(&id).as_str(), id);
        }
    }

    #[test]
    fn replaces_invalid_incoming_ids() {
        for id in [
            "a".repeat(19),
            "a".repeat(201),
            "has space in it 0123456789".into(),
            "semi;colon;0123456789abc".into(),
            "under_score_0123456789ab".into(),
        ] {
            let got = with(&id);
            assert_ne!(got.as_str(), id);
            assert_eq!(got.as_str().len(), 32);
            assert!(is_valid(got.as_str().as_bytes()));
        }
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
