//! Polling a condition until a deadline.
//!
//! `wait_until*` return whether the condition came true; `wait_for*`
//! panic with `what` when it did not. The `_async` ones sleep on tokio's
//! timer; `wait_until_future` takes an async check; `retry_future` retries
//! a fallible async call and returns its value.

use std::future::Future;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(10);

/// Polls `f` (blocking the thread) until it holds or `timeout` passes;
/// whether it held.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`], panicking with `what` at the deadline.
///
/// # Panics
///
/// When `f` does not hold within `timeout`.
pub fn wait_for(what: &str, timeout: Duration, f: impl FnMut() -> bool) {
    assert!(
        wait_until(timeout, f),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Polls `f` (sleeping on tokio's timer, so a paused clock works) until
/// it holds or `timeout` passes; whether it held.
pub async fn wait_until_async(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    wait_until_future(timeout, || std::future::ready(f())).await
}

/// [`wait_until_async`], panicking with `what` at the deadline.
///
/// # Panics
///
/// When `f` does not hold within `timeout`.
pub async fn wait_for_async(what: &str, timeout: Duration, f: impl FnMut() -> bool) {
    assert!(
        wait_until_async(timeout, f).await,
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Polls the async check `f` (sleeping on tokio's timer) until it holds
/// or `timeout` passes; whether it held.
pub async fn wait_until_future<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Calls the async `f` until it succeeds (sleeping `every` between tries)
/// and returns its value; panics with `what` and the last error once
/// `timeout` has passed.
pub async fn retry_future<T, E, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: F,
) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{what}: not done in {timeout:?}: {e}"
                );
                tokio::time::sleep(every).await;
            }
        }
    }
}
