//! Pages: a request path goes through the site's page table ([`crate::site::RouteTable`]) and
//! becomes a rendered template, a 308 redirect, or the 404 page. Only GET and HEAD reach pages.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;

use super::error::{error_page, html, method_not_allowed, site_failed, template_failed};
use super::proxy::RequestOrigin;
use super::request_id::RequestId;
use crate::server::Transport;
use crate::site::{RequestInfo, Resolution, Site};

/// The fallback handler: every path that is not static and not a library user's route.
pub async fn serve_page(State(site): State<Site>, req: Request) -> Response {
    // What templates see of the request, made only when something is rendered: a memoised
    // page does not need it.
    // Without the body, so the parts can be held across the SPA file read.
    let (req, _body) = req.into_parts();
    let info = || request_info_from(&req.method, &req.uri, &req.headers, &req.extensions);
    if !matches!(req.method, Method::GET | Method::HEAD) {
        return method_not_allowed(&site, &info());
    }
    // Decode once; invalid UTF-8 or a NUL cannot name a page.
    let raw = req.uri.path();
    let decoded = match percent_decode_str(raw).decode_utf8() {
        Ok(p) if !p.contains('\0') && crate::site::paths::well_formed_escapes(raw) => p,
        _ => return error_page(&site, StatusCode::NOT_FOUND, &info()),
    };
    let snapshot = match site.templates().snapshot() {
        Ok(snapshot) => snapshot,
        Err(err) => return site_failed(&site, &info(), &err),
    };
    match snapshot.routes().resolve(&decoded, req.uri.query()) {
        Resolution::Page(template) => {
            if let Some(body) = snapshot.memoized(&template) {
                return html(StatusCode::OK, body, &req.method);
            }
            let info = info();
            match snapshot.render_page(&template, &info) {
                Ok(body) => html(StatusCode::OK, body, &req.method),
                Err(err) => template_failed(&site, &info, &err),
            }
        }
        Resolution::Redirect(location) => {
            let mut response = Response::new(axum::body::Body::empty());
            *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
            if let Ok(value) = HeaderValue::try_from(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Resolution::NotFound => match site.spa() {
            Some(spa) if super::static_handler::is_navigation(&req.headers) => {
                spa_page(&site, spa, &info(), &req.method).await
            }
            _ => error_page(&site, StatusCode::NOT_FOUND, &info()),
        },
    }
}

/// The SPA fallback: the app's HTML for a navigation that matched no page, status 200,
/// revalidated every time (never cached as if it were the missing URL's content for long).
async fn spa_page(
    site: &Site,
    spa: &std::path::Path,
    info: &RequestInfo,
    method: &Method,
) -> Response {
    match tokio::fs::read_to_string(spa).await {
        Ok(body) => html(StatusCode::OK, body, method),
        Err(err) => {
            tracing::error!(file = %spa.display(), cause = %err, "cannot read the SPA fallback file");
            error_page(site, StatusCode::NOT_FOUND, info)
        }
    }
}

/// A handler that always answers with the 404 page.
pub async fn not_found(State(site): State<Site>, req: Request) -> Response {
    error_page(&site, StatusCode::NOT_FOUND, &request_info(&req))
}

/// What templates see of the request.
pub fn request_info<B>(req: &axum::http::Request<B>) -> RequestInfo {
    request_info_from(req.method(), req.uri(), req.headers(), req.extensions())
}

/// What templates see of a request, from its parts (for extractors).
pub fn request_info_from(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> RequestInfo {
    let query = uri.query().unwrap_or_default();
    let mut args = std::collections::BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        args.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    // Behind [`super::front`] the request's origin has been resolved through trusted proxies;
    // a router used without it sees the connection as is.
    let origin = extensions
        .get::<RequestOrigin>()
        .cloned()
        .unwrap_or_else(|| {
            super::proxy::resolve(
                headers,
                uri,
                extensions.get::<Transport>(),
                super::proxy::TrustedProxies::default(),
            )
        });
    RequestInfo {
        method: method.to_string(),
        path: percent_decode_str(uri.path())
            .decode_utf8_lossy()
            .into_owned(),
        query_string: query.to_string(),
        args,
        scheme: origin.scheme.as_str().into(),
        host: origin.host.unwrap_or_default(),
        remote_addr: origin.client.map(|ip| ip.to_string()).unwrap_or_default(),
        id: extensions
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default(),
    }
}
