//! `max_requests`: a worker process that has served its share of requests
//! asks the master for a replacement (gunicorn's worker recycling). The
//! services count what they serve with [`served`]; the worker's loop waits
//! for the share to be reached, tells the master, and goes on serving until
//! the master retires it once the replacement serves.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// The share of this worker process; 0: not counted.
static LIMIT: AtomicU64 = AtomicU64::new(0);
/// Requests served by this process so far.
static SERVED: AtomicU64 = AtomicU64::new(0);

fn reached_signal() -> &'static Notify {
    static REACHED: OnceLock<Notify> = OnceLock::new();
    REACHED.get_or_init(Notify::new)
}

/// Counts one request served by this process. Costs one relaxed load when
/// `max_requests` is off, and one more atomic add when it is on.
#[inline]
pub fn served() {
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit != 0 && SERVED.fetch_add(1, Ordering::Relaxed) + 1 == limit {
        reached_signal().notify_one();
    }
}

/// Sets this worker's share: `max_requests` plus a random `0..=jitter`.
/// Returns it (0: off).
pub(crate) fn arm(max_requests: u64, jitter: u64) -> u64 {
    if max_requests == 0 {
        return 0;
    }
    let limit = max_requests.saturating_add(rand::random_range(0..=jitter));
    SERVED.store(0, Ordering::Relaxed);
    LIMIT.store(limit, Ordering::Relaxed);
    limit
}

/// Returns once the share set by [`arm`] has been served.
pub(crate) async fn reached() {
    reached_signal().notified().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_reached_once_after_max_plus_jitter_requests() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let limit = arm(10, 5);
            assert!((10..=15).contains(&limit), "{limit}");
            for _ in 0..limit - 1 {
                served();
            }
            let early = tokio::time::timeout(std::time::Duration::from_millis(20), reached()).await;
            assert!(early.is_err(), "not reached one request early");
            served();
            tokio::time::timeout(std::time::Duration::from_secs(1), reached())
                .await
                .expect("reached at the share");
            served();
            let again = tokio::time::timeout(std::time::Duration::from_millis(20), reached()).await;
            assert!(again.is_err(), "signalled once");
            LIMIT.store(0, Ordering::Relaxed);
        });
    }
}
