//! The http_hello example answers what its first contact asks: `/` lists
//! the paths, `/healthcheck` is `OK`, `/hello` is `Hello, World!`, and an
//! unknown path is a 404.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

#[test]
fn index_healthcheck_hello_and_404() {
    let mut p = Proc::example("http_hello", &["--workers", "1", "--port", "0"]);
    let port = p.listening_port();
    let (status, index, _) = support::get(port, "/");
    assert_eq!(status, 200, "{index}");
    for path in ["/hello", "/healthcheck"] {
        assert!(index.contains(path), "/ lists {path}: {index}");
    }
    let (status, body, _) = support::get(port, "/healthcheck");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, body, _) = support::get(port, "/hello");
    assert_eq!((status, body.as_str()), (200, "Hello, World!"));
    assert_eq!(support::get(port, "/nothing").0, 404);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 0);
}
