//! Options of service records, heartbeats and periodic tasks, declared
//! once: the typed [`ServiceOptions`] with oslo's names and defaults, its
//! fjord-config declarations (namespace `fjord.service`): nova's
//! `report_interval` and `service_down_time`, oslo.service's
//! `periodic_interval_max` and `periodic_fuzzy_delay` (declared by
//! [`PeriodicOptions::opts`]; all in `[DEFAULT]`, seconds), and oslo.db's
//! `[database] connection` (secret; unset means [`DEFAULT_CONNECTION`]),
//! and `from_conf`.
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_servicegroup::ServiceOptions;
//!
//! let mut conf = ConfigOpts::new("worker").env_source(EnvSource::Off);
//! ServiceOptions::register(&mut conf)?;
//! conf.load(vec![])?;
//! assert_eq!(ServiceOptions::from_conf(&conf)?, ServiceOptions::default());
//! # Ok::<(), fjord_config::Error>(())
//! ```

use std::time::Duration;

use fjord_config::{ConfigOpts, Error, Namespace, Opt, OptGroup};

use fjord_service::periodic::PeriodicOptions;

/// The default `[database] connection`: a SQLite file `fjord.sqlite` in the
/// working directory (no server to install).
pub const DEFAULT_CONNECTION: &str = "sqlite:///fjord.sqlite";

/// What a service needs to run its periodic tasks and report its state
/// (nova's `report_interval`, `service_down_time`, oslo.service's
/// `periodic_interval_max`, `periodic_fuzzy_delay`, oslo.db's
/// `[database] connection`).
///
/// Every default is oslo's; [`ServiceOptions::from_conf`] reads them from
/// the registered options.
///
/// # Examples
///
/// ```
/// use fjord_servicegroup::ServiceOptions;
/// use std::time::Duration;
///
/// let opts = ServiceOptions::default()
///     .connection("postgresql://fjord@127.0.0.1:5432/fjord")
///     .report_interval(Duration::from_secs(5));
/// assert_eq!(opts.service_down_time, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceOptions {
    /// How often a service writes its heartbeat (`report_interval`).
    /// Default is 10 s.
    pub report_interval: Duration,
    /// A service whose last heartbeat is older than this is down
    /// (`service_down_time`). Default is 60 s.
    pub service_down_time: Duration,
    /// Longest sleep of the periodic task runner (`periodic_interval_max`).
    /// Default is 60 s.
    pub periodic_interval_max: Duration,
    /// Upper bound of the random delay before the first periodic tick
    /// (`periodic_fuzzy_delay`). Default is 60 s.
    pub periodic_fuzzy_delay: Duration,
    /// The database URL (`[database] connection`): `sqlite:///relative.db`,
    /// `sqlite:////absolute/path.db`, `sqlite://` (in memory) or
    /// `postgresql://user:password@host:port/dbname`. Default is
    /// [`DEFAULT_CONNECTION`].
    pub connection: String,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            report_interval: Duration::from_secs(10),
            service_down_time: Duration::from_secs(60),
            periodic_interval_max: Duration::from_secs(60),
            periodic_fuzzy_delay: Duration::from_secs(60),
            connection: DEFAULT_CONNECTION.to_string(),
        }
    }
}

impl ServiceOptions {
    /// Sets `report_interval`. Default is 10 s.
    pub fn report_interval(mut self, d: Duration) -> Self {
        self.report_interval = d;
        self
    }

    /// Sets `service_down_time`. Default is 60 s.
    pub fn service_down_time(mut self, d: Duration) -> Self {
        self.service_down_time = d;
        self
    }

    /// Sets `periodic_interval_max`. Default is 60 s.
    pub fn periodic_interval_max(mut self, d: Duration) -> Self {
        self.periodic_interval_max = d;
        self
    }

    /// Sets `periodic_fuzzy_delay`. Default is 60 s.
    pub fn periodic_fuzzy_delay(mut self, d: Duration) -> Self {
        self.periodic_fuzzy_delay = d;
        self
    }

    /// Sets `[database] connection`. Default is [`DEFAULT_CONNECTION`].
    pub fn connection(mut self, url: impl Into<String>) -> Self {
        self.connection = url.into();
        self
    }

    /// The periodic runner's part of these options.
    pub fn periodic(&self) -> PeriodicOptions {
        PeriodicOptions::default()
            .periodic_interval_max(self.periodic_interval_max)
            .periodic_fuzzy_delay(self.periodic_fuzzy_delay)
    }
}

/// The declarations: names, defaults and help of the `fjord.service`
/// namespace, and reading them back.
impl ServiceOptions {
    /// The namespace name of the service options.
    pub const NAMESPACE: &'static str = "fjord.service";
    /// The database group.
    pub const DATABASE_GROUP: &'static str = "database";

    /// The `[DEFAULT]` options: `report_interval`, `service_down_time` and
    /// the periodic runner's ([`PeriodicOptions::opts`]).
    pub fn default_opts() -> Vec<Opt> {
        let mut opts = vec![
            Opt::int("report_interval")
                .min(1)
                .default(10)
                .help("Number of seconds indicating how frequently the state of services is reported (the service heartbeat)."),
            Opt::int("service_down_time")
                .min(1)
                .default(60)
                .help("Maximum time in seconds since last check-in for up service. A service whose last heartbeat is older than this is considered down; it should be larger than report_interval."),
        ];
        opts.extend(PeriodicOptions::opts());
        opts
    }

