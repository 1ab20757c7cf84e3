//! Logging: diagnostics go to stderr, the access log (one line per request, target
//! [`ACCESS_TARGET`]) goes to stdout, so `carafe serve > access.log` separates the two as nginx's
//! `access_log`/`error_log` do. Colours only when the stream is a terminal. The filter is
//! `RUST_LOG` with a default level. `--log-format json` writes both as one JSON object per line
//! (fields flattened, with `timestamp`, `level` and `message`), for log collectors.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::prelude::*;

/// The tracing target of access-log events.
pub const ACCESS_TARGET: &str = "carafe::access";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (`key=value` fields).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Keeps the access-log writer thread alive; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops the access log"]
pub struct LogGuard {
    _flusher: Option<crate::batch_writer::FlushGuard>,
}

/// Installs the global subscriber and, unless `RUST_LOG` turns target `carafe::access` off
/// (e.g. `RUST_LOG=warn`), the access log. Safe to call more than once (later calls do
/// nothing), so tests and library users that set their own subscriber are not disturbed.
///
/// The access log is batched and written by a background thread
/// ([`crate::batch_writer`]: lines are never dropped, and written within 100 ms), so a request
/// never waits on the terminal or pipe that stdout is; diagnostics stay synchronous.
pub fn init(default_level: &str, format: LogFormat) -> LogGuard {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},notify=warn")))
    };
    let is_access = |meta: &tracing::Metadata<'_>| meta.target() == ACCESS_TARGET;
    // The access log is written by `http::access_log` itself (formatting through tracing cost
    // several µs per request); this layer only makes `RUST_LOG` decide whether it is on.
    let access = tracing_subscriber::layer::Identity::new();
    let diagnostics = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
    };
    match tracing_subscriber::registry()
        .with(
            access
                .with_filter(filter_fn(is_access))
                .with_filter(filter()),
        )
        .with(
            diagnostics
                .with_filter(filter_fn(move |meta| !is_access(meta)))
                .with_filter(filter()),
        )
        .try_init()
    {
        Ok(()) if tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) => {
            let (stdout, guard) = crate::batch_writer::batch_writer(std::io::stdout());
            crate::http::access_log::install(stdout, format);
            LogGuard {
                _flusher: Some(guard),
            }
        }
        _ => LogGuard { _flusher: None },
    }
}
