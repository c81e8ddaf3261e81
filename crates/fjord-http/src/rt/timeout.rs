//! `client_socket_timeout` for the wait for a client's next request (H4):
//! one alarm for all the connections of a server in a worker, rather than
//! a timer each.
//!
//! A connection waits for its client while it has no request in flight:
//! since it was accepted or since its last response ended, and, on HTTP/2,
//! since it last received bytes (an HTTP/1 head trickled a byte at a time
//! does not count). Once it has waited `client_socket_timeout`, it is
//! closed (HTTP/1) or sent GOAWAY (HTTP/2).
//!
//! A tokio timer per connection would do it, but a connection would reset
//! it on every request, and while any tokio timer is armed the runtime
//! parks in `epoll_wait` with a timeout, which costs the kernel more than
//! a park without one. So connections register here instead, and one
//! [`Alarm`] goes off at the earliest deadline: on Linux a `timerfd`,
//! which the runtime watches like a socket (its parks stay without a
//! timeout). A sweep then flags and wakes the connections whose time is
//! up, and sets the alarm for the next deadline. A request costs one store
//! of the clock into the connection ([`Watched::deadline`] reads it).
//!
//! Deadlines are counted on [`coarse_now`] (the kernel tick's resolution,
//! a few milliseconds): a connection may be closed up to [`TICK_SLACK_NS`]
//! (10 ms) early.
//!
//! # Invariants
//!
//! * While entries exist, the alarm is set (at the latest a full period
//!   ahead): [`ClientTimeouts::register`] sets it for the first entry, and
//!   every sweep sets it again unless no entry is left.
//! * A flag raised by a sweep is never missed: the sweep raises it and
//!   wakes the stored waker under the lock; the connection stores its
//!   waker under the same lock and looks at the flag again after.

use std::future::Future;
use std::sync::{Arc, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use slab::Slab;

use super::alarm::Alarm;
use super::clock::coarse_now;
use super::sync::atomic::{AtomicBool, Ordering};
use super::sync::{Mutex, MutexGuard};

/// A deadline this close (in nanoseconds) counts as reached: the coarse
/// clock moves by ticks, so a sweep woken at a deadline may read a time
/// just before it.
const TICK_SLACK_NS: u64 = 10_000_000;

/// What the sweep reads and sets of a watched connection.
pub(crate) trait Watched: Send + Sync + 'static {
    /// When the connection will have waited for its client for
    /// `limit_ns`, on the [`coarse_now`] clock; `None` while a request is
    /// in flight.
    fn deadline(&self, limit_ns: u64) -> Option<u64>;

    /// Raised by a sweep when the connection's wait is up; taken by
    /// [`expired`].
    fn expired_flag(&self) -> &AtomicBool;
}

/// The client timeouts of one running server in one worker.
pub(crate) struct ClientTimeouts<C> {
    limit_ns: u64,
    conns: Mutex<Slab<Entry<C>>>,
    alarm: Alarm,
}

impl<C> std::fmt::Debug for ClientTimeouts<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTimeouts")
            .field("limit_ns", &self.limit_ns)
            .finish_non_exhaustive()
    }
}

struct Entry<C> {
    conn: Weak<C>,
    /// The connection task's waker, once it has polled [`expired`].
    waker: Option<Waker>,
}

