//! Periodic tasks on a manager (oslo.service `periodic_task`, T3).
//!
//! A manager declares its periodic tasks with [`PeriodicTask::new`] (name,
//! spacing, function) and the flags `run_immediately` and `enabled`, and
//! collects them in [`PeriodicTasks`]. The service runs them from
//! [`crate::Service::start`] with [`PeriodicTasks::start`], which adds a
//! dynamic timer to the service's [`crate::TaskGroup`]:
//!
//! * the first tick comes after a random delay in `[0,
//!   periodic_fuzzy_delay]` (60 s by default), so workers restarted together
//!   spread out;
//! * each tick starts the tasks that are due and sleeps until the next one is
//!   due, never more than `periodic_interval_max` (60 s);
//! * a task that returns `Err`, or panics, is logged with its name and error
//!   and runs again at its next boundary; neither the other tasks nor the
//!   service stop. Each run is its own task, so a slow task delays nobody
//!   and never overlaps itself.
//!
//! | oslo.service                                | fjord                                   |
//! |---------------------------------------------|-----------------------------------------|
//! | `@periodic_task(spacing=10)`                | `PeriodicTask::new(name, 10 s, f)`      |
//! | `run_immediately=True`                      | `.run_immediately(true)`                |
//! | `enabled=False`                             | `.enabled(false)`                       |
//! | `spacing=0` (default interval, 60 s)        | `Duration::ZERO` (60 s)                 |
//! | `manager.run_periodic_tasks(ctx)`           | [`PeriodicTasks::run_periodic_tasks`]   |
//! | `tg.add_dynamic_timer(..., fuzzy, max)`     | [`PeriodicTasks::start`]                |
//! | `periodic_interval_max`, `periodic_fuzzy_delay` | [`PeriodicOptions`]                  |
//!
//! oslo's `external_process_ok` / `run_external_periodic_tasks` are not
//! carried over: every fjord worker runs the tasks it was given.
//!
//! # Examples
//!
//! ```
//! use fjord_service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
//! use fjord_service::{async_trait, Result, Service, TaskGroup};
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! struct Worker { tg: TaskGroup, periodic: PeriodicTasks }
//!
//! impl Worker {
//!     // synchronous: may run in the master before fork
//!     fn new() -> Self {
//!         let periodic = PeriodicTasks::new()
//!             .owner("WorkerManager")
//!             .add(PeriodicTask::new("report", Duration::from_secs(10), |_ctx| async {
//!                 Ok::<(), std::io::Error>(())
//!             }).run_immediately(true));
//!         Worker { tg: TaskGroup::default(), periodic }
//!     }
//! }
//!
//! #[async_trait]
//! impl Service for Worker {
//!     fn name(&self) -> &str { "worker" }
//!     async fn start(&self) -> Result<()> {
//!         self.periodic.start(&self.tg, (), &PeriodicOptions::default());
//!         Ok(())
//!     }
//!     async fn stop(&self, graceful: bool) { self.tg.stop(graceful).await }
//!     async fn wait(&self) { self.tg.wait().await }
//!     async fn reset(&self) -> Result<()> { self.tg.reset(); Ok(()) }
//! }
//! # let _ = Worker::new();
//! ```

#![forbid(unsafe_code)]

mod options;
mod runner;
mod task;

pub use options::PeriodicOptions;
pub use runner::{PeriodicTasks, TaskReport};
pub use task::{DEFAULT_INTERVAL, PeriodicTask, TaskOutput};
