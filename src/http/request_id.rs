//! `X-Request-Id`: an incoming id that looks like one (as Heroku's router sets) is kept, so a
//! request can be followed from the router's log to carafe's; anything else is replaced by a
//! fresh random id. The id is echoed on the response, written in the access log and given to
//! templates as `request.id`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// `X-Request-Id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Shortest incoming id kept (Heroku's rule).
pub const MIN_REQUEST_ID_LEN: usize = 20;
/// Longest incoming id kept (Heroku's rule); longer ones are replaced, so a client cannot
/// bloat every log line.
pub const MAX_REQUEST_ID_LEN: usize = 200;
/// Bytes in a generated id (hex-encoded: 32 characters).
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

    /// A new id: 32 hex digits, unique within the process and, through a random per-process
    /// key, across instances. Ids are for following a request through logs, not secrets, so
    /// they come from a counter mixed by SplitMix64 (a few nanoseconds) rather than the
    /// system's cryptographic generator (a lock and a DRBG step per request).
    pub fn generate() -> Self {
        static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let key = *KEY.get_or_init(|| {
            let mut bytes = [0u8; 8];
            if aws_lc_rs::rand::fill(&mut bytes).is_err() {
                // Without the system generator, the clock still tells instances apart.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                bytes = (nanos as u64).to_le_bytes();
            }
            u64::from_le_bytes(bytes)
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Two outputs of one SplitMix64 stream, so consecutive ids share no visible pattern.
        let (hi, lo) = (
            splitmix64(key ^ n.wrapping_mul(2)),
            splitmix64(key ^ (n.wrapping_mul(2) + 1)),
        );
        let mut hex = [0u8; GENERATED_ID_BYTES * 2];
        for (i, byte) in hi
            .to_be_bytes()
            .into_iter()
            .chain(lo.to_be_bytes())
            .enumerate()
        {
            hex[2 * i] = b"0123456789abcdef"[usize::from(byte >> 4)];
            hex[2 * i + 1] = b"0123456789abcdef"[usize::from(byte & 15)];
        }
        RequestId(
            HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(&hex))
                .unwrap_or(HeaderValue::from_static("-")),
        )
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
/// SplitMix64's output function: a bijection on u64 that spreads every input bit.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

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
