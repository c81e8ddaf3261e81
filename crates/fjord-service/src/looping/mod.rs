//! Looping calls (oslo.service `loopingcall`), on tokio.
//!
//! * [`fixed_interval`]: run every interval until the function says done.
//! * [`dynamic_interval`]: the function says how long to wait next.
//! * [`backoff`]: back off with jitter while the function fails, reset on
//!   success, give up after a total time.
//! * [`retry`]: retry a fallible async function with growing sleeps
//!   (oslo `RetryDecorator`).

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::task::sleep_or_stop;

/// What a looping function asks for next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step<T> {
    /// Run again after the loop's own interval.
    Continue,
    /// Run again after this delay (dynamic loops; capped by their maximum).
    After(Duration),
    /// Stop the loop with this value (oslo `LoopingCallDone(retvalue)`).
    Done(T),
}

/// Why a looping call ended without a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopingError {
    /// A back-off loop kept failing for longer than its timeout
    /// (oslo `LoopingCallTimeOut`).
    #[error("looping call still failing after {0:?}")]
    TimedOut(Duration),
    /// The loop's task panicked or was aborted.
    #[error("looping call task failed: {0}")]
    Task(String),
}

/// A running looping call: [`LoopingCall::stop`] it, [`LoopingCall::wait`]
/// for its value.
#[derive(Debug)]
pub struct LoopingCall<T> {
    stop: CancellationToken,
    handle: JoinHandle<Result<Option<T>, LoopingError>>,
}

impl<T> LoopingCall<T> {
    /// Stops the loop before its next run (a run in progress finishes).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Waits for the loop to end: `Ok(Some(v))` when the function returned
    /// [`Step::Done`], `Ok(None)` when stopped.
    ///
    /// # Errors
    ///
    /// [`LoopingError::TimedOut`] for a back-off loop that gave up,
    /// [`LoopingError::Task`] when the function panicked.
    pub async fn wait(self) -> Result<Option<T>, LoopingError> {
        match self.handle.await {
            Ok(r) => r,
            Err(e) => Err(LoopingError::Task(e.to_string())),
        }
    }
}

fn spawn_loop<T, Fut>(body: impl FnOnce(CancellationToken) -> Fut) -> LoopingCall<T>
where
    T: Send + 'static,
    Fut: Future<Output = Result<Option<T>, LoopingError>> + Send + 'static,
{
    let stop = CancellationToken::new();
    let handle = tokio::spawn(body(stop.clone()));
    LoopingCall { stop, handle }
}

/// Runs `f` every `interval` after `initial_delay`, measured from the start
/// of each run, until it returns [`Step::Done`] or the call is stopped
/// (oslo `FixedIntervalLoopingCall`). [`Step::After`] overrides the next
/// delay once.
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Examples
///
/// ```
/// use fjord_service::looping::{fixed_interval, Step};
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut n = 0;
/// let call = fixed_interval(Duration::from_millis(1), Duration::ZERO, move || {
///     n += 1;
///     let step = if n == 3 { Step::Done(n) } else { Step::Continue };
///     async move { step }
/// });
/// assert_eq!(call.wait().await, Ok(Some(3)));
/// # });
/// ```
pub fn fixed_interval<T, F, Fut>(
    interval: Duration,
    initial_delay: Duration,
    mut f: F,
) -> LoopingCall<T>
where
    T: Send + 'static,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Step<T>> + Send,
{
    spawn_loop(move |stop| async move {
        if !sleep_or_stop(initial_delay, &stop).await {
            return Ok(None);
        }
        loop {
            let start = tokio::time::Instant::now();
            let delay = match f().await {
                Step::Done(v) => return Ok(Some(v)),
                Step::After(d) => d,
                Step::Continue => {
                    let took = start.elapsed();
                    interval.checked_sub(took).unwrap_or_else(|| {
                        tracing::warn!(
                            "looping call outlasted its interval {interval:?} by {:?}",
                            took - interval
                        );
                        Duration::ZERO
                    })
                }
            };
            if !sleep_or_stop(delay, &stop).await {
                return Ok(None);
            }
        }
    })
}

