//! A batching writer for the access log: request threads append each line to a shared buffer
//! (one short lock, no syscall, no thread wake-up), and one background thread writes the buffer
//! out every [`FLUSH_INTERVAL`] or as soon as it holds [`FLUSH_BYTES`].
//!
//! Why not a channel with a writer thread per line (tracing-appender): waking that thread for
//! every request costs a futex and a context switch each time, which profiles showed to be a
//! large share of a small static response. Lines are never dropped: when the output cannot keep
//! up and the buffer reaches [`MAX_BUFFER_BYTES`], writers wait for the flush.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Longest a line waits before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Buffer size that triggers an immediate flush.
pub const FLUSH_BYTES: usize = 64 * 1024;
/// Buffer size at which writers wait for the flusher (back-pressure, never loss).
pub const MAX_BUFFER_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signals the flusher (buffer large, or closing).
    wake_flusher: Condvar,
    /// Signals writers waiting for room.
    room: Condvar,
}

/// The writer handle given to tracing; cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Owns the flusher thread; dropping it writes out everything buffered.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer that batches into `out` (e.g. stdout).
pub fn batch_writer<W: Write + Send + 'static>(mut out: W) -> (BatchWriter, FlushGuard) {
    let shared = Arc::new(Shared::default());
    let flusher = shared.clone();
    let thread = std::thread::Builder::new()
        .name("carafe-access-log".into())
        .spawn(move || {
            let mut pending = Vec::new();
            loop {
                let closed = {
                    let mut state = flusher.state.lock().unwrap_or_else(|p| p.into_inner());
                    if state.buf.len() < FLUSH_BYTES && !state.closed {
                        state = flusher
                            .wake_flusher
                            .wait_timeout(state, FLUSH_INTERVAL)
                            .map(|(s, _)| s)
                            .unwrap_or_else(|p| p.into_inner().0);
                    }
                    std::mem::swap(&mut state.buf, &mut pending);
                    state.closed
                };
                flusher.room.notify_all();
                if !pending.is_empty() {
                    let _ = out.write_all(&pending);
                    let _ = out.flush();
                    pending.clear();
                }
                if closed {
                    let state = flusher.state.lock().unwrap_or_else(|p| p.into_inner());
                    if state.buf.is_empty() {
                        return;
                    }
                }
            }
        })
        .ok();
    (
        BatchWriter {
            shared: shared.clone(),
        },
        FlushGuard { shared, thread },
    )
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closed = true;
        self.shared.wake_flusher.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl BatchWriter {
    /// Appends `data` (whole lines) to the buffer.
    pub fn append(&self, data: &[u8]) {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.buf.len() >= MAX_BUFFER_BYTES && !state.closed {
            self.shared.wake_flusher.notify_one();
            state = self
                .shared
                .room
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        state.buf.extend_from_slice(data);
        if state.buf.len() >= FLUSH_BYTES {
            self.shared.wake_flusher.notify_one();
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.append(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_within_the_interval_and_on_drop() {
        let sink = Sink::default();
        let (mut writer, guard) = batch_writer(sink.clone());
        writer.write_all(b"one\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while sink.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "not flushed by the interval"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        for i in 0..10_000 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 10_001);
        assert_eq!(lines[0], "one");
        assert_eq!(lines[10_000], "line 9999");
    }
}
