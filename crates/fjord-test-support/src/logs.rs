//! Capturing the log lines of a test process.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// The log lines of this test process, captured by a global `tracing`
/// subscriber (DEBUG and up) installed on first use.
#[derive(Clone, Default, Debug)]
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
                .expect("no other global subscriber in this test binary");
            logs
        })
        .clone()
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
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
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
