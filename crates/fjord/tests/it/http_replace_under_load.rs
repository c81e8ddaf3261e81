//! Replacing or retiring workers under keep-alive load fails no request:
//! 16 connections keep sending (each its next request as soon as its last
//! answer is read) through SIGHUP reloads, a SIGTTOU retirement and a
//! SIGTERM graceful stop, and through `max_requests` recycling, and every
//! request sent is answered. A draining
//! worker answers the next request of each keep-alive connection with
//! `Connection: close` instead of closing the connection under it.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;
use support::load::{Load, Report};

const CONNECTIONS: usize = 16;

/// Starts `http_hello` with `workers` workers on a free port.
fn start(workers: usize) -> (Proc, u16) {
    start_with(workers, &[])
}

fn start_with(workers: usize, extra: &[&str]) -> (Proc, u16) {
    let workers = workers.to_string();
    let mut args = vec![
        "--workers",
        &workers,
        "--port",
        "0",
        "--graceful-shutdown-timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    let p = Proc::example("http_hello", &args);
    let port = p.listening_port();
    (p, port)
}

fn assert_nothing_failed(what: &str, r: &Report) {
    eprintln!(
        "{what}: {} answered, {} failed, {} drained with Connection: close, {} connects refused, per worker {:?}",
        r.ok, r.failed, r.closes, r.refused, r.by_pid
    );
    assert_eq!(
        r.failed,
        0,
        "{what}: {} of {} requests failed; first errors: {:#?}",
        r.failed,
        r.ok + r.failed,
        r.errors
    );
    assert!(r.ok > 500, "{what}: the load ran ({r:?})");
}

#[test]
fn three_reloads_under_keep_alive_load_fail_no_request() {
    let (mut p, port) = start(2);
    let load = Load::start(port, CONNECTIONS, "/hello");
    std::thread::sleep(Duration::from_millis(1000));
    for _ in 0..3 {
        p.signal(Signal::SIGHUP);
        std::thread::sleep(Duration::from_millis(2000));
    }
    p.wait_stderr("six replacement workers", Duration::from_secs(30), |e| {
        e.iter()
            .filter(|l| l.contains("started worker hello #"))
            .count()
            >= 8
    });
    std::thread::sleep(Duration::from_millis(1000));
    let r = load.stop();
    assert_nothing_failed("3 x SIGHUP", &r);
    // The old workers were replaced while connections were busy on them:
    // each drained connection got a `Connection: close` answer.
    assert!(
        r.closes >= CONNECTIONS as u64,
        "connections were drained through the reloads ({r:?})"
    );
    let served: Vec<i32> = r.by_pid.keys().copied().collect();
    assert!(
        served.len() >= 4,
        "old and new workers both served under load: {served:?}"
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
}

#[test]
fn graceful_stop_under_keep_alive_load_fails_no_request() {
    let (mut p, port) = start(2);
    // Connections that never renew themselves: all of them are busy when
    // the stop begins, none is between two connections.
    let load = Load::start_persistent(port, CONNECTIONS, "/hello");
    std::thread::sleep(Duration::from_millis(1500));
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
    // Clients keep trying after the exit: they are refused at once.
    std::thread::sleep(Duration::from_millis(300));
    let r = load.stop();
    assert_nothing_failed("SIGTERM", &r);
    assert!(
        r.closes >= CONNECTIONS as u64,
        "every busy connection was answered with Connection: close ({r:?})"
    );
    assert!(
        r.refused > 0,
        "new connections refused after the stop ({r:?})"
    );
}

#[test]
fn retiring_a_worker_under_keep_alive_load_fails_no_request() {
    let (mut p, port) = start(3);
    let load = Load::start(port, CONNECTIONS, "/hello");
    std::thread::sleep(Duration::from_millis(1000));
    let master = p.pid().as_raw();
    p.signal(Signal::SIGTTOU);
    support::wait_for("2 workers left", Duration::from_secs(30), || {
        support::children_of(master).len() == 2
    });
    std::thread::sleep(Duration::from_millis(1000));
    let r = load.stop();
    assert_nothing_failed("SIGTTOU", &r);
    assert!(
        r.closes > 0,
        "the retired worker's connections were drained ({r:?})"
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
}

#[test]
fn recycling_under_keep_alive_load_fails_no_request_and_keeps_every_worker() {
    let (mut p, port) = start_with(
        2,
        &["--max-requests", "2000", "--max-requests-jitter", "500"],
    );
    let master = p.pid().as_raw();
    let load = Load::start(port, CONNECTIONS, "/hello");
    // Capacity never dips: a replacement is forked before the worker it
    // replaces is told to stop, so there are never fewer than 2 workers.
    let mut fewest = usize::MAX;
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < until {
        fewest = fewest.min(support::children_of(master).len());
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = load.stop();
    assert_nothing_failed("max_requests", &r);
    let recycled = p
        .stderr()
        .iter()
        .filter(|l| l.contains("served its max_requests; replacing it"))
        .count();
    assert!(
        recycled >= 2,
        "workers were recycled under load ({recycled})"
    );
    assert!(r.by_pid.len() >= 4, "replacements served: {:?}", r.by_pid);
    // A worker serves on past its share until its replacement serves and
    // it drains (milliseconds of requests, more when the CPUs are busy):
    // the typical worker ends near its share.
    let mut served: Vec<u64> = r.by_pid.values().copied().collect();
    served.sort_unstable();
    let median = served[served.len() / 2];
    assert!(
        (1500..=3500).contains(&median),
        "a worker serves about its share (2000-2500) before it is replaced: {served:?}"
    );
    assert!(fewest >= 2, "never fewer than 2 workers (saw {fewest})");
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
}

/// Listening TCP sockets on `port` (IPv4), from /proc/net/tcp.
fn listeners_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1].ends_with(&local) && f[3] == "0A"
        })
        .count()
}

#[test]
fn reuse_port_gives_each_worker_its_own_socket_and_replacing_fails_no_request() {
    let (mut p, port) = start_with(2, &["--reuse-port"]);
    assert_eq!(listeners_on(port), 2, "one listening socket per worker");
    let load = Load::start(port, CONNECTIONS, "/hello");
    std::thread::sleep(Duration::from_millis(1000));
    p.signal(Signal::SIGHUP);
    p.wait_stderr("both workers replaced", Duration::from_secs(30), |e| {
        e.iter()
            .filter(|l| l.contains("started worker hello #"))
            .count()
            >= 4
    });
    std::thread::sleep(Duration::from_millis(1500));
    support::wait_for(
        "the old workers' sockets closed",
        Duration::from_secs(10),
        || listeners_on(port) == 2,
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
    std::thread::sleep(Duration::from_millis(300));
    let r = load.stop();
    assert_nothing_failed("reuse_port: SIGHUP, then SIGTERM", &r);
    assert!(r.by_pid.len() >= 4, "old and new workers served: {r:?}");
    assert!(r.refused > 0, "refused once stopped ({r:?})");
}

#[test]
fn an_address_another_process_listens_on_is_a_clear_error() {
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port().to_string();
    for extra in [&[][..], &["--reuse-port"][..]] {
        let mut args = vec!["--workers", "2", "--port", &port, "--bind-timeout", "1"];
        args.extend_from_slice(extra);
        let mut p = Proc::example("http_hello", &args);
        assert_ne!(p.wait_exit(Duration::from_secs(30)), 0, "{extra:?}");
        let err = p.stderr().join("\n");
        assert!(
            err.contains(&format!("127.0.0.1:{port}")) && err.contains("in use"),
            "{extra:?}: {err}"
        );
    }
    drop(other);
}