/// Runs `f` after `initial_delay`, then after the delay each run returns
/// ([`Step::After`]; [`Step::Continue`] means `max_interval`), never more
/// than `max_interval` apart (oslo `DynamicLoopingCall` with
/// `periodic_interval_max`).
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn dynamic_interval<T, F, Fut>(
    initial_delay: Duration,
    max_interval: Duration,
    mut f: F,
) -> LoopingCall<T>
where
    T: Send + 'static,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Step<T>> + Send,
{
    spawn_loop(move |stop| async move {
        let mut delay = initial_delay;
        loop {
            if !sleep_or_stop(delay, &stop).await {
                return Ok(None);
            }
            delay = match f().await {
                Step::Done(v) => return Ok(Some(v)),
                Step::After(d) => d.min(max_interval),
                Step::Continue => max_interval,
            };
        }
    })
}

/// Settings of a [`backoff`] loop, oslo's `BackOffLoopingCall.start`
/// arguments and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct BackOff {
    /// Delay before the first run. Default is zero.
    pub initial_delay: Duration,
    /// Delay after a success, and the base of the back-off. Default is 1 s.
    pub starting_interval: Duration,
    /// Give up when failures in a row have slept this long. Default is 60 s.
    pub timeout: Duration,
    /// Largest delay. Default is 300 s.
    pub max_interval: Duration,
    /// Smallest delay. Default is 1 ms.
    pub min_interval: Duration,
    /// Mean of the random factor (Gaussian, sigma 0.1) applied to each
    /// doubling. Default is 0.75.
    pub jitter: f64,
}

impl Default for BackOff {
    fn default() -> Self {
        BackOff {
            initial_delay: Duration::ZERO,
            starting_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
            max_interval: Duration::from_secs(300),
            min_interval: Duration::from_millis(1),
            jitter: 0.75,
        }
    }
}

impl BackOff {
    /// The delay after a failure, given the previous one: doubled, times a
    /// random factor around `jitter`, within `[min_interval, max_interval]`.
    pub fn next_delay(&self, previous: Duration, rng: &mut impl Rng) -> Duration {
        // Box-Muller: a Gaussian factor without another dependency.
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
        let gauss = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let factor = (self.jitter + 0.1 * gauss).max(0.0);
        let next = previous.as_secs_f64() * 2.0 * factor;
        Duration::from_secs_f64(
            next.clamp(
                self.min_interval.as_secs_f64(),
                self.max_interval
                    .as_secs_f64()
                    .max(self.min_interval.as_secs_f64()),
            ),
        )
    }
}

/// Runs `f` until it returns `Ok(Step::Done)`: after `Ok(Continue)` (a
/// success) it waits `starting_interval`; after `Err` it backs off with
/// jitter, and gives up with [`LoopingError::TimedOut`] once failures in a
/// row would sleep past `timeout` (oslo `BackOffLoopingCall`).
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn backoff<T, E, F, Fut>(settings: BackOff, mut f: F) -> LoopingCall<T>
where
    T: Send + 'static,
    E: std::fmt::Display,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Step<T>, E>> + Send,
{
    spawn_loop(move |stop| async move {
        if !sleep_or_stop(settings.initial_delay, &stop).await {
            return Ok(None);
        }
        let mut interval = settings.starting_interval;
        let mut failing_for = Duration::ZERO;
        loop {
            let delay = match f().await {
                Ok(Step::Done(v)) => return Ok(Some(v)),
                Ok(Step::After(d)) => {
                    interval = settings.starting_interval;
                    failing_for = Duration::ZERO;
                    d
                }
                Ok(Step::Continue) => {
                    interval = settings.starting_interval;
                    failing_for = Duration::ZERO;
                    interval
                }
                Err(e) => {
                    interval = settings.next_delay(interval, &mut rand::rng());
                    if failing_for + interval > settings.timeout {
                        tracing::warn!("looping call gives up after {failing_for:?}: {e}");
                        return Err(LoopingError::TimedOut(failing_for));
                    }
                    failing_for += interval;
                    tracing::debug!("looping call failed ({e}); next try in {interval:?}");
                    interval
                }
            };
            if !sleep_or_stop(delay, &stop).await {
                return Ok(None);
            }
        }
    })
}

/// Settings of [`retry`] (oslo `RetryDecorator`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Retries after the first try; `None` retries forever. Default is
    /// `None` (oslo's `-1`).
    pub max_retry_count: Option<u32>,
    /// Added to the sleep after each failure. Default is 10 s.
    pub inc_sleep_time: Duration,
    /// Largest sleep. Default is 60 s.
    pub max_sleep_time: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_retry_count: None,
            inc_sleep_time: Duration::from_secs(10),
            max_sleep_time: Duration::from_secs(60),
        }
    }
}

