//! H1 with real processes: the socket bound in the master is shared by every
//! forked worker; `listening on` is printed once all serve; SIGTERM drains a
//! request in flight; SIGHUP replaces workers without closing the socket.
use crate::support;

use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

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
    let port = p.listening_port();
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
        let (status, body, pid) = support::get(port, "/hello");
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
        let (status, _, pid) = support::get(port, "/hello");
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
