//! Per-connection timers that replace hyper's HTTP/1 header-read timer.
//!
//! hyper starts its `header_read_timeout` as soon as it waits for the next request head — also
//! on an idle keep-alive connection — so its 30 s default (or our 10 s slowloris bound) would
//! close idle connections long before a router's 90 s pool expects. carafe turns hyper's timer
//! off and keeps its own, fed by the connection's reads and by requests starting and finishing:
//!
//! - no request in flight and nothing received since the last one: idle, closed after the
//!   keep-alive timeout;
//! - bytes of a new request head arriving (or a fresh connection): closed unless a whole head
//!   arrives within the header-read timeout (slowloris);
//! - a request in flight (until its response body is sent or dropped): no timer while the
//!   response makes progress (handlers are bounded by the request timeout, and a quiet
//!   event stream is fine); but a write that the client does not let through — it stopped
//!   reading, its window stays full — closes the connection after the send timeout (nginx's
//!   `send_timeout`), so stalled downloads cannot pin connections and open files forever.
//!
//! HTTP/2 connections carry frames besides requests (SETTINGS, PING), so after their first
//! request only the idle rule applies to them.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The two limits, per connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Longest a request head may take to arrive, counted from its first byte (or from accept).
    pub header_read: Duration,
    /// Longest a connection may sit idle between requests.
    pub keep_alive: Duration,
    /// Longest a response write may wait for the client to read.
    pub send: Duration,
}

/// What the connection is doing, shared by its I/O, its requests and its timer.
#[derive(Debug)]
pub struct Activity {
    timeouts: Timeouts,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    reading_head: bool,
    http2: bool,
    since: Instant,
    /// Since when a write has been waiting for the client (`None`: writes go through).
    write_blocked: Option<Instant>,
}