impl<C: Watched> ClientTimeouts<C> {
    /// Must be called within the worker's runtime (the alarm registers
    /// with it).
    pub(crate) fn new(limit: Duration) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(ClientTimeouts {
            limit_ns: u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
            conns: Mutex::new(Slab::new()),
            alarm: Alarm::new()?,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Slab<Entry<C>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches `conn` until the registration is dropped.
    pub(crate) fn register(self: &Arc<Self>, conn: &Arc<C>) -> Registration<C> {
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
            conn: conn.clone(),
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
    fn is_expired(&self, conn: &C, now: u64) -> bool {
        conn.deadline(self.limit_ns)
            .is_some_and(|deadline| due(deadline, now))
    }

    /// Sweeps at each alarm; runs until dropped.
    pub(crate) async fn run(&self) {
        loop {
            self.alarm.wait().await;
            self.sweep(coarse_now());
        }
    }

    /// Flags and wakes the connections whose time is up at `now`, and sets
    /// the alarm for the earliest deadline of the others. Returns that
    /// deadline (`None`: the alarm is off).
    pub(crate) fn sweep(&self, now: u64) -> Option<u64> {
        let mut conns = self.lock();
        let mut next: Option<u64> = None;
        for (_, entry) in conns.iter_mut() {
            let Some(conn) = entry.conn.upgrade() else {
                continue;
            };
            let deadline = match conn.deadline(self.limit_ns) {
                Some(deadline) if due(deadline, now) => {
                    // A read-modify-write, like the connection's take:
                    // every write to the flag is then one of a single
                    // total order (loom orders a plain store racing an
                    // RMW only partially, and reports lost wake-ups that
                    // cannot happen).
                    conn.expired_flag().swap(true, Ordering::AcqRel);
                    if let Some(waker) = &entry.waker {
                        waker.wake_by_ref();
                    }
                    // Looked at again in a full period, should the
                    // connection have begun a request meanwhile.
                    now.saturating_add(self.limit_ns)
                }
                Some(deadline) => deadline,
                // A request is in flight: the wait for the next request
                // starts at its end, a full period from now at the earliest.
                None => now.saturating_add(self.limit_ns),
            };
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
        }
        let next = match next {
            Some(at) => Some(at),
            None if conns.is_empty() => None,
            // Only connections being dropped: look again in a period
            // rather than leave the alarm off while entries remain
            // (`register` sets it only when there are none).
            None => Some(now.saturating_add(self.limit_ns)),
        };
        match next {
            Some(at) => self.alarm.set(at),
            None => self.alarm.unset(),
        }
        next
    }
}

/// A deadline at or within [`TICK_SLACK_NS`] of `now` counts as reached.
fn due(deadline: u64, now: u64) -> bool {
    deadline <= now.saturating_add(TICK_SLACK_NS)
}

/// A connection watched by [`ClientTimeouts`]; unwatched on drop.
pub(crate) struct Registration<C> {
    timeouts: Arc<ClientTimeouts<C>>,
    conn: Arc<C>,
    key: usize,
    /// The waker stored in the entry, to skip the lock when unchanged.
    waker: Option<Waker>,
}

impl<C> std::fmt::Debug for Registration<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<C: Watched> Registration<C> {
    /// Ready once a sweep found the connection's time up (the flag is
    /// taken).
    fn poll_flagged(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let flag = self.conn.expired_flag();
        if flag.swap(false, Ordering::Acquire) {
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
        if flag.swap(false, Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Ready with the limit once the connection has waited for its client that
/// long: a sweep found its time up, and a look again (a request may have
/// begun since the sweep) confirms it. Never ready without a registration.
/// A `poll_fn` rather than an `async fn`: polled on every wake of a
/// connection, it stays a small state-free closure.
pub(crate) fn expired<C: Watched>(
    mut wait: Option<&mut Registration<C>>,
) -> impl Future<Output = Duration> + '_ {
    std::future::poll_fn(move |cx| {
        let Some(w) = wait.as_deref_mut() else {
            return Poll::Pending;
        };
        loop {
            std::task::ready!(w.poll_flagged(cx));
            if w.timeouts.is_expired(&w.conn, coarse_now()) {
                return Poll::Ready(w.timeouts.limit());
            }
        }
    })
}

impl<C> Drop for Registration<C> {
    fn drop(&mut self) {
        self.timeouts
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_remove(self.key);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// A connection whose deadline the test sets.
    #[derive(Default)]
    struct Conn {
        /// `u64::MAX`: a request is in flight.
        idle_since: AtomicU64,
        expired: AtomicBool,
    }

    impl Watched for Conn {
        fn deadline(&self, limit_ns: u64) -> Option<u64> {
            let since = self.idle_since.load(Ordering::Acquire);
            (since != u64::MAX).then(|| since.saturating_add(limit_ns))
        }

        fn expired_flag(&self) -> &AtomicBool {
            &self.expired
        }
    }

    const SEC: u64 = 1_000_000_000;

    /// The sweep, at chosen times: flags only the connections whose wait
    /// is up (within the slack), sets the alarm for the earliest other
    /// deadline, a full period ahead for busy or flagged ones, and leaves
    /// it off once nobody is registered.
    #[tokio::test]
    async fn sweep_flags_due_connections_and_sets_the_next_deadline() {
        let timeouts = ClientTimeouts::<Conn>::new(Duration::from_secs(10)).unwrap();
        // Far ahead of the real clock, which `expired` reads.
        let t0 = coarse_now() + 1000 * SEC;
        let conns: Vec<Arc<Conn>> = (0..3).map(|_| Arc::new(Conn::default())).collect();
        conns[0].idle_since.store(t0, Ordering::Release);
        conns[1].idle_since.store(t0 + 5 * SEC, Ordering::Release);
        conns[2].idle_since.store(u64::MAX, Ordering::Release);
        let mut regs: Vec<_> = conns.iter().map(|c| timeouts.register(c)).collect();

        // Nothing due yet: the earliest deadline is conn 0's.
        assert_eq!(timeouts.sweep(t0 + 9 * SEC), Some(t0 + 10 * SEC));
        assert!(conns.iter().all(|c| !c.expired.load(Ordering::Acquire)));

        // Within the slack of conn 0's deadline: flagged, and looked at
        // again a period later; conn 1 is next.
        let at = t0 + 10 * SEC - TICK_SLACK_NS;
        assert_eq!(timeouts.sweep(at), Some(t0 + 15 * SEC));
        assert!(conns[0].expired.load(Ordering::Acquire));
        assert!(!conns[1].expired.load(Ordering::Acquire));
        assert!(!conns[2].expired.load(Ordering::Acquire), "busy, never due");
        let limit = futures_util::poll!(std::pin::pin!(expired(Some(&mut regs[0]))));
        assert!(limit.is_pending(), "not confirmed on the real clock");

        // Only a busy connection: a period from now.
        regs.truncate(0);
        let busy = Arc::new(Conn::default());
        busy.idle_since.store(u64::MAX, Ordering::Release);
        let _reg = timeouts.register(&busy);
        assert_eq!(timeouts.sweep(t0 + 20 * SEC), Some(t0 + 30 * SEC));
        drop(_reg);
        assert_eq!(timeouts.sweep(t0 + 20 * SEC), None, "nobody registered");
    }

    /// A connection that has waited out the limit on the real clock is
    /// woken by a sweep, and the wait is confirmed.
    #[tokio::test]
    async fn a_sweep_wakes_a_waiting_connection() {
        let timeouts = ClientTimeouts::<Conn>::new(Duration::from_millis(1)).unwrap();
        let conn = Arc::new(Conn::default());
        conn.idle_since.store(coarse_now(), Ordering::Release);
        let mut reg = timeouts.register(&conn);
        let mut wait = std::pin::pin!(expired(Some(&mut reg)));
        assert!(futures_util::poll!(wait.as_mut()).is_pending());
        timeouts.sweep(coarse_now() + 2_000_000);
        let limit = tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("woken by the sweep");
        assert_eq!(limit, Duration::from_millis(1));
    }
}

/// Model tests: a sweep flagging a connection while its task registers
/// its waker. The alarm is left out (see `super::alarm`): the model calls
/// the sweep itself.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::rt::loom_support::model;
    use loom::future::block_on;
    use loom::thread;

    /// Always due: a deadline of 0.
    struct Conn {
        expired: AtomicBool,
    }

    impl Watched for Conn {
        fn deadline(&self, _limit_ns: u64) -> Option<u64> {
            Some(0)
        }

        fn expired_flag(&self) -> &AtomicBool {
            &self.expired
        }
    }

    #[test]
    fn a_sweep_reaches_a_waiting_connection() {
        model(|| {
            let timeouts = ClientTimeouts::<Conn>::new(Duration::ZERO).unwrap();
            let conn = std::sync::Arc::new(Conn {
                expired: AtomicBool::new(false),
            });
            let mut reg = timeouts.register(&conn);
            let task = thread::spawn(move || block_on(expired(Some(&mut reg))));
            timeouts.sweep(0);
            assert_eq!(task.join().unwrap(), Duration::ZERO);
        });
    }
}
