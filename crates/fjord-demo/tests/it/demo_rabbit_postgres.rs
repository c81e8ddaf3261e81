//! The same binaries on RabbitMQ and PostgreSQL, one setting each (what a
//! split deployment uses): demo-api and demo-worker as separate processes.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;
use support::Demo;

#[test]
fn split_processes_over_rabbitmq_and_postgresql() {
    if !fjord_test_support::skip::rabbit("split_processes_over_rabbitmq_and_postgresql")
        || !fjord_test_support::skip::postgres("split_processes_over_rabbitmq_and_postgresql")
    {
        return;
    }
    let env = [
        (
            "OS_DEFAULT__TRANSPORT_URL",
            "rabbit://guest:guest@127.0.0.1:5672/",
        ),
        (
            "OS_DATABASE__CONNECTION",
            "postgresql://postgres@127.0.0.1:5432/test",
        ),
        ("OS_DEFAULT__HOST", "demo-split-test"),
    ];
    let mut worker = Demo::start("demo-worker", &env);
    let mut api = Demo::start("demo-api", &env);
    api.wait_http("/hello", 200, Duration::from_secs(20));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let v: Value = loop {
        let (status, _, body) = api.http("POST", "/v1/echo", Some(r#"{"over": "rabbit"}"#));
        if status == 200 {
            break serde_json::from_str(&body).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{status} {body}\n{}\n{}",
            api.stderr(),
            worker.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(v["result"]["over"], "rabbit");
    assert_eq!(v["served_by"]["host"], "demo-split-test");
    assert_eq!(
        v["served_by"]["pid"].as_i64().unwrap() as i32,
        worker.pid(),
        "one worker process"
    );
    let services = support::wait_services_up(&api, &["demo-api", "demo-worker"]);
    assert!(
        services["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["host"] == "demo-split-test")
    );
    // The API's master (two workers) shows the records of PostgreSQL.
    let url = fjord_test_support::diagnostics_url(&api.proc.stderr()).expect("diagnostics on");
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut up = Default::default();
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(30), || {
        up = crate::demo_service_up::service_up(port);
        ["demo-api", "demo-worker"]
            .iter()
            .all(|b| up.get(&(b.to_string(), "demo-split-test".to_owned())) == Some(&1.0))
    });
    assert!(ok, "fjord_service_up over PostgreSQL: {up:?}");
    // The password of the transport URL never reaches the logs.
    for log in [api.stderr(), worker.stderr()] {
        assert!(!log.contains("guest:guest"), "password leaked:\n{log}");
    }
    api.signal(Signal::SIGTERM);
    worker.signal(Signal::SIGTERM);
    assert_eq!(api.wait_exit(Duration::from_secs(20)), 0);
    assert_eq!(worker.wait_exit(Duration::from_secs(20)), 0);
}
