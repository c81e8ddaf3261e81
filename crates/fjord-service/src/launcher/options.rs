use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of both launchers. Names follow oslo.service where it has them.
///
/// # Examples
///
/// ```
/// use fjord_service::LauncherOptions;
/// use std::time::Duration;
/// let o = LauncherOptions::default().graceful_shutdown_timeout(Duration::from_secs(5));
/// assert_eq!(o.get_graceful_shutdown_timeout(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LauncherOptions {
    pub(crate) name: String,
    pub(crate) graceful_shutdown_timeout: Duration,
    pub(crate) worker_threads: usize,
    pub(crate) max_start_failures: u32,
    pub(crate) start_failure_backoff: Duration,
    pub(crate) pid_file: Option<PathBuf>,
    pub(crate) max_requests: u64,
    pub(crate) max_requests_jitter: u64,
    pub(crate) restart_method: RestartMethod,
}

/// What SIGHUP does (oslo.service's `restart_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RestartMethod {
    /// The reload hook runs in the master, then every worker is replaced
    /// by a fresh one forked from it (a single process stops, resets and
    /// starts its services): services start again on the new values.
    #[default]
    Reload,
    /// The reload hook runs in the master and in every running worker
    /// (same PIDs, nothing restarts): for options declared mutable, read
    /// by the services as they run.
    Mutate,
}

impl std::str::FromStr for RestartMethod {
    type Err = crate::Error;

    /// `reload` or `mutate`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reload" => Ok(RestartMethod::Reload),
            "mutate" => Ok(RestartMethod::Mutate),
            other => Err(crate::Error::new(
                crate::ErrorKind::InvalidInput,
                format!("restart_method must be reload or mutate, not {other:?}"),
            )),
        }
    }
}

impl Default for LauncherOptions {
    fn default() -> Self {
        let name = std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "fjord".to_owned());
        LauncherOptions {
            name,
            graceful_shutdown_timeout: Duration::from_secs(60),
            worker_threads: 1,
            max_start_failures: 5,
            start_failure_backoff: Duration::from_secs(1),
            max_requests: 0,
            max_requests_jitter: 0,
            restart_method: RestartMethod::Reload,
            pid_file: None,
        }
    }
}

