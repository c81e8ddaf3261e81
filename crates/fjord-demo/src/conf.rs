//! The demo's options, declared once with fjord-config (nova's naming:
//! `osapi_<api>_listen`, `osapi_<api>_listen_port`, `osapi_<api>_workers`).

use std::path::PathBuf;
use std::time::Duration;

use fjord::config::{ConfigOpts, Namespace, Opt, OptGroup};
use fjord::service::LauncherOptions;

/// The options the demo reads, resolved.
#[derive(Debug, Clone)]
pub struct DemoConf {
    /// The API's HTTP server options: `osapi_demo_*` plus the `fjord.http`
    /// namespace (`wsgi_*`, `client_socket_timeout`, `[ssl]`, ...).
    pub server: fjord::http::server::ServerOptions,
    /// The `fjord.messaging` options (`control_exchange`,
    /// `[oslo_messaging_rabbit]`, ...), `transport_url` resolved.
    pub messaging: fjord::messaging::MessagingOptions,
    /// `state_path`.
    pub state_path: PathBuf,
    /// `host`.
    pub host: String,
    /// `[database] connection`.
    pub connection: String,
    /// `api_paste_config`, resolved against the config file's directory;
    /// `None` for a relative name under the built-in configuration: the
    /// built-in [`BUILTIN_PASTE`].
    pub api_paste_config: Option<PathBuf>,
    /// `pid_file` (`--pid-file`); unset, `<state_path>/<program>.pid`.
    pub pid_file: PathBuf,
    /// The launcher options as configured (`max_requests`,
    /// `restart_method`, ...): see [`LauncherOptions::from_conf`].
    pub launcher: LauncherOptions,
    /// `rpc_response_timeout`.
    pub rpc_response_timeout: Duration,
    /// `graceful_shutdown_timeout` (zero: forever).
    pub graceful_shutdown_timeout: Duration,
    /// `report_interval`.
    pub report_interval: Duration,
    /// `service_down_time`.
    pub service_down_time: Duration,
    /// `[demo] counter_interval`: spacing of the worker's periodic task.
    pub counter_interval: Duration,
    /// `[api] auth_strategy`: which pipeline of the `/v1` composite the
    /// API serves.
    pub auth_strategy: AuthStrategy,
    /// `[keystone_authtoken]`, the base of the `authtoken` filter's
    /// options (the paste section's keys override it).
    pub keystone_authtoken: fjord::http::loader::Conf,
    /// `[oslo_policy]`: the policy file and directories over the demo's
    /// registered rules ([`crate::auth::policy_defaults`]).
    pub policy: fjord::policy::PolicyOptions,
}

/// `[api] auth_strategy`, as nova's option of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStrategy {
    /// `noauth2`: no token check; the caller names itself in
    /// `X-Auth-Token: user:project` (nova's noauth2; see
    /// [`crate::auth::noauth2`]).
    NoAuth2,
    /// `keystone`: keystonemiddleware's `authtoken` validates the
    /// `X-Auth-Token` with Keystone and `keystonecontext` builds the
    /// request context from the identity it found.
    Keystone,
}

impl AuthStrategy {
    /// The option's value, which is also the key of the pipeline in the
    /// paste file's `/v1` composite.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthStrategy::NoAuth2 => "noauth2",
            AuthStrategy::Keystone => "keystone",
        }
    }
}

/// `etc/demo/demo.conf`, built in: the configuration when the command line
/// names no `--config-file` or `--config-dir` (and no `demo.conf` is found
/// in oslo's default places).
pub const BUILTIN_CONF: &str = include_str!("../../../etc/demo/demo.conf");
/// What logs and option locations call [`BUILTIN_CONF`].
pub const BUILTIN_CONF_NAME: &str = "<built-in etc/demo/demo.conf>";
/// `etc/demo/api-paste.ini`, built in: the API pipeline under
/// [`BUILTIN_CONF`].
pub const BUILTIN_PASTE: &str = include_str!("../../../etc/demo/api-paste.ini");
/// What errors call [`BUILTIN_PASTE`].
pub const BUILTIN_PASTE_NAME: &str = "<built-in etc/demo/api-paste.ini>";

/// The namespace name of the demo's own options.
pub const NAMESPACE: &str = "fjord.demo";

