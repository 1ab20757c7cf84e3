//! The router: every static directory (`/static`, then `--mount`s) at its prefix, every other
//! path through the page table, a URI length limit. The request id, proxy headers, HTTPS
//! enforcement and the access log are [`super::front`]'s, wrapped around this router.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use super::static_handler::{redirect, serve_static};
use crate::dev::live_reload::{self, RELOAD_PATH};
use crate::site::{HeaderRule, Site};

/// Largest request body accepted (pages take none; this bounds library users' handlers).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest request target (path + query) accepted; longer gets 414 (DESIGN §8).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The axum router serving `site`, with the site's layers ([`site_router`] then
/// [`with_layers`]). `carafe serve` wraps it in [`super::layers`] (request id, proxy headers,
/// HTTPS enforcement, access log); pass it through that too when serving it yourself.
pub fn router(site: Site) -> Router {
    with_layers(site_router(site.clone()), &site)
}

/// The site's routes without the outer layers: the static directories and the pages (as the
/// fallback). Library users add their own routes to it — those take precedence over pages —
/// then wrap it with [`with_layers`] (or hand it to [`crate::App::serve`], which does).
pub fn site_router(site: Site) -> Router {
    let mut router = Router::new();
    for mount in site.mounts() {
        let prefix = mount.url_prefix().to_string();
        let files = mount.clone();
        let handler = move |State(site): State<Site>, req: Request| {
            let files = files.clone();
            async move { serve_static(site, files, req).await }
        };
        router = router
            .route(&format!("{prefix}/"), any(handler.clone()))
            .route(&format!("{prefix}/{{*path}}"), any(handler));
        let slash = format!("{prefix}/");
        router = router.route(
            &prefix,
            any(move |req: Request| {
                let mut location = slash.clone();
                if let Some(q) = req.uri().query() {
                    location.push('?');
                    location.push_str(q);
                }
                async move { redirect(&location) }
            }),
        );
    }
    router.fallback(super::pages::serve_page).with_state(site)
}

/// Wraps `router` with what applies to every response, the library user's included: the
/// [`Site`] extension ([`super::Render`] reads it), development mode's live reload, `[headers]`,
/// the body and URI limits. The access log and request ids are [`super::layers`]'s.
pub fn with_layers(router: Router, site: &Site) -> Router {
    let watch = site.change_watch().cloned();
    let headers = site.headers().to_vec();
    let mut router = router.layer(axum::Extension(site.clone()));
    if let Some(watch) = watch {
        router = router
            .merge(
                Router::new()
                    .route(RELOAD_PATH, get(live_reload::events))
                    .with_state(watch.clone()),
            )
            .layer(axum::middleware::from_fn(move |req, next| {
                live_reload::inject(watch.clone(), req, next)
            }));
    }
    if !headers.is_empty() {
        let headers = Arc::new(headers);
        router = router.layer(axum::middleware::from_fn(move |req, next| {
            add_headers(headers.clone(), req, next)
        }));
    }
    router
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(check_request))
}

/// Refuses what hyper lets through: request targets over [`MAX_URI_BYTES`] (414; hyper only
/// bounds the whole head), and HTTP/1.1 requests without exactly one `Host` (400, RFC 9112
/// §3.2, as nginx does).
async fn check_request(req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI_BYTES {
        return (StatusCode::URI_TOO_LONG, "URI too long\n").into_response();
    }
    if req.version() == axum::http::Version::HTTP_11
        && req
            .headers()
            .get_all(axum::http::header::HOST)
            .iter()
            .count()
            != 1
    {
        return (
            StatusCode::BAD_REQUEST,
            "HTTP/1.1 requests need exactly one Host header\n",
        )
            .into_response();
    }
    next.run(req).await
}

/// Adds the `[headers]` of every rule whose glob matches the request path (later rules win).
async fn add_headers(rules: Arc<Vec<HeaderRule>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut response = next.run(req).await;
    for rule in rules.iter().filter(|r| r.matches(&path)) {
        for (name, value) in &rule.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}
