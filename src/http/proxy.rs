//! Trusted `X-Forwarded-*` headers: who the client is, which scheme and host it used, as seen
//! through a TLS-terminating router.
//!
//! SECURITY: forwarded headers are only believed when carafe is told how many proxies stand in
//! front of it ([`TrustedProxies`], `--trust-proxy N`; router mode trusts one hop). Anything a
//! client sends directly is otherwise ignored, so it cannot spoof its address or scheme.
//!
//! Rules (documented in README "Behind a router"):
//! - `X-Forwarded-For`: every header line, comma-split, in order. With N trusted hops the client
//!   is the Nth entry from the right (each proxy appends the address it saw on the right); with
//!   fewer than N entries, the leftmost. An entry that is not an IP address means "unknown":
//!   the TCP peer is used.
//! - `X-Forwarded-Proto`, `-Host`, `-Port`: the first element of the first header line is the
//!   client-facing value (`https, http` means https). Values that are not `http`/`https`, not a
//!   plain host name, or not a port number are ignored.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderName, Uri, header};

use crate::server::Transport;

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-Forwarded-Port`.
pub const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// Longest host name accepted from `Host` or `X-Forwarded-Host` (a DNS name is at most 253
/// characters; a port and brackets add a few).
pub const MAX_HOST_LEN: usize = 262;

/// How many proxy hops in front of carafe are trusted to set `X-Forwarded-*`; 0 trusts none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub u8);

impl TrustedProxies {
    /// Whether any forwarded header is believed.
    pub fn any(self) -> bool {
        self.0 > 0
    }
}

/// A URL scheme the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http`.
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if value.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// The request as the client made it, seen through the trusted proxies. Inserted as a request
/// extension by the front middleware; templates and the access log read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client's address: from `X-Forwarded-For` when trusted, else the TCP peer.
    pub client: Option<IpAddr>,
    /// The scheme the client used.
    pub scheme: Scheme,
    /// Whether `scheme` came from a trusted `X-Forwarded-Proto` (not from the connection).
    pub scheme_forwarded: bool,
    /// The host (and port, when not the scheme's default) the client asked for, if valid.
    pub host: Option<String>,
}

impl RequestOrigin {
    /// The host name without a port or IPv6 brackets.
    pub fn host_name(&self) -> Option<&str> {
        self.host.as_deref().map(strip_port)
    }
}

