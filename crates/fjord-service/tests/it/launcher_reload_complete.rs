//! `reload complete` is logged when the reload is: every replaced worker
//! has finished its work in flight and exited.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn reload_complete_once_the_old_workers_are_gone() {
    // Each job takes 2 s, and a stopping worker finishes its job first: the
    // last old worker outlives its replacement's start by up to 2 s.
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--job-seconds",
            "2",
            "--graceful-shutdown-timeout",
            "10",
        ],
    );
    p.wait_stdout("2 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
    });
    let old = p.started_pids();
    p.signal(Signal::SIGHUP);
    p.wait_stderr("reload complete", Duration::from_secs(20), |e| {
        e.iter().any(|l| l.contains("reload complete"))
    });
    let alive: Vec<i32> = old
        .iter()
        .copied()
        .filter(|&pid| !support::is_gone(pid))
        .collect();
    assert!(
        alive.is_empty(),
        "old workers {alive:?} still running at \"reload complete\"\nstderr:\n{}",
        p.stderr().join("\n")
    );
    let out = p.stdout();
    for pid in &old {
        assert!(
            out.iter()
                .any(|l| l.contains(&format!("worker stopped pid={pid} clean"))),
            "worker {pid} did not stop cleanly\n{}",
            out.join("\n")
        );
    }
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(15)), 0);
}
