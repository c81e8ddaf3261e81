//! The per-worker request pool (H3, eventlet's `GreenPool` of
//! `wsgi_default_pool_size`): how many requests one worker serves at once;
//! also the accept loop's bound on open connections (`max_connections`).
//!
//! A counter, not a semaphore: taking a free slot is one load and one
//! compare-and-swap, giving it back one read-modify-write (tokio's
//! `Semaphore` takes a mutex on every release). Requests that find the
//! pool full wait in arrival order behind a [`Notify`]: a release wakes
//! the first waiter, and a request arriving while others wait queues
//! behind them instead of taking the freed slot first. A waiter that got
//! a slot wakes the next one if more slots are free. The accept loop waits
//! on its own signals (the pool filled, the pool has room again), so it
//! never takes a wake-up meant for a waiting request.
//!
//! # Invariants
//!
//! * Slots taken and waiters are one word ([`State`]), changed only by
//!   read-modify-writes: a release learns from its own write whether
//!   anyone waits, and a waiter counted before a release is woken by it.
//!   (No pair of a write and a load of two words whose order only
//!   `SeqCst` would keep.)
//! * At most `size` slots are taken; a slot is taken by
//!   [`Pool::try_acquire`] only while nobody waits.
//! * Every slot freed while requests wait reaches one of them: the
//!   release wakes one, and a waiter that takes a slot passes a wake-up
//!   on while slots are free and others wait.

#[cfg(loom)]
use super::loom_notify::Notify;
use super::sync::atomic::{AtomicU64, Ordering::AcqRel, Ordering::Acquire};

#[cfg(not(loom))]
use tokio::sync::Notify;

/// One waiter in the [`Pool`]'s state word (slots taken are the low half).
const WAITER: u64 = 1 << 32;

/// Slots taken (low 32 bits) and waiters (high 32 bits).
#[derive(Debug, Clone, Copy)]
struct State(u64);

impl State {
    fn in_use(self) -> u64 {
        self.0 & (WAITER - 1)
    }

    fn waiting(self) -> u64 {
        self.0 >> 32
    }
}

/// A bounded count of requests in flight.
#[derive(Debug)]
pub(crate) struct Pool {
    /// At most `u32::MAX`.
    size: u64,
    state: AtomicU64,
    /// A slot was given back while requests wait.
    freed: Notify,
    /// The pool went from full to having room (the accept loop).
    not_full: Notify,
    /// The pool became full (the accept loop).
    full: Notify,
}

impl Pool {
    /// A pool of `size` slots (at least 1, checked by the options; at most
    /// `u32::MAX`, which bounds larger sizes).
    pub(crate) fn new(size: usize) -> Self {
        Pool {
            size: u64::try_from(size).map_or(u64::from(u32::MAX), |s| s.min(u64::from(u32::MAX))),
            state: AtomicU64::new(0),
            freed: Notify::new(),
            not_full: Notify::new(),
            full: Notify::new(),
        }
    }

    fn state(&self) -> State {
        State(self.state.load(Acquire))
    }

    /// Takes a slot when one is free and nobody is waiting for one. A
    /// `true` must be matched by one [`Pool::release`].
    pub(crate) fn try_acquire(&self) -> bool {
        self.take(false, 0)
    }

    /// Takes a slot if one is free (and, unless `waiter`, nobody waits);
    /// `unregister` is subtracted in the same write (a waiter leaving the
    /// queue with its slot).
    fn take(&self, waiter: bool, unregister: u64) -> bool {
        let mut cur = self.state();
        loop {
            if cur.in_use() >= self.size || (!waiter && cur.waiting() > 0) {
                return false;
            }
            let next = State(cur.0 + 1 - unregister);
            match self
                .state
                .compare_exchange_weak(cur.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => {
                    if next.in_use() == self.size {
                        self.full.notify_one();
                    }
                    // Releases that came together woke one waiter each,
                    // but a wake-up given while nobody was registered is
                    // kept only once: pass on what is still free.
                    if waiter && next.waiting() > 0 && next.in_use() < self.size {
                        self.freed.notify_one();
                    }
                    return true;
                }
                Err(actual) => cur = State(actual),
            }
        }
    }

