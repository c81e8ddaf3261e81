//! B6: systemd socket activation. Under `systemd-socket-activate`, an API
//! listens on the inherited socket named after it (or bound to its
//! address) instead of binding; workers replaced on SIGHUP keep serving it
//! under keep-alive load; a socket no API takes, or one that is not a
//! listening TCP socket, is a clear error.
use crate::support;

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;
use support::load::Load;

/// `systemd-socket-activate`, or `None` (the test then says it skipped).
fn activator() -> Option<&'static str> {
    let found = Command::new("systemd-socket-activate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    fjord_test_support::need(
        found,
        "http_socket_activation",
        "systemd-socket-activate is not installed",
    )
    .then_some("systemd-socket-activate")
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `http_hello` (2 workers) under `systemd-socket-activate` listening on
/// `port`, with extra activator options and http_hello's `--port`.
fn activated(activator_args: &[&str], port: u16, hello_port: u16) -> Proc {
    let mut cmd = Command::new(activator().expect("checked by the caller"));
    cmd.arg(format!("--listen=127.0.0.1:{port}"))
        .args(activator_args)
        .arg("--")
        .arg(support::example("http_hello"))
        .args(["--workers", "2", "--graceful-shutdown-timeout", "20"])
        .args(["--port", &hello_port.to_string()]);
    Proc::spawn(cmd)
}

/// The activator starts the program on the first connection.
fn trigger(port: u16) {
    support::wait_for("the activator listens", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

#[test]
fn an_api_serves_on_the_socket_named_after_it_through_reloads() {
    if activator().is_none() {
        return;
    }
    let port = free_port();
    // http_hello's own port is 0: only the name can match.
    let mut p = activated(&["--fdname=hello"], port, 0);
    trigger(port);
    p.wait_stdout("all workers serve", Duration::from_secs(30), |o| {
        o.iter().any(|l| l.starts_with("listening on"))
    });
    assert!(
        p.stdout()
            .contains(&format!("listening on http://127.0.0.1:{port}")),
        "the API reports the inherited socket's address: {:?}",
        p.stdout()
    );
    let load = Load::start(port, 8, "/hello");
    std::thread::sleep(Duration::from_millis(800));
    p.signal(Signal::SIGHUP);
    p.wait_stderr("the reload", Duration::from_secs(30), |e| {
        e.iter()
            .filter(|l| l.contains("started worker hello #"))
            .count()
            >= 4
    });
    std::thread::sleep(Duration::from_millis(1500));
    let r = load.stop();
    assert_eq!(r.failed, 0, "{r:?}");
    assert!(r.ok > 200, "{r:?}");
    assert!(r.by_pid.len() >= 3, "old and new workers served: {r:?}");
    assert!(
        p.stderr()
            .iter()
            .any(|l| l.contains("hello: listening on inherited socket")),
        "{:?}",
        p.stderr()
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
}

#[test]
fn an_api_takes_the_inherited_socket_bound_to_its_address() {
    if activator().is_none() {
        return;
    }
    let port = free_port();
    let mut p = activated(&["--fdname=public"], port, port);
    trigger(port);
    p.wait_stdout("all workers serve", Duration::from_secs(30), |o| {
        o.iter().any(|l| l.starts_with("listening on"))
    });
    let load = Load::start(port, 2, "/hello");
    std::thread::sleep(Duration::from_millis(300));
    let r = load.stop();
    assert_eq!(r.failed, 0, "{r:?}");
    assert!(r.ok > 0, "{r:?}");
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
}

#[test]
fn a_socket_no_api_takes_is_a_clear_error() {
    if activator().is_none() {
        return;
    }
    let port = free_port();
    let mut p = activated(&["--fdname=other"], port, 0);
    trigger(port);
    assert_ne!(p.wait_exit(Duration::from_secs(30)), 0);
    let err = p.stderr().join("\n");
    assert!(
        err.contains("inherited socket(s) that no service takes")
            && err.contains(&format!("127.0.0.1:{port}"))
            && err.contains("\"other\""),
        "{err}"
    );
}

#[test]
fn an_inherited_socket_that_is_not_a_tcp_listener_is_a_clear_error() {
    if activator().is_none() {
        return;
    }
    let port = free_port();
    let mut p = activated(&["--datagram", "--fdname=hello"], port, 0);
    // A datagram socket starts the program on the first datagram.
    support::wait_for("the program started", Duration::from_secs(10), || {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let _ = s.send_to(b"x", ("127.0.0.1", port));
        p.stderr().iter().any(|l| l.contains("Execing"))
    });
    assert_ne!(p.wait_exit(Duration::from_secs(30)), 0);
    let err = p.stderr().join("\n");
    assert!(
        err.contains(
            "inherited descriptor 3 (name \"hello\") for hello is not a listening TCP socket"
        ),
        "{err}"
    );
}
