//! The whole product on the embedded defaults: demo-all serves every
//! endpoint, echoes through a worker process, survives a worker's death,
//! and stops cleanly on SIGTERM.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;
use support::Demo;

#[test]
fn endpoints_echo_respawn_and_clean_stop() {
    whole_product(&[]);
}

/// The same on RabbitMQ and PostgreSQL (one setting each).
#[test]
fn the_same_on_rabbitmq_and_postgresql() {
    if !fjord_test_support::skip::rabbit("the_same_on_rabbitmq_and_postgresql")
        || !fjord_test_support::skip::postgres("the_same_on_rabbitmq_and_postgresql")
    {
        return;
    }
    whole_product(&[
        (
            "OS_DEFAULT__TRANSPORT_URL",
            "rabbit://guest:guest@127.0.0.1:5672/",
        ),
        (
            "OS_DATABASE__CONNECTION",
            "postgresql://postgres@127.0.0.1:5432/test",
        ),
    ]);
}

fn whole_product(env: &[(&str, &str)]) {
    let mut demo = Demo::start("demo-all", env);
    demo.wait_http("/healthcheck", 200, Duration::from_secs(20));

    let (status, ctype, body) = demo.http("GET", "/hello", None);
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (200, "text/plain", "Hello, World!")
    );

    let (status, _, body) = demo.http("GET", "/", None);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["versions"][0]["id"], "v1.0");

    let (status, _, body) = demo.http("GET", "/healthcheck", None);
    assert_eq!((status, body.as_str()), (200, "OK"));

    // Echo goes through the worker process and comes back with its pid.
    let (status, ctype, body) = demo.http("POST", "/v1/echo", Some(r#"{"x": [1, "two"]}"#));
    assert_eq!(status, 200, "{body}\n{}", demo.stderr());
    assert_eq!(ctype, "application/json");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"], serde_json::json!({"x": [1, "two"]}));
    let worker_pid = v["served_by"]["pid"].as_i64().unwrap() as i32;
    assert_ne!(worker_pid, demo.pid(), "served by a worker, not the master");

    // The RPC call carries a request context: the worker logs, and
    // returns, the request id the API answers with, and the caller's
    // global request id.
    let global = "req-0d2b4c6e-8a1f-4e3d-9c5b-7a6f8e9d0c1b";
    let (status, head, body) = support::http_with_headers(
        demo.port,
        "POST",
        "/v1/echo",
        &[("X-OpenStack-Request-ID", global)],
        Some(r#"{"traced": true}"#),
    );
    assert_eq!(status, 200, "{body}\n{}", demo.stderr());
    let request_id = support::header(&head, "x-openstack-request-id").expect("request id header");
    assert!(
        request_id.starts_with("req-") && request_id != global,
        "{head}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["context"]["request_id"], request_id.as_str(), "{body}");
    // noauth2 (the default) without X-Auth-Token: admin in project admin.
    assert_eq!(v["context"]["user_id"], "admin", "{body}");
    assert_eq!(
        v["context"]["roles"],
        serde_json::json!(["admin", "member", "reader"])
    );
    let logged = fjord_test_support::wait_until(Duration::from_secs(10), || {
        demo.stderr().lines().any(|l| {
            l.contains(" echo_object ")
                && l.contains(&format!("request_id={request_id}"))
                && l.contains(&format!("global_request_id={global}"))
        })
    });
    assert!(
        logged,
        "no worker log line for echo {request_id}:\n{}",
        demo.stderr()
    );

    // Errors are JSON with the right status.
    let (status, ctype, body) = demo.http("POST", "/v1/echo", Some("not json"));
    assert_eq!(
        (status, ctype.as_str()),
        (400, "application/json"),
        "{body}"
    );
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["code"], 400);
    let (status, _, _) = demo.http("GET", "/v1/nothing", None);
    assert_eq!(status, 404);

    // Both services registered and heart-beat (S3/S4).
    support::wait_services_up(&demo, &["demo-api", "demo-worker"]);

    // Kill the worker: it is respawned and echo works again.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(worker_pid), Signal::SIGKILL).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = demo.http("POST", "/v1/echo", Some("{}"));
        if status == 200 {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_ne!(v["served_by"]["pid"].as_i64().unwrap() as i32, worker_pid);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "echo never recovered: {status} {body}\n{}",
            demo.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    demo.signal(Signal::SIGTERM);
    assert_eq!(
        demo.wait_exit(Duration::from_secs(20)),
        0,
        "{}",
        demo.stderr()
    );
}

#[test]
fn a_bad_value_is_one_clear_error_and_exit_2() {
    let mut demo = std::process::Command::new(env!("CARGO_BIN_EXE_demo-all"))
        .arg("--config-file")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../etc/demo/demo.conf"
        ))
        .env("OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT", "http")
        .output()
        .unwrap();
    assert_eq!(demo.status.code(), Some(2));
    let err = String::from_utf8_lossy(&demo.stderr).into_owned();
    assert!(err.contains("osapi_demo_listen_port"), "{err}");
    demo.stdout.clear();
}
