//! B1: a worker whose runtime stops (here: SIGSTOP) is killed and replaced
//! after `worker_timeout`; L12: the master feeds systemd's watchdog while
//! its loop runs.
use crate::support;

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::Proc;

#[test]
fn a_stopped_worker_is_replaced_after_worker_timeout() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--graceful-shutdown-timeout",
            "5",
            "--worker-timeout",
            "1",
        ],
    );
    p.wait_stdout("2 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
    });
    // Healthy workers are left alone well past the timeout.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(p.started_pids().len(), 2, "no healthy worker replaced");
    let victim = p.started_pids()[0];
    let stopped = Instant::now();
    kill(Pid::from_raw(victim), Signal::SIGSTOP).unwrap();
    p.wait_stdout("a replacement worker", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 3
    });
    let took = stopped.elapsed();
    // 1 s of timeout, heart-beats every 250 ms: the last beat was up to
    // 250 ms before the SIGSTOP, so the worker is replaced between 0.75 s
    // and about 1.25 s (plus the master's poll) after it.
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(4),
        "replaced after {took:?}"
    );
    p.wait_stderr("the watchdog's lines", Duration::from_secs(5), |e| {
        e.iter().any(|l| {
            l.contains(&format!("pid={victim} has not heart-beaten")) && l.contains("(watchdog)")
        }) && e.iter().any(|l| {
            l.contains(&format!(
                "pid={victim} killed by SIGKILL (watchdog); respawning"
            ))
        })
    });
    assert!(support::is_gone(victim));
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn the_master_feeds_the_systemd_watchdog_while_its_loop_runs() {
    let dir = fjord_test_support::temp_dir("watchdog-notify");
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let recv = |sock: &UnixDatagram| -> Option<String> {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    };

    let mut cmd = Command::new(fjord_test_support::example("workers"));
    cmd.args(["--workers", "2", "--graceful-shutdown-timeout", "5"])
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "200000");
    let mut p = Proc::spawn(cmd);
    // Pings every 100 ms (half of WATCHDOG_USEC), with READY among them.
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(1) {
        if recv(&sock).expect("a notify message") == "WATCHDOG=1" {
            pings += 1;
        }
    }
    assert!((6..=14).contains(&pings), "{pings} pings in 1 s");
    // A stopped master loop stops the pings: systemd would then act.
    p.signal(Signal::SIGSTOP);
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    while recv(&sock).is_some() {}
    sock.set_read_timeout(Some(Duration::from_millis(600)))
        .unwrap();
    assert_eq!(recv(&sock), None, "no ping while the master is stopped");
    p.signal(Signal::SIGCONT);
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(recv(&sock).as_deref(), Some("WATCHDOG=1"));
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_watchdog_pid_of_another_process_is_not_ours() {
    let dir = fjord_test_support::temp_dir("watchdog-pid");
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut cmd = Command::new(fjord_test_support::example("workers"));
    cmd.args(["--workers", "2", "--graceful-shutdown-timeout", "5"])
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "100000")
        .env("WATCHDOG_PID", "1");
    let mut p = Proc::spawn(cmd);
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"READY=1"));
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(
        sock.recv(&mut buf).is_err(),
        "no WATCHDOG=1 for pid 1's watchdog"
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