/// The demo's own options (namespace `fjord.demo`): `osapi_demo_listen`,
/// `osapi_demo_listen_port`, `osapi_demo_workers`, `api_paste_config` and
/// `[demo] counter_interval`. The rest comes from the layers' namespaces
/// (`fjord.launcher`, `fjord.messaging`, `fjord.service`); see [`register`].
pub fn namespace() -> Namespace {
    Namespace::new(NAMESPACE)
        .group(
            "DEFAULT",
            vec![
                Opt::str("osapi_demo_listen")
                    .default("127.0.0.1")
                    .help("IP address on which the demo API listens."),
                Opt::port("osapi_demo_listen_port")
                    .default(8799)
                    .help("Port on which the demo API listens."),
                Opt::int("osapi_demo_workers")
                    .min(1)
                    .help("Number of demo API worker processes. Default: the number of CPUs."),
                Opt::str("api_paste_config").default("api-paste.ini").help(
                    "The paste ini file of the API, relative to the config file's directory.",
                ),
            ],
        )
        .group(
            OptGroup::new("api").help("The demo API."),
            vec![
                Opt::str("auth_strategy")
                    .default("noauth2")
                    .choices(&["noauth2", "keystone"])
                    .help(
                        "How /v1 authenticates (the pipeline of the /v1 composite in \
                     api-paste.ini): 'noauth2' trusts an 'X-Auth-Token: user:project' header \
                     and needs no server (nova's noauth2: admin if the user is 'admin', and \
                     'admin:admin' without the header); 'keystone' validates tokens with \
                     Keystone ([keystone_authtoken]).",
                    ),
            ],
        )
        .group(
            OptGroup::new("demo").help("The demo worker."),
            vec![
                Opt::int("counter_interval")
                    .min(1)
                    .default(10)
                    .mutable()
                    .help("Seconds between runs of the worker's periodic counter task."),
            ],
        )
}

/// Declares every demo option on `conf`, one namespace per layer in
/// `etc/demo/demo.conf.sample`'s order: the launcher's, the HTTP server's,
/// the messaging layer's (`transport_url`: unset means the embedded
/// transport under `state_path`), the service records' (`report_interval`,
/// `service_down_time`, `[database] connection`: unset means an SQLite file
/// under `state_path`), keystonemiddleware's `[keystone_authtoken]`,
/// oslo.policy's `[oslo_policy]` and the demo's own [`namespace`]. Each binary prints
/// them for `fjord-config generate --from-binary` (see docs/config.md).
///
/// # Errors
///
/// A clash with options registered before.
pub fn register(conf: &mut ConfigOpts) -> fjord::config::Result<()> {
    LauncherOptions::register(conf)?;
    conf.register_namespace(&fjord::http::server::ServerOptions::namespace())?;
    fjord::messaging::MessagingOptions::register(conf)?;
    fjord::servicegroup::ServiceOptions::register(conf)?;
    fjord::keystone::config::register_opts(conf)?;
    fjord::policy::register_opts(conf)?;
    conf.register_namespace(&namespace())
}

impl DemoConf {
    /// Reads the resolved values.
    ///
    /// # Errors
    ///
    /// An option that is not registered (a programming error).
    pub fn from_conf(conf: &ConfigOpts) -> fjord::config::Result<Self> {
        let launcher = LauncherOptions::from_conf(conf)?;
        let state_path = launcher.get_state_path().to_path_buf();
        let secs = |group: &str, name: &str| -> fjord::config::Result<Duration> {
            Ok(Duration::from_secs(
                conf.get::<i64>(group, name)?.max(0) as u64
            ))
        };
        let paste: String = conf.get("DEFAULT", "api_paste_config")?;
        let paste = PathBuf::from(paste);
        let api_paste_config = if paste.is_absolute() {
            Some(paste)
        } else if conf.uses_default_config() {
            None
        } else {
            Some(
                conf.config_files()
                    .first()
                    .and_then(|f| PathBuf::from(f).parent().map(|d| d.join(&paste)))
                    .unwrap_or(paste),
            )
        };
        let pid_file = launcher
            .get_pid_file()
            .map(PathBuf::from)
            .unwrap_or_else(|| state_path.join(format!("{}.pid", conf.prog())));
        let connection = conf
            .get::<Option<String>>("database", "connection")?
            .unwrap_or_else(|| format!("sqlite:///{}", state_path.join("demo.sqlite").display()));
        let mut messaging = fjord::messaging::MessagingOptions::from_conf(conf)?;
        if messaging.transport_url.as_deref().is_none_or(str::is_empty) {
            // The embedded transport, on a socket under state_path.
            let sock = std::path::absolute(state_path.join("broker.sock"))
                .unwrap_or_else(|_| state_path.join("broker.sock"));
            messaging.transport_url = Some(format!("embedded://{}", sock.display()));
        }
        Ok(DemoConf {
            server: fjord::http::server::ServerOptions::from_conf(conf, "osapi_demo")?,
            messaging,
            host: launcher.get_host().to_owned(),
            connection,
            api_paste_config,
            pid_file,
            rpc_response_timeout: secs("DEFAULT", "rpc_response_timeout")?,
            graceful_shutdown_timeout: launcher.get_graceful_shutdown_timeout(),
            report_interval: secs("DEFAULT", "report_interval")?,
            service_down_time: secs("DEFAULT", "service_down_time")?,
            counter_interval: secs("demo", "counter_interval")?,
            auth_strategy: match conf.get::<String>("api", "auth_strategy")?.as_str() {
                "keystone" => AuthStrategy::Keystone,
                _ => AuthStrategy::NoAuth2,
            },
            keystone_authtoken: fjord::keystone::config::conf_from(conf)?,
            policy: fjord::policy::PolicyOptions::from_conf(conf)
                .map_err(|e| fjord::config::Error::Usage(e.to_string()))?,
            state_path,
            launcher,
        })
    }
}
