//! `--pid-file`: the master (or, with one worker, the single process)
//! writes its PID once it runs and removes the file when it exits.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

fn pid_file_lifecycle(workers: &str) {
    let dir = std::env::temp_dir().join(format!("fjord-pid-file-{}-{workers}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("workers.pid");
    let path_arg = path.display().to_string();
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            workers,
            "--graceful-shutdown-timeout",
            "5",
            "--pid-file",
            &path_arg,
        ],
    );
    p.wait_stdout("a worker", Duration::from_secs(10), |o| {
        !support::pids_with(o, "worker started pid=").is_empty()
    });
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, format!("{}\n", p.pid()));
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
    assert!(!path.exists(), "removed at exit");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn master_writes_and_removes_its_pid_file() {
    pid_file_lifecycle("2");
}

#[test]
fn single_process_writes_and_removes_its_pid_file() {
    pid_file_lifecycle("1");
}
