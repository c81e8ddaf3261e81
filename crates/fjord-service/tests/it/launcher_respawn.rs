//! L6: a worker killed by SIGKILL is logged with its signal and replaced.
use crate::support;

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::Proc;

#[test]
fn killed_worker_is_respawned_and_logged() {
    let mut p = Proc::example(
        "workers",
        &["--workers", "2", "--graceful-shutdown-timeout", "5"],
    );
    p.wait_stdout("2 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
    });
    let victim = p.started_pids()[0];
    // Process titles tell the master from its workers.
    let cmdline = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .trim_end_matches('\0')
            .to_owned()
    };
    assert_eq!(cmdline(p.pid().as_raw()), "fjord: master workers");
    assert!(
        cmdline(victim).starts_with("fjord: worker jobs #"),
        "{}",
        cmdline(victim)
    );
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    p.wait_stdout("a replacement worker", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 3
    });
    let pids = p.started_pids();
    assert!(!pids[..2].contains(&pids[2]), "replacement has a new pid");
    p.wait_stderr(
        "the death logged with its signal",
        Duration::from_secs(5),
        |e| {
            e.iter()
                .any(|l| l.contains(&format!("pid={victim} killed by SIGKILL")))
        },
    );
    assert_eq!(support::children_of(p.pid().as_raw()).len(), 2);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
}
