//! Helpers of the fjord-servicegroup integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

/// A current-thread runtime with tokio's clock paused (time jumps ahead when
/// every task is idle).
pub fn paused_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

pub use fjord_test_support::Logs;

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

/// The PostgreSQL URL of the tests (`FJORD_TEST_POSTGRES_URL`, default the
/// local trust-auth database `test`).
pub fn postgres_url() -> String {
    std::env::var("FJORD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_string())
}

pub mod db;

pub use fjord_test_support::{unique, wait_until_future};
