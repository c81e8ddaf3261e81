//! Options fjord's launcher reads, declared once here so every binary
//! registers the same definitions (namespace `fjord.launcher`).
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
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource, opts};
//!
//! let mut conf = ConfigOpts::new("demo").env_source(EnvSource::Off);
//! opts::register_launcher_opts(&mut conf)?;
//! conf.load(vec![])?;
//! let launcher = opts::LauncherOptions::from_conf(&conf)?;
//! assert_eq!(launcher.graceful_shutdown_timeout, Some(std::time::Duration::from_secs(60)));
//! assert!(launcher.log_options);
//! # Ok::<(), fjord_config::Error>(())
//! ```

use std::time::Duration;

use crate::conf::ConfigOpts;
use crate::error::Error;
use crate::namespace::Namespace;
use crate::opt::Opt;

/// The namespace name of the launcher options.
pub const LAUNCHER_NAMESPACE: &str = "fjord.launcher";
/// `[DEFAULT] graceful_shutdown_timeout`.
pub const GRACEFUL_SHUTDOWN_TIMEOUT: &str = "graceful_shutdown_timeout";
/// `[DEFAULT] log_options`.
pub const LOG_OPTIONS: &str = "log_options";
/// `[DEFAULT] host`.
pub const HOST: &str = "host";
/// `[DEFAULT] state_path`.
pub const STATE_PATH: &str = "state_path";
/// `[DEFAULT] max_requests`.
pub const MAX_REQUESTS: &str = "max_requests";
/// `[DEFAULT] max_requests_jitter`.
pub const MAX_REQUESTS_JITTER: &str = "max_requests_jitter";
/// `[DEFAULT] restart_method`.
pub const RESTART_METHOD: &str = "restart_method";
/// `[DEFAULT] pid_file`, also `--pid-file`.
pub const PID_FILE: &str = "pid_file";

/// This machine's host name: `/proc/sys/kernel/hostname`, `/etc/hostname`,
/// `$HOSTNAME`, else `localhost`.
pub fn hostname() -> String {
    for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            let name = text.trim();
            if !name.is_empty() {
                return name.to_owned();
            }
        }
    }
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The launcher options (all in `[DEFAULT]`).
pub fn launcher_opts() -> Vec<Opt> {
    vec![
        Opt::int(GRACEFUL_SHUTDOWN_TIMEOUT)
            .min(0)
            .default(60)
            .help("Specify a timeout after which a gracefully shutdown server will exit. Zero value means endless wait."),
        Opt::bool(LOG_OPTIONS)
            .default(true)
            .help("Enables or disables logging values of all registered options when starting a service (secrets are masked)."),
        Opt::str(HOST)
            .default(hostname())
            .sample_default("<current_hostname>")
            .help("Hostname, FQDN or IP address of this host. Used as the server of RPC targets and in service records; must be valid within an AMQP key."),
        Opt::str(STATE_PATH)
            .default("/var/lib/fjord")
            .help("Top-level directory for maintaining the service's state."),
        Opt::int(MAX_REQUESTS)
            .min(0)
            .default(0)
            .help("The number of HTTP requests a worker process serves before it is replaced by a fresh one (the replacement serves before the old one stops accepting). 0 disables recycling."),
        Opt::int(MAX_REQUESTS_JITTER)
            .min(0)
            .default(0)
            .help("A random number of requests between 0 and this value added to max_requests for each worker, so that workers are not all replaced at once."),
        Opt::str(RESTART_METHOD)
            .choices(&["reload", "mutate"])
            .default("reload")
            .help("The method to use for restarts on SIGHUP. 'reload': re-read the configuration and replace every worker by a fresh one. 'mutate': re-read the configuration and apply the mutable options inside the running workers, which are not replaced."),
        Opt::str(PID_FILE)
            .cli()
            .metavar("PATH")
            .help("File the master process writes its PID to once it runs, and removes when it exits."),
    ]
}

/// The `fjord.launcher` namespace (for generators and validators).
pub fn launcher_namespace() -> Namespace {
    Namespace::new(LAUNCHER_NAMESPACE).group("DEFAULT", launcher_opts())
}

