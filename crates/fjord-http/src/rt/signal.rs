//! Server-wide events every connection reacts to: graceful drain, forced
//! close, and shedding idle connections when the connection bound is
//! reached.
//!
//! A connection's task polls its wait for these on every wake (each read
//! and write of every request), so an unchanged state must cost one atomic
//! load and no lock: the waker is registered once and kept while it stays
//! the same (tokio's `Notify` and `CancellationToken` take a mutex on each
//! poll).

use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use super::sync::atomic::{AtomicU64, Ordering};
use super::sync::{Mutex, MutexGuard};

/// Set once a graceful stop begins.
const DRAIN: u64 = 1;
/// Set when connections must close now.
const FORCE: u64 = 1 << 1;
/// Added each time idle connections are asked to close.
const SHED_STEP: u64 = 1 << 2;

/// One server's events, as one word: two flags and a shed generation.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    state: AtomicU64,
    wakers: Mutex<Slab<Waker>>,
}

/// A snapshot of [`Signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State(u64);

impl State {
    pub(crate) fn draining(self) -> bool {
        self.0 & DRAIN != 0
    }

    pub(crate) fn forced(self) -> bool {
        self.0 & FORCE != 0
    }

    /// This state as it was before any stop: a connection accepted after a
    /// drain began still sees the drain as a change.
    pub(crate) fn before_stop(self) -> State {
        State(self.0 & !(DRAIN | FORCE))
    }

    /// True when idle connections were asked to close since `earlier`.
    pub(crate) fn shed_since(self, earlier: State) -> bool {
        self.0 / SHED_STEP != earlier.0 / SHED_STEP
    }
}

impl Signals {
    pub(crate) fn state(&self) -> State {
        State(self.state.load(Ordering::Acquire))
    }

    /// Begins a graceful stop.
    pub(crate) fn drain(&self) {
        self.state.fetch_or(DRAIN, Ordering::AcqRel);
        self.wake_all();
    }

    /// Closes every connection now (implies drain).
    pub(crate) fn force(&self) {
        self.state.fetch_or(DRAIN | FORCE, Ordering::AcqRel);
        self.wake_all();
    }

    /// Asks idle connections to close.
    pub(crate) fn shed(&self) {
        self.state.fetch_add(SHED_STEP, Ordering::AcqRel);
        self.wake_all();
    }

    /// Resolves with the new state once it differs from `seen`.
    pub(crate) fn changed(&self, seen: State) -> Changed<'_> {
        Changed {
            signals: self,
            seen,
            key: None,
            waker: None,
        }
    }

    /// Resolves once a graceful stop has begun.
    pub(crate) async fn drained(&self) {
        let mut seen = self.state();
        while !seen.draining() {
            seen = self.changed(seen).await;
        }
    }

    /// Resolves once connections must close now.
    pub(crate) async fn forced(&self) {
        let mut seen = self.state();
        while !seen.forced() {
            seen = self.changed(seen).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slab<Waker>> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake_all(&self) {
        for (_, waker) in self.lock().iter() {
            waker.wake_by_ref();
        }
    }
}

/// See [`Signals::changed`].
#[derive(Debug)]
pub(crate) struct Changed<'a> {
    signals: &'a Signals,
    seen: State,
    key: Option<usize>,
    /// The waker registered under `key`, to skip the lock when unchanged.
    waker: Option<Waker>,
}

impl Future for Changed<'_> {
    type Output = State;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<State> {
        let this = &mut *self;
        let now = this.signals.state();
        if now != this.seen {
            return Poll::Ready(now);
        }
        if this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        {
            let mut wakers = this.signals.lock();
            match this.key {
                Some(key) => {
                    if let Some(slot) = wakers.get_mut(key) {
                        slot.clone_from(cx.waker());
                    }
                }
                None => this.key = Some(wakers.insert(cx.waker().clone())),
            }
        }
        this.waker = Some(cx.waker().clone());
        // Raised between the first load and the registration: not lost.
        let now = this.signals.state();
        if now == this.seen {
            Poll::Pending
        } else {
            Poll::Ready(now)
        }
    }
}

impl Drop for Changed<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.signals.lock().try_remove(key);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn waiters_see_each_event_and_deregister() {
        let signals = Arc::new(Signals::default());
        let start = signals.state();
        assert!(!start.draining() && !start.forced());

        let s = signals.clone();
        let shed = tokio::spawn(async move { s.changed(start).await });
        tokio::task::yield_now().await;
        signals.shed();
        let after_shed = tokio::time::timeout(Duration::from_secs(5), shed)
            .await
            .expect("woken by shed")
            .expect("task");
        assert!(after_shed.shed_since(start));
        assert!(!after_shed.draining());

        let s = signals.clone();
        let drained = tokio::spawn(async move { s.drained().await });
        let s = signals.clone();
        let forced = tokio::spawn(async move { s.forced().await });
        tokio::task::yield_now().await;
        signals.drain();
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .expect("woken by drain")
            .expect("task");
        assert!(!forced.is_finished());
        signals.force();
        tokio::time::timeout(Duration::from_secs(5), forced)
            .await
            .expect("woken by force")
            .expect("task");
        assert!(signals.state().forced() && signals.state().draining());
        // Every finished waiter removed its waker.
        assert!(signals.lock().is_empty());
    }

    #[tokio::test]
    async fn an_event_before_the_wait_resolves_it_at_once() {
        let signals = Signals::default();
        let seen = signals.state();
        signals.drain();
        let now = signals.changed(seen).await;
        assert!(now.draining());
    }
}

/// Model tests: every interleaving of an event with a connection's wait.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::rt::loom_support::{block_on, model};
    use loom::sync::Arc;
    use loom::thread;

    /// A drain raised while a connection registers its wait is seen.
    #[test]
    fn a_drain_reaches_a_waiting_connection() {
        model(|| {
            let signals = Arc::new(Signals::default());
            let conn = thread::spawn({
                let signals = signals.clone();
                move || block_on(signals.drained())
            });
            signals.drain();
            conn.join().unwrap();
        });
    }

    /// Two connections, two events: each connection sees the state change
    /// (a shed, then a force), and leaves no waker behind.
    #[test]
    fn every_waiter_sees_each_event() {
        model(|| {
            let signals = Arc::new(Signals::default());
            let start = signals.state();
            let conns: Vec<_> = (0..2)
                .map(|_| {
                    let signals = signals.clone();
                    thread::spawn(move || {
                        let now = block_on(signals.changed(start));
                        assert!(now.shed_since(start) || now.forced());
                        block_on(signals.forced());
                    })
                })
                .collect();
            signals.shed();
            signals.force();
            for c in conns {
                c.join().unwrap();
            }
            assert!(signals.lock().is_empty());
        });
    }

    /// A wait polled again with another waker (the task moved) still
    /// hears the event.
    #[test]
    fn a_new_waker_replaces_the_old_one() {
        model(|| {
            let signals = Arc::new(Signals::default());
            let seen = signals.state();
            let conn = thread::spawn({
                let signals = signals.clone();
                move || {
                    let mut wait = Box::pin(signals.changed(seen));
                    let first = std::task::Waker::noop();
                    if wait
                        .as_mut()
                        .poll(&mut Context::from_waker(first))
                        .is_ready()
                    {
                        return;
                    }
                    block_on(wait);
                }
            });
            signals.drain();
            conn.join().unwrap();
        });
    }
}
