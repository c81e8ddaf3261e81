//! L11: the operator console of a real master (the `workers` example),
//! over TCP (`backdoor_port`) and a Unix socket (`backdoor_socket`):
//! every command, `scale` changing the worker count, `log` changing what a
//! worker logs, and bad input (garbage, a 1 MiB line, silent clients, too
//! many connections) getting errors while nothing changes.
use crate::support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::Proc;

const PROMPT: &str = "fjord> ";

/// A console connection.
struct Client<S: Read + Write> {
    s: S,
}

impl<S: Read + Write> Client<S> {
    /// Reads until the prompt (or end of stream); panics after 10 s.
    fn until_prompt(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while !out.ends_with(PROMPT.as_bytes()) {
            assert!(
                Instant::now() < deadline,
                "no prompt: {}",
                String::from_utf8_lossy(&out)
            );
            match self.s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        text.strip_suffix(PROMPT).unwrap_or(&text).to_owned()
    }

    fn cmd(&mut self, line: &str) -> String {
        self.s.write_all(format!("{line}\n").as_bytes()).unwrap();
        self.until_prompt()
    }
}

fn tcp(port: u16) -> Client<std::net::TcpStream> {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the console");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut c = Client { s };
    let greeting = c.until_prompt();
    assert!(greeting.contains("fjord console of workers"), "{greeting}");
    c
}

fn unix(path: &std::path::Path) -> Client<std::os::unix::net::UnixStream> {
    let s = std::os::unix::net::UnixStream::connect(path).expect("connect to the console");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut c = Client { s };
    c.until_prompt();
    c
}

/// `console on <where>` from the master's log.
fn console_at(p: &Proc) -> String {
    p.wait_stderr("the console line", Duration::from_secs(20), |l| {
        l.iter().any(|x| x.contains("console on "))
    });
    p.stderr()
        .iter()
        .find_map(|l| {
            let rest = &l[l.find("console on ")? + "console on ".len()..];
            Some(rest.trim().to_owned())
        })
        .unwrap()
}

fn workers_lines(answer: &str) -> Vec<String> {
    answer
        .lines()
        .filter(|l| l.starts_with("pid="))
        .map(str::to_owned)
        .collect()
}

/// Every command on one connection of the master `p` (2 workers of
/// `jobs` serving, a failing `tick` task, `--debug-lines`).
fn exercise<S: Read + Write>(c: &mut Client<S>, p: &Proc) {
    let master = p.pid().as_raw();
    let help = c.cmd("help");
    for cmd in [
        "report", "workers", "conns", "tasks", "config", "log", "scale", "quit",
    ] {
        assert!(help.contains(cmd), "{help}");
    }
    assert_eq!(c.cmd(""), "", "an empty line gets the prompt again");

    support::wait_for("2 serving workers", Duration::from_secs(20), || {
        workers_lines(&c.cmd("workers"))
            .iter()
            .filter(|l| l.contains("service=jobs") && l.contains("state=serving"))
            .count()
            == 2
    });
    let workers = c.cmd("workers");
    for pid in support::children_of(master) {
        assert!(workers.contains(&format!("pid={pid} ")), "{workers}");
    }
    assert!(
        workers.contains("uptime=") && workers.contains("rss="),
        "{workers}"
    );

    let report = c.cmd("report");
    assert!(report.starts_with("fjord report: master pid="), "{report}");
    assert!(
        report.contains("#0 pid=") && report.contains("#1 pid="),
        "{report}"
    );

    let conns = c.cmd("conns");
    assert!(
        conns.contains("jobs #0 pid=") && conns.contains("connections=0"),
        "{conns}"
    );

    support::wait_for("the tick task in tasks", Duration::from_secs(10), || {
        let t = c.cmd("tasks");
        t.contains("jobs #0 pid=") && t.contains("  Jobs.tick: runs=") && t.contains("last error (")
    });

    let config = c.cmd("config");
    assert!(config.contains("[database] connection = ****"), "{config}");
    assert!(config.contains("[DEFAULT] worker_timeout = 30"), "{config}");
    assert!(!config.contains("s3cret"), "a secret leaked: {config}");
    let db = c.cmd("config database");
    assert_eq!(db, "[database] connection = ****\n");
    let bad = c.cmd("config nope");
    assert!(bad.starts_with("error: no group \"nope\""), "{bad}");
    assert_eq!(bad.lines().count(), 1, "{bad}");

    // log: the workers' DEBUG lines appear, then stop again.
    let details = |p: &Proc| {
        p.stderr()
            .iter()
            .filter(|l| l.contains("job detail pid="))
            .count()
    };
    assert_eq!(details(p), 0, "DEBUG is off at start");
    let set = c.cmd("log info,workers::jobs=debug");
    assert!(set.starts_with("log filter is now"), "{set}");
    let pids = support::children_of(master);
    p.wait_stderr(
        "DEBUG lines of every worker",
        Duration::from_secs(10),
        |l| {
            pids.iter().all(|pid| {
                l.iter()
                    .any(|x| x.contains(&format!("job detail pid={pid} ")))
            })
        },
    );
    assert_eq!(c.cmd("log"), "log filter: info,workers::jobs=debug\n");
    let bad = c.cmd("log info,workers=notalevel");
    assert!(bad.starts_with("error: bad filter"), "{bad}");
    assert_eq!(bad.lines().count(), 1, "{bad}");
    assert_eq!(
        c.cmd("log"),
        "log filter: info,workers::jobs=debug\n",
        "a bad filter changes nothing"
    );
    assert!(c.cmd("log info").starts_with("log filter is now"));
    std::thread::sleep(Duration::from_secs(1));
    let before = details(p);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(details(p), before, "DEBUG lines stopped");

    // scale: the master really forks and retires workers.
    assert_eq!(c.cmd("scale jobs +1"), "service jobs: 3 workers\n");
    support::wait_for("3 workers", Duration::from_secs(10), || {
        support::children_of(master).len() == 3
    });
    assert_eq!(c.cmd("scale jobs -2"), "service jobs: 1 workers\n");
    support::wait_for("1 worker", Duration::from_secs(15), || {
        support::children_of(master).len() == 1
    });
    assert_eq!(
        c.cmd("scale jobs -1"),
        "service jobs: 1 workers\n",
        "never below 1"
    );
    for (line, error) in [
        ("scale nope +1", "error: no service \"nope\""),
        ("scale jobs 1", "error: the step is +N or -N"),
        ("scale jobs +1000", "error: the step is +N or -N"),
        ("scale jobs", "error: usage: scale"),
    ] {
        let a = c.cmd(line);
        assert!(a.starts_with(error), "{line}: {a}");
        assert_eq!(a.lines().count(), 1, "{a}");
    }
    assert_eq!(c.cmd("scale jobs +1"), "service jobs: 2 workers\n");
    support::wait_for("2 workers again", Duration::from_secs(10), || {
        support::children_of(master).len() == 2
    });
    let unknown = c.cmd("frobnicate now");
    assert!(
        unknown.starts_with("error: unknown command \"frobnicate\""),
        "{unknown}"
    );
}

fn quit<S: Read + Write>(mut c: Client<S>) {
    c.s.write_all(b"quit\n").unwrap();
    let mut rest = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let mut buf = [0u8; 64];
        match c.s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => rest.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
    }
    assert_eq!(rest, "bye\n");
}