    /// Waits for a slot and takes it; must be matched by one
    /// [`Pool::release`] once it completes. Dropped before it completes,
    /// it takes nothing (and passes a wake-up it received on to the next
    /// waiter).
    pub(crate) async fn acquire(&self) {
        if self.try_acquire() {
            return;
        }
        // Behind earlier waiters, wait for a wake-up before taking a slot.
        let mut may_take = State(self.state.fetch_add(WAITER, AcqRel)).waiting() == 0;
        let mut waiting = Waiting(Some(&self.state));
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before looking, so a release in between wakes it.
            freed.as_mut().enable();
            if may_take && self.take(true, WAITER) {
                waiting.0 = None;
                return;
            }
            freed.await;
            may_take = true;
        }
    }

    /// Gives a slot back.
    pub(crate) fn release(&self) {
        let before = State(self.state.fetch_sub(1, AcqRel));
        debug_assert!(before.in_use() > 0, "pool slot released twice");
        if before.waiting() > 0 {
            self.freed.notify_one();
        }
        if before.in_use() == self.size {
            self.not_full.notify_one();
        }
    }

    /// Every slot is taken.
    pub(crate) fn is_full(&self) -> bool {
        self.state().in_use() >= self.size
    }

    /// Slots taken now.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> u64 {
        self.state().in_use()
    }

    /// Requests waiting now.
    #[cfg(test)]
    fn waiting(&self) -> u64 {
        self.state().waiting()
    }

    /// Returns once the pool has a free slot (without taking it).
    pub(crate) async fn has_room(&self) {
        loop {
            let room = self.not_full.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if !self.is_full() {
                return;
            }
            room.await;
        }
    }

    /// Returns when a request takes the last free slot (it may also
    /// return early: look at [`Pool::is_full`] again).
    pub(crate) async fn filled(&self) {
        self.full.notified().await;
    }
}

/// Counts one waiter until it leaves without a slot (dropped while
/// waiting); cleared when the waiter's slot-taking write uncounted it.
struct Waiting<'a>(Option<&'a AtomicU64>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.0 {
            state.fetch_sub(WAITER, AcqRel);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    #[test]
    fn slots_are_bounded_and_given_back() {
        let pool = Pool::new(2);
        assert!(pool.try_acquire());
        assert!(!pool.is_full());
        assert!(pool.try_acquire());
        assert!(pool.is_full());
        assert!(!pool.try_acquire());
        pool.release();
        assert!(!pool.is_full());
        assert!(pool.try_acquire());
        assert_eq!(pool.in_use(), 2);
    }

    #[tokio::test]
    async fn a_waiter_gets_the_slot_a_release_frees() {
        let pool = Arc::new(Pool::new(1));
        assert!(pool.try_acquire());
        let got = Arc::new(AtomicBool::new(false));
        let waiter = tokio::spawn({
            let (pool, got) = (pool.clone(), got.clone());
            async move {
                pool.acquire().await;
                got.store(true, SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!got.load(SeqCst), "took a slot of a full pool");
        // Nobody jumps the queue while a request waits.
        pool.release();
        assert!(
            !pool.try_acquire(),
            "a newcomer took the slot a waiter waits for"
        );
        waiter.await.unwrap();
        assert!(got.load(SeqCst));
        assert_eq!(pool.in_use(), 1);
    }

    #[tokio::test]
    async fn waiters_are_served_in_arrival_order() {
        let pool = Arc::new(Pool::new(1));
        assert!(pool.try_acquire());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..4 {
            let (pool, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                pool.acquire().await;
                order.lock().unwrap().push(i);
                tokio::task::yield_now().await;
                pool.release();
            }));
            // Each waiter registers before the next one arrives.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A newcomer arriving right after a release, before the woken
        // waiter has run, queues behind them instead of taking the slot.
        pool.release();
        let mut late = Box::pin(pool.acquire());
        assert!(
            futures_util::poll!(late.as_mut()).is_pending(),
            "a newcomer took the slot the first waiter was woken for"
        );
        for t in tasks {
            t.await.unwrap();
        }
        late.await;
        order.lock().unwrap().push(99);
        pool.release();
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 99]);
        assert_eq!(pool.in_use(), 0);
    }

