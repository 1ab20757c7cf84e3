//! HTTP: the axum router that serves a [`crate::Site`] ([`router()`]), the page and static
//! handlers, error pages, and the front door ([`layers`]: request id, trusted proxy headers,
//! HTTPS enforcement, health check, access log). [`crate::site`] decides what a URL means; this
//! module turns that into responses.

pub mod access_log;
pub mod conditional;
pub mod encoding;
pub mod error;
pub mod file_stream;
pub mod front;
pub mod https;
pub mod listing;
pub mod pages;
pub mod proxy;
pub mod ranges;
pub mod redirect;
pub mod render;
pub mod request_id;
pub mod static_handler;

pub mod router;

pub use front::{HttpOptions, layers};
pub use render::Render;
pub use router::{router, site_router, with_layers};
