//! Shared helpers for the fjord-messaging integration tests.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub mod endpoints;
pub mod raw;

use fjord_messaging::{MessagingOptions, Transport};
use serde_json::{Map, Value};

/// `FJORD_REQUIRE_SERVICES=1`: a missing service fails the test.
pub fn required() -> bool {
    std::env::var("FJORD_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// Skips (prints `SKIPPED:` and returns false) or panics (CI) when `ok` is false.
pub fn need(ok: bool, test: &str, why: &str) -> bool {
    if ok {
        return true;
    }
    if required() {
        panic!("{test}: {why} (FJORD_REQUIRE_SERVICES=1)");
    }
    eprintln!("SKIPPED: {test}: {why}");
    false
}

/// Whether RabbitMQ answers on 127.0.0.1:5672; skips or fails otherwise.
pub fn rabbit(test: &str) -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], 5672).into();
    let up = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok();
    need(up, test, "RabbitMQ is not reachable on 127.0.0.1:5672")
}

/// The wire fixtures directory, if present (prints `SKIPPED:` otherwise).
pub fn fixtures(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/wire-fixtures");
    if dir.join("vectors.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {test}: wire fixtures not found at {}",
            dir.display()
        );
        None
    }
}

/// Reads a fixture JSON file.
pub fn load(dir: &std::path::Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).expect("read fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The Python interpreter of the oslo.messaging venv, if usable.
pub fn venv_python(test: &str) -> Option<PathBuf> {
    let venv = std::env::var("FJORD_OSLO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/work/main/.venv"));
    let py = venv.join("bin/python");
    let ok = py.is_file()
        && std::process::Command::new(&py)
            .args(["-c", "import oslo_messaging"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if need(
        ok,
        test,
        &format!(
            "no oslo.messaging venv at {} (run scripts/setup-oslo-venv.sh)",
            venv.display()
        ),
    ) {
        Some(py)
    } else {
        None
    }
}

/// A unique name for topics and servers.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A RabbitMQ transport on 127.0.0.1 with `query` appended to the URL.
pub fn rabbit_transport(query: &str) -> Transport {
    let mut o = MessagingOptions::default();
    o.transport_url = Some(format!("rabbit://guest:guest@127.0.0.1:5672/{query}"));
    o.rabbit.rabbit_retry_interval = 0.2;
    o.rabbit.rabbit_retry_backoff = 0.2;
    o.rabbit.rabbit_interval_max = 1.0;
    Transport::new(&o).expect("transport")
}

/// A JSON object literal as a map.
pub fn args(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("args must be an object"),
    }
}

/// Polls `f` until it is true or `deadline` passes.
pub async fn wait_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// Runs `rabbitmqctl` with `args`, returning stdout (None when unavailable).
pub fn rabbitmqctl(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Closes every broker connection this test process opened (found by the
/// `connection_name` fjord sends: `<exe>:<pid>:<uuid>`). Returns how many.
pub fn close_my_connections() -> usize {
    let Some(list) = rabbitmqctl(&["list_connections", "-q", "pid", "client_properties"]) else {
        return 0;
    };
    let marker = format!(":{}:", std::process::id());
    let mut n = 0;
    for line in list.lines().filter(|l| l.contains(&marker)) {
        let Some(pid) = line.split_whitespace().next() else {
            continue;
        };
        if rabbitmqctl(&[
            "close_connection",
            pid,
            "fjord test: dropping the connection",
        ])
        .is_some()
        {
            n += 1;
        }
    }
    n
}

/// `name durable auto_delete arguments` lines of queues whose name starts with `prefix`.
pub fn queues_like(prefix: &str) -> Vec<String> {
    rabbitmqctl(&[
        "list_queues",
        "-q",
        "name",
        "durable",
        "auto_delete",
        "arguments",
    ])
    .unwrap_or_default()
    .lines()
    .filter(|l| l.starts_with(prefix))
    .map(str::to_string)
    .collect()
}
