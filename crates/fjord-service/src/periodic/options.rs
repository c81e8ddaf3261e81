//! Options of the periodic task runner (oslo.service `periodic_opts`).

use std::time::Duration;

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
}
