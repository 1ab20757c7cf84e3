//! Write coalescing for HTTP/2 connections: one TLS record and one system call for many
//! responses instead of one each.
//!
//! Two things make hyper's HTTP/2 send every small response on its own:
//!
//! - the `h2` codec keeps at most one DATA payload (of 256 bytes or more) waiting to be
//!   written, so it writes and flushes the socket once per response body;
//! - hyper serves every stream in a task of its own, and tokio runs a task woken by the running
//!   one right after it, so the connection task runs after each stream finishes and finds one
//!   response to send.
//!
//! [`Coalesce`] is the connection's I/O as hyper sees it: writes are copied into a buffer and
//! hyper's flushes only mark it dirty. [`Flusher`], kept by the task that polls the connection,
//! does the real writes after hyper has had its turn. The first time there is something to
//! write it steps back once (wakes its own task, which sends it to the back of the run queue),
//! so the stream tasks already queued add their responses, and then writes them all at once.
//! A full buffer is written at once, and hyper sees the socket's back-pressure from there.
//!
//! The cost is a copy of each small response and one extra poll of the connection per batch;
//! under load the batches save most of the writes, records and client wakeups. HTTP/1.1 never
//! has more than one response ready, so its connections go straight through.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes held before a write goes to the socket regardless of flushes (four full TLS
/// records). A write at least this large with nothing held goes straight through.
const HOLD_LIMIT: usize = 64 * 1024;

/// The connection's stream, shared by its [`Coalesce`] (hyper's side) and [`Flusher`].
#[derive(Debug)]
struct Shared<S> {
    io: S,
    held: BytesMut,
    /// Bytes went to `io` since its last completed flush. The TLS stream keeps records it
    /// could not send yet; they only leave on a flush, which must be retried until it
    /// completes even once nothing is held here.
    unflushed: bool,
}

/// Creates the two halves over `io`; with `enabled` false, [`Coalesce`] passes everything
/// straight through and the [`Flusher`] never has anything to do.
pub fn coalesce<S>(io: S, enabled: bool) -> (Coalesce<S>, Flusher<S>) {
    let shared = Arc::new(Mutex::new(Shared {
        io,
        held: BytesMut::new(),
        unflushed: false,
    }));
    (
        Coalesce {
            shared: Arc::clone(&shared),
            enabled,
        },
        Flusher {
            shared,
            stepped_back: false,
        },
    )
}

fn lock<S>(shared: &Mutex<Shared<S>>) -> MutexGuard<'_, Shared<S>> {
    // Only this connection's task takes the lock, never across an await; a panic in hyper
    // cannot leave the buffer half-written in a way that matters more than the panic.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: AsyncWrite + Unpin> Shared<S> {
    /// Writes everything held to the socket (not flushing the socket itself).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.unflushed = true;
            self.held.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

/// The connection's I/O as hyper sees it (see the module documentation).
#[derive(Debug)]
pub struct Coalesce<S> {
    shared: Arc<Mutex<Shared<S>>>,
    enabled: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesce<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut lock(&self.shared).io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> Coalesce<S> {
    /// Holds `len` bytes given by `copy`, first writing out what is held if they would not
    /// fit; a large write with nothing held goes to the socket by `direct`.
    fn poll_hold(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        copy: impl FnOnce(&mut BytesMut),
        direct: impl FnOnce(&mut S, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let mut shared = lock(&self.shared);
        if !shared.held.is_empty() && shared.held.len() + len > HOLD_LIMIT {
            ready!(shared.poll_drain(cx))?;
        }
        if shared.held.is_empty() && len >= HOLD_LIMIT {
            let written = ready!(direct(&mut shared.io, cx))?;
            shared.unflushed |= written > 0;
            return Poll::Ready(Ok(written));
        }
        copy(&mut shared.held);
        Poll::Ready(Ok(len))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesce<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.enabled {
            return Pin::new(&mut lock(&self.shared).io).poll_write(cx, buf);
        }
        self.poll_hold(
            cx,
            buf.len(),
            |held| held.extend_from_slice(buf),
            |io, cx| Pin::new(io).poll_write(cx, buf),
        )
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if !self.enabled {
            return Pin::new(&mut lock(&self.shared).io).poll_write_vectored(cx, bufs);
        }
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_hold(
            cx,
            len,
            |held| bufs.iter().for_each(|b| held.extend_from_slice(b)),
            |io, cx| Pin::new(io).poll_write_vectored(cx, bufs),
        )
    }

    fn is_write_vectored(&self) -> bool {
        // Held writes take any number of slices in one call.
        self.enabled || lock(&self.shared).io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.enabled {
            return Pin::new(&mut lock(&self.shared).io).poll_flush(cx);
        }
        // The Flusher writes it out once hyper's turn is over.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut shared = lock(&self.shared);
        ready!(shared.poll_drain(cx))?;
        Pin::new(&mut shared.io).poll_shutdown(cx)
    }
}

/// Writes out what [`Coalesce`] holds, from the task that polls the connection, after each
/// poll of it.
#[derive(Debug)]
pub struct Flusher<S> {
    shared: Arc<Mutex<Shared<S>>>,
    /// This batch already stepped back once.
    stepped_back: bool,
}

impl<S: AsyncWrite + Unpin> Flusher<S> {
    /// Completes once held bytes have been written and the socket flushed. With nothing held
    /// or unflushed it stays pending without registering a wakeup: bytes are only ever
    /// written while the connection is polled, by the same task, just before this is. A flush
    /// the socket cannot take yet registers the wakeup for when it can, and is retried then.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut shared = lock(&self.shared);
        if shared.held.is_empty() && !shared.unflushed {
            return Poll::Pending;
        }
        if !shared.held.is_empty() && !self.stepped_back {
            self.stepped_back = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready!(shared.poll_drain(cx))?;
        ready!(Pin::new(&mut shared.io).poll_flush(cx))?;
        shared.unflushed = false;
        self.stepped_back = false;
        Poll::Ready(Ok(()))
    }

    /// [`Self::poll_flush`] as a future.
    pub async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn writes_wait_for_the_flusher_and_leave_together() {
        let (client, mut peer) = tokio::io::duplex(1 << 20);
        let (mut io, mut flusher) = coalesce(client, true);
        io.write_all(b"one ").await.unwrap();
        io.flush().await.unwrap();
        io.write_all(b"two").await.unwrap();
        io.flush().await.unwrap();
        let mut got = [0u8; 7];
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            peer.read_exact(&mut got),
        );
        assert!(
            early.await.is_err(),
            "nothing is sent before the flusher runs"
        );
        flusher.flush().await.unwrap();
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"one two");
        // Nothing held: the flusher waits (for the next poll of the connection).
        let idle = tokio::time::timeout(std::time::Duration::from_millis(20), flusher.flush());
        assert!(idle.await.is_err());
    }

