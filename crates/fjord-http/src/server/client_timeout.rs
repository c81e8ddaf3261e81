//! `client_socket_timeout` for the wait for a client's next request (H4):
//! one alarm for all the connections of a server in a worker, rather than
//! a timer each.
//!
//! A connection waits for its client while it has no request in flight:
//! since it was accepted or since its last response ended, and, on HTTP/2,
//! since it last received bytes (an HTTP/1 head trickled a byte at a time
//! does not count). Once it has waited `client_socket_timeout`, it is
//! closed (HTTP/1) or sent GOAWAY (HTTP/2). A tokio timer per connection
//! would do it, but while any tokio timer is armed the runtime sleeps in
//! `epoll_wait` with a timeout, and each such sleep costs the kernel more
//! than one without: measured on the benchmark machine, ~1-1.5 µs of CPU
//! per request at one connection, where a worker sleeps once per request
//! (~5% of its CPU per request; `bench/hyper-prefork` with one far-off
//! tokio timer per connection showed the same). So connections register
//! here instead, and one alarm fires at the earliest deadline: on Linux a
//! `timerfd`, which the runtime watches like a socket (its sleeps stay
//! without a timeout); elsewhere a tokio timer. A sweep then flags and
//! wakes the connections whose time is up, and sets the alarm for the next
//! deadline.
//!
//! Deadlines are counted on [`coarse_now`] (the kernel tick's resolution, a
//! few milliseconds): a connection may be closed up to [`TICK_SLACK_NS`]
//! (10 ms) early.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use slab::Slab;

use super::conn::{ConnState, coarse_now};

/// A deadline this close (in nanoseconds) counts as reached: the coarse
/// clock moves by ticks, so a sweep woken at a deadline may read a time
/// just before it.
const TICK_SLACK_NS: u64 = 10_000_000;

/// The client timeouts of one running server in one worker.
pub(crate) struct ClientTimeouts {
    limit_ns: u64,
    conns: Mutex<Slab<Entry>>,
    alarm: Alarm,
}

impl std::fmt::Debug for ClientTimeouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTimeouts")
            .field("limit_ns", &self.limit_ns)
            .finish_non_exhaustive()
    }
}

struct Entry {
    conn: Weak<ConnState>,
    /// The connection task's waker, once it has polled
    /// [`Registration::poll_expired`].
    waker: Option<Waker>,
}

