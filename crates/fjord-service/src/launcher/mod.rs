//! Launchers: run services in this process or in N supervised workers.
//!
//! * [`ServiceLauncher`] (oslo `ServiceLauncher`): every service in this
//!   process, each in its own task of one tokio runtime.
//! * [`ProcessLauncher`] (oslo `ProcessLauncher`): a synchronous master that
//!   forks workers before any runtime or thread exists, respawns the dead
//!   (rate limited), and drives graceful stop and rolling reload.
//! * [`launch`] picks one from the worker count.
//!
//! # Signals
//!
//! | signal | master ([`ProcessLauncher`]) | single process / worker |
//! |---|---|---|
//! | TERM, INT | graceful stop of every worker, bounded by `graceful_shutdown_timeout`; a second one forces | graceful stop, bounded; a second one forces |
//! | HUP | reload hook, then rolling restart: each worker is replaced by a fresh one, the old one stopped gracefully once the new one serves | reload hook, then stop/reset/start of every service in place (workers ignore HUP) |
//! | USR2 | the report (versions, services, workers, requests and RPC messages in flight, periodic tasks, configuration) to stderr and `[oslo_reports] log_dir` | a short report of services to stderr |
//! | TTIN, TTOU | one more / one fewer worker for every service | ignored |
//!
//! # Exit codes
//!
//! [`Exit::code`]: 0 clean stop, 1 workers kept failing at start, 3 the
//! graceful deadline passed and work was abandoned (2 is left for
//! configuration errors, which happen before a launcher exists).

mod master;
mod options;
mod pidfile;
mod process;
pub mod recycle;
mod single;
mod upgrade;
mod worker;

use std::sync::{Arc, OnceLock};

pub use options::{LauncherOptions, RestartMethod};
pub use process::ProcessLauncher;
pub use single::ServiceLauncher;

use crate::{Error, ErrorKind, Result, Service};

/// How a launcher ended. See [`Exit::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// Every service stopped cleanly (exit code 0).
    Clean,
    /// Workers of a service kept failing at start; the launcher gave up
    /// (exit code 1).
    StartFailed,
    /// The graceful deadline passed (or a second stop signal came) and
    /// remaining work was abandoned (exit code 3).
    Forced,
}

impl Exit {
    /// The process exit code for this outcome.
    pub fn code(self) -> i32 {
        match self {
            Exit::Clean => 0,
            Exit::StartFailed => 1,
            Exit::Forced => 3,
        }
    }
}

/// Which worker this process is, set in a worker of a [`ProcessLauncher`]
/// right after fork. See [`WorkerInfo::current`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// The service's [`Service::name`].
    pub service: String,
    /// The worker's slot, `0..workers`. A respawned or reloaded worker takes
    /// the slot of the one it replaces.
    pub index: usize,
}

static WORKER: OnceLock<WorkerInfo> = OnceLock::new();

impl WorkerInfo {
    /// The worker this process is, or `None` in a master or a single-process
    /// launcher.
    pub fn current() -> Option<&'static WorkerInfo> {
        WORKER.get()
    }
}

/// A hook the launcher calls on SIGHUP before restarting services, in the
/// process that holds the configuration (the master for a
/// [`ProcessLauncher`]). Re-read configuration files here; an error keeps
/// the running services as they are.
pub type ReloadHook = Box<dyn FnMut() -> Result<()> + Send>;

/// A hook the launcher calls once, when every worker of every service
/// serves for the first time (in the master for a [`ProcessLauncher`]):
/// print a "listening" line, tell a supervisor.
pub type ReadyHook = Box<dyn FnMut() + Send>;

/// Either launcher, as [`launch`] picked it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Launcher {
    /// One worker: the service runs in this process.
    Service(ServiceLauncher),
    /// Several workers: a master and forked workers.
    Process(ProcessLauncher),
}

impl Launcher {
    /// Sets the SIGHUP reload hook. See [`ReloadHook`].
    pub fn on_reload(&mut self, hook: impl FnMut() -> Result<()> + Send + 'static) {
        match self {
            Launcher::Service(l) => l.on_reload(hook),
            Launcher::Process(l) => l.on_reload(hook),
        }
    }

    /// Sets the hook called once every worker serves. See [`ReadyHook`].
    pub fn on_ready(&mut self, hook: impl FnMut() + Send + 'static) {
        match self {
            Launcher::Service(l) => l.on_ready(hook),
            Launcher::Process(l) => l.on_ready(hook),
        }
    }

    /// The application's configuration, for the console (see
    /// [`ProcessLauncher::config`]).
    pub fn config(&mut self, conf: &fjord_config::ConfigOpts) -> &mut Self {
        match self {
            Launcher::Service(l) => {
                l.config(conf);
            }
            Launcher::Process(l) => {
                l.config(conf);
            }
        }
        self
    }

    /// The application's version, shown in the SIGUSR2 report. See
    /// [`ProcessLauncher::app_version`].
    pub fn app_version(&mut self, version: impl Into<String>) {
        match self {
            Launcher::Service(l) => l.app_version(version),
            Launcher::Process(l) => l.app_version(version),
        }
    }

    /// Runs until the services stop. See [`ServiceLauncher::wait`] and
    /// [`ProcessLauncher::wait`].
    ///
    /// # Errors
    ///
    /// When the launcher cannot run at all (no runtime, no fork, no signal
    /// handlers).
    pub fn wait(self) -> Result<Exit> {
        match self {
            Launcher::Service(l) => l.wait(),
            Launcher::Process(l) => l.wait(),
        }
    }
}

/// The number of CPUs this process may run on, at least 1: the default
/// worker count (oslo's `processutils.get_worker_count`).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Picks the launcher for `workers` (oslo.service `launch`): `None` means
/// the CPU count; 1 runs the service in this process
/// ([`ServiceLauncher`]), more fork workers ([`ProcessLauncher`]).
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] when `workers` is `Some(0)`.
///
/// # Examples
///
/// ```
/// use fjord_service::{launch, ErrorKind, LauncherOptions, Service};
/// # #[derive(Debug)] struct S;
/// # #[fjord_service::async_trait] impl Service for S {
/// #   fn name(&self) -> &str { "s" }
/// #   async fn start(&self) -> fjord_service::Result<()> { Ok(()) }
/// #   async fn stop(&self, _: bool) {}
/// #   async fn wait(&self) {}
/// # }
/// let err = launch(S, Some(0), LauncherOptions::default()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// ```
pub fn launch<S: Service>(
    service: S,
    workers: Option<usize>,
    options: LauncherOptions,
) -> Result<Launcher> {
    let workers = check_workers(service.name(), workers)?;
    if workers == 1 {
        let mut l = ServiceLauncher::new(options);
        l.launch_service(service);
        Ok(Launcher::Service(l))
    } else {
        let mut l = ProcessLauncher::new(options);
        l.launch_service(service, Some(workers))?;
        Ok(Launcher::Process(l))
    }
}

pub(crate) fn check_workers(name: &str, workers: Option<usize>) -> Result<usize> {
    match workers {
        None => Ok(cpu_count()),
        Some(0) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("service {name}: workers must be at least 1, got 0"),
        )),
        Some(n) => Ok(n),
    }
}

pub(crate) type SharedService = Arc<dyn Service>;
