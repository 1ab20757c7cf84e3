//! HTTP: the axum router that serves a [`crate::Site`] ([`router()`]), the page and static
//! handlers, error pages, and the access log. [`crate::site`] decides what a URL means; this
//! module turns that into responses.

pub mod access_log;
pub mod conditional;
pub mod encoding;
pub mod error;
pub mod listing;
pub mod pages;
pub mod ranges;
pub mod render;
pub mod static_handler;

pub mod router;

pub use render::Render;
pub use router::{router, site_router, with_layers};
