//! L5: a crash loop is held to `workers` forks per `workers` seconds.
use crate::support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn crash_loop_is_rate_limited() {
    // Each worker serves, then crashes 50 ms later: unlimited, that would be
    // dozens of forks per second.
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--crash-after",
            "0.05",
            "--graceful-shutdown-timeout",
            "5",
        ],
    );
    let start = Instant::now();
    p.wait_stderr("the rate limit logged", Duration::from_secs(10), |e| {
        e.iter()
            .any(|l| l.contains("fork rate limit for service jobs"))
    });
    // Watch for 3.5 s in all: at most 2 forks per 2 s window -> forks at
    // ~0 s, ~2 s (and the window boundary): never more than 6.
    std::thread::sleep(Duration::from_millis(3500).saturating_sub(start.elapsed()));
    let forks = p.started_pids().len();
    assert!((3..=6).contains(&forks), "forks in 3.5 s: {forks}");
    p.signal(Signal::SIGTERM);
    p.wait_exit(Duration::from_secs(10));
}
