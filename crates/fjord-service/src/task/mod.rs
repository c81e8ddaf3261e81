//! Task groups (oslo.service `ThreadGroup`), on tokio.
//!
//! A [`TaskGroup`] holds the tasks and timers of a service so that
//! [`crate::Service::stop`] and [`crate::Service::wait`] are one line each.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tasks, fixed-interval timers and dynamic timers of one service
/// (oslo.service `ThreadGroup`).
///
/// * `stop(true)`: timers stop scheduling new runs; a run in progress and
///   every plain task finish (tasks watch [`TaskGroup::stopping`] to learn
///   they should wind down).
/// * `stop(false)`: every task and timer is aborted at its next await point.
/// * `wait()`: until every task has ended.
/// * `reset()`: usable again after a stop.
///
/// Building a group touches no runtime, so a service can own one from its
/// constructor (in the master, before fork); spawning needs the runtime the
/// worker builds, i.e. call them from [`crate::Service::start`].
///
/// # Examples
///
/// ```
/// use fjord_service::TaskGroup;
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let tg = TaskGroup::default();
/// let stopping = tg.stopping();
/// tg.spawn(async move {
///     // one job at a time, until asked to stop
///     while !stopping.is_cancelled() {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///     }
/// });
/// tg.add_timer(Duration::from_millis(10), Duration::ZERO, || async {});
/// tg.stop(true).await;
/// tg.wait().await;
/// # });
/// ```
#[derive(Clone, Default)]
pub struct TaskGroup {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    tracker: TaskTracker,
    stopping: CancellationToken,
    aborts: Vec<AbortHandle>,
}

impl std::fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("TaskGroup")
            .field("tasks", &inner.tracker.len())
            .field("stopping", &inner.stopping.is_cancelled())
            .finish()
    }
}

impl TaskGroup {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave Inner inconsistent
        // (every critical section is a single push or swap).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token cancelled when the group is asked to stop; tasks watch it to
    /// finish their current job and return.
    pub fn stopping(&self) -> CancellationToken {
        self.lock().stopping.clone()
    }

    /// Number of tasks still running.
    pub fn len(&self) -> usize {
        self.lock().tracker.len()
    }

    /// Whether no task is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spawns a task in the group.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as `tokio::spawn`).
    pub fn spawn<F>(&self, future: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut inner = self.lock();
        let handle = inner.tracker.spawn(future);
        let abort = handle.abort_handle();
        inner.aborts.retain(|a| !a.is_finished());
        inner.aborts.push(abort.clone());
        abort
    }

    /// Runs `f` every `interval` after `initial_delay` (oslo
    /// `add_timer`/`FixedIntervalLoopingCall`). Intervals are measured from
    /// the start of each run; a run that outlasts the interval is logged and
    /// the next one starts at once.
    pub fn add_timer<F, Fut>(
        &self,
        interval: Duration,
        initial_delay: Duration,
        mut f: F,
    ) -> AbortHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stopping = self.stopping();
        self.spawn(async move {
            if !sleep_or_stop(initial_delay, &stopping).await {
                return;
            }
            loop {
                let start = tokio::time::Instant::now();
                f().await;
                let took = start.elapsed();
                let delay = interval.checked_sub(took).unwrap_or_else(|| {
                    tracing::warn!(
                        "timer run outlasted its interval {interval:?} by {:?}",
                        took - interval
                    );
                    Duration::ZERO
                });
                if !sleep_or_stop(delay, &stopping).await {
                    return;
                }
            }
        })
    }

    /// Runs `f` after `initial_delay`, then again after whatever delay it
    /// returns, never waiting more than `max_interval` (oslo
    /// `add_dynamic_timer` with `periodic_interval_max`).
    pub fn add_dynamic_timer<F, Fut>(
        &self,
        initial_delay: Duration,
        max_interval: Option<Duration>,
        mut f: F,
    ) -> AbortHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Duration> + Send + 'static,
    {
        let stopping = self.stopping();
        self.spawn(async move {
            let mut delay = initial_delay;
            loop {
                if !sleep_or_stop(delay, &stopping).await {
                    return;
                }
                delay = f().await;
                if let Some(max) = max_interval {
                    delay = delay.min(max);
                }
            }
        })
    }

    /// Asks every task to stop. `graceful`: timers stop scheduling, running
    /// work finishes, and this returns when every task has ended. Not
    /// graceful: every task is aborted.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future of a graceful stop leaves the tasks winding
    /// down; `stop(false)` aborts them.
    pub async fn stop(&self, graceful: bool) {
        let (tracker, aborts) = {
            let mut inner = self.lock();
            inner.stopping.cancel();
            inner.tracker.close();
            (inner.tracker.clone(), std::mem::take(&mut inner.aborts))
        };
        if graceful {
            tracker.wait().await;
        } else {
            for a in aborts {
                a.abort();
            }
        }
    }

    /// Waits until every task of the group has ended. Call it after
    /// [`TaskGroup::stop`], or on its own to wait for tasks that end by
    /// themselves.
    pub async fn wait(&self) {
        let tracker = {
            let inner = self.lock();
            inner.tracker.close();
            inner.tracker.clone()
        };
        tracker.wait().await;
    }

    /// Makes a stopped group usable again (SIGHUP restart).
    pub fn reset(&self) {
        *self.lock() = Inner::default();
    }
}

