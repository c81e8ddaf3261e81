//! `client_socket_timeout` for the wait for a client's next request (H4):
//! a tokio timer per connection, re-armed lazily.
//!
//! A connection waits for its client while it has no request in flight:
//! since it was accepted or since its last response ended, and, on HTTP/2,
//! since it last received bytes (an HTTP/1 head trickled a byte at a time
//! does not count). Once it has waited `client_socket_timeout`, it is
//! closed (HTTP/1) or sent GOAWAY (HTTP/2).
//!
//! A request does not touch the timer: it stores the time it ended into
//! the connection ([`Watched::deadline`] reads it, on the [`coarse_now`]
//! clock). The timer goes off at the deadline it last computed and looks
//! again: a request in flight or a later end moves it on, so it goes off
//! at most about once per `client_socket_timeout` of a busy connection.
//! Deadlines are counted on the coarse clock (a few milliseconds): a
//! connection may be closed up to [`TICK_SLACK_NS`] (10 ms) early.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::clock::coarse_now;

/// A deadline this close (in nanoseconds) counts as reached: the coarse
/// clock moves by ticks, so a timer that went off at a deadline may read
/// a time just before it.
const TICK_SLACK_NS: u64 = 10_000_000;

/// What the timer reads of the connection it times.
pub(crate) trait Watched {
    /// When the connection will have waited for its client for
    /// `limit_ns`, on the [`coarse_now`] clock; `None` while a request is
    /// in flight.
    fn deadline(&self, limit_ns: u64) -> Option<u64>;
}

/// The wait of one connection for its client.
#[derive(Debug)]
pub(crate) struct IdleTimer {
    limit: Duration,
    limit_ns: u64,
    /// Boxed: one allocation per connection, and the connection's future
    /// stays small.
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    /// A timer for `limit`, counted from now. Must be called within a
    /// runtime with time enabled.
    pub(crate) fn new(limit: Duration) -> Self {
        IdleTimer {
            limit,
            limit_ns: u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
            sleep: Box::pin(tokio::time::sleep(limit)),
        }
    }

    /// Ready with the limit once `conn` has waited for its client that
    /// long; otherwise re-arms itself for when it might have.
    fn poll_expired(&mut self, conn: &impl Watched, cx: &mut Context<'_>) -> Poll<Duration> {
        loop {
            std::task::ready!(self.sleep.as_mut().poll(cx));
            let now = coarse_now();
            let wait = match conn.deadline(self.limit_ns) {
                Some(deadline) if deadline <= now.saturating_add(TICK_SLACK_NS) => {
                    return Poll::Ready(self.limit);
                }
                Some(deadline) => Duration::from_nanos(deadline - now),
                // A request is in flight: the wait for the next one starts
                // at its end, a full period from now at the earliest.
                None => self.limit,
            };
            self.sleep.as_mut().reset(Instant::now() + wait);
        }
    }
}

/// Ready with the limit once the connection has waited for its client that
/// long. Never ready without a timer.
pub(crate) fn expired<'a, C: Watched>(
    mut timer: Option<&'a mut IdleTimer>,
    conn: &'a C,
) -> impl Future<Output = Duration> + 'a {
    std::future::poll_fn(move |cx| match timer.as_deref_mut() {
        Some(t) => t.poll_expired(conn, cx),
        None => Poll::Pending,
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A connection whose wait the test sets.
    #[derive(Default)]
    struct Conn {
        /// `u64::MAX`: a request is in flight.
        idle_since: AtomicU64,
    }

    impl Watched for Conn {
        fn deadline(&self, limit_ns: u64) -> Option<u64> {
            let since = self.idle_since.load(Ordering::Acquire);
            (since != u64::MAX).then(|| since.saturating_add(limit_ns))
        }
    }

    /// A request in flight when the timer goes off, or one that ended
    /// since, moves the deadline on: the wait counts from the last end.
    #[tokio::test]
    async fn the_wait_counts_from_the_last_request() {
        let limit = Duration::from_millis(100);
        let conn = Conn::default();
        conn.idle_since.store(u64::MAX, Ordering::Release);
        let mut timer = IdleTimer::new(limit);
        let mut wait = std::pin::pin!(expired(Some(&mut timer), &conn));
        // Busy when the timer goes off (at 100 ms): not expired.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(futures_util::poll!(wait.as_mut()).is_pending());
        // The request ends now: the wait is up 100 ms from here.
        conn.idle_since.store(coarse_now(), Ordering::Release);
        let ended = std::time::Instant::now();
        let got = tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("timed out in the end");
        assert_eq!(got, limit);
        let took = ended.elapsed();
        assert!(took >= Duration::from_millis(80), "early: {took:?}");
    }

    /// A connection idle for the limit on the real clock is timed out.
    #[tokio::test]
    async fn an_idle_connection_times_out() {
        let conn = Conn::default();
        conn.idle_since.store(coarse_now(), Ordering::Release);
        let mut timer = IdleTimer::new(Duration::from_millis(50));
        let started = std::time::Instant::now();
        let limit = tokio::time::timeout(Duration::from_secs(5), expired(Some(&mut timer), &conn))
            .await
            .expect("timed out");
        assert_eq!(limit, Duration::from_millis(50));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[tokio::test]
    async fn without_a_timer_it_never_expires() {
        let conn = Conn::default();
        let never = tokio::time::timeout(
            Duration::from_millis(50),
            expired(None::<&mut IdleTimer>, &conn),
        )
        .await;
        assert!(never.is_err());
    }
}
