//! README's tour, run unattended: demo-all with no config file (the
//! built-in etc/demo/demo.conf) on a state directory that does not exist
//! yet, every curl of the tour, `fjord-manage service list`, the master
//! found through its PID file, a worker killed and respawned, then HUP, USR2
//! and TERM sent to that PID. Nothing on the way is logged as an ERROR.
use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use support::Demo;

/// `fjord-manage` (package fjord-tools), built next to this test's binaries
/// (a no-op when fresh).
fn fjord_manage() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "fjord-tools", "--bin", "fjord-manage"])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --bin fjord-manage failed");
    dir.join("fjord-manage")
}

/// Sends `lines` to the console on `socket` and reads its answers until it
/// closes the connection (after `quit`).
fn console(socket: &Path, lines: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("console at {}: {e}", socket.display()));
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(lines.as_bytes()).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out)
        .expect("the console answers and closes");
    out
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The process title, as `ps -o args` shows it.
fn title(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\0')
                .replace('\0', " ")
        })
        .unwrap_or_default()
}

fn wait_for_demo(what: &str, demo: &Demo, timeout: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_readme_tour_on_the_built_in_configuration() {
    // A state directory that does not exist yet, as on a fresh machine.
    let fresh = std::env::temp_dir().join(format!("fjord-demo-tour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    let state = fresh.join("state");
    let state_str = state.to_string_lossy().into_owned();
    let mut demo = Demo::spawn(
        "demo-all",
        &[],
        &[
            ("OS_DEFAULT__STATE_PATH", &state_str),
            ("OS_DEFAULT__RPC_RESPONSE_TIMEOUT", "3"),
        ],
    );
    demo.wait_http("/healthcheck", 200, Duration::from_secs(30));
    assert!(
        demo.stderr()
            .contains("no --config-file given: using the built-in configuration"),
        "{}",
        demo.stderr()
    );

    // The master's PID file.
    let pid_file = state.join("demo-all.pid");
    assert_eq!(read_pid(&pid_file), Some(demo.pid()), "{}", demo.stderr());
    let master = read_pid(&pid_file).unwrap();
    assert_eq!(title(master), "fjord: master demo-all");
    let workers = support::children_of(master);
    assert!(
        workers
            .iter()
            .any(|&w| title(w) == "fjord: worker demo-api #0")
            && workers
                .iter()
                .any(|&w| title(w) == "fjord: worker demo-worker #0"),
        "{:?}",
        workers.iter().map(|&w| title(w)).collect::<Vec<_>>()
    );

    // The curls.
    let (status, _, body) = demo.http("GET", "/", None);
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["versions"][0]["id"], "v1.0");
    let (status, _, body) = demo.http("GET", "/healthcheck", None);
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, _, body) = demo.http("GET", "/hello", None);
    assert_eq!((status, body.as_str()), (200, "Hello, World!"));
    let (status, _, body) = demo.http("POST", "/v1/echo", Some(r#"{"ping": 1}"#));
    assert_eq!(status, 200, "{body}\n{}", demo.stderr());
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"], serde_json::json!({"ping": 1}));
    let rpc_worker = v["served_by"]["pid"].as_i64().unwrap() as i32;
    assert_eq!(title(rpc_worker), "fjord: worker demo-worker #0");
    support::wait_services_up(&demo, &["demo-api", "demo-worker"]);

    // fjord-manage reads the same records through etc/demo/demo.conf.
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/demo/demo.conf");
    let out = Command::new(fjord_manage())
        .args(["service", "list", "--config-file"])
        .arg(&conf)
        .env("OS_DEFAULT__STATE_PATH", &state)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for binary in ["demo-api", "demo-worker"] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(binary) && l.split_whitespace().any(|w| w == "up")),
            "{binary} up in:\n{table}"
        );
    }

    // kill -KILL <the pid from served_by>: respawned, echo answers again.
    kill(Pid::from_raw(rpc_worker), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = demo.http("POST", "/v1/echo", Some("{}"));
        if status == 200 {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_ne!(v["served_by"]["pid"].as_i64().unwrap() as i32, rpc_worker);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "echo never recovered: {status} {body}\n{}",
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // kill -HUP $(cat .../demo-all.pid): workers replaced, same master.
    let before = support::children_of(master);
    kill(Pid::from_raw(master), Signal::SIGHUP).unwrap();
    wait_for_demo("reload complete", &demo, Duration::from_secs(60), || {
        demo.stderr().contains("reload complete")
    });
    assert!(
        before.iter().all(|&w| support::is_gone(w)),
        "old workers gone at \"reload complete\""
    );
    assert_eq!(read_pid(&pid_file), Some(master));
    // The embedded broker lives in a worker: the reload moves it, and a
    // call made while the new RPC worker declares its queue again is lost
    // (at most once) and times out. Echo answers again within a deadline.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (status, _, body) = demo.http("POST", "/v1/echo", Some("{}"));
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "echo never answered after the reload: {status} {body}\n{}",
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // kill -USR2: the report.
    kill(Pid::from_raw(master), Signal::SIGUSR2).unwrap();
    let report = format!("fjord report: master pid={master}");
    wait_for_demo("the USR2 report", &demo, Duration::from_secs(10), || {
        demo.stderr().contains(&report)
    });

    // The console on $state_path/console.sock (socat - UNIX-CONNECT:...).
    let console = console(
        &state.join("console.sock"),
        "workers\ntasks\nconfig database\nquit\n",
    );
    assert!(
        console.contains("service=demo-worker index=0 state=serving")
            && console.contains("demo.count: runs=")
            && console.contains("[database] connection = ****"),
        "{console}"
    );

    // kill -TERM: graceful stop, exit 0, the PID file removed.
    kill(Pid::from_raw(master), Signal::SIGTERM).unwrap();
    assert_eq!(
        demo.wait_exit(Duration::from_secs(30)),
        0,
        "{}",
        demo.stderr()
    );
    assert!(!pid_file.exists(), "the PID file is removed at exit");

    let log = demo.stderr();
    assert_eq!(
        log.matches("demo-api listening on ").count(),
        1,
        "the listening line once:\n{log}"
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "errors in the tour:\n{}",
        errors.join("\n")
    );
    let _ = std::fs::remove_dir_all(&fresh);
}

#[test]
fn an_unwritable_pid_file_is_one_clear_error() {
    let missing = std::env::temp_dir()
        .join(format!("fjord-demo-nopid-{}", std::process::id()))
        .join("no/such/dir/demo-all.pid");
    let state = std::env::temp_dir().join(format!("fjord-demo-nopid-state-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_demo-all"))
        .arg("--pid-file")
        .arg(&missing)
        .env("OS_DEFAULT__STATE_PATH", &state)
        .env("OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT", "0")
        .env("OS_DEFAULT__OSAPI_DEMO_WORKERS", "1")
        .env("OS_DEFAULT__LOG_OPTIONS", "false")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot write the pid file {}", missing.display())),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&state);
}
