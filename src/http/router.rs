//! The router: `/static/...` from the static directory, every other path through the page
//! table, each response logged.

use axum::Router;
use axum::routing::any;

use crate::site::Site;

/// The axum router serving `site`. Library users add their own routes to it; routes they add
/// take precedence over pages (pages are the fallback).
pub fn router(site: Site) -> Router {
    Router::new()
        .route("/static/{*path}", any(super::static_handler::serve_static))
        .route("/static/", any(super::pages::not_found))
        .fallback(super::pages::serve_page)
        .with_state(site)
        .layer(axum::middleware::from_fn(super::access_log::log_request))
}
