//! B3: SIGTTIN adds a worker, SIGTTOU retires one gracefully.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn ttin_adds_and_ttou_retires_a_worker() {
    let mut p = Proc::example(
        "workers",
        &["--workers", "2", "--graceful-shutdown-timeout", "5"],
    );
    p.wait_stdout("2 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
    });
    let master = p.pid().as_raw();
    p.signal(Signal::SIGTTIN);
    p.wait_stdout("a third worker", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 3
    });
    support::wait_for("3 children", Duration::from_secs(5), || {
        support::children_of(master).len() == 3
    });
    let third = p.started_pids()[2];
    p.signal(Signal::SIGTTOU);
    p.wait_stdout(
        "the newest worker retired cleanly",
        Duration::from_secs(10),
        |o| o.contains(&format!("worker stopped pid={third} clean")),
    );
    support::wait_for("2 children", Duration::from_secs(5), || {
        support::children_of(master).len() == 2
    });
    // The retired worker is not respawned.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(p.started_pids().len(), 3);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
}
