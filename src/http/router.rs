//! The router: every static directory (`/static`, then `--mount`s) at its prefix, every other
//! path through the page table. The request id, proxy headers, HTTPS enforcement, the URI,
//! `Host` and body limits, the handler timeout and the access log are [`super::front`]'s,
//! wrapped around this router.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};

use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;

use super::static_handler::{redirect, serve_static};
use crate::dev::live_reload::{self, RELOAD_PATH};
use crate::site::{HeaderRule, Site};

/// Largest request body accepted (pages take none; this bounds library users' handlers).
/// Applied by [`super::front`].
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest request target (path + query) accepted; longer gets 414 (DESIGN §8). Applied by
/// [`super::front`].
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The axum router serving `site`, with the site's layers ([`site_router`] then
/// [`with_layers`]). `carafe serve` wraps it in [`super::layers`] (request id, proxy headers,
/// HTTPS enforcement, access log); pass it through that too when serving it yourself.
pub fn router(site: Site) -> Router {
    with_layers(site_router(site.clone()), &site)
}

/// The site's routes without the outer layers: the static directories and the pages, both
/// served from the router's fallback, so that library users' routes, added to it, take
/// precedence over pages and static files alike. Wrap it with [`with_layers`] (or hand it to
/// [`crate::App::serve`], which does).
///
/// Dispatching the mounts here rather than as `{prefix}/{*path}` routes also spares every
/// static request axum's path-parameter extraction (an allocation and a map insert).
pub fn site_router(site: Site) -> Router {
    Router::new().fallback(serve_site).with_state(site)
}

/// A path under a static mount (the longest matching prefix wins) is a static file; `/prefix`
/// itself redirects to `/prefix/`; every other path is a page.
async fn serve_site(State(site): State<Site>, req: Request) -> Response {
    let path = req.uri().path();
    let mount = site
        .mounts()
        .iter()
        .filter(|m| is_under(path, m.url_prefix()))
        .max_by_key(|m| m.url_prefix().len());
    match mount {
        Some(m) if path.len() == m.url_prefix().len() => {
            let mut location = format!("{path}/");
            if let Some(q) = req.uri().query() {
                location.push('?');
                location.push_str(q);
            }
            redirect(&location)
        }
        Some(m) => {
            let mount = m.clone();
            serve_static(site, mount, req).await
        }
        None => super::pages::serve_page(State(site), req).await,
    }
}

/// Whether `path` is `prefix` or below it (`/static`, `/static/a`; not `/statics`).
fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Wraps `router` with what applies to every response, the library user's included: the
/// [`Site`] extension ([`super::Render`] reads it), development mode's live reload and
/// `[headers]`. The limits, request ids and access log are [`super::layers`]'s.
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt as _;

    async fn get_text(app: &Router, path: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn user_routes_win_over_static_files_and_pages_and_the_rest_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let site = Site::load_with(root, &crate::site::SiteOptions::default()).unwrap();
        let app = site_router(site.clone())
            .route("/static/js/signup.js", get(|| async { "mine" }))
            .route("/signup", get(|| async { "my signup" }));
        let app = with_layers(app, &site);
        assert_eq!(
            get_text(&app, "/static/js/signup.js").await,
            (StatusCode::OK, "mine".to_string())
        );
        assert_eq!(
            get_text(&app, "/signup").await,
            (StatusCode::OK, "my signup".to_string())
        );
        let (status, css) = get_text(&app, "/static/css/site.css").await;
        assert_eq!(status, StatusCode::OK);
        assert!(css.contains('{'), "{css}");
        let (status, page) = get_text(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("<html"), "{page}");
        let req = Request::get("/static?v=1").body(Body::empty()).unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(resp.headers()["location"], "/static/?v=1");
        assert_eq!(get_text(&app, "/statics").await.0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_mount_covers_its_prefix_and_below_only() {
        assert!(is_under("/static", "/static"));
        assert!(is_under("/static/", "/static"));
        assert!(is_under("/static/js/a.js", "/static"));
        assert!(!is_under("/statics", "/static"));
        assert!(!is_under("/stati", "/static"));
        assert!(!is_under("/", "/static"));
    }
}
