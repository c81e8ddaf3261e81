//! The service options declared with fjord-config (namespace
//! `fjord.service`): nova's `report_interval` and `service_down_time`,
//! oslo.service's `periodic_interval_max` and `periodic_fuzzy_delay` (all
//! in `[DEFAULT]`, seconds), and oslo.db's `[database] connection`
//! (secret; unset means [`DEFAULT_CONNECTION`]).
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_service::servicegroup::{ServiceOptions, opts};
//!
//! let mut conf = ConfigOpts::new("worker").env_source(EnvSource::Off);
//! opts::register(&mut conf)?;
//! conf.load(vec![])?;
//! assert_eq!(ServiceOptions::from_conf(&conf)?, ServiceOptions::default());
//! # Ok::<(), fjord_config::Error>(())
//! ```

use fjord_config::{ConfigOpts, Error, Namespace, Opt, OptGroup};

use super::options::{DEFAULT_CONNECTION, ServiceOptions};
use crate::periodic::PeriodicOptions;

/// The namespace name of the service options.
pub const NAMESPACE: &str = "fjord.service";
/// The database group.
pub const DATABASE_GROUP: &str = "database";

/// The `[DEFAULT]` options.
pub fn default_opts() -> Vec<Opt> {
    vec![
        Opt::int("report_interval")
            .min(1)
            .default(10)
            .help("Number of seconds indicating how frequently the state of services is reported (the service heartbeat)."),
        Opt::int("service_down_time")
            .min(1)
            .default(60)
            .help("Maximum time in seconds since last check-in for up service. A service whose last heartbeat is older than this is considered down; it should be larger than report_interval."),
        Opt::int("periodic_interval_max")
            .min(1)
            .default(60)
            .help("Maximum number of seconds between two runs of the periodic task runner."),
        Opt::int("periodic_fuzzy_delay")
            .min(0)
            .default(60)
            .help("Number of seconds to randomly delay when starting the periodic task scheduler to reduce stampeding. (Disable by setting to 0)"),
    ]
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
    Namespace::new(NAMESPACE)
        .group("DEFAULT", default_opts())
        .group(
            OptGroup::new(DATABASE_GROUP).help("Where service records live."),
            database_opts(),
        )
}

/// Registers the [`namespace`] on `conf`.
///
/// # Errors
///
/// [`Error::DuplicateOpt`] if one of the names is registered differently.
pub fn register(conf: &mut ConfigOpts) -> Result<(), Error> {
    conf.register_namespace(&namespace())
}

impl ServiceOptions {
    /// Reads the service options; an unset or empty `[database]
    /// connection` is [`DEFAULT_CONNECTION`].
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        let periodic = PeriodicOptions::from_conf(conf)?;
        Ok(ServiceOptions {
            report_interval: conf.get("DEFAULT", "report_interval")?,
            service_down_time: conf.get("DEFAULT", "service_down_time")?,
            periodic_interval_max: periodic.periodic_interval_max,
            periodic_fuzzy_delay: periodic.periodic_fuzzy_delay,
            connection: conf
                .get::<Option<String>>(DATABASE_GROUP, "connection")?
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| DEFAULT_CONNECTION.to_owned()),
        })
    }
}

impl PeriodicOptions {
    /// Reads `periodic_interval_max` and `periodic_fuzzy_delay`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        Ok(PeriodicOptions::default()
            .periodic_interval_max(conf.get("DEFAULT", "periodic_interval_max")?)
            .periodic_fuzzy_delay(conf.get("DEFAULT", "periodic_fuzzy_delay")?))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fjord_config::{ConfigSource, EnvSource};

    use super::*;

    fn conf(env: EnvSource, sources: Vec<ConfigSource>) -> Result<ConfigOpts, Error> {
        let mut conf = ConfigOpts::new("t").env_source(env);
        register(&mut conf)?;
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
