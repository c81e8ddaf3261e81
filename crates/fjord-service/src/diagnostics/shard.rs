//! Per-thread shards of a worker's hot counters.
//!
//! A thread that records holds one of [`SHARDS`] shard indexes of its
//! process from its first record to its exit: shard `i` of the worker's
//! slot (`board::Slot::http_shards`) then has one writer, which adds with
//! a plain load and store (no locked instruction). A thread that finds
//! every index held adds to the slot's shared counts with atomic adds
//! instead. Readers sum the shards and the shared counts.
//!
//! An index is given back when its thread exits (its thread-local is
//! dropped) and may then go to a new thread, which goes on from the
//! counts the old one left: the release of the index happens before the
//! next claim of it (release / acquire on the [`HELD`] word), so the new
//! writer starts from the old one's last stores and no count is lost.

use std::sync::atomic::{AtomicU64, Ordering};

/// Shard indexes of one process (at most 64: one bit of [`HELD`] each).
pub(crate) const SHARDS: usize = 8;

const ALL: u64 = if SHARDS == 64 {
    u64::MAX
} else {
    (1 << SHARDS) - 1
};

/// Bit `i` set: shard index `i` is held by a live thread of this process.
static HELD: AtomicU64 = AtomicU64::new(0);

/// A thread's claim: `None` when every index was held when it first
/// recorded (it then adds to the shared counts for good).
struct Held(Option<usize>);

impl Held {
    fn claim() -> Self {
        let mut held = HELD.load(Ordering::Relaxed);
        loop {
            let free = !held & ALL;
            if free == 0 {
                return Held(None);
            }
            let bit = free & free.wrapping_neg();
            match HELD.compare_exchange_weak(held, held | bit, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Held(Some(bit.trailing_zeros() as usize)),
                Err(now) => held = now,
            }
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            HELD.fetch_and(!(1 << i), Ordering::Release);
        }
    }
}

thread_local! {
    static MINE: Held = Held::claim();
}

/// The shard index this thread alone writes, claimed on its first call;
/// `None` when every index is held (or this thread's claim is already
/// gone, while the thread exits): add to the shared counts atomically.
#[inline]
pub(crate) fn mine() -> Option<usize> {
    MINE.try_with(|h| h.0).ok().flatten()
}

/// How a writer adds to a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// The counter has no other writer (this thread's shard): a plain
    /// load and store.
    Own,
    /// Other threads may add at once: an atomic add.
    Shared,
}

impl Writer {
    /// Adds `n` to `a`; readers see its value only grow, by whole adds.
    #[inline]
    pub(crate) fn add(self, a: &AtomicU64, n: u64) {
        self.add_ordered(a, n, Ordering::Relaxed);
    }

    /// Adds `n` to `a` with the store's `order` (`Relaxed` or `Release`).
    #[inline]
    pub(crate) fn add_ordered(self, a: &AtomicU64, n: u64, order: Ordering) {
        match self {
            Writer::Own => a.store(a.load(Ordering::Relaxed).wrapping_add(n), order),
            Writer::Shared => {
                a.fetch_add(n, order);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_index_and_gives_it_back_when_it_exits() {
        let (a, again) = std::thread::spawn(|| (mine(), mine())).join().unwrap();
        assert_eq!(a, again);
        // Other tests' threads may hold indexes meanwhile: only check
        // that an index held by a live thread is not handed out twice.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(SHARDS + 4));
        let threads: Vec<_> = (0..SHARDS + 4)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let i = mine();
                    barrier.wait();
                    i
                })
            })
            .collect();
        let mut got: Vec<usize> = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        let n = got.len();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), n, "an index held twice");
        assert!(n <= SHARDS);
    }
}
