//! The demo worker's RPC API carries a versioned object: `echo_object`
//! takes a `DemoEcho` primitive and returns it served (host and pid set,
//! changes `host` and `pid`); a malformed primitive is the exception
//! oslo.versionedobjects raises, as a remote error. The worker's service
//! loads object arguments with the demo's serializer (the manager's).

use std::sync::Arc;
use std::time::Duration;

use fjord::messaging::{Context, Endpoint};
use fjord::rpc_service::Manager;
use fjord_demo::objects::DemoEcho;
use fjord_demo::worker::DemoManager;
use fjord_objects::{Object, VersionedObject};
use serde_json::{Value, json};

fn endpoint() -> Arc<dyn Endpoint> {
    let m = DemoManager::new("h1", Arc::new(|| Duration::from_secs(60)));
    let mut eps = m.endpoints();
    assert_eq!(eps.len(), 1);
    eps.remove(0)
}

fn call(
    ep: &Arc<dyn Endpoint>,
    method: &str,
    args: Value,
) -> Result<Value, fjord::messaging::RemoteError> {
    let Value::Object(args) = args else {
        panic!("args must be an object")
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(ep.dispatch(Context::new(), method, args))
}

#[test]
fn echo_object_serves_a_demo_echo() {
    let ep = endpoint();
    assert_eq!(ep.target().version.as_deref(), Some("1.1"));
    let body = json!({"ping": [1, "two", null]});
    let sent = DemoEcho::of(&body).obj_to_primitive();
    assert_eq!(
        sent,
        json!({"fjord_object.name": "DemoEcho", "fjord_object.namespace": "fjord",
               "fjord_object.version": "1.1",
               "fjord_object.data": {"body": body.to_string()},
               "fjord_object.changes": ["body"]})
    );
    let got = call(&ep, "echo_object", json!({ "echo": sent })).unwrap();
    let echo = DemoEcho::obj_from_primitive(&got).unwrap();
    assert_eq!(echo.body_json(), body);
    assert_eq!(echo.host.value().map(String::as_str), Some("h1"));
    assert_eq!(
        echo.pid.value().copied(),
        Some(i64::from(std::process::id()))
    );
    let mut changed: Vec<&str> = echo.obj_what_changed().into_iter().collect();
    changed.sort_unstable();
    assert_eq!(
        changed,
        [
            "host",
            "pid",
            "project_id",
            "request_id",
            "roles",
            "user_id"
        ]
    );
    // The context the worker served it in (1.1 fields).
    assert!(
        echo.request_id
            .value()
            .is_some_and(|r| r.starts_with("req-"))
    );

    // The plain `echo` (for Python callers sending a dict) is unchanged.
    let plain = call(&ep, "echo", json!({"body": body})).unwrap();
    assert_eq!(plain["result"], body);
    assert_eq!(plain["served_by"]["host"], "h1");
}

#[test]
fn echo_object_refuses_malformed_primitives() {
    let ep = endpoint();
    let prim = |version: &str, data: Value| {
        json!({"fjord_object.name": "DemoEcho", "fjord_object.namespace": "fjord",
               "fjord_object.version": version, "fjord_object.data": data})
    };
    let cases = [
        (
            prim("1.2", json!({"body": "1"})),
            "IncompatibleObjectVersion",
            "Version 1.2 of DemoEcho is not supported, supported version is 1.1",
        ),
        (
            prim("1.0", json!({"body": null})),
            "ValueError",
            "Field `body' cannot be None",
        ),
        (
            json!({"fjord_object.name": "DemoEcho", "fjord_object.namespace": "fjord",
                "fjord_object.version": "1.0"}),
            "KeyError",
            "'fjord_object.data'",
        ),
        (
            json!({"fjord_object.name": "DemoEcho", "fjord_object.namespace": "nova",
                "fjord_object.version": "1.0", "fjord_object.data": {}}),
            "UnsupportedObjectError",
            "Unsupported object type nova.DemoEcho",
        ),
    ];
    for (bad, class, message) in cases {
        let e = call(&ep, "echo_object", json!({ "echo": bad })).unwrap_err();
        assert_eq!((e.class(), e.message()), (class, message), "{bad}");
    }
    let e = call(&ep, "echo_object", json!({})).unwrap_err();
    assert_eq!(e.class(), "TypeError");
    // And it goes on serving.
    let ok = call(
        &ep,
        "echo_object",
        json!({"echo": DemoEcho::of(&json!(1)).obj_to_primitive()}),
    );
    assert_eq!(
        DemoEcho::from_wire(&ok.unwrap()).unwrap().body_json(),
        json!(1)
    );
}

/// The worker's RpcService serves with the manager's serializer: an echo
/// goes through it, and any argument that is a DemoEcho primitive is
/// loaded and checked before the endpoint runs, even one the endpoint
/// would not read.
#[tokio::test]
async fn the_worker_service_loads_objects_with_the_demo_serializer() {
    use fjord::messaging::{RpcClient, Target, Transport};
    use fjord::rpc_service::RpcService;
    use fjord::service::Service;

    let transport = Transport::fake();
    let manager = DemoManager::new("h1", Arc::new(|| Duration::from_secs(60)));
    let service = RpcService::create("demo-worker", "demo", "h1", &transport, manager).unwrap();
    service.start().await.unwrap();
    let client = RpcClient::new(&transport, Target::new("demo"))
        .with_version("1.1")
        .unwrap();
    let ctx = Context::new();
    let args = |v: Value| v.as_object().cloned().unwrap_or_default();

    let sent = DemoEcho::of(&json!("hi")).obj_to_primitive();
    let got = client
        .call(&ctx, "echo_object", args(json!({ "echo": sent })))
        .await
        .unwrap();
    assert_eq!(DemoEcho::from_wire(&got).unwrap().body_json(), json!("hi"));

    let newer = json!({"fjord_object.name": "DemoEcho", "fjord_object.namespace": "fjord",
                       "fjord_object.version": "1.2", "fjord_object.data": {"body": "1"}});
    let e = client
        .call(&ctx, "echo", args(json!({ "body": newer })))
        .await
        .unwrap_err();
    let remote = e.remote().expect("a remote error");
    assert_eq!(
        (remote.class(), remote.message()),
        (
            "IncompatibleObjectVersion",
            "Version 1.2 of DemoEcho is not supported, supported version is 1.1"
        )
    );
    service.stop(true).await;
    service.wait().await;
}
