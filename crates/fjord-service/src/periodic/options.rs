//! Options of the periodic task runner, declared once: the typed
//! [`PeriodicOptions`], its fjord-config declarations (oslo.service's
//! `periodic_opts`, `[DEFAULT]` `periodic_interval_max` and
//! `periodic_fuzzy_delay`, sampled in the `fjord.service` namespace) and
//! `from_conf`.

use std::time::Duration;

use fjord_config::{ConfigOpts, Error as ConfigError, Opt};

/// When the periodic task runner of a service ticks.
///
/// Field names and defaults are oslo.service's, so an operator's
/// `nova.conf` knowledge carries over.
///
/// # Examples
///
/// ```
/// use fjord_service::periodic::PeriodicOptions;
/// use std::time::Duration;
///
/// let opts = PeriodicOptions::default().periodic_fuzzy_delay(Duration::ZERO);
/// assert_eq!(opts.periodic_interval_max, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeriodicOptions {
    /// The runner never sleeps longer than this between two ticks, whatever
    /// the spacing of the tasks (`periodic_interval_max`). Default is 60 s.
    pub periodic_interval_max: Duration,
    /// The first tick comes after a random delay in `[0, this]`, so that the
    /// workers of a fleet restarted together do not all hit the database at
    /// the same moment (`periodic_fuzzy_delay`). Zero means no delay.
    /// Default is 60 s.
    pub periodic_fuzzy_delay: Duration,
}

impl Default for PeriodicOptions {
    fn default() -> Self {
        PeriodicOptions {
            periodic_interval_max: Duration::from_secs(60),
            periodic_fuzzy_delay: Duration::from_secs(60),
        }
    }
}

impl PeriodicOptions {
    /// Sets `periodic_interval_max`. Default is 60 s.
    pub fn periodic_interval_max(mut self, d: Duration) -> Self {
        self.periodic_interval_max = d;
        self
    }

    /// Sets `periodic_fuzzy_delay`. Default is 60 s; zero disables it.
    pub fn periodic_fuzzy_delay(mut self, d: Duration) -> Self {
        self.periodic_fuzzy_delay = d;
        self
    }

    /// A random initial delay in `[0, periodic_fuzzy_delay]` (oslo
    /// `random.randint(0, periodic_fuzzy_delay)`, at millisecond resolution).
    pub fn fuzzy_initial_delay(&self) -> Duration {
        let max = u64::try_from(self.periodic_fuzzy_delay.as_millis()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=max))
    }
}

/// The declarations of `periodic_interval_max` and `periodic_fuzzy_delay`,
/// and reading them back.
impl PeriodicOptions {
    /// `[DEFAULT] periodic_interval_max`.
    pub const PERIODIC_INTERVAL_MAX: &'static str = "periodic_interval_max";
    /// `[DEFAULT] periodic_fuzzy_delay`.
    pub const PERIODIC_FUZZY_DELAY: &'static str = "periodic_fuzzy_delay";

    /// The periodic runner's options (in `[DEFAULT]`, seconds). Service
    /// record programs get them in the `fjord.service` namespace.
    pub fn opts() -> Vec<Opt> {
        vec![
            Opt::int(Self::PERIODIC_INTERVAL_MAX)
                .min(1)
                .default(60)
                .help("Maximum number of seconds between two runs of the periodic task runner."),
            Opt::int(Self::PERIODIC_FUZZY_DELAY)
                .min(0)
                .default(60)
                .help("Number of seconds to randomly delay when starting the periodic task scheduler to reduce stampeding. (Disable by setting to 0)"),
        ]
    }

    /// Registers the [`opts`](Self::opts) in `[DEFAULT]`.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::DuplicateOpt`] if one of the names is
    /// registered differently.
    pub fn register(conf: &mut ConfigOpts) -> Result<(), ConfigError> {
        conf.register("DEFAULT", &Self::opts())
    }

    /// Reads `periodic_interval_max` and `periodic_fuzzy_delay`.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::NoSuchOpt`] if [`register`](Self::register)
    /// was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, ConfigError> {
        let secs = |name: &str| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(conf.get::<u64>("DEFAULT", name)?))
        };
        Ok(PeriodicOptions::default()
            .periodic_interval_max(secs(Self::PERIODIC_INTERVAL_MAX)?)
            .periodic_fuzzy_delay(secs(Self::PERIODIC_FUZZY_DELAY)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_oslo_defaults() {
        let o = PeriodicOptions::default();
        assert_eq!(o.periodic_interval_max, Duration::from_secs(60));
        assert_eq!(o.periodic_fuzzy_delay, Duration::from_secs(60));
    }

    #[test]
    fn fuzzy_delay_stays_in_range() {
        let o = PeriodicOptions::default().periodic_fuzzy_delay(Duration::from_secs(3));
        for _ in 0..200 {
            assert!(o.fuzzy_initial_delay() <= Duration::from_secs(3));
        }
        let none = o.periodic_fuzzy_delay(Duration::ZERO);
        assert_eq!(none.fuzzy_initial_delay(), Duration::ZERO);
    }

    #[test]
    fn from_conf_reads_the_declared_defaults() {
        let mut conf = ConfigOpts::new("t").env_source(fjord_config::EnvSource::Off);
        PeriodicOptions::register(&mut conf).unwrap();
        conf.load(vec![]).unwrap();
        assert_eq!(
            PeriodicOptions::from_conf(&conf).unwrap(),
            PeriodicOptions::default()
        );
    }
}