/// Calls `f` until it succeeds, an error is not retryable (`retryable`
/// returns false), or the retries are used up; sleeps grow by
/// `inc_sleep_time` up to `max_sleep_time` (oslo `RetryDecorator`).
///
/// # Errors
///
/// The last error of `f`.
///
/// # Examples
///
/// ```
/// use fjord_service::looping::{retry, Retry};
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let settings = Retry { max_retry_count: Some(3), inc_sleep_time: Duration::from_millis(1), ..Retry::default() };
/// let mut tries = 0;
/// let r: Result<u32, &str> = retry(&settings, |_| true, || {
///     tries += 1;
///     let t = tries;
///     async move { if t < 3 { Err("busy") } else { Ok(t) } }
/// }).await;
/// assert_eq!(r, Ok(3));
/// # });
/// ```
pub async fn retry<T, E, F, Fut>(
    settings: &Retry,
    retryable: impl Fn(&E) -> bool,
    mut f: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut retries = 0u32;
    let mut sleep = Duration::ZERO;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                if !retryable(&e) || settings.max_retry_count.is_some_and(|m| retries >= m) {
                    return Err(e);
                }
                retries += 1;
                sleep = (sleep + settings.inc_sleep_time).min(settings.max_sleep_time);
                tracing::debug!("retry {retries} in {sleep:?} after: {e}");
                tokio::time::sleep(sleep).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn dynamic_interval_uses_returned_delays_capped() {
        rt().block_on(async {
            let start = tokio::time::Instant::now();
            let mut seen = Vec::new();
            let call =
                dynamic_interval(Duration::from_secs(2), Duration::from_secs(30), move || {
                    seen.push(start.elapsed().as_secs());
                    let step = match seen.len() {
                        1 => Step::After(Duration::from_secs(5)),
                        2 => Step::After(Duration::from_secs(100)),
                        _ => Step::Done(seen.clone()),
                    };
                    async move { step }
                });
            assert_eq!(call.wait().await, Ok(Some(vec![2, 7, 37])));
        });
    }

    #[test]
    fn backoff_gives_up_after_timeout_and_grows() {
        rt().block_on(async {
            let settings = BackOff {
                timeout: Duration::from_secs(20),
                jitter: 1.0,
                ..BackOff::default()
            };
            let start = tokio::time::Instant::now();
            let call = backoff(settings, || async { Err::<Step<()>, _>("down") });
            let r = call.wait().await;
            assert!(matches!(r, Err(LoopingError::TimedOut(_))), "{r:?}");
            // ~2 + 4 + 8 slept (16 > 20 would overflow): well under the timeout.
            let slept = start.elapsed();
            assert!(slept <= Duration::from_secs(20), "{slept:?}");
            assert!(slept >= Duration::from_secs(5), "{slept:?}");
        });
    }

    #[test]
    fn backoff_resets_on_success_and_stop_ends_it() {
        rt().block_on(async {
            let mut n = 0;
            let call = backoff(BackOff::default(), move || {
                n += 1;
                let r = if n % 2 == 0 {
                    Ok(Step::Continue)
                } else {
                    Err("flaky")
                };
                async move { r.map(|s: Step<()>| s) }
            });
            // Alternating failures never accumulate to the timeout.
            tokio::time::sleep(Duration::from_secs(600)).await;
            call.stop();
            assert_eq!(call.wait().await, Ok(None));
        });
    }

    #[test]
    fn retry_stops_on_non_retryable_and_counts() {
        rt().block_on(async {
            let settings = Retry {
                max_retry_count: Some(2),
                ..Retry::default()
            };
            let mut calls = 0;
            let r: Result<(), String> = retry(
                &settings,
                |_| true,
                || {
                    calls += 1;
                    async { Err("no".to_owned()) }
                },
            )
            .await;
            assert!(r.is_err());
            assert_eq!(calls, 3);
            let mut calls = 0;
            let r: Result<(), String> = retry(
                &settings,
                |e: &String| e != "fatal",
                || {
                    calls += 1;
                    async { Err("fatal".to_owned()) }
                },
            )
            .await;
            assert!(r.is_err());
            assert_eq!(calls, 1);
        });
    }
}
