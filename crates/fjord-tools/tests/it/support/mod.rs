//! Helpers for running the `fjord-config` binary in tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `fjord-config` with `args`.
pub fn run(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fjord-config"))
        .args(args)
        .output()
        .expect("the fjord-config binary runs")
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The corpus `../shared/openstack-configs`, or `None` after the skip.
pub fn corpus(test: &str) -> Option<PathBuf> {
    fjord_test_support::shared_dir(test, "openstack-configs", "conf")
}

/// Every `*.expected.json` under `dir`, recursively, sorted.
pub fn expected_files(dir: &Path) -> Vec<PathBuf> {
    fjord_test_support::files_ending(dir, ".expected.json")
}

pub use fjord_test_support::temp_dir;
