//! A connection's clocks for the accept loop's timeouts: when the head of the next request
//! started arriving, when the connection last went idle, and whether a request is under way.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `opened` (+1; 0 is "none") of the first byte of a head being read.
    head_started: AtomicU64,
    /// Milliseconds since `opened` of the last sign of life while no request is under way.
    idle_since: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(0),
            idle_since: AtomicU64::new(1),
        })
    }

    fn now(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64 + 1
    }

    /// Bytes arrived: between requests, that starts the head's clock.
    fn read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self.head_started.compare_exchange(
                0,
                self.now(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    /// Bytes left (a response still being written): the connection is not idle.
    fn wrote(&self) {
        if self.head_started.load(Ordering::Acquire) == 0 {
            self.idle_since.store(self.now(), Ordering::Release);
        }
    }

    /// A request's head is complete; the returned guard ends it.
    pub fn begin(self: &Arc<Self>) -> RequestDone {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
        RequestDone(self.clone())
    }

    /// Whether the connection should be closed: a head slower than `header`, or nothing for
    /// `idle` with no request under way.
    pub fn expired(&self, header: Duration, idle: Duration) -> bool {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return false;
        }
        let now = self.now();
        match self.head_started.load(Ordering::Acquire) {
            0 => {
                now.saturating_sub(self.idle_since.load(Ordering::Acquire))
                    > idle.as_millis() as u64
            }
            started => now.saturating_sub(started) > header.as_millis() as u64,
        }
    }
}

/// Ends a request when dropped (its answer is written or abandoned).
pub struct RequestDone(Arc<Activity>);

impl Drop for RequestDone {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.head_started.store(0, Ordering::Release);
        activity.idle_since.store(activity.now(), Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream that reports its reads and writes, and keeps `held` (the connection's slot) as long
/// as it lives, through an upgrade too.
pub struct Tracked<S, H> {
    inner: S,
    activity: Arc<Activity>,
    _held: H,
}

impl<S, H> Tracked<S, H> {
    pub fn new(inner: S, activity: Arc<Activity>, held: H) -> Self {
        Tracked {
            inner,
            activity,
            _held: held,
        }
    }
}

impl<S: AsyncRead + Unpin, H: Unpin> AsyncRead for Tracked<S, H> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin, H: Unpin> AsyncWrite for Tracked<S, H> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
