//! The `[diagnostics]` options: where the master's diagnostics endpoint
//! listens.
//!
//! | option (`[diagnostics]`) | type | default | meaning |
//! |---|---|---|---|
//! | `enabled` | bool | true | serve `/metrics`, `/status.json` and `/` |
//! | `host` | str | `127.0.0.1` | address to listen on; anything but loopback is logged as a warning |
//! | `port` | port | 0 | port to listen on; 0: any free port (the master logs which) |

use fjord_config::{ConfigOpts, Opt};

/// Where the diagnostics endpoint listens (see the module docs). Part of
/// [`crate::LauncherOptions`].
///
/// # Examples
///
/// ```
/// use fjord_service::diagnostics::DiagnosticsOptions;
/// let o = DiagnosticsOptions::default();
/// assert!(o.get_enabled());
/// assert_eq!((o.get_host(), o.get_port()), ("127.0.0.1", 0));
/// let off = o.enabled(false);
/// assert!(!off.get_enabled());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiagnosticsOptions {
    pub(crate) enabled: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Default for DiagnosticsOptions {
    /// Enabled, on 127.0.0.1, any free port.
    fn default() -> Self {
        DiagnosticsOptions {
            enabled: true,
            host: "127.0.0.1".to_owned(),
            port: 0,
        }
    }
}

impl DiagnosticsOptions {
    /// The group of the options.
    pub const GROUP: &'static str = "diagnostics";

    /// Whether the master serves the endpoint. Default is true.
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// The address to listen on. Default is `127.0.0.1`; any other than a
    /// loopback address is logged as a warning (the endpoint has no
    /// authentication).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The port to listen on; 0 (the default) takes any free port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// See [`DiagnosticsOptions::enabled`].
    pub fn get_enabled(&self) -> bool {
        self.enabled
    }

    /// See [`DiagnosticsOptions::host`].
    pub fn get_host(&self) -> &str {
        &self.host
    }

    /// See [`DiagnosticsOptions::port`].
    pub fn get_port(&self) -> u16 {
        self.port
    }

    /// The `[diagnostics]` options, in sample order.
    pub fn opts() -> Vec<Opt> {
        vec![
            Opt::bool("enabled")
                .default(true)
                .help("Serve the diagnostics endpoint (Prometheus /metrics, /status.json and the status page at /) from a process of the master."),
            Opt::str("host")
                .default("127.0.0.1")
                .help("Address the diagnostics endpoint listens on. It has no authentication: anything but a loopback address is logged as a warning."),
            Opt::port("port")
                .default(0)
                .help("Port the diagnostics endpoint listens on; 0 takes any free port (the master logs it)."),
        ]
    }

    /// The options read from `conf`'s `[diagnostics]` group.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::NoSuchOpt`] if the group was not registered
    /// (see [`crate::LauncherOptions::register`]).
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, fjord_config::Error> {
        Ok(DiagnosticsOptions {
            enabled: conf.get(Self::GROUP, "enabled")?,
            host: conf.get(Self::GROUP, "host")?,
            port: conf.get(Self::GROUP, "port")?,
        })
    }
}