const ARGS: &[&str] = &[
    "--workers",
    "2",
    "--job-seconds",
    "0.2",
    "--tick-seconds",
    "0.2",
    "--tick-fails",
    "--debug-lines",
    "--graceful-shutdown-timeout",
    "5",
];

#[test]
fn every_command_over_tcp() {
    let mut args = ARGS.to_vec();
    args.extend(["--backdoor-port", "0"]);
    let mut p = Proc::example("workers", &args);
    let at = console_at(&p);
    let port: u16 = at
        .strip_prefix("127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("console on {at}"));
    let mut c = tcp(port);
    exercise(&mut c, &p);
    quit(c);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(15)), 0);
}

#[test]
fn every_command_over_a_unix_socket_without_the_http_endpoint() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = fjord_test_support::paths::temp_dir("console");
    let spec = dir.join("console-{pid}.sock");
    // A stale socket file at the path is replaced.
    let stale = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let mut args = ARGS.to_vec();
    args.push("--no-diagnostics");
    let spec_s = spec.to_string_lossy().into_owned();
    args.extend(["--backdoor-socket", &spec_s]);
    let mut p = Proc::example("workers", &args);
    let path = dir.join(format!("console-{}.sock", p.pid()));
    assert_eq!(console_at(&p), path.display().to_string());
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(
        !p.stderr().iter().any(|l| l.contains("diagnostics on http")),
        "no HTTP endpoint"
    );
    let mut c = unix(&path);
    exercise(&mut c, &p);
    quit(c);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(15)), 0);

    // Stale socket replacement, with the same options.
    let stale_s = stale.to_string_lossy().into_owned();
    let mut q = Proc::example(
        "workers",
        &["--workers", "2", "--backdoor-socket", &stale_s],
    );
    assert_eq!(console_at(&q), stale.display().to_string());
    let mut c = unix(&stale);
    assert!(c.cmd("help").contains("scale"));
    q.signal(Signal::SIGTERM);
    assert_eq!(q.wait_exit(Duration::from_secs(15)), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_gets_errors_and_changes_nothing() {
    let mut args = ARGS.to_vec();
    args.extend(["--backdoor-port", "0"]);
    let mut p = Proc::example("workers", &args);
    let master = p.pid().as_raw();
    let port: u16 = console_at(&p)
        .strip_prefix("127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    let mut c = tcp(port);
    support::wait_for("2 workers", Duration::from_secs(20), || {
        workers_lines(&c.cmd("workers")).len() == 2
    });
    let pids_before = {
        let mut v = support::children_of(master);
        v.sort_unstable();
        v
    };
    let diag = fjord_test_support::diagnostics_child_of(master).expect("the diagnostics process");

    // A client that connects and never sends holds nothing up.
    let silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();

    // Garbage bytes: one error line.
    c.s.write_all(b"\x00\xff\xfe garbage \x1b[31m\r\n").unwrap();
    let a = c.until_prompt();
    assert!(a.starts_with("error: unknown command"), "{a:?}");
    assert_eq!(a.lines().count(), 1, "{a:?}");

    // A 1 MiB line: an error, and the connection goes on.
    let mut huge = vec![b'x'; 1 << 20];
    huge.push(b'\n');
    c.s.write_all(&huge).unwrap();
    let a = c.until_prompt();
    assert_eq!(a, "error: line too long (at most 4096 bytes)\n");
    assert_eq!(workers_lines(&c.cmd("workers")).len(), 2);

    // A huge `log` filter and a huge `scale` are errors too.
    let a = c.cmd(&format!("log {}", "a".repeat(2000)));
    assert!(a.starts_with("error: "), "{a}");
    let a = c.cmd(&format!("scale {} +1", "j".repeat(3000)));
    assert!(a.starts_with("error: no service"), "{a}");
    assert!(a.len() < 200, "the error does not echo the whole line");

    // Too many connections: the extra ones are told, the others work.
    // `c` and `silent` hold two of the 16 connections.
    let mut many = Vec::new();
    for _ in 0..14 {
        many.push(tcp(port));
    }
    let mut extra = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut refused = String::new();
    let _ = extra.read_to_string(&mut refused);
    assert_eq!(refused, "error: too many console connections\n");
    for m in &mut many {
        assert!(m.cmd("help").contains("scale"));
    }
    drop(many);
    drop(silent);
    support::wait_for("a slot again", Duration::from_secs(10), || {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut first = [0u8; 5];
        let mut s = s;
        s.read_exact(&mut first).is_ok() && &first == b"fjord"
    });

    // Nothing changed: same workers, same diagnostics process, all alive.
    let mut pids_after = support::children_of(master);
    pids_after.sort_unstable();
    assert_eq!(pids_before, pids_after);
    assert_eq!(fjord_test_support::diagnostics_child_of(master), Some(diag));
    assert!(c.cmd("help").contains("scale"));
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(15)), 0);
}

#[test]
fn a_single_process_serves_the_console_on_its_runtime() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "1",
            "--backdoor-port",
            "0",
            "--debug-lines",
            "--job-seconds",
            "0.2",
        ],
    );
    let port: u16 = console_at(&p)
        .strip_prefix("127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    let mut c = tcp(port);
    let w = c.cmd("workers");
    assert!(
        w.contains(&format!("run in this process pid={}", p.pid())),
        "{w}"
    );
    assert!(
        c.cmd("scale jobs +1")
            .starts_with("error: scale needs worker processes")
    );
    assert!(c.cmd("config database").contains("****"));
    assert!(c.cmd("log debug").starts_with("log filter is now"));
    p.wait_stderr("DEBUG lines", Duration::from_secs(10), |l| {
        l.iter().any(|x| x.contains("job detail pid="))
    });
    quit(c);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(15)), 0);
}

#[test]
fn a_bad_backdoor_port_is_a_clear_error() {
    let mut p = Proc::example("workers", &["--workers", "2", "--backdoor-port", "9:x"]);
    assert_ne!(p.wait_exit(Duration::from_secs(15)), 0);
    assert!(
        p.output().contains("invalid port range \"9:x\""),
        "{}",
        p.output()
    );
}
