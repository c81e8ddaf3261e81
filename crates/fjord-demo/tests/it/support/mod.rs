//! Runs the demo binaries as real processes and talks HTTP to them.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use fjord_test_support::Proc;
use std::time::{Duration, Instant};

pub struct Demo {
    pub proc: Proc,
    pub port: u16,
    pub state: PathBuf,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Demo {
    /// Starts `bin` (demo-api, demo-worker, demo-all) on etc/demo/demo.conf
    /// with a private state_path, port 0 and the given `OS_*` overrides.
    pub fn start(bin: &str, env: &[(&str, &str)]) -> Demo {
        let conf = repo_root().join("etc/demo/demo.conf");
        let conf = conf.to_string_lossy().into_owned();
        Demo::spawn(bin, &["--config-file", &conf], env)
    }

    /// Starts `bin` with `args`, a private state_path, port 0, two API
    /// workers and the given `OS_*` overrides; for the API, waits for its
    /// `listening on` log line and takes the port from it.
    pub fn spawn(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Demo {
        let state = std::env::temp_dir().join(format!(
            "fjord-demo-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&state).unwrap();
        let exe = match bin {
            "demo-api" => env!("CARGO_BIN_EXE_demo-api"),
            "demo-worker" => env!("CARGO_BIN_EXE_demo-worker"),
            _ => env!("CARGO_BIN_EXE_demo-all"),
        };
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .env("OS_DEFAULT__STATE_PATH", &state)
            .env("OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT", "0")
            .env("OS_DEFAULT__OSAPI_DEMO_WORKERS", "2")
            .env("OS_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT", "10")
            .env("OS_DEFAULT__LOG_OPTIONS", "false")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut demo = Demo {
            proc: Proc::spawn(cmd),
            port: 0,
            state,
        };
        if bin != "demo-worker" {
            demo.port = demo.wait_listening(Duration::from_secs(60));
        }
        demo
    }

    /// The port of the API's `demo-api listening on http://...` log line.
    fn wait_listening(&mut self, timeout: Duration) -> u16 {
        let deadline = Instant::now() + timeout;
        loop {
            let port = self.proc.stderr().iter().find_map(|l| {
                let url = l.split("demo-api listening on ").nth(1)?;
                let url = url.split_whitespace().next()?;
                url.rsplit(':').next()?.parse().ok()
            });
            if let Some(port) = port {
                return port;
            }
            if let Ok(Some(status)) = self.proc.child.try_wait() {
                panic!(
                    "the demo exited ({status}) before listening\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no listening line within {timeout:?}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        self.proc.stderr().join("\n")
    }

    pub fn pid(&self) -> i32 {
        self.proc.pid().as_raw()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        self.proc.signal(sig);
    }

    /// One HTTP/1.1 request; returns (status, content-type, body).
    pub fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
        http(self.port, method, path, body)
    }

    /// Waits until `GET path` answers `status`.
    pub fn wait_http(&self, path: &str, status: u16, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(r) = std::panic::catch_unwind(|| self.http("GET", path, None))
                && r.0 == status
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path} never answered {status}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.proc.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "demo did not exit\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.proc.child.try_wait() {
            let _ = self.proc.child.kill();
            let _ = self.proc.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
    let (status, head, body) = http_with_headers(port, method, path, &[], body);
    (
        status,
        header(&head, "content-type").unwrap_or_default(),
        body,
    )
}

/// The value of header `name` in a response head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// One HTTP/1.1 request with extra request `headers`; returns (status,
/// the response head, body).
pub fn http_with_headers(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, head.to_owned(), body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Waits until `GET /v1/services` lists every binary in `binaries` as up.
pub fn wait_services_up(demo: &Demo, binaries: &[&str]) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = demo.http("GET", "/v1/services", None);
        if status == 200 {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let services = v["services"].as_array().cloned().unwrap_or_default();
            let up = |b: &str| {
                services
                    .iter()
                    .any(|s| s["binary"] == b && s["state"] == "up" && s["updated_at"].is_string())
            };
            if binaries.iter().all(|b| up(b)) {
                return v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "services never up: {status} {body}\n{}",
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub use fjord_test_support::{children_of, is_gone};
