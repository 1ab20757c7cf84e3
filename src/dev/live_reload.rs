//! Live reload: an SSE endpoint at [`RELOAD_PATH`] and a script injected into every HTML
//! response that listens to it and reloads the page when a watched file changes.
//!
//! The page carries the change generation it was rendered at; the endpoint sends the current
//! one as soon as the script connects (`event: hello`), then one `event: reload` per change. A
//! change that happens between rendering and connecting is therefore not missed, and the
//! script reconnects (and reloads if anything changed) after a server restart.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _};

use super::watch::ChangeWatch;

/// The reserved URL of the event stream (never a page or a file).
pub const RELOAD_PATH: &str = "/__carafe/reload";

/// Largest HTML response the script is injected into; larger ones pass through unchanged.
pub const MAX_INJECT_BYTES: usize = 16 * 1024 * 1024;

/// The SSE handler.
pub async fn events(State(watch): State<Arc<ChangeWatch>>) -> impl IntoResponse {
    let hello = Event::default()
        .event("hello")
        .data(watch.generation().to_string());
    let rx = watch.subscribe();
    let changes = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(generation) => {
                    let event = Event::default()
                        .event("reload")
                        .data(generation.to_string());
                    return Some((event, rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stream = futures_util::stream::iter([hello]).chain(changes);
    // The stream never ends by itself: end it at shutdown, so a browser tab left open does not
    // hold the graceful drain for its whole timeout.
    let stream = stream
        .take_until(Box::pin(crate::server::shutdown::wait_for_signal()))
        .map(Ok::<_, Infallible>);
    sse(stream)
}

fn sse<S>(stream: S) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The script for a page rendered at `generation`.
pub fn script(generation: u64) -> String {
    format!(
        "<script>/* carafe --dev live reload */(()=>{{let g={generation};\
         const s=new EventSource(\"{RELOAD_PATH}\");\
         s.addEventListener(\"hello\",e=>{{if(+e.data!==g)location.reload()}});\
         s.addEventListener(\"reload\",()=>location.reload());}})();</script>\n"
    )
}

/// Middleware: adds [`script`] before `</body>` (or at the end) of full HTML responses and
/// fixes `Content-Length`. Compressed, partial and non-HTML responses pass through.
pub async fn inject(watch: Arc<ChangeWatch>, req: Request, next: Next) -> Response {
    let head = req.method() == Method::HEAD;
    let generation = watch.generation();
    let response = next.run(req).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html
        || response.headers().contains_key(header::CONTENT_ENCODING)
        || response.headers().contains_key(header::CONTENT_RANGE)
        || matches!(
            response.status(),
            StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
        )
    {
        return response;
    }
    let script = script(generation);
    let (mut parts, body) = response.into_parts();
    // The body changes, so validators of the file no longer describe it.
    parts.headers.remove(header::ETAG);
    parts.headers.remove(header::LAST_MODIFIED);
    if head {
        let len = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(len) = len {
            parts.headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(len + script.len()),
            );
        }
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, MAX_INJECT_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(cause = %err, "cannot read an HTML response to add the live-reload script");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot add the live-reload script\n",
            )
                .into_response();
        }
    };
    let html = String::from_utf8_lossy(&bytes);
    let at = html.rfind("</body>").unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + script.len());
    out.push_str(&html[..at]);
    out.push_str(&script);
    out.push_str(&html[at..]);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn through_inject(ctype: &'static str, body: &'static str) -> (Response, String) {
        let tmp = tempfile::tempdir().unwrap();
        let watch = Arc::new(ChangeWatch::start(&[tmp.path().to_path_buf()]).unwrap());
        let app = Router::new()
            .route(
                "/",
                get(move || async move { ([(header::CONTENT_TYPE, ctype)], body) }),
            )
            .layer(axum::middleware::from_fn(move |req, next| {
                inject(watch.clone(), req, next)
            }));
        let resp = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let text = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let text = String::from_utf8(text.to_vec()).unwrap();
        (Response::from_parts(parts, Body::empty()), text)
    }

    #[tokio::test]
    async fn injects_before_body_end_with_correct_length() {
        let (resp, text) = through_inject("text/html; charset=utf-8", "<p>hi</p></body>").await;
        assert!(text.starts_with("<p>hi</p><script>"), "{text}");
        assert!(text.ends_with("</script>\n</body>"), "{text}");
        assert_eq!(
            resp.headers()[header::CONTENT_LENGTH],
            text.len().to_string()
        );
    }

    #[tokio::test]
    async fn leaves_other_types_alone() {
        let (_, text) = through_inject("text/css", "body{}").await;
        assert_eq!(text, "body{}");
    }
}
