//! H1 with real processes: the socket bound in the master is shared by every
//! forked worker; `listening on` is printed once all serve; SIGTERM drains a
//! request in flight; SIGHUP replaces workers without closing the socket.
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

fn get(port: u16, path: &str) -> (u16, String, Option<i32>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let pid = raw.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("x-fjord-worker-pid:")
            .and_then(|v| v.trim().parse().ok())
    });
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body, pid)
}

fn port_of(p: &Proc) -> u16 {
    p.wait_stdout("the listening line", Duration::from_secs(20), |o| {
        o.iter()
            .any(|l| l.starts_with("listening on http://127.0.0.1:"))
    });
    p.stdout()
        .iter()
        .find_map(|l| l.rsplit(':').next()?.parse().ok())
        .expect("port")
}

#[test]
fn forked_workers_share_the_socket_and_reload_keeps_it() {
    let mut p = Proc::example(
        "http_hello",
        &[
            "--workers",
            "2",
            "--port",
            "0",
            "--graceful-shutdown-timeout",
            "5",
        ],
    );
    let port = port_of(&p);
    let master = p.pid().as_raw();
    let workers = support::children_of(master);
    assert_eq!(
        workers.len(),
        2,
        "both workers serve when the line is printed"
    );

    // Many short connections: both workers take some.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let (status, body, pid) = get(port, "/hello");
        assert_eq!((status, body.as_str()), (200, "Hello, World!"));
        let pid = pid.expect("worker pid header");
        assert!(workers.contains(&pid), "served by a worker of this master");
        seen.insert(pid);
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        2,
        "both forked workers accept on the shared socket"
    );

    // SIGHUP: new workers on the same socket, no failed request meanwhile.
    p.signal(Signal::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, pid) = get(port, "/hello");
        assert_eq!(status, 200, "no request fails during a reload");
        if pid.is_some_and(|pid| !workers.contains(&pid)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no new worker served");
        std::thread::sleep(Duration::from_millis(20));
    }
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 0);
    // Nothing left listening.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
