//! The http_hello example answers what its first contact asks: `/` lists
//! the paths, `/healthcheck` is `OK`, `/hello` is `Hello, World!`, and an
//! unknown path is a 404.
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
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
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn index_healthcheck_hello_and_404() {
    let mut p = Proc::example("http_hello", &["--workers", "1", "--port", "0"]);
    p.wait_stdout("the listening line", Duration::from_secs(20), |o| {
        o.iter()
            .any(|l| l.starts_with("listening on http://127.0.0.1:"))
    });
    let port: u16 = p
        .stdout()
        .iter()
        .find_map(|l| l.rsplit(':').next()?.parse().ok())
        .expect("port");
    let (status, index) = get(port, "/");
    assert_eq!(status, 200, "{index}");
    for path in ["/hello", "/healthcheck"] {
        assert!(index.contains(path), "/ lists {path}: {index}");
    }
    assert_eq!(get(port, "/healthcheck"), (200, "OK".to_owned()));
    assert_eq!(get(port, "/hello"), (200, "Hello, World!".to_owned()));
    assert_eq!(get(port, "/nothing").0, 404);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 0);
}
