//! A worker that keeps failing at start backs off, then the master gives up
//! with a clear error and exit code 1 (oslo respawns it forever).
use crate::support;

use std::time::{Duration, Instant};

use support::Proc;

#[test]
fn failing_start_backs_off_then_gives_up() {
    let start = Instant::now();
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--fail-start",
            "--max-start-failures",
            "4",
            "--start-failure-backoff",
            "0.2",
        ],
    );
    let code = p.wait_exit(Duration::from_secs(20));
    assert_eq!(code, 1, "stderr:\n{}", p.stderr().join("\n"));
    let err = p.stderr().join("\n");
    assert!(
        err.contains("failed to start: asked to fail at start"),
        "{err}"
    );
    assert!(err.contains("4 workers in a row failed to start"), "{err}");
    assert!(err.contains("next try in"), "back-off logged: {err}");
    // 2 at once, then back-offs of 0.2 s and 0.4 s: not instant.
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

/// A panic in a worker stays in the worker: it is caught at the fork
/// boundary (never unwinding into the master's frames in the child),
/// logged, and the worker exits with status 70; the master counts it as a
/// start failure and gives up like for any other.
#[test]
fn a_panicking_start_stays_in_the_worker() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--panic-start",
            "--max-start-failures",
            "3",
            "--start-failure-backoff",
            "0.1",
        ],
    );
    let code = p.wait_exit(Duration::from_secs(20));
    let err = p.stderr().join("\n");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("asked to panic at start"), "{err}");
    assert!(err.contains("panicked; exiting with status 70"), "{err}");
    assert!(err.contains("exited with status 70"), "{err}");
    assert!(!err.contains("exited with status 101"), "{err}");
}
