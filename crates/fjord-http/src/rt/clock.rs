//! The coarse monotonic clock that connection deadlines are counted on.

/// The monotonic clock in nanoseconds at the kernel tick's resolution
/// (`CLOCK_MONOTONIC_COARSE`, a few milliseconds): read once per request
/// for a timeout counted in seconds, it costs less than
/// [`std::time::Instant::now`] and the arithmetic on it. On the same clock
/// as the [`timerfd`](super::alarm) alarm (`CLOCK_MONOTONIC`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn coarse_now() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(0, |t| {
        let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec()).unwrap_or(0);
        secs.saturating_mul(1_000_000_000).saturating_add(nanos)
    })
}

/// The monotonic clock in nanoseconds.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn coarse_now() -> u64 {
    instant_ns()
}

/// The monotonic clock in nanoseconds since the first call: `coarse_now`
/// where there is no coarse clock. Compiled everywhere, so that its unit
/// test runs on Linux too.
#[cfg_attr(
    all(any(target_os = "linux", target_os = "android"), any(not(test), loom)),
    allow(dead_code)
)]
pub(crate) fn instant_ns() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Both clocks (the coarse one, and the fallback where there is none)
    /// count nanoseconds and follow a real sleep, to within a tick.
    #[test]
    fn clocks_count_nanoseconds() {
        for clock in [coarse_now as fn() -> u64, instant_ns] {
            let before = clock();
            std::thread::sleep(Duration::from_millis(50));
            let took = clock() - before;
            assert!(
                (40_000_000..2_000_000_000).contains(&took),
                "50 ms read as {took} ns"
            );
        }
    }
}
