//! The launchers' options, declared once: the typed [`LauncherOptions`]
//! (a builder, each setter stating its default) and its fjord-config
//! declarations (namespace `fjord.launcher`, all in `[DEFAULT]`), read back
//! with [`LauncherOptions::from_conf`].
//!
//! | option (`[DEFAULT]`) | type | default | meaning |
//! |---|---|---|---|
//! | `graceful_shutdown_timeout` | int >= 0 | 60 | seconds a graceful stop may take; 0 waits forever |
//! | `log_options` | bool | true | log every option value at start (secrets as `****`) |
//! | `host` | str | the hostname | name of this host in RPC targets and service records |
//! | `state_path` | str | `/var/lib/fjord` | top-level directory for the service's state |
//! | `max_requests` | int >= 0 | 0 | HTTP requests a worker serves before it is replaced (gunicorn's); 0: never |
//! | `max_requests_jitter` | int >= 0 | 0 | a random 0..=N added to `max_requests` per worker, so workers are not replaced all at once |
//! | `restart_method` | `reload` or `mutate` | `reload` | SIGHUP: replace the workers, or apply mutable options inside the running ones |
//! | `pid_file` (`--pid-file PATH`) | str | unset | file the master writes its PID to while it runs |
//! | `worker_timeout` | int >= 0 | 30 | seconds a worker's runtime may go without a heartbeat before the master kills and replaces it (B1); 0: off |
//! | `backdoor_port` | str | unset | the operator console on 127.0.0.1: a port, `start:end` (the first free one) or 0 (any) |
//! | `backdoor_socket` | str | unset | the operator console on a Unix socket (mode 0600, `{pid}` expanded); wins over `backdoor_port` |
//!
//! The `[diagnostics]` group of the same namespace is
//! [`crate::diagnostics::DiagnosticsOptions`]; its `[oslo_reports]` group
//! has oslo.reports' `log_dir` (unset; a directory where the SIGUSR2
//! report is also written, [`LauncherOptions::report_log_dir`]).
//!
//! `log_options`, `host` and `state_path` are not the launcher's own: they
//! are oslo.service's and nova's process-wide `[DEFAULT]` options, which
//! every fjord program reads once at start like the launcher's, so they are
//! declared (and sampled) with them and carried as typed values
//! ([`LauncherOptions::get_host`], [`LauncherOptions::get_state_path`],
//! [`LauncherOptions::get_log_options`]) for the services to use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fjord_config::{ConfigOpts, Namespace, Opt};

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
///
/// From configuration (the `fjord.launcher` namespace):
///
/// ```
/// use fjord_config::{ConfigOpts, EnvSource};
/// use fjord_service::LauncherOptions;
///
/// let mut conf = ConfigOpts::new("api").env_source(EnvSource::Off);
/// LauncherOptions::register(&mut conf)?;
/// conf.parse_args(["api", "--pid-file", "/run/api.pid"])?;
/// let o = LauncherOptions::from_conf(&conf)?.name("api");
/// assert_eq!(o.get_pid_file(), Some(std::path::Path::new("/run/api.pid")));
/// assert_eq!(o.get_graceful_shutdown_timeout(), std::time::Duration::from_secs(60));
/// # Ok::<(), fjord_config::Error>(())
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
    pub(crate) log_options: bool,
    pub(crate) host: String,
    pub(crate) state_path: PathBuf,
    pub(crate) worker_timeout: Duration,
    pub(crate) diagnostics: crate::diagnostics::DiagnosticsOptions,
    pub(crate) backdoor: Option<crate::diagnostics::Backdoor>,
    pub(crate) report_log_dir: Option<PathBuf>,
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

/// The default of `worker_timeout`, seconds (gunicorn's `timeout`).
const DEFAULT_WORKER_TIMEOUT: u64 = 30;

/// The default of `state_path`.
const DEFAULT_STATE_PATH: &str = "/var/lib/fjord";

