//! A one-shot alarm at an absolute time on [`coarse_now`]'s clock, for
//! [`super::timeout`]: on Linux a `timerfd` that the runtime watches like
//! a socket, elsewhere a tokio timer.
//!
//! Not modelled with loom: the `timerfd` is a kernel object driven by the
//! runtime's reactor, which loom cannot schedule. The tests below run both
//! alarms against the real clock.

#![cfg_attr(loom, allow(dead_code))]

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::clock::coarse_now;

/// The alarm used on this platform.
#[cfg(all(any(target_os = "linux", target_os = "android"), not(loom)))]
pub(crate) type Alarm = FdAlarm;
/// The alarm used on this platform.
#[cfg(all(not(any(target_os = "linux", target_os = "android")), not(loom)))]
pub(crate) type Alarm = TokioAlarm;
/// Under loom: an alarm that never goes off (the models call the sweep
/// themselves).
#[cfg(loom)]
pub(crate) type Alarm = NoAlarm;

/// A one-shot alarm at an absolute time on [`coarse_now`]'s clock
/// (`CLOCK_MONOTONIC`): a non-blocking `timerfd` watched by the runtime.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) struct FdAlarm {
    fd: tokio::io::unix::AsyncFd<TimerFd>,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
struct TimerFd(nix::sys::timerfd::TimerFd);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl std::os::fd::AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl FdAlarm {
    pub(crate) fn new() -> std::io::Result<Self> {
        use nix::sys::timerfd::{ClockId, TimerFlags};
        let fd = nix::sys::timerfd::TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the `TimerFd` owns its descriptor, which stays open (and
        // is the one `as_raw_fd` returns) for as long as the `AsyncFd` that
        // owns the `TimerFd` lives.
        #[allow(unsafe_code)]
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(
                TimerFd(fd),
                tokio::io::Interest::READABLE,
            )
        }
        .map_err(|e| e.into_parts().1)?;
        Ok(FdAlarm { fd })
    }

    pub(crate) fn set(&self, at_ns: u64) {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        // Never zero: a zero time would unset the alarm.
        let at = Duration::from_nanos(at_ns.max(1));
        let r = self.fd.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(at)),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        );
        if let Err(e) = r {
            tracing::error!("client_socket_timeout: cannot set the timer: {e}");
        }
    }

    pub(crate) fn unset(&self) {
        if let Err(e) = self.fd.get_ref().0.unset() {
            tracing::error!("client_socket_timeout: cannot unset the timer: {e}");
        }
    }

    /// Returns once the alarm has gone off.
    pub(crate) async fn wait(&self) {
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                // The runtime is shutting down.
                return std::future::pending().await;
            };
            let read = guard.try_io(|fd| fd.get_ref().0.wait().map_err(std::io::Error::from));
            match read {
                Ok(Ok(())) => return,
                Ok(Err(e)) => {
                    tracing::error!("client_socket_timeout: cannot read the timer: {e}");
                    return std::future::pending().await;
                }
                // Not gone off yet (readiness cleared): wait again.
                Err(_would_block) => {}
            }
        }
    }
}

/// A one-shot alarm at an absolute time on [`coarse_now`]'s clock: a tokio
/// timer, reset when the alarm is set. Used where there is no `timerfd`;
/// compiled everywhere, so that its unit test runs on Linux too.
#[cfg_attr(
    all(any(target_os = "linux", target_os = "android"), not(test)),
    allow(dead_code)
)]
pub(crate) struct TokioAlarm {
    at: Mutex<Option<u64>>,
    changed: tokio::sync::Notify,
}

#[cfg_attr(
    all(any(target_os = "linux", target_os = "android"), not(test)),
    allow(dead_code)
)]
impl TokioAlarm {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(TokioAlarm {
            at: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        })
    }

    pub(crate) fn set(&self, at_ns: u64) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = Some(at_ns);
        self.changed.notify_one();
    }

    pub(crate) fn unset(&self) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.changed.notify_one();
    }

    pub(crate) async fn wait(&self) {
        loop {
            let at = *self.at.lock().unwrap_or_else(PoisonError::into_inner);
            match at {
                None => self.changed.notified().await,
                Some(at) => {
                    let left = Duration::from_nanos(at.saturating_sub(coarse_now()));
                    tokio::select! {
                        () = tokio::time::sleep(left) => {
                            let mut slot = self.at.lock().unwrap_or_else(PoisonError::into_inner);
                            if *slot == Some(at) {
                                *slot = None;
                                return;
                            }
                        }
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// See [`Alarm`] under loom.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct NoAlarm;

#[cfg(loom)]
impl NoAlarm {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(NoAlarm)
    }

    pub(crate) fn set(&self, _at_ns: u64) {}

    pub(crate) fn unset(&self) {}

    pub(crate) async fn wait(&self) {
        std::future::pending().await
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Both alarms: each goes off at the time set, once; a time moved
    /// later while set holds; unset, it stays quiet.
    macro_rules! alarm_test {
        ($name:ident, $alarm:ty) => {
            #[tokio::test]
            async fn $name() {
                let alarm = <$alarm>::new().unwrap();
                let in_ms = |n: u64| coarse_now() + n * 1_000_000;
                let gone_off = || async {
                    let started = std::time::Instant::now();
                    tokio::time::timeout(Duration::from_secs(5), alarm.wait())
                        .await
                        .expect("the alarm went off");
                    started.elapsed()
                };

                alarm.set(in_ms(100));
                let took = gone_off().await;
                assert!(took >= Duration::from_millis(80), "early: {took:?}");

                alarm.set(in_ms(100));
                alarm.set(in_ms(300));
                let took = gone_off().await;
                assert!(took >= Duration::from_millis(280), "not moved: {took:?}");

                alarm.set(in_ms(50));
                alarm.unset();
                let quiet = tokio::time::timeout(Duration::from_millis(300), alarm.wait()).await;
                assert!(quiet.is_err(), "went off while unset");
            }
        };
    }

    alarm_test!(tokio_alarm_goes_off_when_set, TokioAlarm);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    alarm_test!(timerfd_alarm_goes_off_when_set, FdAlarm);
}
