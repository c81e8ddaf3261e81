//! fjord-service: the launcher layer of fjord (oslo.service in Rust).
//!
//! ```text
//! main()
//!   build services            (synchronous; HTTP binds its socket here)
//!   launch(service, workers)
//!     1 worker  -> ServiceLauncher: run in this process
//!     N workers -> ProcessLauncher: fork N workers before any runtime exists,
//!                  respawn the dead, forward signals
//!   in each worker: build the tokio runtime, then Service::start()
//!   signals: TERM/INT graceful stop (bounded), HUP reload, USR2 report
//! ```
//!
//! * [`Service`]: the contract (start, stop, wait, reset).
//! * [`ServiceLauncher`]: several services in this process (L2).
//! * [`ProcessLauncher`]: a small synchronous master that forks workers,
//!   respawns them with a rate limit, and drives graceful stop and reload (L3-L9).
//! * [`launch`]: picks one of the two from the worker count (L4).
//! * [`TaskGroup`] and [`looping`]: tasks, timers and looping calls (T1, T2).
//! * [`diagnostics`]: the master's endpoint (`/metrics`, `/status.json`,
//!   the status page) fed by counters every worker shares with it, and the
//!   worker watchdog's heartbeats (B1, B7, B10).
//!
//! # Example
//!
//! ```no_run
//! use fjord_service::{async_trait, launch, LauncherOptions, Result, Service, TaskGroup};
//! use std::time::Duration;
//!
//! #[derive(Debug, Default)]
//! struct Job { tg: TaskGroup }
//!
//! #[async_trait]
//! impl Service for Job {
//!     fn name(&self) -> &str { "job" }
//!     async fn start(&self) -> Result<()> {
//!         self.tg.add_timer(Duration::from_secs(1), Duration::ZERO, || async {
//!             println!("working in pid {}", std::process::id());
//!         });
//!         Ok(())
//!     }
//!     async fn stop(&self, graceful: bool) { self.tg.stop(graceful).await }
//!     async fn wait(&self) { self.tg.wait().await }
//! }
//!
//! fn main() -> std::result::Result<(), fjord_service::Error> {
//!     let launcher = launch(Job::default(), Some(4), LauncherOptions::default())?;
//!     std::process::exit(launcher.wait()?.code());
//! }
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

pub mod activation;
pub mod diagnostics;
mod error;
pub mod launcher;
pub mod logging;
pub mod looping;
pub mod periodic;
mod proctitle;
pub mod service;
mod signal;
pub mod systemd;
pub mod task;

pub use async_trait::async_trait;
pub use error::{Error, ErrorKind, Result};
pub use launcher::{
    Exit, Launcher, LauncherOptions, ProcessLauncher, RestartMethod, ServiceLauncher, WorkerInfo,
    cpu_count, launch,
};
pub use service::Service;
pub use task::TaskGroup;
