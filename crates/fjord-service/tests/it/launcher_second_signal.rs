//! L8: a second SIGINT forces the stop.
use crate::support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn second_sigint_forces() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--job-seconds",
            "30",
            "--graceful-shutdown-timeout",
            "60",
        ],
    );
    p.wait_stdout("jobs in flight", Duration::from_secs(10), |o| {
        o.iter().filter(|l| l.starts_with("job started")).count() >= 2
    });
    let t = Instant::now();
    p.signal(Signal::SIGINT);
    p.wait_stderr("graceful stop begun", Duration::from_secs(5), |e| {
        e.iter().any(|l| l.contains("stopping workers gracefully"))
    });
    p.signal(Signal::SIGINT);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 3);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}
