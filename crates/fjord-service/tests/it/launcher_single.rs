//! L2/L4: one worker runs in this process (ServiceLauncher): graceful stop
//! and reload in place; workers = 0 is a clear error.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn one_worker_runs_in_process_and_reloads_in_place() {
    let mut p = Proc::example("workers", &["--workers", "1", "--job-seconds", "0.3"]);
    p.wait_stdout("started", Duration::from_secs(10), |o| {
        o.iter().any(|l| l.starts_with("worker started"))
    });
    let me = p.pid().as_raw();
    assert_eq!(
        p.started_pids(),
        vec![me],
        "the service runs in the launching process"
    );
    assert!(support::children_of(me).is_empty());
    p.signal(Signal::SIGHUP);
    p.wait_stdout("restarted in place", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
            && o.contains(&format!("worker stopped pid={me} clean"))
    });
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn zero_workers_is_a_clear_error() {
    let mut p = Proc::example("workers", &["--workers", "0"]);
    let code = p.wait_exit(Duration::from_secs(10));
    assert_ne!(code, 0);
    let err = p.stderr().join("\n");
    assert!(err.contains("workers must be at least 1, got 0"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
