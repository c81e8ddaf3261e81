//! The HTTP server's runtime primitives (README below is a placeholder,
//! filled in with the measured gains).

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
