//! Shared helpers of the fjord-service integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

pub use fjord_test_support::{Logs, paused_rt};

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

pub use fjord_test_support::{Proc, children_of, is_gone, pids_with, wait_for};
