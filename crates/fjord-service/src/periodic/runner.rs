//! The runner: which tasks are due, run them isolated, how long to idle.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::options::PeriodicOptions;
use super::task::{DEFAULT_INTERVAL, PeriodicTask};
use crate::TaskGroup;

/// The periodic tasks of one manager and their schedule (oslo.service
/// `PeriodicTasks` with `run_periodic_tasks`).
///
/// Build it synchronously (in the master, before fork, if you like), then
/// either [`PeriodicTasks::start`] it in the service's [`TaskGroup`] from
/// [`crate::Service::start`], or drive it yourself with
/// [`PeriodicTasks::run_periodic_tasks`].
///
/// Scheduling follows oslo: a task is due once `spacing` has passed since its
/// last run; its next run is then aligned on the boundary `last_run + k *
/// spacing` (plus a jitter of 0–5 % of the spacing, in whole seconds, so
/// tasks with spacings from 20 s up do not synchronise across workers);
/// runs that were missed are not caught up. A tick returns the time until the
/// next task is due, at most 60 s, and [`PeriodicTasks::start`] caps it
/// further by `periodic_interval_max`.
///
/// Isolation: a task that returns an error or panics is logged (at ERROR,
/// with its name and the error) and runs again at its next boundary; other
/// tasks and the service go on. Under [`PeriodicTasks::start`] every run is
/// its own task in the group, so a slow task does not delay the others
/// either; if it is still running when it comes due again, that run is
/// skipped with a warning (a task never overlaps itself).
///
/// # Examples
///
/// ```
/// use fjord_service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
/// use fjord_service::TaskGroup;
/// use std::time::Duration;
///
/// // built before fork: no runtime needed
/// let tasks = PeriodicTasks::new()
///     .add(PeriodicTask::new("report", Duration::from_secs(10), |host: String| async move {
///         println!("report from {host}");
///         Ok::<(), std::io::Error>(())
///     }).run_immediately(true))
///     .add(PeriodicTask::new("cleanup", Duration::from_secs(3600), |_host: String| async {}));
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // in Service::start
/// let tg = TaskGroup::default();
/// tasks.start(&tg, "host-1".to_string(), &PeriodicOptions::default());
/// // in Service::stop
/// tg.stop(true).await;
/// # });
/// ```
pub struct PeriodicTasks<C = ()> {
    owner: Option<String>,
    entries: Vec<Arc<Entry<C>>>,
    armed: Arc<AtomicBool>,
    ticks: Arc<AtomicU64>,
}

struct Entry<C> {
    task: PeriodicTask<C>,
    full_name: String,
    state: Mutex<EntryState>,
}

#[derive(Default)]
struct EntryState {
    last_run: Option<Instant>,
    running: bool,
    runs: u64,
    failures: u64,
    skipped: u64,
    last_error: Option<String>,
}

/// What one periodic task has done so far ([`PeriodicTasks::report`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskReport {
    /// The task's name, with the owner if one was set (`Owner.task`).
    pub name: String,
    /// Its spacing.
    pub spacing: Duration,
    /// Runs started.
    pub runs: u64,
    /// Runs that returned an error or panicked.
    pub failures: u64,
    /// Runs skipped because the previous one was still going.
    pub skipped: u64,
    /// Whether a run is in progress.
    pub running: bool,
    /// The error of the last failed run.
    pub last_error: Option<String>,
}

impl<C> Entry<C> {
    fn state(&self) -> MutexGuard<'_, EntryState> {
        // Every critical section is a few field writes: a poisoned lock holds
        // consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<C> Clone for PeriodicTasks<C> {
    fn clone(&self) -> Self {
        PeriodicTasks {
            owner: self.owner.clone(),
            entries: self.entries.clone(),
            armed: self.armed.clone(),
            ticks: self.ticks.clone(),
        }
    }
}

