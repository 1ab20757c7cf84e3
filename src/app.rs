//! [`App`]: a site served the way `carafe serve` serves it, with the library user's own axum
//! routes added — what a Flask app with `@app.route` handlers becomes.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let app = carafe::App::load(carafe::config::ServeConfig::from_command_line()?)?;
//! let router = app
//!     .router()
//!     .route("/api/ping", axum::routing::get(|| async { "pong" }));
//! app.serve(router).await
//! # }
//! ```

use crate::commands::serve::{Prepared, prepare_config, serve_app, serve_app_on};
use crate::config::ServeConfig;
use crate::site::Site;

/// A loaded site with its TLS prepared, ready to serve.
#[derive(Debug)]
pub struct App {
    prepared: Prepared,
}

impl App {
    /// Loads the site `config` describes (templates compiled, data read) and prepares TLS
    /// (making or reusing the development certificate for `gen`). Warnings are logged.
    pub fn load(config: ServeConfig) -> anyhow::Result<Self> {
        Ok(Self {
            prepared: prepare_config(config)?,
        })
    }

    /// The loaded site.
    pub fn site(&self) -> &Site {
        &self.prepared.site
    }

    /// The effective configuration.
    pub fn config(&self) -> &ServeConfig {
        &self.prepared.config
    }

    /// The site's routes (static directories, pages as the fallback). Add your own to it —
    /// they take precedence over pages — then pass it to [`App::serve`].
    pub fn router(&self) -> axum::Router {
        crate::http::site_router(self.prepared.site.clone())
    }

    /// Wraps `router` with carafe's layers ([`crate::http::with_layers`]), binds, prints where
    /// it listens (`carafe: listening on URL`), and serves until SIGTERM/SIGINT, then drains.
    pub async fn serve(self, router: axum::Router) -> anyhow::Result<()> {
        let router = crate::http::with_layers(router, &self.prepared.site);
        serve_app(self.prepared, router).await
    }

    /// Like [`App::serve`], on a listener the caller bound (e.g. `127.0.0.1:0` in a test, to
    /// know the port before serving).
    pub async fn serve_on(
        self,
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> anyhow::Result<()> {
        let router = crate::http::with_layers(router, &self.prepared.site);
        serve_app_on(self.prepared, listener, router).await
    }
}
