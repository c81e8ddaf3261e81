//! One periodic task: a name, a spacing, flags and an async function.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

/// oslo.service's `DEFAULT_INTERVAL`: the spacing of a task declared with
/// spacing zero, and the longest idle time a tick ever returns.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// What a periodic task's future may return: `()` for a task that cannot
/// fail, or `Result<(), E>` for any displayable error `E` (a failure is
/// logged with the task's name and the error, and the task runs again at
/// its next boundary).
pub trait TaskOutput: Send + 'static {
    /// The error text of a failed run, if it failed.
    fn into_error(self) -> Option<String>;
}

impl TaskOutput for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display + Send + 'static> TaskOutput for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

pub(crate) type TaskFn<C> = Arc<dyn Fn(C) -> BoxFuture<'static, Option<String>> + Send + Sync>;

/// A periodic task of a manager (oslo.service `@periodic_task`).
///
/// The function receives a clone of the runner's context (oslo passes the
/// admin request context; use `()` if you need none) and returns a future.
///
/// # Examples
///
/// ```
/// use fjord_service::periodic::PeriodicTask;
/// use std::time::Duration;
///
/// let task = PeriodicTask::new("report", Duration::from_secs(10), |_ctx: ()| async {
///     // gather and send a report
///     Ok::<(), std::io::Error>(())
/// })
/// .run_immediately(true);
/// assert_eq!(task.name(), "report");
/// assert_eq!(task.spacing(), Duration::from_secs(10));
/// ```
pub struct PeriodicTask<C = ()> {
    pub(crate) name: String,
    pub(crate) spacing: Duration,
    pub(crate) run_immediately: bool,
    pub(crate) enabled: bool,
    pub(crate) func: TaskFn<C>,
}

impl<C> fmt::Debug for PeriodicTask<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicTask")
            .field("name", &self.name)
            .field("spacing", &self.spacing)
            .field("run_immediately", &self.run_immediately)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl<C: Send + 'static> PeriodicTask<C> {
    /// A task named `name` that runs `f` every `spacing`.
    ///
    /// A spacing of zero means the default interval (60 s), as in
    /// oslo.service, so that a task never runs in a tight loop.
    pub fn new<F, Fut>(name: impl Into<String>, spacing: Duration, f: F) -> Self
    where
        F: Fn(C) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutput,
    {
        let func: TaskFn<C> = Arc::new(move |ctx| {
            let fut = f(ctx);
            Box::pin(async move { fut.await.into_error() })
        });
        PeriodicTask {
            name: name.into(),
            spacing: if spacing.is_zero() {
                DEFAULT_INTERVAL
            } else {
                spacing
            },
            run_immediately: false,
            enabled: true,
            func,
        }
    }
}

impl<C> PeriodicTask<C> {
    /// Runs the task at the first tick instead of one spacing after the
    /// runner started. Default is `false`.
    pub fn run_immediately(mut self, yes: bool) -> Self {
        self.run_immediately = yes;
        self
    }

    /// Whether the task runs at all; a disabled task is skipped (and logged)
    /// when it is added. Default is `true`.
    pub fn enabled(mut self, yes: bool) -> Self {
        self.enabled = yes;
        self
    }

    /// The task's name, used in logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How often the task runs (zero was turned into the 60 s default).
    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Whether the task runs at the first tick.
    pub fn is_run_immediately(&self) -> bool {
        self.run_immediately
    }

    /// Whether the task is enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_zero_spacing() {
        let t = PeriodicTask::new("t", Duration::ZERO, |_: ()| async {});
        assert_eq!(t.spacing(), DEFAULT_INTERVAL);
        assert!(!t.is_run_immediately());
        assert!(t.is_enabled());
        let t = t.run_immediately(true).enabled(false);
        assert!(t.is_run_immediately());
        assert!(!t.is_enabled());
    }

    #[test]
    fn outputs_map_to_errors() {
        assert_eq!(().into_error(), None);
        assert_eq!(Ok::<(), String>(()).into_error(), None);
        assert_eq!(Err::<(), _>("boom").into_error(), Some("boom".into()));
    }
}