impl LauncherOptions {
    /// The name in the master's process title (`fjord: master <name>`).
    /// Default is the program's file name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How long a graceful stop may take (oslo `graceful_shutdown_timeout`)
    /// before remaining work is abandoned; zero waits forever. Workers stop
    /// their services within it; the master kills workers still alive one
    /// second after it. Default is 60 seconds.
    pub fn graceful_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.graceful_shutdown_timeout = timeout;
        self
    }

    /// Threads of each worker's tokio runtime: 1 builds a current-thread
    /// runtime, more a multi-thread one. Default is 1.
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads.max(1);
        self
    }

    /// How many workers of one service may fail at start in a row (exit
    /// before serving) before the master gives up and exits with
    /// [`crate::Exit::StartFailed`]. Default is 5.
    pub fn max_start_failures(mut self, n: u32) -> Self {
        self.max_start_failures = n.max(1);
        self
    }

    /// Requests a worker process serves before the master replaces it
    /// (gunicorn's `max_requests`; 0, the default, never): the worker asks
    /// for a replacement and goes on serving until the replacement serves,
    /// then drains like any retired worker. Requests are counted by the
    /// services that serve them (fjord's HTTP server counts each request
    /// it answers, see [`crate::launcher::recycle`]). Only under a master
    /// (`ProcessLauncher`): a single-process service is never replaced.
    pub fn max_requests(mut self, n: u64) -> Self {
        self.max_requests = n;
        self
    }

    /// Up to this many more requests, drawn at random for each worker, so
    /// that workers started together are not all replaced together
    /// (gunicorn's `max_requests_jitter`). Default is 0.
    pub fn max_requests_jitter(mut self, n: u64) -> Self {
        self.max_requests_jitter = n;
        self
    }

    /// What SIGHUP does: see [`RestartMethod`]. Default is
    /// [`RestartMethod::Reload`].
    pub fn restart_method(mut self, method: RestartMethod) -> Self {
        self.restart_method = method;
        self
    }

    /// The delay before respawning after the first start failure; it doubles
    /// with each failure in a row, up to 30 seconds. Default is 1 second.
    pub fn start_failure_backoff(mut self, delay: Duration) -> Self {
        self.start_failure_backoff = delay;
        self
    }

    /// A file the launcher writes its PID to (one line) once it runs,
    /// and removes when it exits: the master's PID for a
    /// [`crate::ProcessLauncher`], this process's for a
    /// [`crate::ServiceLauncher`]. The directory must exist. Default is
    /// none.
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// The launcher options read from configuration
    /// ([`fjord_config::opts::LauncherOptions`]): `graceful_shutdown_timeout`,
    /// `pid_file`, `max_requests`, `max_requests_jitter` and
    /// `restart_method`, on top of these options.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_config::{ConfigOpts, EnvSource, opts};
    /// use fjord_service::LauncherOptions;
    ///
    /// let mut conf = ConfigOpts::new("api").env_source(EnvSource::Off);
    /// opts::register_launcher_opts(&mut conf)?;
    /// conf.parse_args(["api", "--pid-file", "/run/api.pid"])?;
    /// let o = LauncherOptions::default()
    ///     .name("api")
    ///     .configured(&opts::LauncherOptions::from_conf(&conf)?);
    /// assert_eq!(o.get_pid_file(), Some(std::path::Path::new("/run/api.pid")));
    /// # Ok::<(), fjord_config::Error>(())
    /// ```
    pub fn configured(mut self, conf: &fjord_config::opts::LauncherOptions) -> Self {
        self.graceful_shutdown_timeout = conf.graceful_shutdown_timeout.unwrap_or_default();
        self.pid_file = conf.pid_file.as_ref().map(PathBuf::from);
        self.max_requests = conf.max_requests;
        self.max_requests_jitter = conf.max_requests_jitter;
        // The option's declared choices are the two names.
        self.restart_method = conf.restart_method.parse().unwrap_or_default();
        self
    }

    /// See [`LauncherOptions::pid_file`].
    pub fn get_pid_file(&self) -> Option<&Path> {
        self.pid_file.as_deref()
    }

    /// See [`LauncherOptions::graceful_shutdown_timeout`].
    pub fn get_graceful_shutdown_timeout(&self) -> Duration {
        self.graceful_shutdown_timeout
    }

    /// See [`LauncherOptions::name`].
    pub fn get_name(&self) -> &str {
        &self.name
    }

    /// The graceful deadline, `None` for "wait forever".
    pub(crate) fn graceful_deadline(&self) -> Option<Duration> {
        (!self.graceful_shutdown_timeout.is_zero()).then_some(self.graceful_shutdown_timeout)
    }

    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(10);
        (self.start_failure_backoff * factor).min(Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_oslo() {
        let o = LauncherOptions::default();
        assert_eq!(o.graceful_shutdown_timeout, Duration::from_secs(60));
        assert_eq!(o.worker_threads, 1);
        assert_eq!(o.max_start_failures, 5);
        assert_eq!(o.get_pid_file(), None);
        assert_eq!(o.graceful_deadline(), Some(Duration::from_secs(60)));
        let forever = o.graceful_shutdown_timeout(Duration::ZERO);
        assert_eq!(forever.graceful_deadline(), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let o = LauncherOptions::default();
        assert_eq!(o.backoff(1), Duration::from_secs(1));
        assert_eq!(o.backoff(2), Duration::from_secs(2));
        assert_eq!(o.backoff(4), Duration::from_secs(8));
        assert_eq!(o.backoff(20), Duration::from_secs(30));
    }
}
