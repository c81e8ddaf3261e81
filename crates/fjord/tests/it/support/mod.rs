//! Shared helpers for tests that run example binaries as real processes.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

pub use fjord_test_support::{Proc, children_of, example, is_gone, load, pids_with, wait_for};

/// One `GET path` on a new connection (`Connection: close`): the status,
/// the body, and the `x-fjord-worker-pid` header of http_hello's answers.
pub fn get(port: u16, path: &str) -> (u16, String, Option<i32>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let pid = raw.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("x-fjord-worker-pid:")
            .and_then(|v| v.trim().parse().ok())
    });
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body, pid)
}
