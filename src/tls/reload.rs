//! Certificate hot reload: on SIGHUP, and when anything changes in a directory holding a served
//! certificate or key (an in-place write, `certbot`'s rename, a Kubernetes secret's symlink
//! swap), [`Certificates::reload`] runs, debounced so that writing a certificate and then its
//! key is one reload. New handshakes get the new certificate; open connections are untouched. A
//! set that does not load keeps the old one serving and logs why.

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
}

/// Keeps the file watch alive; reloading stops when it is dropped.
#[derive(Debug)]
pub struct ReloadGuard {
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Starts reloading `certs` on SIGHUP and on file changes. Must run inside the runtime.
pub fn spawn(certs: Arc<Certificates>) -> ReloadGuard {
    let (tx, mut rx) = mpsc::unbounded_channel::<Trigger>();
    let watcher = watch_files(&certs, tx.clone());
    spawn_hangup(tx);
    tokio::spawn(async move {
        let mut serving = fingerprints(&certs.loaded());
        while let Some(first) = rx.recv().await {
            let mut trigger = first;
            // Coalesce a burst of file events (and a SIGHUP among them) into one reload.
            while let Ok(Some(next)) = tokio::time::timeout(RELOAD_DEBOUNCE, rx.recv()).await {
                if matches!(next, Trigger::Hangup) {
                    trigger = next;
                }
            }
            let certs = certs.clone();
            let result = tokio::task::spawn_blocking(move || certs.reload()).await;
            match result {
                Ok(Ok(loaded)) => {
                    let now = fingerprints(&loaded);
                    if now != serving || matches!(trigger, Trigger::Hangup) {
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
                }
                Ok(Err(err)) => tracing::error!(
                    cause = ?trigger,
                    "certificate reload failed, still serving the previous certificate: {err}"
                ),
                Err(err) => tracing::error!(cause = %err, "certificate reload task failed"),
            }
        }
    });
    ReloadGuard { _watcher: watcher }
}

fn fingerprints(loaded: &[LoadedCert]) -> Vec<String> {
    loaded.iter().map(|c| c.info.fingerprint.clone()).collect()
}

/// Watches the directories of the certificate files (not recursively). Watch errors are logged
/// and leave SIGHUP as the way to reload.
fn watch_files(
    certs: &Certificates,
    tx: mpsc::UnboundedSender<Trigger>,
) -> Option<notify::RecommendedWatcher> {
    let dirs: BTreeSet<PathBuf> = certs
        .files()
        .map(|f| match f.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect();
    let handler = move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
            let _ = tx.send(Trigger::FileChange);
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot watch the certificate files; reload with SIGHUP");
            return None;
        }
    };
    for dir in &dirs {
        if let Err(err) = watcher.watch(Path::new(dir), notify::RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), cause = %err, "cannot watch for certificate changes; reload with SIGHUP");
        }
    }
    Some(watcher)
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