/// Registers the launcher options in `[DEFAULT]`.
///
/// # Errors
///
/// [`Error::DuplicateOpt`] if one of the names is registered differently.
pub fn register_launcher_opts(conf: &mut ConfigOpts) -> Result<(), Error> {
    conf.register("DEFAULT", &launcher_opts())
}

/// The launcher options as typed values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LauncherOptions {
    /// `None` means wait forever (`graceful_shutdown_timeout = 0`).
    pub graceful_shutdown_timeout: Option<Duration>,
    /// Whether to log every option value at start.
    pub log_options: bool,
    /// This host's name.
    pub host: String,
    /// The state directory.
    pub state_path: String,
    /// Requests a worker serves before it is replaced (0: never).
    pub max_requests: u64,
    /// Random extra requests per worker, up to this many.
    pub max_requests_jitter: u64,
    /// `reload` or `mutate`.
    pub restart_method: String,
    /// Where the master writes its PID, if anywhere.
    pub pid_file: Option<String>,
}

impl Default for LauncherOptions {
    /// The declared defaults: 60 s, true, the hostname, `/var/lib/fjord`,
    /// no recycling, `reload`, no PID file.
    fn default() -> Self {
        LauncherOptions {
            graceful_shutdown_timeout: Some(Duration::from_secs(60)),
            log_options: true,
            host: hostname(),
            state_path: "/var/lib/fjord".to_owned(),
            max_requests: 0,
            max_requests_jitter: 0,
            restart_method: "reload".to_owned(),
            pid_file: None,
        }
    }
}

impl LauncherOptions {
    /// Reads the launcher options from `conf`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register_launcher_opts`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        let timeout: u64 = conf.get("DEFAULT", GRACEFUL_SHUTDOWN_TIMEOUT)?;
        Ok(LauncherOptions {
            graceful_shutdown_timeout: (timeout > 0).then(|| Duration::from_secs(timeout)),
            log_options: conf.get("DEFAULT", LOG_OPTIONS)?,
            host: conf.get("DEFAULT", HOST)?,
            state_path: conf.get("DEFAULT", STATE_PATH)?,
            max_requests: conf.get("DEFAULT", MAX_REQUESTS)?,
            max_requests_jitter: conf.get("DEFAULT", MAX_REQUESTS_JITTER)?,
            restart_method: conf.get("DEFAULT", RESTART_METHOD)?,
            pid_file: conf
                .get::<Option<String>>("DEFAULT", PID_FILE)?
                .filter(|p| !p.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::EnvSource;

    #[test]
    fn defaults_match_the_declared_options() {
        let mut conf = ConfigOpts::new("t").env_source(EnvSource::Off);
        register_launcher_opts(&mut conf).unwrap();
        conf.load(vec![]).unwrap();
        assert_eq!(
            LauncherOptions::from_conf(&conf).unwrap(),
            LauncherOptions::default()
        );
    }

    #[test]
    fn pid_file_from_the_command_line() {
        let mut conf = ConfigOpts::new("t").env_source(EnvSource::Off);
        register_launcher_opts(&mut conf).unwrap();
        conf.parse_args(["t", "--pid-file", "run/t.pid"]).unwrap();
        assert_eq!(
            LauncherOptions::from_conf(&conf)
                .unwrap()
                .pid_file
                .as_deref(),
            Some("run/t.pid")
        );
        assert!(conf.help().contains("--pid-file <PATH>"), "{}", conf.help());
    }

    #[test]
    fn zero_means_forever() {
        let mut conf = ConfigOpts::new("t").env_source(EnvSource::Map(
            [(
                "OS_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT".to_owned(),
                "0".to_owned(),
            )]
            .into(),
        ));
        register_launcher_opts(&mut conf).unwrap();
        conf.load(vec![]).unwrap();
        assert_eq!(
            LauncherOptions::from_conf(&conf)
                .unwrap()
                .graceful_shutdown_timeout,
            None
        );
    }
}
