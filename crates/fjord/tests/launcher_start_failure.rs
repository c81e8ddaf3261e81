//! A worker that keeps failing at start backs off, then the master gives up
//! with a clear error and exit code 1 (oslo respawns it forever).
mod support;

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
