//! `--redirect-http PORT`: the plain-HTTP listener next to the HTTPS one, answering every
//! request with a 308 to the same host, path and query over HTTPS (a 308, unlike a 301, keeps
//! the method and body of a form POST). A request without a usable `Host` gets 400: there is
//! nowhere safe to send it.

use axum::Router;
use axum::extract::Request;
use axum::http::uri::Authority;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The redirecting app for an HTTPS listener on `https_port`.
pub fn router(https_port: u16) -> Router {
    Router::new().fallback(move |req: Request| async move { redirect(&req, https_port) })
}

/// The 308 (or 400) for `req`.
pub fn redirect(req: &Request, https_port: u16) -> Response {
    let authority = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<Authority>().ok())
        .or_else(|| req.uri().authority().cloned());
    let Some(authority) = authority else {
        return (
            StatusCode::BAD_REQUEST,
            "This port redirects to HTTPS, but the request names no host.\n",
        )
            .into_response();
    };
    let host = authority.host();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    match HeaderValue::try_from(format!("https://{host}{port}{path}")) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: Option<&str>, target: &str, port: u16) -> (u16, Option<String>) {
        let mut req = Request::builder().uri(target);
        if let Some(host) = host {
            req = req.header(header::HOST, host);
        }
        let resp = redirect(&req.body(axum::body::Body::empty()).unwrap(), port);
        (
            resp.status().as_u16(),
            resp.headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
        )
    }

    #[test]
    fn keeps_host_path_and_query_and_names_the_https_port() {
        assert_eq!(
            location(Some("app.test:8080"), "/signup?next=%2F", 8443),
            (308, Some("https://app.test:8443/signup?next=%2F".into()))
        );
        assert_eq!(
            location(Some("app.test"), "/", 443),
            (308, Some("https://app.test/".into()))
        );
        assert_eq!(
            location(Some("[::1]:8080"), "/x", 8443),
            (308, Some("https://[::1]:8443/x".into()))
        );
    }

    #[test]
    fn no_or_bad_host_is_400() {
        assert_eq!(location(None, "/", 443).0, 400);
        assert_eq!(location(Some("a b"), "/", 443).0, 400);
        assert_eq!(location(Some("evil.test/path"), "/", 443).0, 400);
    }
}
