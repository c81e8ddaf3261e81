//! demo-api with no worker anywhere: echo answers 503 after
//! rpc_response_timeout instead of hanging; the rest still works.
use crate::support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use support::Demo;

#[test]
fn echo_without_worker_is_503_after_the_timeout() {
    let mut demo = Demo::start("demo-api", &[("OS_DEFAULT__RPC_RESPONSE_TIMEOUT", "2")]);
    demo.wait_http("/hello", 200, Duration::from_secs(20));
    let t = Instant::now();
    let (status, _, body) = demo.http("POST", "/v1/echo", Some("{}"));
    let took = t.elapsed();
    assert_eq!(status, 503, "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["code"], 503);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(20)), 0);
}
