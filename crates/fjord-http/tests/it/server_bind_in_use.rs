//! A port already in use is said at once: a warning names the address and
//! how long bind retries, long before the bind timeout ends in an error.
use crate::support;

use std::time::{Duration, Instant};

use fjord_http::server::{HttpService, ServerOptions};
use support::Logs;

#[test]
fn address_in_use_is_warned_at_once_then_an_error() {
    let capture = Logs::global();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let name = format!("inuse{port}");
    let options = ServerOptions::new(&name)
        .listen("127.0.0.1")
        .port(port)
        .bind_timeout(Duration::from_secs(3));
    let started = Instant::now();
    let binding = std::thread::spawn(move || {
        HttpService::bind(options, support::simple_app()).map(|s| s.port())
    });
    let warning =
        format!("{name}: address 127.0.0.1:{port} is already in use; retrying for up to 3 s");
    let deadline = started + Duration::from_secs(2);
    while !capture.text().contains(&warning) {
        assert!(
            Instant::now() < deadline,
            "no warning within 2 s:\n{}",
            capture.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !binding.is_finished(),
        "the warning comes while bind retries"
    );
    let err = binding.join().unwrap().unwrap_err();
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(err.to_string().contains("address already in use"), "{err}");
    drop(taken);
}