    /// Several slots freed at once reach as many waiters.
    #[tokio::test]
    async fn slots_freed_together_reach_every_waiter() {
        let pool = Arc::new(Pool::new(3));
        for _ in 0..3 {
            assert!(pool.try_acquire());
        }
        let mut waiters = Vec::new();
        for _ in 0..3 {
            let pool = pool.clone();
            waiters.push(tokio::spawn(async move { pool.acquire().await }));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Released one after the other, before any woken waiter has run.
        pool.release();
        pool.release();
        pool.release();
        for w in waiters {
            tokio::time::timeout(Duration::from_secs(5), w)
                .await
                .expect("a waiter was left waiting while slots were free")
                .unwrap();
        }
        assert_eq!(pool.in_use(), 3);
    }

    #[tokio::test]
    async fn a_dropped_waiter_passes_its_wake_up_on() {
        let pool = Arc::new(Pool::new(1));
        assert!(pool.try_acquire());
        let first = tokio::spawn({
            let pool = pool.clone();
            async move { pool.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The release wakes the first waiter; it is dropped before it runs
        // (a client gone), so the wake-up must reach the second.
        pool.release();
        first.abort();
        let _ = first.await;
        tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second waiter was never woken")
            .unwrap();
        assert_eq!(pool.in_use(), 1);
        pool.release();
        assert!(pool.try_acquire(), "the dropped waiter left a count behind");
    }

    /// Many tasks on several threads hammer a small pool: never more than
    /// `size` at once, and every one of them is served (no lost wake-up).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_wake_up_is_lost_under_contention() {
        const SIZE: usize = 3;
        let pool = Arc::new(Pool::new(SIZE));
        let peak = Arc::new(AtomicUsize::new(0));
        let now = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (pool, peak, now) = (pool.clone(), peak.clone(), now.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    pool.acquire().await;
                    let n = now.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(n, SeqCst);
                    tokio::task::yield_now().await;
                    now.fetch_sub(1, SeqCst);
                    pool.release();
                }
            }));
        }
        tokio::time::timeout(Duration::from_secs(60), async {
            for t in tasks {
                t.await.unwrap();
            }
        })
        .await
        .expect("a waiter was never woken");
        assert!(peak.load(SeqCst) <= SIZE, "peak {}", peak.load(SeqCst));
        assert_eq!(peak.load(SeqCst), SIZE, "the pool was never full");
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test]
    async fn the_accept_loop_hears_full_and_room() {
        let pool = Arc::new(Pool::new(1));
        let filled = tokio::spawn({
            let pool = pool.clone();
            async move { pool.filled().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(pool.try_acquire());
        tokio::time::timeout(Duration::from_secs(5), filled)
            .await
            .expect("no signal when the pool filled")
            .unwrap();
        let room = tokio::spawn({
            let pool = pool.clone();
            async move { pool.has_room().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!room.is_finished(), "room reported while full");
        pool.release();
        tokio::time::timeout(Duration::from_secs(5), room)
            .await
            .expect("no signal when the pool had room")
            .unwrap();
    }
}

/// Model tests: every interleaving of the pool's atomics, with tokio's
/// `Notify` as one step per call (see `super::loom_notify`).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::rt::loom_support::{block_on, model, poll_once};
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use loom::thread;

    /// A release wakes the one waiter, whenever the waiter arrives.
    #[test]
    fn a_release_reaches_a_waiter() {
        model(|| {
            let pool = Arc::new(Pool::new(1));
            assert!(pool.try_acquire());
            let waiter = thread::spawn({
                let pool = pool.clone();
                move || {
                    block_on(pool.acquire());
                    pool.release();
                }
            });
            pool.release();
            waiter.join().unwrap();
            assert_eq!(pool.in_use(), 0);
            assert_eq!(pool.waiting(), 0);
        });
    }

    /// Two slots freed one after the other reach two waiters, whatever
    /// the order in which they register and run.
    #[test]
    fn slots_freed_together_reach_every_waiter() {
        model(|| {
            let pool = Arc::new(Pool::new(2));
            assert!(pool.try_acquire());
            assert!(pool.try_acquire());
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let pool = pool.clone();
                    thread::spawn(move || block_on(pool.acquire()))
                })
                .collect();
            pool.release();
            pool.release();
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(pool.in_use(), 2);
            assert_eq!(pool.waiting(), 0);
        });
    }

    /// A waiter dropped after it was woken (a client gone) passes the
    /// wake-up on, and leaves no count behind.
    #[test]
    fn a_dropped_waiter_passes_its_wake_up_on() {
        model(|| {
            let pool = Arc::new(Pool::new(1));
            assert!(pool.try_acquire());
            let dropped = thread::spawn({
                let pool = pool.clone();
                move || {
                    let mut wait = Box::pin(pool.acquire());
                    if poll_once(&mut wait).is_ready() {
                        pool.release();
                    }
                }
            });
            let waiter = thread::spawn({
                let pool = pool.clone();
                move || block_on(pool.acquire())
            });
            pool.release();
            dropped.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(pool.in_use(), 1);
            assert_eq!(pool.waiting(), 0);
        });
    }

    /// Slots are never handed out beyond the size.
    #[test]
    fn try_acquire_never_exceeds_the_size() {
        model(|| {
            let pool = Arc::new(Pool::new(1));
            let holders = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (pool, holders) = (pool.clone(), holders.clone());
                    thread::spawn(move || {
                        if pool.try_acquire() {
                            assert_eq!(holders.fetch_add(1, SeqCst), 0, "two holders");
                            holders.fetch_sub(1, SeqCst);
                            pool.release();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(pool.in_use(), 0);
        });
    }

    /// The accept loop waiting for room hears the release that makes it.
    #[test]
    fn the_accept_loop_hears_room() {
        model(|| {
            let pool = Arc::new(Pool::new(1));
            assert!(pool.try_acquire());
            let accept = thread::spawn({
                let pool = pool.clone();
                move || block_on(pool.has_room())
            });
            pool.release();
            accept.join().unwrap();
        });
    }
}
