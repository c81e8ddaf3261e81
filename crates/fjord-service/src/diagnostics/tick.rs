//! A periodic tick for a worker's background tasks (the heartbeat, the
//! console's log filter watch).
//!
//! On Linux it is a periodic `timerfd` that the runtime's reactor watches
//! like a socket, not a tokio timer: while any tokio timer is armed, every
//! park of the runtime reads the clock and waits in `epoll_wait` with a
//! timeout, which arms and cancels a kernel timer each time, on every
//! request a worker parks between (fjord-http's client timeout is a
//! `timerfd` for the same reason, see its `rt` module). Elsewhere, or if
//! the `timerfd` cannot be made, it is a tokio interval.

use std::time::Duration;

/// Ticks every period, the first one a period after it is made; ticks
/// missed while the runtime was busy come as one.
#[derive(Debug)]
pub(crate) enum Ticker {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Fd {
        fd: tokio::io::unix::AsyncFd<TimerFd>,
        every: Duration,
    },
    Tokio(tokio::time::Interval),
}

/// A `timerfd` as `AsyncFd` wants it.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Debug)]
pub(crate) struct TimerFd(nix::sys::timerfd::TimerFd);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl std::os::fd::AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

impl Ticker {
    /// A tick every `every` (at least a millisecond). Call it from a task
    /// of the runtime.
    pub(crate) fn new(every: Duration) -> Ticker {
        let every = every.max(Duration::from_millis(1));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        match Self::timerfd(every) {
            Ok(fd) => return Ticker::Fd { fd, every },
            Err(e) => tracing::debug!("no timerfd ({e}): a tokio timer ticks instead"),
        }
        Self::tokio(every)
    }

    fn tokio(every: Duration) -> Ticker {
        let start = tokio::time::Instant::now() + every;
        let mut tick = tokio::time::interval_at(start, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker::Tokio(tick)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn timerfd(every: Duration) -> std::io::Result<tokio::io::unix::AsyncFd<TimerFd>> {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{ClockId, Expiration, TimerFlags, TimerSetTimeFlags};
        let fd = nix::sys::timerfd::TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        fd.set(
            Expiration::Interval(TimeSpec::from_duration(every)),
            TimerSetTimeFlags::empty(),
        )?;
        // SAFETY: the `TimerFd` owns its descriptor, which stays open (and
        // is the one `as_raw_fd` returns) for as long as the `AsyncFd` that
        // owns the `TimerFd` lives.
        unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(
                TimerFd(fd),
                tokio::io::Interest::READABLE,
            )
        }
        .map_err(|e| e.into_parts().1)
    }

    /// Returns at the next tick.
    pub(crate) async fn tick(&mut self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Ticker::Fd { fd, every } = self {
            let every = *every;
            loop {
                let read = match fd.readable().await {
                    Ok(mut guard) => {
                        match guard.try_io(|fd| fd.get_ref().0.wait().map_err(std::io::Error::from))
                        {
                            Ok(read) => read,
                            // Not gone off yet (readiness cleared): wait again.
                            Err(_would_block) => continue,
                        }
                    }
                    Err(e) => Err(e),
                };
                match read {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::error!(
                            "cannot read the timerfd ({e}): a tokio timer ticks instead"
                        );
                        break;
                    }
                }
            }
            *self = Self::tokio(every);
        }
        if let Ticker::Tokio(tick) = self {
            tick.tick().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn ticks_every_period_without_a_tokio_timer() {
        let mut t = Ticker::new(Duration::from_millis(20));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert!(matches!(t, Ticker::Fd { .. }), "{t:?}");
        let started = std::time::Instant::now();
        for _ in 0..3 {
            t.tick().await;
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(55) && took < Duration::from_secs(5),
            "3 ticks of 20 ms in {took:?}"
        );
        // Ticks missed while the runtime was busy come as one, at once.
        std::thread::sleep(Duration::from_millis(70));
        let started = std::time::Instant::now();
        t.tick().await;
        assert!(started.elapsed() < Duration::from_millis(15));
    }
}
