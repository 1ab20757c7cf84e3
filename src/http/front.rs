//! The front door every request passes before the site's routes, in this order:
//!
//! 1. [`RequestId`]: keep or make `X-Request-Id`.
//! 2. [`proxy::RequestOrigin`]: client, scheme and host through trusted proxies ([`super::proxy`]).
//! 3. Health check: `--health-path` answers 200 here, before any redirect, not logged unless
//!    asked.
//! 4. `--force-https`: 308 to https for requests a trusted proxy marks as http.
//! 5. The site (and library users' routes) under the handler timeout.
//! 6. HSTS on https responses, `X-Request-Id` on every response, one access-log line.
//!
//! It is one middleware, not six, so a request pays for one boxed future here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::access_log;
use super::https::Hsts;
use super::proxy::{self, TrustedProxies};
use super::request_id::{RequestId, X_REQUEST_ID};
use crate::server::Transport;

/// Default time a handler may take to produce a response head (DESIGN §8); streaming the body
/// afterwards is not limited by it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How requests are treated before they reach the site.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Proxy hops trusted for `X-Forwarded-*`.
    pub trust: TrustedProxies,
    /// Redirect requests a trusted proxy marks as http to https.
    pub force_https: bool,
    /// `Strict-Transport-Security` to send on https responses to non-local hosts.
    pub hsts: Option<Hsts>,
    /// The health-check path, answered with 200 and exempt from the HTTPS redirect.
    pub health_path: Option<String>,
    /// Write health checks to the access log too.
    pub log_health: bool,
    /// Longest a handler may take to produce a response head; it then gets 503.
    pub request_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            trust: TrustedProxies::default(),
            force_https: false,
            hsts: None,
            health_path: None,
            log_health: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Wraps `app` (the site plus any routes a library user added) in the front door.
pub fn layers(app: Router, options: HttpOptions) -> Router {
    let timeout = tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::SERVICE_UNAVAILABLE,
        options.request_timeout,
    );
    app.layer(timeout)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(options),
            front,
        ))
}

async fn front(State(options): State<Arc<HttpOptions>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = RequestId::from_headers(req.headers());
    let transport = req.extensions().get::<Transport>().copied();
    let origin = proxy::resolve(req.headers(), req.uri(), transport.as_ref(), options.trust);
    let method = req.method().clone();
    // A `Uri` clone shares its bytes; nothing is formatted unless the access log is enabled.
    let uri = req.uri().clone();
    let version = req.version();

    let is_health = options
        .health_path
        .as_deref()
        .is_some_and(|p| p == uri.path());
    let mut response = if is_health {
        health(&method)
    } else if let Some(redirect) = options
        .force_https
        .then(|| super::https::redirect(&origin, path_and_query(&uri)))
        .flatten()
    {
        redirect
    } else {
        req.extensions_mut().insert(origin.clone());
        req.extensions_mut().insert(id.clone());
        next.run(req).await
    };

    if let Some(hsts) = &options.hsts {
        hsts.apply(&origin, &mut response);
    }
    response
        .headers_mut()
        .insert(X_REQUEST_ID, id.header_value().clone());
    if !is_health || options.log_health {
        access_log::log(&access_log::Entry {
            origin: &origin,
            method: &method,
            uri: &uri,
            version,
            tls_version: transport.and_then(|t| t.tls_version),
            id: &id,
            response: &response,
            elapsed: start.elapsed(),
        });
    }
    response
}

fn path_and_query(uri: &axum::http::Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// The health check's answer: 200 `ok`, never cached.
fn health(method: &Method) -> Response {
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from("ok\n")
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(3));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(options: HttpOptions) -> Router {
        let slow = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }));
        layers(slow, options)
    }

    fn get_req(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn slow_handlers_get_503_after_the_request_timeout() {
        let options = HttpOptions {
            request_timeout: Duration::from_secs(5),
            ..HttpOptions::default()
        };
        let start = tokio::time::Instant::now();
        let resp = app(options.clone())
            .oneshot(get_req("/slow"))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(resp.headers().contains_key(X_REQUEST_ID));
        let resp = app(options).oneshot(get_req("/fast")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn health_path_answers_before_routing() {
        let options = HttpOptions {
            health_path: Some("/healthz".into()),
            ..HttpOptions::default()
        };
        let resp = app(options).oneshot(get_req("/healthz")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    }
}
