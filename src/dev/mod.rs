//! Development mode (`carafe serve --dev`, DESIGN §6): what only runs there.
//!
//! - [`watch`]: a file watcher over `templates/`, `static/` and `data/` that announces changes,
//!   debounced.
//! - [`live_reload`]: the SSE endpoint under [`live_reload::RELOAD_PATH`] and the script it
//!   injects into HTML responses, which reloads the page on a change.
//! - [`error_page`]: the browser page for a template error, with the source around it.
//!
//! Templates themselves are re-read on every request in development mode
//! ([`crate::site::TemplateOptions::reload`]), so correctness never depends on the watcher.

pub mod error_page;
pub mod live_reload;
pub mod watch;
