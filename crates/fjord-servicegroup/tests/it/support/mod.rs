//! Helpers of the fjord-servicegroup integration tests.
#![allow(dead_code, unreachable_pub)]

/// The PostgreSQL URL of the tests (`FJORD_TEST_POSTGRES_URL`, default the
/// local trust-auth database `test`).
pub fn postgres_url() -> String {
    std::env::var("FJORD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_string())
}

pub mod db;

pub use fjord_test_support::{Logs, unique, wait_until_future};
