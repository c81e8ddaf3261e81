//! L9: SIGHUP replaces every worker one by one; the master keeps its PID.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn sighup_replaces_workers_keeping_the_master() {
    let mut p = Proc::example(
        "workers",
        &["--workers", "3", "--graceful-shutdown-timeout", "5"],
    );
    p.wait_stdout("3 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 3
    });
    let old = p.started_pids();
    let master = p.pid().as_raw();
    p.signal(Signal::SIGHUP);
    p.wait_stdout("3 new workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 6
    });
    p.wait_stdout(
        "old workers stopped cleanly",
        Duration::from_secs(10),
        |o| {
            old.iter()
                .all(|pid| o.contains(&format!("worker stopped pid={pid} clean")))
        },
    );
    p.wait_stderr("reload complete", Duration::from_secs(5), |e| {
        e.iter().any(|l| l.contains("reload complete"))
    });
    assert!(
        p.child.try_wait().unwrap().is_none(),
        "master still running"
    );
    assert_eq!(p.pid().as_raw(), master);
    let mut new: Vec<i32> = p.started_pids()[3..].to_vec();
    new.sort();
    support::wait_for("only the new workers left", Duration::from_secs(5), || {
        let mut kids = support::children_of(master);
        kids.sort();
        kids == new
    });
    // And a second reload works too.
    p.signal(Signal::SIGHUP);
    p.wait_stdout("3 more workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 9
    });
    p.signal(Signal::SIGTERM);
    let code = p.wait_exit(Duration::from_secs(10));
    assert_eq!(code, 0, "{}", p.stderr().join("\n"));
}
