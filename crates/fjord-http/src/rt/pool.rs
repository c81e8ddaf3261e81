//! The per-worker request pool (H3, eventlet's `GreenPool` of
//! `wsgi_default_pool_size`): how many requests one worker serves at once.
//!
//! A counter, not a semaphore: taking and giving back a slot is one atomic
//! read-modify-write and one load when nobody waits (tokio's `Semaphore`
//! takes a mutex on every release). Requests that find the pool full wait
//! in arrival order behind a [`Notify`]: a release wakes the first waiter,
//! and a request arriving while others wait queues behind them instead of
//! taking the freed slot first. A waiter that got a slot wakes the next one
//! if more slots are free. The accept loop waits on its own signals (the
//! pool filled, the pool has room again), so it never takes a wake-up meant
//! for a waiting request.

use tokio::sync::Notify;

use super::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// A bounded count of requests in flight.
#[derive(Debug)]
pub(crate) struct Pool {
    size: usize,
    in_use: AtomicUsize,
    /// Requests waiting in [`Pool::acquire`].
    waiting: AtomicUsize,
    /// A slot was given back while requests wait.
    freed: Notify,
    /// The pool went from full to having room (the accept loop).
    not_full: Notify,
    /// The pool became full (the accept loop).
    full: Notify,
}

impl Pool {
    /// A pool of `size` slots (at least 1, checked by the options).
    pub(crate) fn new(size: usize) -> Self {
        Pool {
            size,
            in_use: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            not_full: Notify::new(),
            full: Notify::new(),
        }
    }

    /// Takes a slot when one is free and nobody is waiting for one. A
    /// `true` must be matched by one [`Pool::release`].
    pub(crate) fn try_acquire(&self) -> bool {
        self.waiting.load(SeqCst) == 0 && self.take()
    }

    fn take(&self) -> bool {
        let mut cur = self.in_use.load(SeqCst);
        loop {
            if cur >= self.size {
                return false;
            }
            match self
                .in_use
                .compare_exchange_weak(cur, cur + 1, SeqCst, SeqCst)
            {
                Ok(_) => {
                    if cur + 1 == self.size {
                        self.full.notify_one();
                    }
                    return true;
                }
                Err(actual) => cur = actual,
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
        let mut may_take = self.waiting.fetch_add(1, SeqCst) == 0;
        let waiting = Waiting(&self.waiting);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before looking, so a release in between wakes it.
            freed.as_mut().enable();
            if may_take && self.take() {
                drop(waiting);
                // Releases that came together woke one waiter each, but a
                // wake-up given while nobody was registered is kept only
                // once: pass on what is still free.
                if self.waiting.load(SeqCst) > 0 && !self.is_full() {
                    self.freed.notify_one();
                }
                return;
            }
            freed.await;
            may_take = true;
        }
    }

    /// Gives a slot back.
    pub(crate) fn release(&self) {
        let before = self.in_use.fetch_sub(1, SeqCst);
        debug_assert!(before > 0, "pool slot released twice");
        if self.waiting.load(SeqCst) > 0 {
            self.freed.notify_one();
        }
        if before == self.size {
            self.not_full.notify_one();
        }
    }

    /// Every slot is taken.
    pub(crate) fn is_full(&self) -> bool {
        self.in_use.load(SeqCst) >= self.size
    }

    /// Slots taken now.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.in_use.load(SeqCst)
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

/// Counts one waiter for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
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
        assert_eq!(pool.waiting.load(SeqCst), 0);
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