    #[tokio::test]
    async fn the_flusher_steps_back_once_per_batch() {
        let (client, _peer) = tokio::io::duplex(1 << 20);
        let (mut io, mut flusher) = coalesce(client, true);
        io.write_all(b"x").await.unwrap();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(flusher.poll_flush(&mut cx).is_pending());
        assert!(matches!(flusher.poll_flush(&mut cx), Poll::Ready(Ok(()))));
        io.write_all(b"y").await.unwrap();
        assert!(flusher.poll_flush(&mut cx).is_pending());
        assert!(matches!(flusher.poll_flush(&mut cx), Poll::Ready(Ok(()))));
    }

    #[tokio::test]
    async fn a_full_buffer_is_written_without_the_flusher_and_in_order() {
        let (client, mut peer) = tokio::io::duplex(4 * HOLD_LIMIT);
        let (mut io, _flusher) = coalesce(client, true);
        let small = vec![b'a'; 1000];
        let large = vec![b'b'; HOLD_LIMIT];
        io.write_all(&small).await.unwrap();
        // Does not fit with what is held: the held bytes go first, then this one directly.
        io.write_all(&large).await.unwrap();
        let mut got = vec![0u8; small.len() + large.len()];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..1000], &small[..]);
        assert!(got[1000..].iter().all(|&b| b == b'b'));
    }

    /// A stream that takes writes but, like a TLS stream whose socket is full, only sends
    /// them on a flush, and whose first flush cannot complete.
    #[derive(Default)]
    struct SlowFlush {
        sent: Vec<u8>,
        pending: Vec<u8>,
        flushes_refused: usize,
    }

    impl AsyncWrite for SlowFlush {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.pending.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            if self.flushes_refused == 0 {
                self.flushes_refused += 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let pending = std::mem::take(&mut self.pending);
            self.sent.extend(pending);
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_flush_the_socket_refuses_is_retried_until_it_completes() {
        for size in [10, HOLD_LIMIT] {
            let (mut io, mut flusher) = coalesce(SlowFlush::default(), true);
            // Held (small) or written straight through (large): either way not yet sent.
            io.write_all(&vec![b'z'; size]).await.unwrap();
            io.flush().await.unwrap();
            let waker = futures_util::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            let mut polls = 0;
            while flusher.poll_flush(&mut cx).is_pending() {
                polls += 1;
                assert!(polls < 10, "the flush is never retried ({size} bytes)");
            }
            let shared = lock(&flusher.shared);
            assert_eq!(shared.io.sent.len(), size);
            assert!(shared.io.pending.is_empty());
        }
    }

    #[tokio::test]
    async fn shutdown_sends_what_is_held() {
        let (client, mut peer) = tokio::io::duplex(1024);
        let (mut io, _flusher) = coalesce(client, true);
        io.write_all(b"bye").await.unwrap();
        io.shutdown().await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
    }

    #[tokio::test]
    async fn disabled_it_passes_every_write_straight_through() {
        let (client, mut peer) = tokio::io::duplex(1024);
        let (mut io, _flusher) = coalesce(client, false);
        io.write_all(b"now").await.unwrap();
        let mut got = [0u8; 3];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"now");
    }
}
