//! L8: SIGTERM lets the job in flight finish; the master exits 0.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn sigterm_finishes_the_job_in_flight() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--job-seconds",
            "1.5",
            "--graceful-shutdown-timeout",
            "10",
        ],
    );
    p.wait_stdout(
        "a job in flight in each worker",
        Duration::from_secs(10),
        |o| o.iter().filter(|l| l.starts_with("job started")).count() >= 2,
    );
    let pids = p.started_pids();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
    let out = p.stdout();
    for pid in pids {
        let started = out
            .iter()
            .filter(|l| l.starts_with(&format!("job started pid={pid} ")))
            .count();
        let finished = out
            .iter()
            .filter(|l| l.starts_with(&format!("job finished pid={pid} ")))
            .count();
        assert_eq!(
            started,
            finished,
            "every job of {pid} finished:\n{}",
            out.join("\n")
        );
        assert!(out.contains(&format!("worker stopped pid={pid} clean")));
    }
}