impl ClientTimeouts {
    /// Must be called within the worker's runtime (the alarm registers
    /// with it).
    pub(crate) fn new(limit: Duration) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(ClientTimeouts {
            limit_ns: u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
            conns: Mutex::new(Slab::new()),
            alarm: Alarm::new()?,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Slab<Entry>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches `conn` until the registration is dropped.
    pub(crate) fn register(self: &Arc<Self>, conn: &Arc<ConnState>) -> Registration {
        let mut conns = self.lock();
        if conns.is_empty() {
            // No alarm is set (or a stale one, which finds nothing due):
            // this connection's deadline is the earliest.
            self.alarm.set(coarse_now().saturating_add(self.limit_ns));
        }
        let key = conns.insert(Entry {
            conn: Arc::downgrade(conn),
            waker: None,
        });
        Registration {
            timeouts: self.clone(),
            key,
            waker: None,
        }
    }

    /// The limit (`client_socket_timeout`).
    pub(crate) fn limit(&self) -> Duration {
        Duration::from_nanos(self.limit_ns)
    }

    /// True when `conn` has waited for its client for the limit (or within
    /// [`TICK_SLACK_NS`] of it) at `now` (see [`coarse_now`]).
    pub(crate) fn expired(&self, conn: &ConnState, now: u64) -> bool {
        conn.wait_deadline(self.limit_ns)
            .is_some_and(|deadline| due(deadline, now))
    }

    /// Sweeps at each alarm; runs until dropped.
    pub(crate) async fn run(&self) {
        loop {
            self.alarm.wait().await;
            self.sweep();
        }
    }

    /// Flags and wakes the connections whose time is up, and sets the
    /// alarm for the earliest deadline of the others.
    fn sweep(&self) {
        let now = coarse_now();
        let mut conns = self.lock();
        let mut next: Option<u64> = None;
        for (_, entry) in conns.iter_mut() {
            let Some(conn) = entry.conn.upgrade() else {
                continue;
            };
            let deadline = match conn.wait_deadline(self.limit_ns) {
                Some(deadline) if due(deadline, now) => {
                    conn.wait_expired.store(true, Ordering::Release);
                    if let Some(waker) = &entry.waker {
                        waker.wake_by_ref();
                    }
                    // Looked at again in a full period, should the
                    // connection have begun a request meanwhile.
                    now.saturating_add(self.limit_ns)
                }
                Some(deadline) => deadline,
                // A request is in flight: the wait for the next request starts
                // at its end, a full period from now at the earliest.
                None => now.saturating_add(self.limit_ns),
            };
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
        }
        match next {
            Some(at) => self.alarm.set(at),
            None if conns.is_empty() => self.alarm.unset(),
            // Only connections being dropped: look again in a period
            // rather than leave the alarm off while entries remain
            // (`register` sets it only when there are none).
            None => self.alarm.set(now.saturating_add(self.limit_ns)),
        }
    }
}

/// A deadline at or within [`TICK_SLACK_NS`] of `now` counts as reached.
fn due(deadline: u64, now: u64) -> bool {
    deadline <= now.saturating_add(TICK_SLACK_NS)
}

/// A connection watched by [`ClientTimeouts`]; unwatched on drop.
pub(crate) struct Registration {
    timeouts: Arc<ClientTimeouts>,
    key: usize,
    /// The waker stored in the entry, to skip the lock when unchanged.
    waker: Option<Waker>,
}

impl Registration {
    /// Ready once a sweep found the connection's time up (the flag is
    /// taken).
    fn poll_expired(&mut self, conn: &ConnState, cx: &mut Context<'_>) -> Poll<()> {
        if conn.wait_expired.load(Ordering::Acquire) {
            conn.wait_expired.store(false, Ordering::Release);
            return Poll::Ready(());
        }
        if self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        {
            let mut conns = self.timeouts.lock();
            if let Some(entry) = conns.get_mut(self.key) {
                entry.waker = Some(cx.waker().clone());
            }
        }
        self.waker = Some(cx.waker().clone());
        // Flagged before the waker was stored: not lost.
        if conn.wait_expired.load(Ordering::Acquire) {
            conn.wait_expired.store(false, Ordering::Release);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Ready with the limit once the connection has waited for its client that
/// long: a sweep found its time up, and a look again (a request may have
/// begun since the sweep) confirms it. Never ready without a registration.
/// A `poll_fn`, not an `async fn`: polled on every wake of a connection,
/// it costs half as much (callgrind: ~29 against ~57 instructions).
pub(crate) fn expired<'a>(
    mut wait: Option<&'a mut Registration>,
    conn: &'a ConnState,
) -> impl Future<Output = Duration> + 'a {
    std::future::poll_fn(move |cx| {
        let Some(w) = wait.as_deref_mut() else {
            return Poll::Pending;
        };
        loop {
            std::task::ready!(w.poll_expired(conn, cx));
            if w.timeouts.expired(conn, coarse_now()) {
                return Poll::Ready(w.timeouts.limit());
            }
        }
    })
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.timeouts.lock().try_remove(self.key);
    }
}

/// A one-shot alarm at an absolute time on [`coarse_now`]'s clock
/// (`CLOCK_MONOTONIC`): a non-blocking `timerfd` watched by the runtime.
#[cfg(any(target_os = "linux", target_os = "android"))]
struct FdAlarm {
    fd: tokio::io::unix::AsyncFd<TimerFd>,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
type Alarm = FdAlarm;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
type Alarm = TokioAlarm;

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
    fn new() -> std::io::Result<Self> {
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

    fn set(&self, at_ns: u64) {
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

    fn unset(&self) {
        if let Err(e) = self.fd.get_ref().0.unset() {
            tracing::error!("client_socket_timeout: cannot unset the timer: {e}");
        }
    }

    /// Returns once the alarm has gone off.
    async fn wait(&self) {
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
struct TokioAlarm {
    at: Mutex<Option<u64>>,
    changed: tokio::sync::Notify,
}

#[cfg_attr(
    all(any(target_os = "linux", target_os = "android"), not(test)),
    allow(dead_code)
)]
impl TokioAlarm {
    fn new() -> std::io::Result<Self> {
        Ok(TokioAlarm {
            at: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        })
    }

    fn set(&self, at_ns: u64) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = Some(at_ns);
        self.changed.notify_one();
    }

    fn unset(&self) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.changed.notify_one();
    }

    async fn wait(&self) {
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

#[cfg(test)]
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
