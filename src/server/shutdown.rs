//! Shutdown signals. The first SIGTERM or SIGINT starts a graceful drain; a second one means
//! the operator wants out now, and the process exits at once (as `docker stop` escalation and
//! a double Ctrl-C expect).

/// Completes on the first SIGTERM or SIGINT, logging which; from then on, a second signal exits
/// the process immediately.
///
/// The handlers are installed when this is called (inside the runtime), not when the future is
/// first polled: a signal that arrives between "listening" and the accept loop is not lost,
/// and as PID 1 (where signals without a handler are ignored) none is dropped either.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    let signals = Signals::install();
    async move {
        let Some(mut signals) = signals else {
            return std::future::pending().await;
        };
        let name = signals.next().await;
        tracing::info!(
            signal = name,
            "shutting down: no new connections, finishing in-flight requests"
        );
        super::systemd::notify_stopping();
        tokio::spawn(async move {
            let name = signals.next().await;
            tracing::warn!(signal = name, "second signal: exiting now");
            std::process::exit(1);
        });
    }
}

/// The registered SIGTERM and SIGINT streams.
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

/// Completes on the next SIGTERM or SIGINT, returning its name; does nothing else. Endless
/// responses (development mode's event stream) end on it, so they do not hold up the drain.
pub(crate) async fn wait_for_signal() -> &'static str {
    match Signals::install() {
        Some(mut signals) => signals.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
impl Signals {
    fn install() -> Option<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Some(Self { term, int }),
            _ => {
                tracing::error!("cannot install signal handlers; stop carafe with SIGKILL");
                None
            }
        }
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Option<Self> {
        Some(Self)
    }

    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
