//! Shared helpers for the fjord-messaging integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

pub mod endpoints;
pub mod fault;
pub mod raw;

use fjord_messaging::{MessagingOptions, Transport};
use serde_json::{Map, Value};

pub use fjord_test_support::skip::{need, rabbit};

/// The wire fixtures directory `../shared/wire-fixtures`, or `None`
/// after the skip.
pub fn fixtures(test: &str) -> Option<PathBuf> {
    fjord_test_support::shared_dir(test, "wire-fixtures", "vectors.json")
}

/// Reads a fixture JSON file.
pub fn load(dir: &std::path::Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).expect("read fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The Python interpreter of the oslo.messaging venv, or `None` after
/// the skip.
pub fn venv_python(test: &str) -> Option<PathBuf> {
    fjord_test_support::venv_python(test, "oslo_messaging")
}

pub use fjord_test_support::unique;

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

pub use fjord_test_support::wait_until_async;

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

/// RabbitMQ on 127.0.0.1:5672 and a usable `rabbitmqctl` (for tests that
/// close or count connections with it), or the skip line.
pub fn rabbit_and_ctl(test: &str) -> bool {
    rabbit(test)
        && need(
            rabbitmqctl(&["status"]).is_some(),
            test,
            "rabbitmqctl is not usable",
        )
}

/// The broker's ids of the connections process `pid` opened (found by the
/// `connection_name` fjord sends: `<exe>:<pid>:<uuid>`).
pub fn connections_of(pid: u32) -> Vec<String> {
    let Some(list) = rabbitmqctl(&["list_connections", "-q", "pid", "client_properties"]) else {
        return Vec::new();
    };
    let marker = format!(":{pid}:");
    list.lines()
        .filter(|l| l.contains(&marker))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Closes every broker connection process `pid` opened. Returns how many.
pub fn close_connections_of(pid: u32) -> usize {
    connections_of(pid)
        .iter()
        .filter(|c| {
            rabbitmqctl(&["close_connection", c, "fjord test: dropping the connection"]).is_some()
        })
        .count()
}

/// Closes every broker connection this test process opened. Returns how many.
pub fn close_my_connections() -> usize {
    close_connections_of(std::process::id())
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
