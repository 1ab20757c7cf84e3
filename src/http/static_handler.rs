//! Static files: `/static/<path>` resolved safely by [`crate::site::StaticFiles`], then served
//! by tower-http's `ServeFile` (ETag-free validators via Last-Modified, Range, HEAD, content
//! type). Every response says `nosniff` and `no-cache` (cheap revalidation).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::error::{error_page, method_not_allowed};
use super::pages::request_info;
use crate::site::static_files::StaticResolution;
use crate::site::{STATIC_URL_PREFIX, Site};

/// Serves a file under the static prefix.
pub async fn serve_static(State(site): State<Site>, req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed(&site, &request_info(&req));
    }
    let raw = req
        .uri()
        .path()
        .strip_prefix(STATIC_URL_PREFIX)
        .unwrap_or_default()
        .trim_start_matches('/');
    let StaticResolution::File(path) = site.statics().resolve(raw) else {
        return error_page(&site, StatusCode::NOT_FOUND, &request_info(&req));
    };
    let info = request_info(&req);
    let response = match ServeFile::new(path).oneshot(req).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return error_page(&site, StatusCode::NOT_FOUND, &info);
    }
    let mut response = response;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
