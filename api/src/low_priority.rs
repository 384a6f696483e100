//! A runtime for background work that must not take the CPU requests are
//! waiting for: one thread of its own at a lower OS priority (nice
//! [`NICE`] on Linux). On two cores the requests and the webhook
//! dispatcher's HTTP work compete for the same CPU; the kernel's scheduler
//! then serves the requests first and gives the background work what is
//! left, without it ever being starved outright (nice lowers a thread's
//! share, it does not stop it).
//!
//! Work sent here must hold no lock a request can wait for (a row lock, a
//! transaction, SQLite's write turn): a low-priority thread that holds one
//! while it waits for the CPU would make the requests wait behind it. The
//! dispatcher keeps its database work on the main runtime and sends only
//! the attempts' HTTP exchanges here.

use std::future::Future;
use std::io;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The nice value of the thread: 10 of 19, a share of about a tenth of a
/// normal thread's when both want the CPU.
pub const NICE: i32 = 10;

/// The runtime's handle; the thread and everything spawned on it end when
/// this is dropped (tasks still running are dropped with it).
pub struct LowPriority {
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl LowPriority {
    /// Starts the thread, named `name`, and its runtime.
    pub fn start(name: &str) -> io::Result<Self> {
        let (ready, started) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                lower_this_thread();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(err) => {
                        let _ = ready.send(Err(err));
                        return;
                    }
                };
                let _ = ready.send(Ok(runtime.handle().clone()));
                // Serves the spawned tasks until the owner drops the sender.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        let handle = started.recv().map_err(io::Error::other)??;
        Ok(LowPriority {
            handle,
            _stop: stop,
        })
    }

    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(task);
    }
}

/// Lowers the calling thread's priority; the threads it starts inherit it.
/// Linux keeps the nice value per thread, so the rest of the process keeps
/// its own.
#[cfg(target_os = "linux")]
fn lower_this_thread() {
    // SAFETY: neither call takes a pointer; a failure leaves the priority as
    // it was, which is only slower for the requests, never incorrect.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE) };
    if rc != 0 {
        tracing::warn!(
            cause = %io::Error::last_os_error(),
            "could not lower the priority of background work; it competes with requests"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_thread() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of the calling thread, from /proc (field 19 of its stat line).
    fn nice_here() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = stat.rsplit_once(')').unwrap().1;
        after_name
            .split_whitespace()
            .nth(16)
            .unwrap()
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn tasks_run_at_the_lower_priority_and_end_with_the_owner() {
        let before = nice_here();
        let low = LowPriority::start("low-priority-test").unwrap();
        let (tx, rx) = oneshot::channel();
        low.spawn(async move {
            let _ = tx.send((nice_here(), std::thread::current().name().map(String::from)));
        });
        let (nice, name) = rx.await.unwrap();
        assert_eq!(
            nice,
            (before + NICE).min(19),
            "the task's thread is lowered"
        );
        assert_eq!(name.as_deref(), Some("low-priority-test"));
        assert_eq!(
            nice_here(),
            before,
            "the caller's thread keeps its priority"
        );

        // A task that never ends is dropped with the owner, and the thread ends.
        let (alive, gone) = oneshot::channel::<()>();
        low.spawn(async move {
            let _alive = alive;
            std::future::pending::<()>().await;
        });
        drop(low);
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(5), gone)
                .await
                .is_ok(),
            "the runtime ends when its owner is dropped"
        );
    }
}
