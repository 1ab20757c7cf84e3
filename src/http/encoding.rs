//! Content-coding negotiation (RFC 9110 §12.5.3): pick the best of the encodings a
//! representation has, by the client's `Accept-Encoding` q-values, with the server's
//! preference (br, zstd, gzip, identity) breaking ties. Parsing borrows; it never allocates.

use axum::http::HeaderValue;

/// A content coding carafe can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// No coding.
    Identity,
    /// Brotli.
    Br,
    /// Zstandard.
    Zstd,
    /// gzip.
    Gzip,
}

impl Encoding {
    /// Server preference order among codings (best first).
    pub const PREFERENCE: [Encoding; 3] = [Encoding::Br, Encoding::Zstd, Encoding::Gzip];

    /// The token in `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    /// The file extension of a precompressed sibling (`app.js.br`).
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Br => "br",
            Encoding::Zstd => "zst",
            Encoding::Gzip => "gz",
        }
    }

    fn matches(self, token: &str) -> bool {
        match self {
            Encoding::Gzip => {
                token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip")
            }
            other => token.eq_ignore_ascii_case(other.token()),
        }
    }
}

/// Chooses the coding to send, given the `Accept-Encoding` header and which codings are
/// `available` (identity always is).
pub fn negotiate(accept: Option<&HeaderValue>, available: impl Fn(Encoding) -> bool) -> Encoding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    // Identity is always acceptable, but only an explicit `identity;q=` competes with the
    // codings: a client that lists gzip at any q > 0 gets gzip (as nginx and Caddy do).
    let mut best = Encoding::Identity;
    let mut best_q = explicit_identity_q(accept).unwrap_or(0);
    for enc in Encoding::PREFERENCE {
        if !available(enc) {
            continue;
        }
        let q = quality(accept, enc).unwrap_or(0);
        // Strictly better q wins; on a tie a coding beats identity (smaller is better for both).
        if q > 0 && (q > best_q || (q == best_q && best == Encoding::Identity)) {
            best = enc;
            best_q = q;
        }
    }
    best
}

/// The q-value of an explicit `identity` item.
fn explicit_identity_q(accept: &str) -> Option<u16> {
    accept.split(',').find_map(|item| {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or_default().trim();
        if !token.eq_ignore_ascii_case("identity") {
            return None;
        }
        Some(
            parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| parse_q(v.trim()))
                })
                .next()
                .unwrap_or(Some(1000))
                .unwrap_or(0),
        )
    })
}

/// The q-value (0-1000) the header gives `enc`, explicitly or through `*`; `None` if neither.
fn quality(accept: &str, enc: Encoding) -> Option<u16> {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or_default().trim();
        if token.is_empty() {
            continue;
        }
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| parse_q(v.trim()))
            })
            .next()
            .unwrap_or(Some(1000));
        let Some(q) = q else { continue };
        if enc.matches(token) {
            return Some(q);
        }
        if token == "*" {
            star = Some(q);
        }
    }
    star
}

/// `1`, `0.5`, `0.125` → thousandths; malformed → `None` (the item is ignored).
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let q = whole + thousandths;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::*;

    fn pick(header: &str, available: &[Encoding]) -> Encoding {
        let value = HeaderValue::from_str(header).unwrap();
        negotiate(Some(&value), |e| available.contains(&e))
    }

    #[test]
    fn negotiates_by_q_then_server_preference() {
        let all = [Br, Zstd, Gzip];
        let cases = [
            ("zstd", Zstd),
            ("br", Br),
            ("gzip", Gzip),
            ("x-gzip", Gzip),
            ("gzip, deflate, br, zstd", Br),
            ("gzip, deflate", Gzip),
            ("gzip;q=1, br;q=0.5", Gzip),
            ("br;q=0, gzip", Gzip),
            ("*", Br),
            ("*;q=0.5, br;q=0", Zstd),
            ("identity", Identity),
            ("identity;q=0, *;q=0", Identity),
            ("deflate", Identity),
            ("", Identity),
            ("gzip;q=0.001", Gzip),
            ("gzip;q=2", Identity),
            ("gzip;q=abc", Identity),
            ("identity;q=1, gzip;q=0.9", Identity),
            ("identity;q=0.5, gzip;q=0.5", Gzip),
        ];
        for (header, want) in cases {
            assert_eq!(pick(header, &all), want, "{header:?}");
        }
    }

    #[test]
    fn only_available_codings_are_chosen() {
        assert_eq!(pick("br, gzip", &[Gzip]), Gzip);
        assert_eq!(pick("br", &[Gzip]), Identity);
        assert_eq!(pick("zstd, br", &[]), Identity);
        assert_eq!(negotiate(None, |_| true), Identity);
    }
}
