//! Shutdown signals. The first SIGTERM or SIGINT starts a graceful drain; a second one means
//! the operator wants out now, and the process exits at once (as `docker stop` escalation and
//! a double Ctrl-C expect).

/// Completes on the first SIGTERM or SIGINT, logging which; from then on, a second signal exits
/// the process immediately.
pub async fn shutdown_signal() {
    let name = wait_for_signal().await;
    tracing::info!(
        signal = name,
        "shutting down: no new connections, finishing in-flight requests"
    );
    tokio::spawn(async {
        let name = wait_for_signal().await;
        tracing::warn!(signal = name, "second signal: exiting now");
        std::process::exit(1);
    });
}

/// Completes on the next SIGTERM or SIGINT, returning its name; does nothing else. Endless
/// responses (development mode's event stream) end on it, so they do not hold up the drain.
#[cfg(unix)]
pub(crate) async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop carafe with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub(crate) async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}
