//! How many requests the process is serving right now, so that background
//! work (webhook dispatch) gives way to them: on two cores, a dispatcher
//! sending thousands of deliveries a second takes the CPU the requests that
//! caused them are waiting for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The count of requests in flight, shared by the HTTP layer and the
/// background workers of one process.
#[derive(Clone, Debug, Default)]
pub struct Foreground(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    in_flight: AtomicUsize,
    /// Woken when the count falls to zero.
    idle: Notify,
}

/// A request in flight; it leaves the count when dropped (answered,
/// failed or cancelled alike).
pub struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Foreground {
    pub fn enter(&self) -> InFlight {
        self.0.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.0.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::Acquire)
    }

    /// Waits until no request is in flight, but never longer than
    /// `at_most`: background work is deferred, never starved. It sleeps
    /// until the last request ends rather than looking again and again.
    pub async fn quiet(&self, at_most: Duration) {
        let deadline = Instant::now() + at_most;
        loop {
            // Registered before the count is read, so a request ending in
            // between still wakes this waiter.
            let idle = self.0.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, idle).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_waits_for_requests_but_not_forever() {
        let fg = Foreground::default();
        let started = Instant::now();
        fg.quiet(Duration::from_secs(5)).await;
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "no request: no wait"
        );

        let request = fg.enter();
        assert_eq!(fg.in_flight(), 1);
        let started = Instant::now();
        fg.quiet(Duration::from_millis(60)).await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(60) && waited < Duration::from_secs(2),
            "{waited:?}"
        );

        let waiter = {
            let fg = fg.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                fg.quiet(Duration::from_secs(5)).await;
                started.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(request);
        let waited = waiter.await.unwrap();
        assert!(
            waited < Duration::from_millis(300),
            "released when the request ends: {waited:?}"
        );
        assert_eq!(fg.in_flight(), 0);
    }

    #[tokio::test]
    async fn the_wait_ends_when_the_last_request_ends_not_the_first() {
        let fg = Foreground::default();
        let (a, b) = (fg.enter(), fg.enter());
        let waiter = {
            let fg = fg.clone();
            tokio::spawn(async move { fg.quiet(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(a);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "one request is still in flight");
        let ended = Instant::now();
        drop(b);
        waiter.await.unwrap();
        assert!(
            ended.elapsed() < Duration::from_millis(300),
            "{:?}",
            ended.elapsed()
        );
    }
}
