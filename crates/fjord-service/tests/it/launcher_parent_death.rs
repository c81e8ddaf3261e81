//! L7: workers exit when the master dies, even by SIGKILL.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn workers_exit_when_master_is_killed() {
    let mut p = Proc::example(
        "workers",
        &["--workers", "3", "--graceful-shutdown-timeout", "5"],
    );
    p.wait_stdout("3 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 3
    });
    let pids = p.started_pids();
    p.signal(Signal::SIGKILL);
    p.wait_exit(Duration::from_secs(5));
    support::wait_for("every worker gone", Duration::from_secs(10), || {
        pids.iter().all(|&pid| support::is_gone(pid))
    });
    // They stopped gracefully: the job in flight finished.
    p.wait_stdout("clean stops", Duration::from_secs(5), |o| {
        pids.iter()
            .all(|pid| o.contains(&format!("worker stopped pid={pid} clean")))
    });
}
