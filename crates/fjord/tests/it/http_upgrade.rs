//! B4 binary upgrade: SIGUSR1 to the master starts the binary now at its
//! path as a new master with the listening sockets handed over; once the
//! new workers serve, the old ones drain and the old master exits. Under
//! keep-alive load no request fails and no connection is refused. A new
//! binary that cannot start leaves the old workers serving.
use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::Proc;
use support::load::Load;

/// A copy of `http_hello` in a directory of its own, so the test can
/// replace the file as a package upgrade does.
fn installed(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("fjord-upgrade-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("hello");
    std::fs::copy(support::example("http_hello"), &bin).unwrap();
    (dir, bin)
}

/// Replaces `bin` by a new file (a new inode, as `install` or a package
/// manager does), with `content`.
fn replace(bin: &Path, content: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = bin.with_extension("new");
    std::fs::write(&tmp, content).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, bin).unwrap();
}

fn start(bin: &Path, notify_socket: Option<&Path>) -> (Proc, u16) {
    let mut cmd = std::process::Command::new(bin);
    cmd.args([
        "--workers",
        "2",
        "--port",
        "0",
        "--graceful-shutdown-timeout",
        "20",
    ]);
    if let Some(path) = notify_socket {
        cmd.env("NOTIFY_SOCKET", path);
    }
    let p = Proc::spawn(cmd);
    let port = p.listening_port();
    (p, port)
}

/// Stops a master this test started indirectly (by SIGUSR1), by PID.
struct Master(i32);

impl Drop for Master {
    fn drop(&mut self) {
        if kill(Pid::from_raw(self.0), Signal::SIGTERM).is_ok() {
            support::wait_for("the new master exits", Duration::from_secs(30), || {
                support::is_gone(self.0)
            });
        }
    }
}

#[test]
fn upgrade_under_keep_alive_load_fails_no_request_and_refuses_no_client() {
    let (dir, bin) = installed("ok");
    // systemd's notify socket: the old master must hand MAINPID over.
    let notify = dir.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (mut p, port) = start(&bin, Some(&notify));
    let old_master = p.pid().as_raw();
    let load = Load::start(port, 16, "/hello");
    std::thread::sleep(Duration::from_millis(1000));
    replace(
        &bin,
        &std::fs::read(support::example("http_hello")).unwrap(),
    );
    p.signal(Signal::SIGUSR1);
    p.wait_stderr("the new master serves", Duration::from_secs(30), |e| {
        e.iter().any(|l| l.contains("upgrade: the new master pid="))
    });
    let new_master: i32 = p
        .stderr()
        .iter()
        .find_map(|l| {
            l.split("upgrade: the new master pid=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .expect("the new master's pid");
    let _guard = Master(new_master);
    assert_ne!(new_master, old_master);
    // The new master runs the new file; the old one ran the replaced one.
    let exe = std::fs::read_link(format!("/proc/{new_master}/exe")).unwrap();
    assert_eq!(exe, bin, "the new master runs the file now at the path");
    assert_eq!(
        p.wait_exit(Duration::from_secs(30)),
        0,
        "the old master exits cleanly"
    );
    let new_workers = support::children_of(new_master);
    assert_eq!(new_workers.len(), 2, "the new master runs its workers");
    std::thread::sleep(Duration::from_millis(1000));
    let r = load.stop();
    eprintln!("USR1: {r:?}");
    assert_eq!(r.failed, 0, "no request failed: {r:?}");
    assert_eq!(r.refused, 0, "no client was refused: {r:?}");
    assert!(r.ok > 500, "{r:?}");
    for w in &new_workers {
        assert!(r.by_pid.contains_key(w), "new worker {w} served: {r:?}");
    }
    assert!(r.by_pid.len() >= 4, "old and new workers served: {r:?}");
    let mut messages = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = sock.recv(&mut buf) {
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        messages.contains(&format!("MAINPID={new_master}")),
        "systemd is told the new main PID: {messages:?}"
    );
    drop(_guard);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn upgrade_to_a_binary_that_cannot_start_keeps_the_old_workers_serving() {
    let (dir, bin) = installed("broken");
    let (mut p, port) = start(&bin, None);
    let workers = support::children_of(p.pid().as_raw());
    let load = Load::start(port, 8, "/hello");
    std::thread::sleep(Duration::from_millis(500));
    // As a new build with a configuration error would: a message, exit 2.
    replace(
        &bin,
        b"#!/bin/sh\necho 'config error: no such option' >&2\nexit 2\n",
    );
    p.signal(Signal::SIGUSR1);
    p.wait_stderr("the upgrade failure", Duration::from_secs(30), |e| {
        e.iter()
            .any(|l| l.contains("upgrade failed: the new master pid="))
    });
    let err = p.stderr().join("\n");
    assert!(err.contains("exited with status 2 before serving"), "{err}");
    assert!(err.contains("config error: no such option"), "{err}");
    std::thread::sleep(Duration::from_millis(1000));
    let r = load.stop();
    assert_eq!(r.failed, 0, "{r:?}");
    assert!(r.ok > 100, "{r:?}");
    assert_eq!(
        support::children_of(p.pid().as_raw()),
        workers,
        "the same workers serve on"
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)), 0);
    let _ = std::fs::remove_dir_all(dir);
}