impl Activity {
    /// A freshly accepted connection: its first request head is due within the header timeout.
    pub fn new(timeouts: Timeouts) -> Arc<Self> {
        Arc::new(Self {
            timeouts,
            state: Mutex::new(State {
                in_flight: 0,
                reading_head: true,
                http2: false,
                since: Instant::now(),
                write_blocked: None,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain fields; a panic elsewhere cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn on_bytes(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && !state.reading_head && !state.http2 {
            state.reading_head = true;
            state.since = Instant::now();
        }
    }

    /// Marks a request head as received; the returned guard marks its end when dropped.
    pub fn begin_request(self: &Arc<Self>, http2: bool) -> RequestGuard {
        let mut state = self.state();
        state.in_flight += 1;
        state.reading_head = false;
        state.http2 |= http2;
        RequestGuard {
            activity: Arc::clone(self),
        }
    }

    fn on_write(&self, progressed: bool) {
        let mut state = self.state();
        match (progressed, state.write_blocked) {
            (true, Some(_)) => state.write_blocked = None,
            (false, None) => state.write_blocked = Some(Instant::now()),
            _ => {}
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let state = self.state();
        if let Some(blocked) = state.write_blocked {
            Some(blocked + self.timeouts.send)
        } else if state.in_flight > 0 {
            None
        } else if state.reading_head {
            Some(state.since + self.timeouts.header_read)
        } else {
            Some(state.since + self.timeouts.keep_alive)
        }
    }

    /// Completes when the connection has been idle, or slow to send a head, for too long.
    ///
    /// The deadline can move earlier while this sleeps (an idle connection starts sending a
    /// head: its keep-alive deadline becomes a header deadline). Rather than waking this task
    /// on every request to say so, it never sleeps longer than the header timeout: a head
    /// begun during a sleep is then seen before its own deadline, which is kept exactly.
    pub async fn expired(&self) {
        let longest = self.timeouts.header_read;
        loop {
            let now = Instant::now();
            match self.deadline() {
                Some(deadline) if deadline <= now => return,
                Some(deadline) => tokio::time::sleep_until(deadline.min(now + longest)).await,
                // A request is in flight: no deadline until it ends.
                None => tokio::time::sleep(longest).await,
            }
        }
    }
}

/// Held while a request is in flight: from its head until its response body is done.
#[derive(Debug)]
pub struct RequestGuard {
    activity: Arc<Activity>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut state = self.activity.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.reading_head = false;
            state.since = Instant::now();
        }
    }
}

/// A response body that holds its request's [`RequestGuard`] until it is finished or dropped.
#[derive(Debug)]
pub struct GuardedBody<B> {
    inner: B,
    _guard: RequestGuard,
}

impl<B> GuardedBody<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, guard: RequestGuard) -> Self {
        Self {
            inner,
            _guard: guard,
        }
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's stream that reports received bytes to its [`Activity`].
#[derive(Debug)]
pub struct Tracked<S> {
    io: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    /// Wraps `io`.
    pub fn new(io: S, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_bytes();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.activity.on_write(result.is_ready());
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.activity.on_write(result.is_ready());
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        keep_alive: Duration::from_secs(100),
        send: Duration::from_secs(60),
    };

    #[tokio::test(start_paused = true)]
    async fn fresh_connection_must_send_a_head_in_time() {
        let a = Activity::new(T);
        let start = Instant::now();
        a.expired().await;
        assert_eq!(start.elapsed(), T.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_after_a_request_lasts_the_keep_alive_not_the_header_timeout() {
        let a = Activity::new(T);
        drop(a.begin_request(false));
        let start = Instant::now();
        a.expired().await;
        assert_eq!(start.elapsed(), T.keep_alive);
    }

    #[tokio::test(start_paused = true)]
    async fn partial_head_after_idle_gets_the_header_timeout() {
        let a = Activity::new(T);
        drop(a.begin_request(false));
        tokio::time::advance(Duration::from_secs(50)).await;
        a.on_bytes();
        let start = Instant::now();
        a.expired().await;
        assert_eq!(start.elapsed(), T.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_starting_while_the_timer_sleeps_moves_the_deadline_earlier() {
        let a = Activity::new(T);
        drop(a.begin_request(false));
        let start = Instant::now();
        let timer = a.expired();
        tokio::pin!(timer);
        // The timer is asleep until the keep-alive deadline when the first bytes arrive.
        assert!(
            tokio::time::timeout(Duration::from_secs(20), &mut timer)
                .await
                .is_err()
        );
        a.on_bytes();
        timer.await;
        assert_eq!(start.elapsed(), Duration::from_secs(20) + T.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_requests_never_expire() {
        let a = Activity::new(T);
        let guard = a.begin_request(false);
        let timer = tokio::time::timeout(Duration::from_secs(1000), a.expired()).await;
        assert!(timer.is_err());
        drop(guard);
        let start = Instant::now();
        a.expired().await;
        assert_eq!(start.elapsed(), T.keep_alive);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_the_client_does_not_read_expires_after_the_send_timeout() {
        let a = Activity::new(T);
        let guard = a.begin_request(false);
        // Writes going through: no deadline, however long the response takes.
        a.on_write(true);
        assert!(
            tokio::time::timeout(Duration::from_secs(500), a.expired())
                .await
                .is_err()
        );
        // A write that waits: the send timeout runs from its first wait, not its retries.
        a.on_write(false);
        let start = Instant::now();
        tokio::time::advance(Duration::from_secs(30)).await;
        a.on_write(false);
        a.expired().await;
        assert_eq!(start.elapsed(), T.send);
        // Progress clears it.
        a.on_write(true);
        assert!(
            tokio::time::timeout(Duration::from_secs(500), a.expired())
                .await
                .is_err()
        );
        drop(guard);
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_do_not_start_the_header_timer() {
        let a = Activity::new(T);
        drop(a.begin_request(true));
        a.on_bytes();
        let start = Instant::now();
        a.expired().await;
        assert_eq!(start.elapsed(), T.keep_alive);
    }
}
