//! Watches the site's directories and announces changes, debounced: an editor's save (often a
//! write to a temporary file, a rename, and a metadata change) becomes one announcement, sent
//! [`DEBOUNCE`] after the last event of the burst.
//!
//! Reads are not changes: only creations, content writes, renames and removals count, so the
//! development server reading a template never triggers a reload of the page that read it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher as _};
use tokio::sync::broadcast;

/// Quiet time after the last file event before a change is announced.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// A running watch; announcements go to [`ChangeWatch::subscribe`]rs. Stops when dropped.
#[derive(Debug)]
pub struct ChangeWatch {
    changes: broadcast::Sender<u64>,
    generation: Arc<AtomicU64>,
    _watcher: notify::RecommendedWatcher,
}

impl ChangeWatch {
    /// Watches every directory in `dirs` that exists, recursively. A directory created later is
    /// not watched (restart to pick it up).
    pub fn start(dirs: &[PathBuf]) -> notify::Result<Self> {
        let (changes, _) = broadcast::channel(16);
        let generation = Arc::new(AtomicU64::new(0));
        let (events, burst) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| is_change(&e.kind)) {
                    let _ = events.send(());
                }
            })?;
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            watcher.watch(dir, RecursiveMode::Recursive)?;
        }
        let tx = changes.clone();
        let generation_out = generation.clone();
        std::thread::Builder::new()
            .name("carafe-watch".into())
            .spawn(move || debounce(&burst, &tx, &generation_out))
            .map_err(|e| notify::Error::generic(&e.to_string()))?;
        Ok(Self {
            changes,
            generation,
            _watcher: watcher,
        })
    }

    /// A receiver of change announcements (each carries the new generation).
    pub fn subscribe(&self) -> broadcast::Receiver<u64> {
        self.changes.subscribe()
    }

    /// How many changes have been announced so far.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}

fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        _ => false,
    }
}

/// Runs until the watcher (the only sender) is dropped.
fn debounce(burst: &mpsc::Receiver<()>, tx: &broadcast::Sender<u64>, generation: &AtomicU64) {
    while burst.recv().is_ok() {
        loop {
            match burst.recv_timeout(DEBOUNCE) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        let next = generation.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(generation = next, "files changed; reloading browsers");
        let _ = tx.send(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_writes_is_one_announcement() {
        let tmp = tempfile::tempdir().unwrap();
        let watch = ChangeWatch::start(&[tmp.path().to_path_buf()]).unwrap();
        let mut rx = watch.subscribe();
        for i in 0..5 {
            std::fs::write(tmp.path().join("a.html"), format!("v{i}")).unwrap();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(first, 1);
            // Reading is not a change.
            let _ = std::fs::read(tmp.path().join("a.html")).unwrap();
            assert!(
                tokio::time::timeout(DEBOUNCE * 3, rx.recv()).await.is_err(),
                "no second announcement"
            );
        });
        assert_eq!(watch.generation(), 1);
    }
}
