//! [`Render`]: an extractor for library users' handlers that renders a site template with the
//! handler's context (plus everything pages get: `request`, `config`, `env`, `data`,
//! `url_for`, `static_url`) and returns an HTML response — or, when the template fails, the
//! same error handling as pages: one log line and the 500 page (the error and its source in
//! development mode).
//!
//! ```no_run
//! use axum::response::Response;
//! use carafe::http::Render;
//!
//! async fn thanks(render: Render) -> Response {
//!     render.page("thanks.html", minijinja::context! { name => "Ana" })
//! }
//! ```

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{error_page, html, site_failed, template_failed};
use super::pages::request_info_from;
use crate::site::{RequestInfo, Site};

/// Renders the site's templates from a handler. Needs the router to be wrapped by
/// [`super::with_layers`] (as [`crate::App::serve`] does), which provides the [`Site`].
#[derive(Debug, Clone)]
pub struct Render {
    site: Site,
    request: RequestInfo,
}

impl<S: Send + Sync> FromRequestParts<S> for Render {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let site = parts.extensions.get::<Site>().cloned().ok_or_else(|| {
            tracing::error!(
                "carafe::http::Render used on a router without carafe::http::with_layers"
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server misconfigured: wrap the router with carafe::http::with_layers\n",
            )
                .into_response()
        })?;
        let request =
            request_info_from(&parts.method, &parts.uri, &parts.headers, &parts.extensions);
        Ok(Self { site, request })
    }
}

impl Render {
    /// Renders `template` with `context` merged over the page context, status 200.
    pub fn page(&self, template: &str, context: impl Serialize) -> Response {
        self.page_with_status(StatusCode::OK, template, context)
    }

    /// Renders `template` with `context`, answering with `status` (e.g. 422 for a form with
    /// errors).
    pub fn page_with_status(
        &self,
        status: StatusCode,
        template: &str,
        context: impl Serialize,
    ) -> Response {
        let snapshot = match self.site.templates().snapshot() {
            Ok(snapshot) => snapshot,
            Err(err) => return site_failed(&self.site, &self.request, &err),
        };
        let method: Method = self.request.method.parse().unwrap_or(Method::GET);
        match snapshot.render(
            template,
            &self.request,
            minijinja::Value::from_serialize(&context),
        ) {
            Ok(body) => html(status, body, &method),
            Err(err) => template_failed(&self.site, &self.request, &err),
        }
    }

    /// The site's 404 page.
    pub fn not_found(&self) -> Response {
        error_page(&self.site, StatusCode::NOT_FOUND, &self.request)
    }

    /// What templates see of this request.
    pub fn request(&self) -> &RequestInfo {
        &self.request
    }

    /// The site.
    pub fn site(&self) -> &Site {
        &self.site
    }
}
