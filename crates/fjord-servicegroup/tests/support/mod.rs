//! Shared helpers of the fjord-servicegroup integration tests (copied from
//! fjord-service's with the crate split).
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A current-thread runtime with tokio's clock paused (time jumps ahead when
/// every task is idle).
pub fn paused_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// Log lines written while a [`Logs`] capture is installed on this thread.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// The log buffer of this test binary: a global subscriber (DEBUG and
    /// up) installed on first use. Tests sharing a binary tell their lines
    /// apart by unique names in them. (A global subscriber, because
    /// tracing caches per-callsite interest across threads, so per-thread
    /// subscribers miss events in parallel tests.)
    pub fn global() -> Logs {
        static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let w = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || w.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber");
            logs
        })
        .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Lines containing every one of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Times (since `start`, in whole seconds) at which something happened.
#[derive(Clone, Default)]
pub struct Times(Arc<Mutex<Vec<u64>>>);

impl Times {
    pub fn record(&self, start: tokio::time::Instant) {
        self.0.lock().unwrap().push(start.elapsed().as_secs());
    }
    pub fn get(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

/// Whether missing services (PostgreSQL, RabbitMQ) must fail the tests.
pub fn services_required() -> bool {
    std::env::var("FJORD_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// Prints `SKIPPED: test: why` and returns, or panics under
/// `FJORD_REQUIRE_SERVICES=1`.
pub fn skip(test: &str, why: &str) {
    if services_required() {
        panic!("{test}: {why} (FJORD_REQUIRE_SERVICES=1)");
    }
    eprintln!("SKIPPED: {test}: {why}");
}

/// The PostgreSQL URL of the tests (`FJORD_TEST_POSTGRES_URL`, default the
/// local trust-auth database `test`).
pub fn postgres_url() -> String {
    std::env::var("FJORD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_string())
}

/// Whether something listens on 127.0.0.1:5432 (or the test URL's port).
pub fn postgres_reachable() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().expect("addr"),
        Duration::from_secs(2),
    )
    .is_ok()
}

/// A name unique to this test run (process, time, counter).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Polls `check` every 20 ms until it returns true or `deadline` passes.
pub async fn wait_until<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = std::time::Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub mod db;