    /// The `[database]` options.
    pub fn database_opts() -> Vec<Opt> {
        vec![
            Opt::str("connection")
                .secret()
                .deprecated_opt("DEFAULT", "sql_connection")
                .help(
                    "The SQLAlchemy connection string to use to connect to the database: \
                 sqlite:///relative.db, sqlite:////absolute/path.db or \
                 postgresql://user:password@host:port/dbname. Unset: an SQLite file \
                 (sqlite:///fjord.sqlite unless the service documents another one).",
                ),
        ]
    }

    /// The `fjord.service` namespace (for generators and validators).
    pub fn namespace() -> Namespace {
        Namespace::new(Self::NAMESPACE)
            .group("DEFAULT", Self::default_opts())
            .group(
                OptGroup::new(Self::DATABASE_GROUP).help("Where service records live."),
                Self::database_opts(),
            )
    }

    /// Registers the [`namespace`](Self::namespace) on `conf`.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateOpt`] if one of the names is registered differently.
    pub fn register(conf: &mut ConfigOpts) -> Result<(), Error> {
        conf.register_namespace(&Self::namespace())
    }

    /// Reads the service options; an unset or empty `[database]
    /// connection` is [`DEFAULT_CONNECTION`].
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`](Self::register) was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        let periodic = PeriodicOptions::from_conf(conf)?;
        Ok(ServiceOptions {
            report_interval: conf.get("DEFAULT", "report_interval")?,
            service_down_time: conf.get("DEFAULT", "service_down_time")?,
            periodic_interval_max: periodic.periodic_interval_max,
            periodic_fuzzy_delay: periodic.periodic_fuzzy_delay,
            connection: conf
                .get::<Option<String>>(Self::DATABASE_GROUP, "connection")?
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| DEFAULT_CONNECTION.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_oslo_defaults() {
        let o = ServiceOptions::default();
        assert_eq!(o.report_interval, Duration::from_secs(10));
        assert_eq!(o.service_down_time, Duration::from_secs(60));
        assert_eq!(o.periodic_interval_max, Duration::from_secs(60));
        assert_eq!(o.periodic_fuzzy_delay, Duration::from_secs(60));
        assert_eq!(o.connection, "sqlite:///fjord.sqlite");
        assert_eq!(o.periodic(), PeriodicOptions::default());
    }

    use fjord_config::{ConfigSource, EnvSource};

    fn conf(env: EnvSource, sources: Vec<ConfigSource>) -> Result<ConfigOpts, Error> {
        let mut conf = ConfigOpts::new("t").env_source(env);
        ServiceOptions::register(&mut conf)?;
        conf.load(sources)?;
        Ok(conf)
    }

    #[test]
    fn defaults_match_the_struct_defaults() {
        let conf = conf(EnvSource::Off, vec![]).unwrap();
        assert_eq!(
            ServiceOptions::from_conf(&conf).unwrap(),
            ServiceOptions::default()
        );
        assert_eq!(
            PeriodicOptions::from_conf(&conf).unwrap(),
            PeriodicOptions::default()
        );
    }

    #[test]
    fn file_values_and_env_override() {
        let dir = std::env::temp_dir().join(format!("fjord-service-opts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.conf");
        std::fs::write(
            &file,
            "[DEFAULT]\nreport_interval = 5\nperiodic_fuzzy_delay = 0\n\
             [database]\nconnection = sqlite:////tmp/a.db\n",
        )
        .unwrap();
        let env = EnvSource::Map(
            [
                (
                    "OS_DATABASE__CONNECTION".to_owned(),
                    "postgresql://fjord@127.0.0.1:5432/test".to_owned(),
                ),
                ("OS_DEFAULT__SERVICE_DOWN_TIME".to_owned(), "30".to_owned()),
            ]
            .into(),
        );
        let conf = conf(env, vec![ConfigSource::File(file)]).unwrap();
        let o = ServiceOptions::from_conf(&conf).unwrap();
        assert_eq!(o.report_interval, Duration::from_secs(5));
        assert_eq!(o.service_down_time, Duration::from_secs(30));
        assert_eq!(o.periodic_fuzzy_delay, Duration::ZERO);
        assert_eq!(o.periodic_interval_max, Duration::from_secs(60));
        assert_eq!(o.connection, "postgresql://fjord@127.0.0.1:5432/test");
        assert_eq!(
            PeriodicOptions::from_conf(&conf).unwrap(),
            o.periodic(),
            "both readers agree"
        );
        assert!(
            conf.option_lines()
                .iter()
                .all(|l| !l.contains("postgresql")),
            "the connection is secret"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn out_of_range_is_an_error() {
        let env =
            EnvSource::Map([("OS_DEFAULT__REPORT_INTERVAL".to_owned(), "0".to_owned())].into());
        let err = conf(env, vec![]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("report_interval"), "{err}");
    }
}
