//! Options of service records, heartbeats and periodic tasks, with oslo's
//! names and defaults.

use std::time::Duration;

use crate::periodic::PeriodicOptions;

/// The default `[database] connection`: a SQLite file `fjord.sqlite` in the
/// working directory (no server to install).
pub const DEFAULT_CONNECTION: &str = "sqlite:///fjord.sqlite";

/// What a service needs to run its periodic tasks and report its state
/// (nova's `report_interval`, `service_down_time`, oslo.service's
/// `periodic_interval_max`, `periodic_fuzzy_delay`, oslo.db's
/// `[database] connection`).
///
/// A plain struct so that the config layer can fill it from registered
/// options; every default is oslo's.
///
/// # Examples
///
/// ```
/// use fjord_service::servicegroup::ServiceOptions;
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
}
