//! L12: READY=1 once every worker serves, RELOADING=1, STOPPING=1.
use crate::support;

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn notifies_systemd() {
    let dir = std::env::temp_dir().join(format!("fjord-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let recv = || {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("a notify message in time");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };

    let mut cmd = Command::new(support::example("workers"));
    cmd.args(["--workers", "2", "--graceful-shutdown-timeout", "5"])
        .env("NOTIFY_SOCKET", &path);
    let mut p = Proc::spawn(cmd);
    let ready = recv();
    assert!(ready.starts_with("READY=1"), "{ready}");
    // READY comes only once both workers serve: each printed its line
    // before telling the master it serves, so both lines are in the pipe
    // by now; the thread reading it may just not have got to them yet.
    p.wait_stdout("both workers' start lines", Duration::from_secs(5), |l| {
        support::pids_with(l, "worker started pid=").len() == 2
    });
    p.signal(Signal::SIGHUP);
    let reloading = recv();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    let ready = recv();
    assert!(ready.starts_with("READY=1"), "{ready}");
    p.signal(Signal::SIGTERM);
    assert_eq!(recv(), "STOPPING=1");
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
