//! The rpc_server example stops gracefully, exit status 0, on SIGTERM as on
//! SIGINT (Ctrl-C). It runs on the embedded transport: no RabbitMQ needed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The example binary, built first (`cargo test --test NAME` does not
/// build examples; a no-op when fresh).
pub(crate) fn rpc_server() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "fjord-messaging",
            "--example",
            "rpc_server",
        ])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --example rpc_server failed");
    dir.join("examples").join("rpc_server")
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // only our own child, by its handle
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn sigterm_and_sigint_stop_it_cleanly() {
    let exe = rpc_server();
    let dir = std::env::temp_dir().join(format!("fjord-rpc-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let url = format!(
            "embedded://{}",
            dir.join(format!("{signal}.sock")).display()
        );
        let mut child = Command::new(&exe)
            .args(["--transport-url", &url, "--topic", "t", "--server", "s1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rpc_server");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(30))
            .is_ok_and(|l| l == "rpc server ready");
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no `rpc server ready` line within 30 s");
        }
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        assert_eq!(
            wait_exit(&mut child, Duration::from_secs(20)),
            Some(0),
            "exit status after {signal}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