impl<C> Default for PeriodicTasks<C> {
    fn default() -> Self {
        PeriodicTasks {
            owner: None,
            entries: Vec::new(),
            armed: Arc::new(AtomicBool::new(false)),
            ticks: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<C> fmt::Debug for PeriodicTasks<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicTasks")
            .field("owner", &self.owner)
            .field("ticks", &self.ticks())
            .field(
                "tasks",
                &self.entries.iter().map(|e| &e.task).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<C> PeriodicTasks<C> {
    /// No tasks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the manager that owns the tasks; logs then say
    /// `Owner.task` as oslo does (`ComputeManager._heal_instance_info_cache`).
    /// Default is no owner (logs name the task alone).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        let owner = owner.into();
        for e in &mut self.entries {
            if let Some(entry) = Arc::get_mut(e) {
                entry.full_name = format!("{owner}.{}", entry.task.name);
            }
        }
        self.owner = Some(owner);
        self
    }

    /// Adds a task. A disabled task is not added (logged at INFO, as oslo
    /// does); a task with the name of one already added replaces it (logged
    /// at WARN).
    #[allow(clippy::should_implement_trait)] // a builder step, not `+`
    pub fn add(mut self, task: PeriodicTask<C>) -> Self {
        let full_name = match &self.owner {
            Some(o) => format!("{o}.{}", task.name),
            None => task.name.clone(),
        };
        if !task.enabled {
            tracing::info!("Skipping periodic task {full_name} because it is disabled");
            return self;
        }
        let entry = Arc::new(Entry {
            task,
            full_name,
            state: Mutex::new(EntryState::default()),
        });
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.task.name == entry.task.name)
        {
            tracing::warn!(
                "periodic task {} added twice; the last one wins",
                entry.full_name
            );
            self.entries[i] = entry;
        } else {
            self.entries.push(entry);
        }
        self
    }

    /// Number of (enabled) tasks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no enabled task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names of the enabled tasks, in the order they were added.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.task.name.as_str()).collect()
    }

    /// How many times the runner has looked for due tasks since it was
    /// built (for reports and tests).
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// What each task has done so far, in the order they were added (for
    /// reports: SIGUSR2, the status page).
    pub fn report(&self) -> Vec<TaskReport> {
        self.entries
            .iter()
            .map(|e| {
                let st = e.state();
                TaskReport {
                    name: e.full_name.clone(),
                    spacing: e.task.spacing,
                    runs: st.runs,
                    failures: st.failures,
                    skipped: st.skipped,
                    running: st.running,
                    last_error: st.last_error.clone(),
                }
            })
            .collect()
    }

    /// Starts the schedule now: tasks with `run_immediately` are due, the
    /// others are due one spacing from now.
    fn arm(&self, now: Instant) {
        for e in &self.entries {
            let mut st = e.state();
            st.last_run = if e.task.run_immediately {
                None
            } else {
                Some(now)
            };
        }
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Picks the due tasks (marking them running and moving their last run
    /// to the nearest boundary) and computes the idle time (oslo
    /// `run_periodic_tasks` minus the running).
    fn take_due(&self, now: Instant) -> (Vec<Arc<Entry<C>>>, Duration) {
        if !self.armed.load(Ordering::SeqCst) {
            self.arm(now);
        }
        self.ticks.fetch_add(1, Ordering::Relaxed);
        let mut idle = DEFAULT_INTERVAL;
        let mut due = Vec::new();
        for e in &self.entries {
            let spacing = e.task.spacing;
            let mut st = e.state();
            idle = idle.min(spacing);
            if let Some(last) = st.last_run {
                let due_at = last + spacing;
                if due_at > now {
                    idle = idle.min(due_at - now);
                    crate::diagnostics::periodic_next(&e.full_name, due_at - now);
                    continue;
                }
            }
            let last = nearest_boundary(st.last_run, spacing, now);
            st.last_run = Some(last);
            crate::diagnostics::periodic_next(
                &e.full_name,
                (last + spacing).saturating_duration_since(now),
            );
            if st.running {
                tracing::warn!(
                    task = %e.full_name,
                    "Skipping periodic task {}: its previous run is still in progress",
                    e.full_name
                );
                st.skipped += 1;
                continue;
            }
            st.running = true;
            st.runs += 1;
            due.push(e.clone());
        }
        (due, idle)
    }
}

impl<C: Clone + Send + 'static> PeriodicTasks<C> {
    /// Runs the tasks that are due, concurrently, and returns how long to
    /// wait before the next call (at most 60 s). A task that fails or
    /// panics is logged; it never makes this fail. The first call starts
    /// the schedule.
    ///
    /// This is oslo's `run_periodic_tasks(context)`; a service usually
    /// calls [`PeriodicTasks::start`] instead.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the runs in progress; their tasks run
    /// again at their next boundary.
    pub async fn run_periodic_tasks(&self, ctx: C) -> Duration {
        let (due, idle) = self.take_due(Instant::now());
        futures_util::future::join_all(due.into_iter().map(|e| run_entry(e, ctx.clone()))).await;
        idle
    }
}

impl<C: Clone + Send + Sync + 'static> PeriodicTasks<C> {
    /// Runs the tasks in `tg` (oslo `Service.start` with
    /// `add_dynamic_timer`): the first tick comes after a random delay in
    /// `[0, periodic_fuzzy_delay]`, the next ones when the next task is due
    /// but never more than `periodic_interval_max` apart. Each run is its
    /// own task in `tg`, so a graceful [`TaskGroup::stop`] lets the runs in
    /// progress finish and a forced one aborts them. The schedule starts
    /// now (again, after a reset).
    ///
    /// Returns the abort handle of the ticking timer.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (call it from [`crate::Service::start`]).
    pub fn start(&self, tg: &TaskGroup, ctx: C, options: &PeriodicOptions) -> AbortHandle {
        self.arm(Instant::now());
        for e in &self.entries {
            e.state().running = false;
        }
        let initial_delay = options.fuzzy_initial_delay();
        tracing::debug!(
            "periodic tasks {:?} start in {initial_delay:?}",
            self.names()
        );
        let this = self.clone();
        let group = tg.clone();
        tg.add_dynamic_timer(
            initial_delay,
            Some(options.periodic_interval_max),
            move || {
                let (due, idle) = this.take_due(Instant::now());
                for e in due {
                    group.spawn(run_entry(e, ctx.clone()));
                }
                async move { idle }
            },
        )
    }
}

/// Clears an entry's running flag when its run ends, even by abort.
struct RunningGuard<C>(Arc<Entry<C>>);

impl<C> Drop for RunningGuard<C> {
    fn drop(&mut self) {
        self.0.state().running = false;
    }
}

async fn run_entry<C: Send + 'static>(entry: Arc<Entry<C>>, ctx: C) {
    let guard = RunningGuard(entry);
    let entry = &guard.0;
    let name = entry.full_name.as_str();
    tracing::debug!(task = %name, "Running periodic task {name}");
    crate::diagnostics::periodic_started(name);
    let func = entry.task.func.clone();
    let outcome = AssertUnwindSafe(async move { func(ctx).await })
        .catch_unwind()
        .await;
    let error = match outcome {
        Ok(None) => None,
        Ok(Some(error)) => {
            tracing::error!(task = %name, error = %error, "Error during periodic task {name}: {error}");
            Some(error)
        }
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            tracing::error!(task = %name, error = %msg, "Periodic task {name} panicked: {msg}");
            Some(format!("panicked: {msg}"))
        }
    };
    crate::diagnostics::periodic_finished(name, error.as_deref());
    crate::diagnostics::periodic_run(
        name,
        if error.is_some() {
            crate::diagnostics::Outcome::Error
        } else {
            crate::diagnostics::Outcome::Ok
        },
    );
    if let Some(error) = error {
        let mut st = entry.state();
        st.failures += 1;
        st.last_error = Some(error);
    }
    drop(guard);
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// oslo `_nearest_boundary`: the latest `last_run + k * spacing` not after
/// `now`, plus a jitter of 0–5 % of the spacing in whole seconds.
fn nearest_boundary(last_run: Option<Instant>, spacing: Duration, now: Instant) -> Instant {
    let Some(last) = last_run else {
        return now;
    };
    let delta = now.saturating_duration_since(last + spacing);
    let rem = u64::try_from(delta.as_nanos() % spacing.as_nanos().max(1)).unwrap_or(0);
    let jitter = (spacing.as_secs_f64() * rand::random::<f64>() / 20.0).floor();
    now - Duration::from_nanos(rem) + Duration::from_secs(jitter as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_aligned_on_the_last_run() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        // last run 10, spacing 7, now 26 -> 24 (oslo's docstring example)
        let b = nearest_boundary(Some(t0 + s(10)), s(7), t0 + s(26));
        assert_eq!(b, t0 + s(24));
        assert_eq!(nearest_boundary(None, s(7), t0 + s(3)), t0 + s(3));
        // spacing >= 20 s gets 0-5 % jitter
        for _ in 0..50 {
            let b = nearest_boundary(Some(t0), s(100), t0 + s(100));
            assert!(b >= t0 + s(100) && b <= t0 + s(105), "{:?}", b - t0);
        }
    }
}