impl Default for LauncherOptions {
    /// oslo's defaults: 60 seconds of graceful stop, no PID file, no
    /// recycling, `reload` on SIGHUP, options logged, this machine's
    /// hostname, `/var/lib/fjord`; 1 thread per worker, 5 start failures in
    /// a row with a 1 second backoff; the program's file name.
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
            log_options: true,
            host: fjord_config::hostname(),
            state_path: PathBuf::from(DEFAULT_STATE_PATH),
            worker_timeout: Duration::from_secs(DEFAULT_WORKER_TIMEOUT),
            diagnostics: crate::diagnostics::DiagnosticsOptions::default(),
            backdoor: None,
            report_log_dir: None,
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

    /// `log_options`: whether the program logs every option value at start
    /// (secrets masked). The launcher does not read it. Default is true.
    pub fn log_options(mut self, on: bool) -> Self {
        self.log_options = on;
        self
    }

    /// `host`: the name of this host in RPC targets and service records.
    /// The launcher does not read it. Default is this machine's hostname
    /// ([`fjord_config::hostname`]).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// `state_path`: the top-level directory of the service's state. The
    /// launcher does not read it. Default is `/var/lib/fjord`.
    pub fn state_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_path = path.into();
        self
    }

    /// `worker_timeout` (B1, gunicorn's `timeout`): a worker of a
    /// [`crate::ProcessLauncher`] heart-beats from a task of its runtime
    /// (every second, or more often for a shorter timeout); one silent for
    /// longer than this (its runtime blocked, the process stopped) is
    /// killed with SIGKILL and replaced, logged with reason `watchdog`.
    /// Only workers that serve are watched. Zero turns the watchdog off.
    /// Default is 30 seconds.
    pub fn worker_timeout(mut self, timeout: Duration) -> Self {
        self.worker_timeout = timeout;
        self
    }

    /// The diagnostics endpoint of a [`crate::ProcessLauncher`]'s master
    /// (`[diagnostics]`). Default is
    /// [`crate::diagnostics::DiagnosticsOptions::default`]: enabled, on
    /// 127.0.0.1, any free port.
    pub fn diagnostics(mut self, diagnostics: crate::diagnostics::DiagnosticsOptions) -> Self {
        self.diagnostics = diagnostics;
        self
    }

    /// The operator console (`backdoor_port` / `backdoor_socket`, see
    /// `docs/operations.md`): served by a [`crate::ProcessLauncher`]'s
    /// diagnostics process, by a [`crate::ServiceLauncher`]'s runtime.
    /// Default is none (oslo's).
    pub fn backdoor(mut self, backdoor: Option<crate::diagnostics::Backdoor>) -> Self {
        self.backdoor = backdoor;
        self
    }

    /// See [`LauncherOptions::backdoor`].
    pub fn get_backdoor(&self) -> Option<&crate::diagnostics::Backdoor> {
        self.backdoor.as_ref()
    }

    /// A directory where the master also writes each SIGUSR2 report, to a
    /// file named as oslo.reports names it:
    /// `<name>_gurumeditation_<YYYYmmddHHMMSS>` (UTC) (`[oslo_reports]
    /// log_dir`). Default: none (stderr only).
    pub fn report_log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.report_log_dir = Some(dir.into());
        self
    }

    /// See [`LauncherOptions::report_log_dir`].
    pub fn get_report_log_dir(&self) -> Option<&Path> {
        self.report_log_dir.as_deref()
    }

    /// See [`LauncherOptions::diagnostics`].
    pub fn get_diagnostics(&self) -> &crate::diagnostics::DiagnosticsOptions {
        &self.diagnostics
    }

    /// See [`LauncherOptions::worker_timeout`].
    pub fn get_worker_timeout(&self) -> Duration {
        self.worker_timeout
    }

    /// The watchdog's timeout, `None` when off.
    pub(crate) fn watchdog(&self) -> Option<Duration> {
        (!self.worker_timeout.is_zero()).then_some(self.worker_timeout)
    }

    /// How often a worker heart-beats: every second, or four times per
    /// `worker_timeout` when that is shorter.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        match self.watchdog() {
            Some(t) => (t / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
            None => Duration::from_secs(1),
        }
    }

    /// See [`LauncherOptions::log_options`].
    pub fn get_log_options(&self) -> bool {
        self.log_options
    }

    /// See [`LauncherOptions::host`].
    pub fn get_host(&self) -> &str {
        &self.host
    }

    /// See [`LauncherOptions::state_path`].
    pub fn get_state_path(&self) -> &Path {
        &self.state_path
    }

    /// See [`LauncherOptions::max_requests`].
    pub fn get_max_requests(&self) -> u64 {
        self.max_requests
    }

    /// See [`LauncherOptions::max_requests_jitter`].
    pub fn get_max_requests_jitter(&self) -> u64 {
        self.max_requests_jitter
    }

    /// See [`LauncherOptions::restart_method`].
    pub fn get_restart_method(&self) -> RestartMethod {
        self.restart_method
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

/// The declarations: names, defaults and help of the `fjord.launcher`
/// namespace, and reading them back.
impl LauncherOptions {
    /// The namespace name of the launcher options.
    pub const NAMESPACE: &'static str = "fjord.launcher";
    /// `[DEFAULT] graceful_shutdown_timeout`.
    pub const GRACEFUL_SHUTDOWN_TIMEOUT: &'static str = "graceful_shutdown_timeout";
    /// `[DEFAULT] log_options`.
    pub const LOG_OPTIONS: &'static str = "log_options";
    /// `[DEFAULT] host`.
    pub const HOST: &'static str = "host";
    /// `[DEFAULT] state_path`.
    pub const STATE_PATH: &'static str = "state_path";
    /// `[DEFAULT] max_requests`.
    pub const MAX_REQUESTS: &'static str = "max_requests";
    /// `[DEFAULT] max_requests_jitter`.
    pub const MAX_REQUESTS_JITTER: &'static str = "max_requests_jitter";
    /// `[DEFAULT] restart_method`.
    pub const RESTART_METHOD: &'static str = "restart_method";
    /// `[DEFAULT] pid_file`, also `--pid-file`.
    pub const PID_FILE: &'static str = "pid_file";
    /// `[DEFAULT] worker_timeout`.
    pub const WORKER_TIMEOUT: &'static str = "worker_timeout";
    /// `[DEFAULT] backdoor_port`.
    pub const BACKDOOR_PORT: &'static str = "backdoor_port";
    /// `[DEFAULT] backdoor_socket`.
    pub const BACKDOOR_SOCKET: &'static str = "backdoor_socket";
    /// oslo.reports' group.
    pub const REPORTS_GROUP: &'static str = "oslo_reports";
    /// `[oslo_reports] log_dir`.
    pub const REPORTS_LOG_DIR: &'static str = "log_dir";

    /// The `[oslo_reports]` options (oslo.reports' `log_dir`).
    pub fn reports_opts() -> Vec<Opt> {
        vec![
            Opt::str(Self::REPORTS_LOG_DIR)
                .help("Path to a log directory where to create a file: each report (SIGUSR2) is also written there, to <name>_gurumeditation_<YYYYmmddHHMMSS>."),
        ]
    }

    /// The launcher options (all in `[DEFAULT]`), in sample order.
    pub fn opts() -> Vec<Opt> {
        vec![
            Opt::int(Self::GRACEFUL_SHUTDOWN_TIMEOUT)
                .min(0)
                .default(60)
                .help("Specify a timeout after which a gracefully shutdown server will exit. Zero value means endless wait."),
            Opt::bool(Self::LOG_OPTIONS)
                .default(true)
                .help("Enables or disables logging values of all registered options when starting a service (secrets are masked)."),
            Opt::str(Self::HOST)
                .default(fjord_config::hostname())
                .sample_default("<current_hostname>")
                .help("Hostname, FQDN or IP address of this host. Used as the server of RPC targets and in service records; must be valid within an AMQP key."),
            Opt::str(Self::STATE_PATH)
                .default(DEFAULT_STATE_PATH)
                .help("Top-level directory for maintaining the service's state."),
            Opt::int(Self::MAX_REQUESTS)
                .min(0)
                .default(0)
                .help("The number of HTTP requests a worker process serves before it is replaced by a fresh one (the replacement serves before the old one stops accepting). 0 disables recycling."),
            Opt::int(Self::MAX_REQUESTS_JITTER)
                .min(0)
                .default(0)
                .help("A random number of requests between 0 and this value added to max_requests for each worker, so that workers are not all replaced at once."),
            Opt::str(Self::RESTART_METHOD)
                .choices(&["reload", "mutate"])
                .default("reload")
                .help("The method to use for restarts on SIGHUP. 'reload': re-read the configuration and replace every worker by a fresh one. 'mutate': re-read the configuration and apply the mutable options inside the running workers, which are not replaced."),
            Opt::str(Self::PID_FILE)
                .cli()
                .metavar("PATH")
                .help("File the master process writes its PID to once it runs, and removes when it exits."),
            Opt::int(Self::WORKER_TIMEOUT)
                .min(0)
                .default(DEFAULT_WORKER_TIMEOUT as i64)
                .help("Seconds a worker process may go without a heartbeat from its runtime (a blocked event loop, a stopped process) before the master kills it and starts a new one. 0 disables the watchdog."),
            Opt::str(Self::BACKDOOR_PORT)
                .help("Enable the operator console (oslo's backdoor) on 127.0.0.1. Acceptable values are 0, <port>, and <start>:<end>, where 0 results in listening on a random tcp port number; <port> results in listening on the specified port number; and <start>:<end> results in listening on the smallest unused port number within the specified range of port numbers. The chosen port is displayed in the service's log file. Connect with nc and type help."),
            Opt::str(Self::BACKDOOR_SOCKET)
                .help("Enable the operator console (oslo's backdoor), using the provided path as a unix socket that can receive connections (created with mode 0600; a stale socket file there is replaced). This option is mutually exclusive with 'backdoor_port' in that only one should be provided. If both are provided then the existence of this option overrides the usage of that option. Inside the path {pid} will be replaced with the PID of the current process."),
        ]
    }

    /// The `fjord.launcher` namespace (for generators and validators).
    pub fn namespace() -> Namespace {
        Namespace::new(Self::NAMESPACE)
            .group("DEFAULT", Self::opts())
            .group(
                crate::diagnostics::DiagnosticsOptions::GROUP,
                crate::diagnostics::DiagnosticsOptions::opts(),
            )
            .group(Self::REPORTS_GROUP, Self::reports_opts())
    }

    /// Registers the [`namespace`](Self::namespace) on `conf`.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::DuplicateOpt`] if one of the names is
    /// registered differently.
    pub fn register(conf: &mut ConfigOpts) -> Result<(), fjord_config::Error> {
        conf.register_namespace(&Self::namespace())
    }

    /// The defaults with every option of the namespace read from `conf`:
    /// `graceful_shutdown_timeout` (0: forever), `pid_file` (unset or
    /// empty: none), `max_requests`, `max_requests_jitter`,
    /// `restart_method`, `log_options`, `host`, `state_path` and
    /// `worker_timeout` (0: off), the `[diagnostics]` group and
    /// `[oslo_reports] log_dir` (unset or empty: none). The
    /// builder-only settings (`name`, `worker_threads`, ...) keep their
    /// defaults.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::NoSuchOpt`] if [`register`](Self::register)
    /// was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, fjord_config::Error> {
        let timeout: u64 = conf.get("DEFAULT", Self::GRACEFUL_SHUTDOWN_TIMEOUT)?;
        let restart: String = conf.get("DEFAULT", Self::RESTART_METHOD)?;
        let mut o = LauncherOptions::default()
            .graceful_shutdown_timeout(Duration::from_secs(timeout))
            .max_requests(conf.get("DEFAULT", Self::MAX_REQUESTS)?)
            .max_requests_jitter(conf.get("DEFAULT", Self::MAX_REQUESTS_JITTER)?)
            // The option's declared choices are the two names.
            .restart_method(restart.parse().unwrap_or_default())
            .log_options(conf.get("DEFAULT", Self::LOG_OPTIONS)?)
            .host(conf.get::<String>("DEFAULT", Self::HOST)?)
            .state_path(conf.get::<String>("DEFAULT", Self::STATE_PATH)?)
            .worker_timeout(Duration::from_secs(
                conf.get("DEFAULT", Self::WORKER_TIMEOUT)?,
            ))
            .diagnostics(crate::diagnostics::DiagnosticsOptions::from_conf(conf)?);
        o.pid_file = conf
            .get::<Option<String>>("DEFAULT", Self::PID_FILE)?
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        o.backdoor = Self::backdoor_from_conf(conf)?;
        o.report_log_dir = conf
            .get::<Option<String>>(Self::REPORTS_GROUP, Self::REPORTS_LOG_DIR)?
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        Ok(o)
    }

    /// `backdoor_socket` (it wins) or `backdoor_port`; unset or empty:
    /// none.
    fn backdoor_from_conf(
        conf: &ConfigOpts,
    ) -> Result<Option<crate::diagnostics::Backdoor>, fjord_config::Error> {
        let set = |name: &str| -> Result<Option<String>, fjord_config::Error> {
            Ok(conf
                .get::<Option<String>>("DEFAULT", name)?
                .filter(|v| !v.trim().is_empty()))
        };
        if let Some(path) = set(Self::BACKDOOR_SOCKET)? {
            return Ok(Some(crate::diagnostics::Backdoor::Socket(PathBuf::from(
                path,
            ))));
        }
        match set(Self::BACKDOOR_PORT)? {
            None => Ok(None),
            Some(text) => crate::diagnostics::Backdoor::parse_port(&text)
                .map(Some)
                .map_err(|reason| fjord_config::Error::Type {
                    group: "DEFAULT".to_owned(),
                    option: Self::BACKDOOR_PORT.to_owned(),
                    expected: format!("0, <port> or <start>:<end>, not {text:?} ({reason})"),
                }),
        }
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

    fn conf(env: fjord_config::EnvSource) -> ConfigOpts {
        let mut conf = ConfigOpts::new("t").env_source(env);
        LauncherOptions::register(&mut conf).unwrap();
        conf
    }

    #[test]
    fn defaults_match_the_declared_options() {
        let mut conf = conf(fjord_config::EnvSource::Off);
        conf.load(vec![]).unwrap();
        assert_eq!(
            LauncherOptions::from_conf(&conf).unwrap(),
            LauncherOptions::default()
        );
    }

    #[test]
    fn pid_file_from_the_command_line() {
        let mut conf = conf(fjord_config::EnvSource::Off);
        conf.parse_args(["t", "--pid-file", "run/t.pid"]).unwrap();
        assert_eq!(
            LauncherOptions::from_conf(&conf).unwrap().get_pid_file(),
            Some(Path::new("run/t.pid"))
        );
        assert!(conf.help().contains("--pid-file <PATH>"), "{}", conf.help());
    }

    #[test]
    fn zero_means_forever_and_mutate_is_read() {
        let mut conf = conf(fjord_config::EnvSource::Map(
            [
                (
                    "OS_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT".to_owned(),
                    "0".to_owned(),
                ),
                ("OS_DEFAULT__RESTART_METHOD".to_owned(), "mutate".to_owned()),
                ("OS_DEFAULT__HOST".to_owned(), "node-1".to_owned()),
                (
                    "OS_OSLO_REPORTS__LOG_DIR".to_owned(),
                    "/var/log/reports".to_owned(),
                ),
            ]
            .into(),
        ));
        conf.load(vec![]).unwrap();
        let o = LauncherOptions::from_conf(&conf).unwrap();
        assert_eq!(o.graceful_deadline(), None);
        assert_eq!(o.get_restart_method(), RestartMethod::Mutate);
        assert_eq!(o.get_host(), "node-1");
        assert_eq!(o.get_report_log_dir(), Some(Path::new("/var/log/reports")));
    }

    #[test]
    fn backdoor_forms_and_errors() {
        use crate::diagnostics::Backdoor;
        let read = |vars: &[(&str, &str)]| {
            let mut conf = conf(fjord_config::EnvSource::Map(
                vars.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ));
            conf.load(vec![]).unwrap();
            LauncherOptions::from_conf(&conf).map(|o| o.backdoor)
        };
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(
            read(&[("OS_DEFAULT__BACKDOOR_PORT", "4000:4009")]),
            Ok(Some(Backdoor::Port {
                start: 4000,
                end: 4009
            }))
        );
        assert_eq!(
            read(&[
                ("OS_DEFAULT__BACKDOOR_PORT", "0"),
                ("OS_DEFAULT__BACKDOOR_SOCKET", "/run/c-{pid}"),
            ]),
            Ok(Some(Backdoor::Socket(PathBuf::from("/run/c-{pid}"))))
        );
        let err = read(&[("OS_DEFAULT__BACKDOOR_PORT", "9:x")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("backdoor_port") && err.contains("9:x"),
            "{err}"
        );
    }
}
