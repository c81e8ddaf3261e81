//! Helpers shared by the integration tests of every fjord crate.
//!
//! * [`skip`]: the one skip-or-fail policy. A test that needs something
//!   this machine lacks (RabbitMQ, PostgreSQL, the Python venv, the shared
//!   fixtures) calls [`skip::need`]: under `FJORD_REQUIRE_SERVICES=1` (CI)
//!   that fails the test; otherwise the test returns early and the skip is
//!   reported where a reader sees it (a `SKIPPED` line on the terminal, not
//!   captured by the test harness, and a line in `$FJORD_SKIP_LOG`, which
//!   `scripts/test.sh` counts in its summary).
//! * [`wait`]: polling a condition until a deadline, blocking or async.
//! * [`process`]: a child process whose output lines are collected, and
//!   `/proc` helpers.
//! * [`hostile`]: property tests that feed a parser arbitrary input from a
//!   fixed seed (a reproducible corpus): it must never panic.
//! * [`keystone`]: the throwaway Keystone of `scripts/keystone.sh`.
//! * [`logs`]: the log lines of the test process, for tests that read them.
//! * [`load`]: a keep-alive HTTP/1 load loop that counts failed requests.
//! * [`proxy`]: a loopback TCP proxy that can go silent (stop forwarding
//!   without closing), resume, or close its connections: fault tests.
//! * [`cluster`]: the throwaway RabbitMQ cluster of
//!   `scripts/rabbitmq-cluster.sh` ([`skip::rabbit_cluster`] finds it).
//! * [`paths`]: the workspace root, `../shared` fixtures, the Python venv,
//!   temporary directories, unique names.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod hostile;
pub mod keystone;
pub mod load;
pub mod logs;
pub mod paths;
pub mod process;
pub mod proxy;
pub mod skip;
pub mod wait;

pub use logs::Logs;

/// A current-thread tokio runtime with its clock paused (time jumps ahead
/// when every task is idle), for tests of timers and schedules.
///
/// # Panics
///
/// When the runtime cannot be built.
pub fn paused_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

pub use paths::{files_ending, shared_dir, temp_dir, unique, venv_python, workspace_root};
pub use process::{
    Proc, children_of, diagnostics_child_of, diagnostics_url, example, is_gone, pids_with,
};
pub use skip::{need, port_open, required};
pub use wait::{wait_for, wait_for_async, wait_until, wait_until_async, wait_until_future};
