//! How many requests the process is serving right now, so that background
//! work (webhook dispatch) gives way to them: on two cores, a dispatcher
//! sending thousands of deliveries a second takes the CPU the requests that
//! caused them are waiting for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a waiting background task looks again.
const LOOK_EVERY: Duration = Duration::from_millis(2);

/// The count of requests in flight, shared by the HTTP layer and the
/// background workers of one process.
#[derive(Clone, Debug, Default)]
pub struct Foreground(Arc<AtomicUsize>);

/// A request in flight; it leaves the count when dropped (answered,
/// failed or cancelled alike).
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Foreground {
    pub fn enter(&self) -> InFlight {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlight(self.0.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Waits until no request is in flight, but never longer than
    /// `at_most`: background work is deferred, never starved.
    pub async fn quiet(&self, at_most: Duration) {
        let started = Instant::now();
        while self.in_flight() > 0 && started.elapsed() < at_most {
            tokio::time::sleep(LOOK_EVERY).await;
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
            waited < Duration::from_secs(1),
            "released when the request ends: {waited:?}"
        );
        assert_eq!(fg.in_flight(), 0);
    }
}