/// Sleeps `d` unless `stopping` fires first (at once if it already has);
/// returns whether to go on: `true` after the sleep, `false` when stopping.
/// For loops of the tasks of a [`TaskGroup`], with its
/// [`stopping`](TaskGroup::stopping) token.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fjord_service::task::sleep_or_stop;
/// use fjord_service::TaskGroup;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let tg = TaskGroup::default();
/// let stopping = tg.stopping();
/// assert!(sleep_or_stop(Duration::from_millis(1), &stopping).await);
/// stopping.cancel();
/// assert!(!sleep_or_stop(Duration::from_secs(3600), &stopping).await);
/// # });
/// ```
///
/// # Cancel safety
///
/// Cancel safe: dropping it only abandons the sleep.
pub async fn sleep_or_stop(d: Duration, stopping: &CancellationToken) -> bool {
    if stopping.is_cancelled() {
        return false;
    }
    if d.is_zero() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stopping.cancelled() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn timer_runs_until_graceful_stop_and_finishes_the_run() {
        rt().block_on(async {
            let tg = TaskGroup::default();
            let runs = Arc::new(AtomicUsize::new(0));
            let r = runs.clone();
            tg.add_timer(Duration::from_secs(10), Duration::ZERO, move || {
                let r = r.clone();
                async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    r.fetch_add(1, Ordering::SeqCst);
                }
            });
            tokio::time::sleep(Duration::from_secs(25)).await;
            // runs at 0, 10, 20 (in progress, finishing at 21)
            tg.stop(true).await;
            assert_eq!(runs.load(Ordering::SeqCst), 3);
            assert!(tg.is_empty());
        });
    }

    #[test]
    fn forced_stop_aborts_work_in_flight() {
        rt().block_on(async {
            let tg = TaskGroup::default();
            let done = Arc::new(AtomicUsize::new(0));
            let d = done.clone();
            tg.spawn(async move {
                tokio::time::sleep(Duration::from_secs(100)).await;
                d.fetch_add(1, Ordering::SeqCst);
            });
            tokio::time::sleep(Duration::from_secs(1)).await;
            tg.stop(false).await;
            tg.wait().await;
            assert_eq!(done.load(Ordering::SeqCst), 0);
        });
    }

    #[test]
    fn dynamic_timer_is_capped_and_reset_allows_restart() {
        rt().block_on(async {
            let tg = TaskGroup::default();
            let times = Arc::new(Mutex::new(Vec::new()));
            let t = times.clone();
            let start = tokio::time::Instant::now();
            tg.add_dynamic_timer(
                Duration::from_secs(1),
                Some(Duration::from_secs(5)),
                move || {
                    t.lock().unwrap().push(start.elapsed().as_secs());
                    async { Duration::from_secs(60) }
                },
            );
            tokio::time::sleep(Duration::from_secs(12)).await;
            tg.stop(true).await;
            assert_eq!(*times.lock().unwrap(), vec![1, 6, 11]);
            tg.reset();
            let ran = Arc::new(AtomicUsize::new(0));
            let r = ran.clone();
            tg.spawn(async move {
                r.fetch_add(1, Ordering::SeqCst);
            });
            tg.wait().await;
            assert_eq!(ran.load(Ordering::SeqCst), 1);
        });
    }
}
