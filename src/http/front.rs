//! The front door every request passes before the site's routes, in this order:
//!
//! 1. [`RequestId`]: keep or make `X-Request-Id`.
//! 2. [`proxy::RequestOrigin`]: client, scheme and host through trusted proxies ([`super::proxy`]).
//! 3. Health check: `--health-path` answers 200 here, before any redirect, not logged unless
//!    asked.
//! 4. `--force-https`: 308 to https for requests a trusted proxy marks as http.
//! 5. What hyper lets through: request targets over [`MAX_URI_BYTES`] (414) and HTTP/1.1
//!    requests without exactly one `Host` (400).
//! 6. The site (and library users' routes) under the handler timeout, with request bodies
//!    bounded by [`MAX_BODY_BYTES`] (413) and a panicking handler turned into a 500.
//! 7. HSTS on https responses, `X-Request-Id` on every response, one access-log line.
//!
//! It is one hand-written service, not a stack of middlewares: every `Router::layer` and
//! `from_fn` boxes and clones per request, and `tower_http`'s timeout arms a timer for every
//! request. Here a request costs one boxed future, the timer is armed only if the handler
//! does not answer at once (a cached file never waits), and a request without a body skips the
//! body limit.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::FutureExt as _;
use tokio::time::Instant;
use tower::Service;

use super::access_log;
use super::https::Hsts;
use super::proxy::{self, TrustedProxies};
use super::request_id::{RequestId, X_REQUEST_ID};
use super::router::{MAX_BODY_BYTES, MAX_URI_BYTES};
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
pub fn layers(app: Router, options: HttpOptions) -> Front {
    Front {
        app,
        options: Arc::new(options),
    }
}

/// The front door around an app, as a tower [`Service`]: what [`layers`] returns and
/// [`crate::server::serve`] serves. It accepts requests with any body (hyper's, or axum's in
/// tests) and never fails: every refusal is a response.
#[derive(Debug, Clone)]
pub struct Front {
    app: Router,
    options: Arc<HttpOptions>,
}

impl<B> Service<Request<B>> for Front
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (app, options) = (self.app.clone(), Arc::clone(&self.options));
        Box::pin(async move { Ok(front(&options, app, req).await) })
    }
}

async fn front<B>(options: &HttpOptions, app: Router, mut req: Request<B>) -> Response
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
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
    } else if let Some(refusal) = refuse(&uri, version, req.headers()) {
        refusal
    } else {
        req.extensions_mut().insert(origin.clone());
        req.extensions_mut().insert(id.clone());
        run(app, req, start + options.request_timeout).await
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

/// Refuses what hyper lets through: request targets over [`MAX_URI_BYTES`] (414; hyper only
/// bounds the whole head), and HTTP/1.1 requests without exactly one `Host` (400, RFC 9112
/// §3.2, as nginx does).
fn refuse(
    uri: &axum::http::Uri,
    version: Version,
    headers: &header::HeaderMap,
) -> Option<Response> {
    let len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI_BYTES {
        return Some((StatusCode::URI_TOO_LONG, "URI too long\n").into_response());
    }
    if version == Version::HTTP_11 && headers.get_all(header::HOST).iter().count() != 1 {
        return Some(
            (
                StatusCode::BAD_REQUEST,
                "HTTP/1.1 requests need exactly one Host header\n",
            )
                .into_response(),
        );
    }
    None
}

/// Calls the app under the handler timeout (`deadline`) and turns a panic into a 500. A
/// request with a body gets it bounded by [`MAX_BODY_BYTES`] (`tower_http`'s limit: 413 for a
/// larger `Content-Length`, an error for the extractor reading past it); one without skips that.
async fn run<B>(app: Router, req: Request<B>, deadline: Instant) -> Response
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    use tower::ServiceExt as _;
    if req.body().is_end_stream() {
        let response = app.oneshot(req.map(|_| Body::empty()));
        guarded(
            response.map(|r| r.unwrap_or_else(|never| match never {})),
            deadline,
        )
        .await
    } else {
        let limited = tower_http::limit::RequestBodyLimit::new(app, MAX_BODY_BYTES).oneshot(req);
        let response = limited.map(|r| match r {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        });
        guarded(response, deadline).await
    }
}

/// Awaits `response`, arming the timeout only if it is not ready at the first poll (a cached
/// file or a rendered page usually is), and catching a panic in the handler.
async fn guarded(response: impl Future<Output = Response> + Send, deadline: Instant) -> Response {
    let mut response = std::pin::pin!(AssertUnwindSafe(response).catch_unwind());
    let first = std::future::poll_fn(|cx| Poll::Ready(response.as_mut().poll(cx))).await;
    let outcome = match first {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => match tokio::time::timeout_at(deadline, response).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server took too long to answer; try again\n",
                )
                    .into_response();
            }
        },
    };
    outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        tracing::error!(panic = message, "a request handler panicked; answered 500");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error\n",
        )
            .into_response()
    })
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

    fn app(options: HttpOptions) -> Front {
        let slow = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .route(
                "/panic",
                get(|| async {
                    if true {
                        panic!("handler bug");
                    }
                    "unreachable"
                }),
            )
            .route(
                "/upload",
                axum::routing::post(|body: Bytes| async move { body.len().to_string() }),
            );
        layers(slow, options)
    }

    fn get_req(path: &str) -> Request<Body> {
        Request::builder()
            .uri(path)
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .unwrap()
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

    #[tokio::test]
    async fn a_panicking_handler_gets_a_500_and_the_service_keeps_serving() {
        let service = app(HttpOptions::default());
        let resp = service.clone().oneshot(get_req("/panic")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().contains_key(X_REQUEST_ID));
        let resp = service.oneshot(get_req("/fast")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }

    fn upload(body: Body, length: Option<usize>) -> Request<Body> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/upload")
            .header(header::HOST, "localhost");
        if let Some(length) = length {
            builder = builder.header(header::CONTENT_LENGTH, length);
        }
        builder.body(body).unwrap()
    }

    #[tokio::test]
    async fn request_bodies_are_bounded_whether_declared_or_streamed() {
        let service = app(HttpOptions::default());
        let ok = vec![b'x'; 1000];
        let resp = service
            .clone()
            .oneshot(upload(Body::from(ok), Some(1000)))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"1000");

        // Declared too large: refused before the handler runs.
        let declared = upload(Body::from("small"), Some(MAX_BODY_BYTES + 1));
        let resp = service.clone().oneshot(declared).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // No length (chunked): cut off once it passes the limit.
        let chunks = (0..40).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'x'; 64 * 1024])));
        let streamed = Body::from_stream(futures_util::stream::iter(chunks));
        let resp = service.oneshot(upload(streamed, None)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn long_targets_and_missing_hosts_are_refused() {
        let service = app(HttpOptions::default());
        let long = format!("/fast?q={}", "a".repeat(MAX_URI_BYTES));
        let resp = service.clone().oneshot(get_req(&long)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::URI_TOO_LONG);
        let mut no_host = get_req("/fast");
        no_host.headers_mut().remove(header::HOST);
        assert_eq!(no_host.version(), Version::HTTP_11);
        let resp = service.clone().oneshot(no_host).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let mut two_hosts = get_req("/fast");
        two_hosts
            .headers_mut()
            .append(header::HOST, HeaderValue::from_static("other"));
        let resp = service.clone().oneshot(two_hosts).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let resp = service.oneshot(get_req("/fast")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
