//! carafe serves a Flask-style site — Jinja templates in `templates/`, assets in `static/` — over
//! HTTPS, and makes the certificates for it.
//!
//! # Layout
//!
//! - [`app`]: [`App`], the library entry point: a site plus your routes, served like `carafe serve`.
//! - [`cli`]: the command-line definition (clap types only).
//! - [`config`]: typed, validated settings built from the command line and the environment.
//! - [`logging`]: diagnostics on stderr, the access log on stdout ([`batch_writer`] batches it).
//! - [`commands`]: glue from parsed arguments to the library for `serve` and `cert`.
//! - [`scaffold`]: `carafe new`: the files of a new site.
//! - [`server`]: listeners, the accept loop, keep-alive and header timers, connection limit,
//!   graceful shutdown, systemd socket activation and readiness, worker count.
//! - [`tls`]: rustls configuration, PEM loading with typed errors, the handshake task.
//! - [`certs`]: certificate generation (rcgen), the `certs/` store, inspection, the local CA
//!   and its trust stores.
//! - [`site`]: what a URL means — the page table, templates, static files, safe paths.
//! - [`http`]: the axum router, error pages, and the front door ([`http::layers`]): request
//!   id, trusted proxy headers, HTTPS redirect and HSTS, health check, access log.
//! - [`dev`]: development mode only: file watch, live reload, the error page with source.
//!
//! # Using carafe as a library
//!
//! [`App`] serves a site exactly as `carafe serve` does — same options (`--port`, `--tls`,
//! `--dev`, carafe.toml), same TLS — with your own axum routes added. [`http::Render`] renders
//! the site's templates from your handlers.
//!
//! ```no_run
//! use axum::response::Response;
//! use axum::routing::get;
//! use carafe::http::Render;
//!
//! async fn hello(render: Render) -> Response {
//!     render.page("hello.html", carafe::minijinja::context! { name => "Ana" })
//! }
//!
//! # async fn demo() -> anyhow::Result<()> {
//! let app = carafe::App::load(carafe::config::ServeConfig::from_command_line()?)?;
//! let router = app.router().route("/hello", get(hello));
//! app.serve(router).await
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod app;
pub mod batch_writer;
pub mod certs;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dev;
pub mod http;
pub mod logging;
pub mod scaffold;
pub mod server;
pub mod site;
pub mod tls;

pub use app::App;
pub use minijinja;
pub use site::Site;
