//! carafe serves a Flask-style site — Jinja templates in `templates/`, assets in `static/` — over
//! HTTPS, and makes the certificates for it.
//!
//! # Layout
//!
//! - [`cli`]: the command-line definition (clap types only).
//! - [`config`]: typed, validated settings built from the command line and the environment.
//! - [`logging`]: diagnostics on stderr, the access log on stdout.
//! - [`commands`]: glue from parsed arguments to the library for `serve` and `cert`.
//! - [`server`]: listeners, the accept loop, graceful shutdown.
//! - [`tls`]: rustls configuration, PEM loading with typed errors, the handshake task.
//! - [`certs`]: certificate generation (rcgen), the `certs/` store, inspection.
//! - [`site`]: what a URL means — the page table, templates, static files, safe paths.
//! - [`http`]: the axum router, error pages and the access log layer.
//! - [`dev`]: development mode only: file watch, live reload, the error page with source.
//!
//! # Using carafe as a library
//!
//! ```no_run
//! use axum::routing::get;
//!
//! # async fn demo() -> anyhow::Result<()> {
//! let site = carafe::Site::load(".")?;
//! let app = carafe::http::router(site).route("/api/ping", get(|| async { "pong" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! carafe::server::serve_plain(listener, app, carafe::server::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod certs;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dev;
pub mod http;
pub mod logging;
pub mod server;
pub mod site;
pub mod tls;

pub use site::Site;
