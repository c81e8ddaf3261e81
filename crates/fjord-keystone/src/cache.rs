//! [`TokenCache`]: validated tokens cached in process, and one validation
//! per token at a time (single flight): concurrent requests carrying the
//! same uncached token wait for one answer from Keystone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::identity::{IdentityError, Verdict};

/// How long an invalid token is remembered at most (keystonemiddleware
/// asks Keystone again for a token it has not cached; fjord remembers a
/// refusal briefly so a client retrying a bad token does not reach
/// Keystone each time).
pub(crate) const INVALID_TTL: Duration = Duration::from_secs(10);

/// Above this many entries, expired ones are dropped on insert.
const PURGE_ABOVE: usize = 10_000;

type Outcome = Result<Verdict, Arc<IdentityError>>;

enum Slot {
    /// A validation in flight; every request for the token awaits it.
    Pending(u64, Shared<BoxFuture<'static, Outcome>>),
    /// An answer, good until the instant.
    Ready(Verdict, Instant),
}

/// The token cache of one filter.
pub(crate) struct TokenCache {
    ttl: Option<Duration>,
    slots: Mutex<HashMap<String, Slot>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache keeping answers for `ttl` at most (`None`: answers are not
    /// kept, only shared by requests that overlap one validation).
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        TokenCache {
            ttl,
            slots: Mutex::new(HashMap::new()),
            next_id: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // The map holds no invariant a panicking holder could break.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer for `token`, if there is a fresh one (the fast
    /// path: no await, no validation).
    pub(crate) fn peek(&self, token: &str) -> Option<Verdict> {
        match self.lock().get(token) {
            Some(Slot::Ready(v, until)) if *until > Instant::now() => Some(v.clone()),
            _ => None,
        }
    }

    /// The answer for `token`: cached, or the one validation in flight, or
    /// a new validation `validate()` spawned on the runtime (so it ends
    /// even when the requests waiting for it are cancelled).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a cancelled caller leaves the validation running for
    /// the others and the cache.
    pub(crate) async fn get<F, Fut>(&self, token: &str, validate: F) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Verdict, IdentityError>> + Send + 'static,
    {
        let (id, pending) = {
            let mut slots = self.lock();
            let now = Instant::now();
            match slots.get(token) {
                Some(Slot::Ready(v, until)) if *until > now => return Ok(v.clone()),
                Some(Slot::Pending(id, fut)) => (*id, fut.clone()),
                _ => {
                    if slots.len() > PURGE_ABOVE {
                        slots.retain(|_, s| match s {
                            Slot::Ready(_, until) => *until > now,
                            Slot::Pending(..) => true,
                        });
                    }
                    let id = self
                        .next_id
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let task = tokio::spawn(validate());
                    let fut = async move {
                        match task.await {
                            Ok(r) => r.map_err(Arc::new),
                            Err(e) => Err(Arc::new(IdentityError::Bad {
                                url: String::new(),
                                status: 0,
                                detail: format!("token validation task failed: {e}"),
                            })),
                        }
                    }
                    .boxed()
                    .shared();
                    slots.insert(token.to_owned(), Slot::Pending(id, fut.clone()));
                    (id, fut)
                }
            }
        };
        let outcome = pending.await;
        let mut slots = self.lock();
        // The first waiter to see the answer files it (or drops it).
        if matches!(slots.get(token), Some(Slot::Pending(p, _)) if *p == id) {
            match (&outcome, self.ttl) {
                (Ok(verdict), Some(ttl)) => {
                    let until = Instant::now() + keep_for(verdict, ttl);
                    slots.insert(token.to_owned(), Slot::Ready(verdict.clone(), until));
                }
                _ => {
                    slots.remove(token);
                }
            }
        }
        outcome
    }
}

/// How long an answer is good for: `min(expires_at, token_cache_time)`
/// for a valid token, [`INVALID_TTL`] at most for an invalid one.
fn keep_for(verdict: &Verdict, ttl: Duration) -> Duration {
    match verdict {
        Verdict::Valid(checked) => checked
            .info
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(ttl),
        Verdict::Invalid => INVALID_TTL.min(ttl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting(
        calls: &Arc<AtomicUsize>,
        delay: Duration,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<Verdict, IdentityError>> {
        let calls = calls.clone();
        move || {
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                Ok(Verdict::Invalid)
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_share_one_validation() {
        let cache = Arc::new(TokenCache::new(Some(Duration::from_secs(300))));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get("t", counting(&calls, Duration::from_millis(100)))
                    .await
                    .is_ok()
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Cached (invalid, briefly): still one call.
        cache
            .get("t", counting(&calls, Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(INVALID_TTL + Duration::from_secs(1)).await;
        cache
            .get("t", counting(&calls, Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_ttl_keeps_nothing_and_errors_are_not_kept() {
        let cache = TokenCache::new(None);
        let calls = Arc::new(AtomicUsize::new(0));
        cache
            .get("t", counting(&calls, Duration::ZERO))
            .await
            .unwrap();
        cache
            .get("t", counting(&calls, Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let cache = TokenCache::new(Some(Duration::from_secs(300)));
        let failing = || async {
            Err::<Verdict, _>(IdentityError::Unreachable {
                url: "u".into(),
                reason: "r".into(),
            })
        };
        assert!(cache.get("t", failing).await.is_err());
        cache
            .get("t", counting(&calls, Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_leaves_the_validation_to_the_others() {
        let cache = Arc::new(TokenCache::new(Some(Duration::from_secs(300))));
        let calls = Arc::new(AtomicUsize::new(0));
        let first = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                let _ = cache
                    .get("t", counting(&calls, Duration::from_secs(1)))
                    .await;
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        cache
            .get("t", counting(&calls, Duration::from_secs(1)))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