/// Works out [`RequestOrigin`] from the request head and the connection it arrived on.
pub fn resolve(
    headers: &HeaderMap,
    uri: &Uri,
    transport: Option<&Transport>,
    trust: TrustedProxies,
) -> RequestOrigin {
    let peer = transport.map(|t| t.peer.ip());
    let direct_scheme = if transport.is_some_and(|t| t.secure) {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let direct_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .filter(|h| valid_host(h));
    if !trust.any() {
        return RequestOrigin {
            client: peer,
            scheme: direct_scheme,
            scheme_forwarded: false,
            host: direct_host,
        };
    }

    let client = forwarded_client(headers, trust.0).or(peer);
    let forwarded_scheme = first_element(headers, &X_FORWARDED_PROTO).and_then(Scheme::parse);
    let scheme = forwarded_scheme.unwrap_or(direct_scheme);
    let host = first_element(headers, &X_FORWARDED_HOST)
        .filter(|h| valid_host(h))
        .map(str::to_owned)
        .or(direct_host);
    let port = first_element(headers, &X_FORWARDED_PORT).and_then(|p| p.parse::<u16>().ok());
    let host = match (host, port) {
        (Some(host), Some(port)) => {
            let name = strip_port(&host);
            let name = if name.contains(':') {
                format!("[{name}]")
            } else {
                name.to_owned()
            };
            Some(if port == scheme.default_port() {
                name
            } else {
                format!("{name}:{port}")
            })
        }
        (host, _) => host,
    };
    RequestOrigin {
        client,
        scheme,
        scheme_forwarded: forwarded_scheme.is_some(),
        host,
    }
}

/// The Nth address from the right of all `X-Forwarded-For` entries (the leftmost when there
/// are fewer); `None` when there are none or that entry is not an address.
fn forwarded_client(headers: &HeaderMap, hops: u8) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let index = entries.len().saturating_sub(usize::from(hops));
    entries.get(index).and_then(|e| parse_ip(e))
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]` or `[::1]:80`.
fn parse_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
}

/// The first comma-separated element of the first line of `name`.
fn first_element<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .split(',')
        .next()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// SECURITY: a host that can be put into a `Location` URL as is: letters, digits, `.`, `-`,
/// `_`, and `[`, `]`, `:` for IPv6 literals and ports. No `/`, `@`, `?` or spaces, so a
/// redirect can never point somewhere other than the host itself.
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= MAX_HOST_LEN
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
        })
}

/// `example.com:8080` → `example.com`, `[::1]:443` → `::1`, `::1` stays.
pub fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((name, _)) if !name.contains(':') => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn transport(secure: bool) -> Transport {
        Transport {
            peer: "10.0.0.9:4000".parse().unwrap(),
            secure,
            tls_version: None,
        }
    }

    fn origin(pairs: &[(&str, &str)], hops: u8) -> RequestOrigin {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        resolve(
            &headers,
            &Uri::from_static("/"),
            Some(&transport(false)),
            TrustedProxies(hops),
        )
    }

    #[test]
    fn untrusted_forwarded_headers_are_ignored() {
        let o = origin(
            &[
                ("host", "app.example"),
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "evil.example"),
            ],
            0,
        );
        assert_eq!(o.client, Some("10.0.0.9".parse().unwrap()));
        assert_eq!(o.scheme, Scheme::Http);
        assert!(!o.scheme_forwarded);
        assert_eq!(o.host.as_deref(), Some("app.example"));
    }

    #[test]
    fn client_is_nth_from_the_right() {
        let xff = [
            ("x-forwarded-for", "1.1.1.1, 2.2.2.2"),
            ("x-forwarded-for", "3.3.3.3"),
        ];
        assert_eq!(origin(&xff, 1).client, Some("3.3.3.3".parse().unwrap()));
        assert_eq!(origin(&xff, 2).client, Some("2.2.2.2".parse().unwrap()));
        assert_eq!(origin(&xff, 3).client, Some("1.1.1.1".parse().unwrap()));
        assert_eq!(origin(&xff, 9).client, Some("1.1.1.1".parse().unwrap()));
        let odd = [("x-forwarded-for", "[2001:db8::1]:443, unknown, 4.4.4.4:80")];
        assert_eq!(origin(&odd, 1).client, Some("4.4.4.4".parse().unwrap()));
        assert_eq!(origin(&odd, 2).client, Some("10.0.0.9".parse().unwrap()));
        assert_eq!(origin(&odd, 3).client, Some("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn first_proto_element_is_the_client_facing_scheme() {
        for (value, want) in [
            ("https", Scheme::Https),
            ("https, http", Scheme::Https),
            ("https,https", Scheme::Https),
            ("HTTP", Scheme::Http),
            ("http, https", Scheme::Http),
        ] {
            let o = origin(&[("x-forwarded-proto", value)], 1);
            assert_eq!(o.scheme, want, "{value}");
            assert!(o.scheme_forwarded);
        }
        let o = origin(&[("x-forwarded-proto", "gopher")], 1);
        assert_eq!(o.scheme, Scheme::Http);
        assert!(!o.scheme_forwarded);
    }

    #[test]
    fn forwarded_host_and_port() {
        let o = origin(
            &[
                ("host", "internal:5000"),
                ("x-forwarded-host", "app.example"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-port", "443"),
            ],
            1,
        );
        assert_eq!(o.host.as_deref(), Some("app.example"));
        let o = origin(
            &[
                ("x-forwarded-host", "app.example:1"),
                ("x-forwarded-port", "8443"),
            ],
            1,
        );
        assert_eq!(o.host.as_deref(), Some("app.example:8443"));
        let o = origin(
            &[("host", "ok.example"), ("x-forwarded-host", "evil/x@y")],
            1,
        );
        assert_eq!(o.host.as_deref(), Some("ok.example"));
    }

    #[test]
    fn strip_port_handles_ipv6() {
        assert_eq!(strip_port("a.example:80"), "a.example");
        assert_eq!(strip_port("[::1]:443"), "::1");
        assert_eq!(strip_port("[::1]"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("localhost"), "localhost");
    }
}
