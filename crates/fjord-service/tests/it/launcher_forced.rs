//! L8: the graceful deadline holds in workers (they abandon work, exit 3)
//! and in the master (it kills workers that do not even do that).
use crate::support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn deadline_in_worker_abandons_long_job() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--job-seconds",
            "30",
            "--graceful-shutdown-timeout",
            "1",
        ],
    );
    p.wait_stdout("jobs in flight", Duration::from_secs(10), |o| {
        o.iter().filter(|l| l.starts_with("job started")).count() >= 2
    });
    let t = Instant::now();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 3, "forced exit code");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(!p.stdout().iter().any(|l| l.contains("clean")));
}

#[test]
fn deadline_in_master_kills_stuck_workers() {
    // --stuck blocks each worker's only thread: they cannot act on SIGTERM.
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--stuck",
            "--job-seconds",
            "30",
            "--graceful-shutdown-timeout",
            "1",
        ],
    );
    p.wait_stdout("jobs in flight", Duration::from_secs(10), |o| {
        o.iter().filter(|l| l.starts_with("job started")).count() >= 2
    });
    let pids = p.started_pids();
    let t = Instant::now();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 3, "forced exit code");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    for pid in pids {
        assert!(support::is_gone(pid), "worker {pid} killed");
    }
    assert!(
        p.stderr()
            .iter()
            .any(|l| l.contains("past the graceful deadline; killing them"))
    );
}
