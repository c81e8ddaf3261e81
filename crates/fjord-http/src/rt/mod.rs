//! The HTTP server's runtime primitives: what the per-request code
//! (`server::conn`, `server::request`, `server::io`, `server::service`)
//! uses to count, signal and time connections and requests. Each one
//! replaces a tokio primitive only where a benchmark shows it costs less
//! (`benches/http_primitives.rs`; figures and the command in
//! `bench/results/http-primitives.md`); a primitive whose gain was within
//! noise went back to tokio's.
//!
//! | module | what | replaces | why |
//! |---|---|---|---|
//! | [`pool`] | `wsgi_default_pool_size` (requests in flight per worker) and `max_connections` (open connections) | `tokio::sync::Semaphore` | a free slot is taken with a load and a compare-and-swap and given back with one read-modify-write; `Semaphore` takes its mutex on every release: 1.75× faster taking and giving back a free slot, one thread or two. Waiting for a full pool costs the same as `Semaphore::acquire` (within noise). The accept loop also hears when the pool fills and has room again, which `Semaphore` does not tell |
//! | [`signal`] | graceful drain, forced close and idle-connection shedding, one word for all the server's connections | `tokio::sync::watch`, `Notify`, `CancellationToken` | every connection polls its wait on every wake; unchanged, that is one load and a `will_wake` (no lock): 2.2 ns against 12.5 ns (`watch`) and 5.8 ns (`Notify`); a new wait 2.3× and a drain reaching 1000 connections 1.27× faster than `watch` |
//! | [`clock`] | `CLOCK_MONOTONIC_COARSE` in nanoseconds, stamped into the connection at the end of each request | `tokio::time::Instant::now` | 2× cheaper per read; its resolution (a few ms) is plenty for a timeout in seconds |
//! | [`timeout`] + [`alarm`] | `client_socket_timeout` for the wait for a next request: each connection stamps the time its last response ended; one alarm per server in a worker goes off at the earliest deadline and a sweep closes the connections whose time is up | a tokio timer per connection | a request stores the time (12 ns) instead of resetting a timer (40 ns), and on Linux the alarm is a `timerfd` the runtime watches like a socket, so no tokio timer is armed while connections wait and the runtime parks in `epoll_wait` without a timeout: measured on the whole server (`bench/ab_http.py`, http_hello, 1 connection), 0.7 µs less CPU per request (24.57 against 25.26 µs, lower in 5 of 6 interleaved rounds) |
//! | [`stall`] | `client_socket_timeout` on a stalled body read or response write: a tokio `Sleep` armed only once an operation stalls | (tokio's own) | nothing is armed while bytes move |
//!
//! The `timerfd` alarm's gain does not show in the in-process round trip
//! of `benches/http_primitives.rs` (a Unix socket pair, both ends in one
//! process: within noise); it shows on the whole server under `wrk`
//! (bench/results/http-primitives.md).
//!
//! # Invariants
//!
//! * [`pool`]: slots taken and waiters are one word, changed only by
//!   read-modify-writes, so a release learns from its own write whether
//!   anyone waits; at most `size` slots are taken; a request arriving
//!   while others wait queues behind them; every slot freed while
//!   requests wait reaches one of them (the release wakes one, and a
//!   waiter that takes a slot passes a wake-up on while slots are free).
//! * [`signal`]: the state only grows (flags set, shed count added), so a
//!   wait compares it with what it saw; an event is raised before the
//!   wakers are woken under the lock, and a wait stores its waker under
//!   that lock before it looks again, so no event is missed.
//! * [`timeout`]: while connections are registered, the alarm is set (at
//!   the latest a full period ahead); a connection is flagged only by a
//!   sweep that saw no request in flight and a stamp older than the
//!   timeout, and the flag is raised and the waker woken under the lock
//!   the connection stores its waker under, so no flag is missed.
//!
//! # Model tests
//!
//! The lock-free parts, [`pool`] and [`signal`], and the [`timeout`]
//! sweep's flag hand-off have [loom] models (`loom_tests` in each), which
//! run every interleaving of their atomics and locks within a bound of
//! three preemptions. tokio's `Notify`, which
//! the pool waits on, is one step per call in the models (tokio checks
//! its inside with loom itself). `--cfg loom` does not go in `RUSTFLAGS`,
//! which would also switch tokio, bytes and others to their own loom code
//! paths; it is passed to this crate alone, and the test binary run by
//! hand:
//!
//! ```text
//! cargo rustc -p fjord-http --lib --profile bench -- --cfg loom
//! target/release/deps/fjord_http-<hash> loom_tests
//! ```
//!
//! (`cargo rustc ... --message-format=json` names the binary;
//! `scripts/loom.sh` does both, and CI runs it.) [`alarm`]
//! is a kernel timer driven by the runtime's reactor, [`stall`] a tokio
//! timer, [`clock`] a system call: loom cannot schedule them; they and the
//! [`timeout`] sweep have deterministic unit tests against the real clock.
//!
//! [loom]: https://docs.rs/loom

