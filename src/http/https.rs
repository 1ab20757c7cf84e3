//! HTTPS enforcement: the `--force-https` redirect and the `Strict-Transport-Security` header.
//!
//! - Redirect: only when a trusted `X-Forwarded-Proto` says the client used `http` (see
//!   [`super::proxy`] for the list rule: the first element counts). The target is always
//!   `https://host/path?query`, so following it can never loop back to plain HTTP, and a
//!   request without a trusted proto (a direct hit, a health check) is served as is.
//! - HSTS (RFC 6797): only on responses to https requests, and never for `localhost`,
//!   `*.localhost` or IP-address hosts, where a pinned policy would break every other local
//!   development server on that name.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::proxy::{RequestOrigin, Scheme};

/// Default HSTS `max-age` for `--hsts` without a value: one year, in seconds.
pub const DEFAULT_HSTS_MAX_AGE: u64 = 31_536_000;

/// The `Strict-Transport-Security` policy to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hsts {
    /// `max-age` in seconds (0 tells browsers to forget the policy).
    pub max_age: u64,
    /// Add `includeSubDomains`.
    pub include_subdomains: bool,
    /// Add `preload` (only when asked: preload lists are hard to leave).
    pub preload: bool,
}

impl Hsts {
    /// The header value, e.g. `max-age=31536000; includeSubDomains`.
    pub fn header_value(&self) -> HeaderValue {
        let mut value = format!("max-age={}", self.max_age);
        if self.include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if self.preload {
            value.push_str("; preload");
        }
        HeaderValue::try_from(value).unwrap_or(HeaderValue::from_static("max-age=0"))
    }

    /// Adds the header to `response` when the request was https to a non-local host.
    pub fn apply(&self, origin: &RequestOrigin, response: &mut Response) {
        if origin.scheme == Scheme::Https && origin.host_name().is_some_and(|h| !is_local_host(h)) {
            response
                .headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, self.header_value());
        }
    }
}

/// The 308 that `--force-https` answers a request with, when it needs one.
///
/// `None` means serve the request: it is https, or no trusted proxy said it was http. A
/// request that needs a redirect but names no valid host gets a 400 (there is nowhere safe to
/// send it).
pub fn redirect(origin: &RequestOrigin, path_and_query: &str) -> Option<Response> {
    if !(origin.scheme_forwarded && origin.scheme == Scheme::Http) {
        return None;
    }
    let mut response = Response::new(axum::body::Body::empty());
    let Some(host) = origin.host.as_deref() else {
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return Some(response);
    };
    // The client reached the router on http's port; https goes to the default port unless the
    // host names another one explicitly.
    let authority = match host.rsplit_once(':') {
        Some((name, "80")) if !name.ends_with(':') => name,
        _ => host,
    };
    let location = format!("https://{authority}{path_and_query}");
    match HeaderValue::try_from(location) {
        Ok(value) => {
            *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => *response.status_mut() = StatusCode::BAD_REQUEST,
    }
    Some(response)
}

/// Whether `host` (without port) is a local development name: `localhost`, `*.localhost`
/// (RFC 6761 §6.3), or an IP address literal.
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(scheme: Scheme, forwarded: bool, host: &str) -> RequestOrigin {
        RequestOrigin {
            client: None,
            scheme,
            scheme_forwarded: forwarded,
            host: Some(host.to_string()),
        }
    }

    fn location(r: &Response) -> &str {
        r.headers()[header::LOCATION].to_str().unwrap()
    }

    #[test]
    fn redirects_only_forwarded_http() {
        let r = redirect(&origin(Scheme::Http, true, "app.example"), "/docs/?a=1").unwrap();
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(location(&r), "https://app.example/docs/?a=1");
        assert!(redirect(&origin(Scheme::Https, true, "app.example"), "/").is_none());
        assert!(redirect(&origin(Scheme::Http, false, "app.example"), "/").is_none());
    }

    #[test]
    fn redirect_drops_port_80_and_keeps_others() {
        let r = redirect(&origin(Scheme::Http, true, "app.example:80"), "/").unwrap();
        assert_eq!(location(&r), "https://app.example/");
        let r = redirect(&origin(Scheme::Http, true, "app.example:8443"), "/").unwrap();
        assert_eq!(location(&r), "https://app.example:8443/");
        let r = redirect(&origin(Scheme::Http, true, "[::1]:80"), "/").unwrap();
        assert_eq!(location(&r), "https://[::1]/");
    }

    #[test]
    fn redirect_without_host_is_400() {
        let mut o = origin(Scheme::Http, true, "x");
        o.host = None;
        assert_eq!(redirect(&o, "/").unwrap().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn local_hosts() {
        for h in [
            "localhost",
            "LOCALHOST.",
            "dev.localhost",
            "127.0.0.1",
            "::1",
            "10.1.2.3",
        ] {
            assert!(is_local_host(h), "{h}");
        }
        for h in ["app.example", "localhost.example", "mylocalhost"] {
            assert!(!is_local_host(h), "{h}");
        }
    }

    #[test]
    fn hsts_header_only_for_https_non_local() {
        let hsts = Hsts {
            max_age: 600,
            include_subdomains: false,
            preload: false,
        };
        let mut r = Response::new(axum::body::Body::empty());
        hsts.apply(&origin(Scheme::Https, true, "app.example"), &mut r);
        assert_eq!(
            r.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=600"
        );
        for o in [
            origin(Scheme::Http, true, "app.example"),
            origin(Scheme::Https, true, "localhost:8443"),
            origin(Scheme::Https, false, "[::1]:8443"),
            origin(Scheme::Https, false, "a.localhost"),
        ] {
            let mut r = Response::new(axum::body::Body::empty());
            hsts.apply(&o, &mut r);
            assert!(
                r.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none(),
                "{o:?}"
            );
        }
        let all = Hsts {
            max_age: 1,
            include_subdomains: true,
            preload: true,
        };
        assert_eq!(all.header_value(), "max-age=1; includeSubDomains; preload");
    }
}
