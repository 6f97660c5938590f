//! The workers' poll strategy: wake every `interval`, always with a timer armed.
//!
//! apalis-core 1.0's `IntervalStrategy` replaces a fired timer without polling the new one, so
//! when the timer and a finished (empty) fetch wake the worker in the same poll, nothing is left
//! to wake it: the worker sleeps until its 30 s heartbeat. PostgreSQL's slower fetch makes that
//! race common (tasks scheduled a second ahead ran ~30 s late).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Sleep, sleep};

pub struct Every {
    interval: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Every {
    pub fn new(interval: Duration) -> Self {
        Every {
            interval,
            timer: Box::pin(sleep(interval)),
        }
    }
}

impl PollStrategy for Every {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.timer = Box::pin(sleep(self.interval));
        // Arm the next tick now: it registers this waker.
        let _ = self.timer.as_mut().poll(cx);
        Poll::Ready(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::task::{ArcWake, waker};

    use super::*;

    struct Count(AtomicUsize);

    impl ArcWake for Count {
        fn wake_by_ref(me: &Arc<Self>) {
            me.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_fired_tick_arms_the_next_one() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = waker(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut every = Every::new(Duration::from_millis(20));
        let snapshot = PollSnapshot::default();
        assert!(every.poll_drive(&mut cx, &snapshot).is_pending());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(every.poll_drive(&mut cx, &snapshot).is_ready());
        let woken = count.0.load(Ordering::SeqCst);
        // Not polled again: only the armed timer can wake the worker.
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(
            count.0.load(Ordering::SeqCst) > woken,
            "the next tick wakes the worker"
        );
    }
}