pub(crate) mod alarm;
pub(crate) mod clock;
pub(crate) mod pool;
pub(crate) mod signal;
pub(crate) mod stall;
pub(crate) mod timeout;

/// The atomics and locks of the lock-free parts: loom's under `--cfg
/// loom`, so that its model tests can schedule every access.
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::{Mutex, MutexGuard, atomic};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Mutex, MutexGuard, atomic};
}

/// tokio's `Notify` as loom sees it: each call one step, and a
/// notification synchronizing with the wait it ends (tokio's own loom
/// tests check its inside). Without this, loom cannot see that a waiter
/// woken by a `notify_one` also sees what was written before it, and
/// reports wake-ups lost that cannot be. It over-approximates a little: a
/// wait synchronizes with every notification before it, not only its own.
#[cfg(loom)]
mod loom_notify {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Release};

    #[derive(Debug)]
    pub(crate) struct Notify {
        inner: tokio::sync::Notify,
        sync: AtomicUsize,
    }

    impl Notify {
        pub(crate) fn new() -> Self {
            Notify {
                inner: tokio::sync::Notify::new(),
                sync: AtomicUsize::new(0),
            }
        }

        pub(crate) fn notify_one(&self) {
            self.sync.fetch_add(1, Release);
            self.inner.notify_one();
        }

        pub(crate) fn notified(&self) -> Notified<'_> {
            Notified {
                inner: Box::pin(self.inner.notified()),
                sync: &self.sync,
            }
        }
    }

    pub(crate) struct Notified<'a> {
        inner: Pin<Box<tokio::sync::futures::Notified<'a>>>,
        sync: &'a AtomicUsize,
    }

    impl Notified<'_> {
        pub(crate) fn enable(mut self: Pin<&mut Self>) -> bool {
            let r = self.inner.as_mut().enable();
            self.sync.fetch_add(0, AcqRel);
            r
        }
    }

    impl Future for Notified<'_> {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let r = self.inner.as_mut().poll(cx);
            if r.is_ready() {
                self.sync.fetch_add(0, AcqRel);
            }
            r
        }
    }
}

/// What the model tests share.
#[cfg(all(test, loom))]
mod loom_support {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Wake, Waker};

    /// Runs `f` through every interleaving loom explores, with a bound on
    /// preemptions that keeps the models of three threads short.
    pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(f);
    }

    /// Wakes a thread parked in [`block_on`]. Cloned and dropped as a
    /// plain `std` `Arc`: tokio's `Notify` clones and drops wakers while
    /// it holds its (non-loom) mutex, where a loom step must not happen.
    struct Unpark(loom::sync::Notify);

    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.notify();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.notify();
        }
    }

    /// Drives `f` to completion on this loom thread, parking between
    /// polls. A wake-up that never comes is a deadlock loom reports.
    pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
        let unpark = std::sync::Arc::new(Unpark(loom::sync::Notify::new()));
        let waker = Waker::from(unpark.clone());
        let mut cx = Context::from_waker(&waker);
        let mut f = pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            unpark.0.wait();
        }
    }

    /// Polls `f` once with a waker that does nothing.
    pub(crate) fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        std::pin::Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
    }
}
