//! Logging: diagnostics go to stderr, the access log (one line per request, target
//! [`ACCESS_TARGET`]) goes to stdout, so `carafe serve > access.log` separates the two as nginx's
//! `access_log`/`error_log` do. Colours only when the stream is a terminal. The filter is
//! `RUST_LOG` with a default level.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::prelude::*;

/// The tracing target of access-log events.
pub const ACCESS_TARGET: &str = "carafe::access";

/// Keeps the access-log writer thread alive; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops the access log"]
pub struct LogGuard {
    _worker: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing), so
/// tests and library users that set their own subscriber are not disturbed.
///
/// The access log is written by a background thread (lines are queued, never dropped), so a
/// request never waits on the terminal or pipe that stdout is; diagnostics stay synchronous.
pub fn init(default_level: &str) -> LogGuard {
    let (stdout, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("carafe-access-log")
        .finish(std::io::stdout());
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},notify=warn")))
    };
    let access = tracing_subscriber::fmt::layer()
        .with_writer(stdout)
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .with_level(false)
        .with_filter(filter_fn(|meta| meta.target() == ACCESS_TARGET))
        .with_filter(filter());
    let diagnostics = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(filter_fn(|meta| meta.target() != ACCESS_TARGET))
        .with_filter(filter());
    match tracing_subscriber::registry()
        .with(access)
        .with(diagnostics)
        .try_init()
    {
        Ok(()) => LogGuard {
            _worker: Some(guard),
        },
        Err(_) => LogGuard { _worker: None },
    }
}
