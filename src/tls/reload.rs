//! Certificate hot reload: on SIGHUP, and when anything changes in a directory holding a served
//! certificate or key (an in-place write, `certbot`'s rename, a Kubernetes secret's symlink
//! swap), [`Certificates::reload`] runs, debounced so that writing a certificate and then its
//! key is one reload. New handshakes get the new certificate; open connections are untouched. A
//! set that does not load keeps the old one serving, logs why, and is tried again every
//! [`RELOAD_RETRY`] until it loads — so a certificate directory deleted and made anew (which
//! ends its inotify watch) is picked up, and watched again, without a SIGHUP.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher as _;
use tokio::sync::mpsc;

use super::resolver::{Certificates, LoadedCert};

/// Quiet time after the last file event before reloading.
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(300);

/// Why a reload runs.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    Hangup,
    FileChange,
    /// The last reload failed; trying again.
    Retry,
}

/// How often a failed reload is tried again (the files may be mid-rewrite, or their directory
/// deleted and made anew, which also ends its file watch).
pub const RELOAD_RETRY: Duration = Duration::from_secs(2);

/// Keeps reloading on; it stops when this is dropped.
#[derive(Debug)]
pub struct ReloadGuard {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReloadGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts reloading `certs` on SIGHUP and on file changes. Must run inside the runtime.
pub fn spawn(certs: Arc<Certificates>) -> ReloadGuard {
    let (tx, mut rx) = mpsc::unbounded_channel::<Trigger>();
    let dirs = watched_dirs(&certs);
    let mut watcher = watcher(tx.clone());
    watch(&mut watcher, &dirs, true);
    spawn_hangup(tx);
    let task = tokio::spawn(async move {
        let mut serving = fingerprints(&certs.loaded());
        // While reloads fail: when to try again, and the error last logged.
        let mut retry: Option<tokio::time::Instant> = None;
        let mut last_error: Option<String> = None;
        loop {
            let mut trigger = tokio::select! {
                next = rx.recv() => match next {
                    Some(trigger) => trigger,
                    None => return,
                },
                () = sleep_until(retry) => Trigger::Retry,
            };
            // Coalesce a burst of file events (and a SIGHUP among them) into one reload.
            while let Ok(Some(next)) = tokio::time::timeout(RELOAD_DEBOUNCE, rx.recv()).await {
                if matches!(next, Trigger::Hangup) {
                    trigger = next;
                }
            }
            let reloading = certs.clone();
            let result = tokio::task::spawn_blocking(move || reloading.reload()).await;
            // A directory deleted and made anew is a new inode: watch it again.
            watch(&mut watcher, &dirs, false);
            match result {
                Ok(Ok(loaded)) => {
                    let now = fingerprints(&loaded);
                    if now != serving || matches!(trigger, Trigger::Hangup) || last_error.is_some()
                    {
                        for cert in &loaded {
                            tracing::info!(
                                file = %cert.cert_path.display(),
                                sha256 = %cert.info.fingerprint,
                                expires = %cert.info.not_after.date(),
                                cause = ?trigger,
                                "certificate reloaded; new connections get it"
                            );
                        }
                    }
                    serving = now;
                    retry = None;
                    last_error = None;
                }
                Ok(Err(err)) => {
                    let message = err.to_string();
                    if last_error.as_deref() != Some(message.as_str())
                        || matches!(trigger, Trigger::Hangup)
                    {
                        tracing::error!(
                            cause = ?trigger,
                            "certificate reload failed, still serving the previous certificate: {message}; retrying every {}s",
                            RELOAD_RETRY.as_secs()
                        );
                    }
                    last_error = Some(message);
                    retry = Some(tokio::time::Instant::now() + RELOAD_RETRY);
                }
                Err(err) => tracing::error!(cause = %err, "certificate reload task failed"),
            }
        }
    });
    ReloadGuard { task }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn fingerprints(loaded: &[LoadedCert]) -> Vec<String> {
    loaded.iter().map(|c| c.info.fingerprint.clone()).collect()
}

/// The directories holding the certificate files (watched, not recursively).
fn watched_dirs(certs: &Certificates) -> BTreeSet<PathBuf> {
    certs
        .files()
        .map(|f| match f.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect()
}

/// A file watcher sending [`Trigger::FileChange`]; `None` (SIGHUP only) if the OS refuses one.
fn watcher(tx: mpsc::UnboundedSender<Trigger>) -> Option<notify::RecommendedWatcher> {
    let handler = move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
            let _ = tx.send(Trigger::FileChange);
        }
    };
    notify::recommended_watcher(handler)
        .inspect_err(|err| {
            tracing::warn!(cause = %err, "cannot watch the certificate files; reload with SIGHUP");
        })
        .ok()
}

/// Watches `dirs` (again: adding a watch that exists is harmless). Failures are logged at
/// start only; later a missing directory is normal while it is being replaced.
fn watch(watcher: &mut Option<notify::RecommendedWatcher>, dirs: &BTreeSet<PathBuf>, first: bool) {
    let Some(watcher) = watcher else { return };
    for dir in dirs {
        if let Err(err) = watcher.watch(Path::new(dir), notify::RecursiveMode::NonRecursive) {
            if first {
                tracing::warn!(dir = %dir.display(), cause = %err, "cannot watch for certificate changes; reload with SIGHUP");
            }
        }
    }
}

#[cfg(unix)]
fn spawn_hangup(tx: mpsc::UnboundedSender<Trigger>) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    if tx.send(Trigger::Hangup).is_err() {
                        break;
                    }
                }
            });
        }
        Err(err) => tracing::warn!(cause = %err, "cannot listen for SIGHUP"),
    }
}

#[cfg(not(unix))]
fn spawn_hangup(_tx: mpsc::UnboundedSender<Trigger>) {}
