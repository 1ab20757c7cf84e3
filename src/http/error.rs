//! Error responses: `templates/404.html` and `templates/500.html` when the site has them, a
//! plain built-in page otherwise (or when the site's own error page fails to render). Errors
//! are logged once, here, where they become a response.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::site::{RequestInfo, Site, SiteError, TemplateError};

/// An HTML response with an exact `Content-Length`; for HEAD the body is left out but the
/// headers are those of GET (RFC 9110 §9.3.2).
pub fn html(status: StatusCode, body: impl Into<bytes::Bytes>, method: &Method) -> Response {
    let body = body.into();
    let len = body.len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The error page for `status` (404 or 500 use the site's templates when present).
pub fn error_page(site: &Site, status: StatusCode, request: &RequestInfo) -> Response {
    let method = request.method.parse().unwrap_or(Method::GET);
    let template = match status {
        StatusCode::NOT_FOUND => Some("404.html"),
        StatusCode::INTERNAL_SERVER_ERROR => Some("500.html"),
        _ => None,
    };
    let snapshot = match site.templates().snapshot() {
        Ok(snapshot) => snapshot,
        // Development mode only (production reuses the compiled snapshot): fall back to the one
        // made at start rather than failing the error page too.
        Err(_) => site.templates().compiled().clone(),
    };
    if let Some(name) = template.filter(|name| snapshot.exists(name)) {
        match snapshot.render(name, request, minijinja::Value::UNDEFINED) {
            Ok(body) => return html(status, body, &method),
            Err(err) => tracing::error!(
                template = name,
                cause = %err,
                "error page failed to render; using the built-in one"
            ),
        }
    }
    html(status, builtin_page(status), &method)
}

/// The response for a template that failed to render: logged once (file, line, expression),
/// then the 500 page — or, in development mode, a page showing the error and its source.
pub fn template_failed(site: &Site, request: &RequestInfo, err: &TemplateError) -> Response {
    tracing::error!(path = %request.path, "template failed: {err}");
    if site.is_dev() {
        let method = request.method.parse().unwrap_or(Method::GET);
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::dev::error_page::template_error_page(err),
            &method,
        );
    }
    error_page(site, StatusCode::INTERNAL_SERVER_ERROR, request)
}

/// The response when the templates or data files cannot be loaded at all (development mode
/// reloads them per request; production loads them once, at start).
pub fn site_failed(site: &Site, request: &RequestInfo, err: &SiteError) -> Response {
    match err {
        SiteError::Template(err) => template_failed(site, request, err),
        other => {
            tracing::error!(path = %request.path, "site failed to load: {other}");
            if site.is_dev() {
                let method = request.method.parse().unwrap_or(Method::GET);
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    crate::dev::error_page::site_error_page(other),
                    &method,
                );
            }
            error_page(site, StatusCode::INTERNAL_SERVER_ERROR, request)
        }
    }
}

/// 405 with `Allow`, for methods pages and static files do not take.
pub fn method_not_allowed(site: &Site, request: &RequestInfo) -> Response {
    let mut response = error_page(site, StatusCode::METHOD_NOT_ALLOWED, request);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

fn builtin_page(status: StatusCode) -> String {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{code} {reason}</title></head>\n<body style=\"font-family:system-ui,sans-serif;\
         max-width:40rem;margin:4rem auto;padding:0 1rem\"><h1>{code} {reason}</h1>\
         <p><a href=\"/\">Home</a></p></body></html>\n"
    )
}
