//! Objects between a Python oslo.messaging 18.3.1 + oslo.versionedobjects
//! 3.12.0 client (the venv) and a fjord server with `ObjectSerializer`
//! over the real RabbitMQ: a Flavor goes out as an object and comes back
//! changed; a newer version is refused with `IncompatibleObjectVersion`
//! and a malformed one with `ValueError`, both as the Python client's own
//! exceptions, and the server keeps serving; a backported object reaches
//! Python as its older version.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fjord_messaging::{FnEndpoint, MessagingOptions, RemoteError, RpcServer, Target, Transport};
use fjord_objects::serializer::to_remote_error;
use fjord_objects::{Object, ObjectSerializer, Registry, VersionedObject};
use fjord_service::Service;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::defs::new::Flavor;

const URL: &str = "rabbit://guest:guest@127.0.0.1:5672/";

fn flavor_arg(args: &serde_json::Map<String, Value>) -> Result<Flavor, RemoteError> {
    let v = args
        .get("flavor")
        .ok_or_else(|| RemoteError::type_error("missing flavor"))?;
    Flavor::obj_from_primitive(v).map_err(|e| to_remote_error(&e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_trades_objects_with_fjord_server() {
    let test = "interop_python::python_client_trades_objects_with_fjord_server";
    if !fjord_test_support::skip::rabbit(test) {
        return;
    }
    let Some(py) = fjord_test_support::venv_python(test, "oslo_versionedobjects") else {
        return;
    };
    let topic = fjord_test_support::unique("fjt_objects");
    let mut o = MessagingOptions::default();
    o.transport_url = Some(URL.to_string());
    let t = Transport::new(&o).expect("transport");
    let mut registry = Registry::new("nova_object", "nova");
    registry.register::<Flavor>();
    let endpoint = FnEndpoint::builder()
        .method("flavor_rename", |_ctx, args| async move {
            let mut f = flavor_arg(&args)?;
            let name = args.get("name").and_then(Value::as_str).unwrap_or_default();
            f.obj_reset_changes(None, false);
            f.set_name(name.to_string())
                .map_err(|e| to_remote_error(&e))?;
            Ok(f.obj_to_primitive())
        })
        .method("flavor_make", |_ctx, args| async move {
            let mut f = Flavor::default();
            f.set_id(9).map_err(|e| to_remote_error(&e))?;
            f.set_name("made".to_string())
                .map_err(|e| to_remote_error(&e))?;
            f.set_description("new in 1.2".to_string())
                .map_err(|e| to_remote_error(&e))?;
            let target = args.get("target_version").and_then(Value::as_str);
            f.obj_to_primitive_with(target, None)
                .map_err(|e| to_remote_error(&e))
        })
        .build();
    let server = RpcServer::builder(&t, Target::new(&topic).with_server("s1"))
        .endpoint(endpoint)
        .serializer(Arc::new(ObjectSerializer::new(registry)))
        .build()
        .expect("server");
    server.start().await.expect("server starts");

    let script = format!(
        "{}/tests/python/py_objects_client.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let child = Command::new(&py)
        .args([script.as_str(), URL, &topic])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python starts");
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("python client hung")
        .expect("python client ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python client failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));

    assert_eq!(
        got["renamed"],
        json!({"class": "Flavor", "version": "1.2", "name": "m1.renamed", "changed": ["name"],
               "id": 1, "created_at": "2024-02-29T13:45:30+00:00",
               "extra_specs": {"hw:cpu_policy": "dedicated"}})
    );
    // oslo.messaging rebuilds the remote exception as a subclass of the
    // real one, named `<Class>_Remote`.
    assert_eq!(
        got["newer"],
        json!({"type": "IncompatibleObjectVersion_Remote",
               "module": "oslo_versionedobjects.exception_Remote",
               "first_line": "Version 1.3 of Flavor is not supported, supported version is 1.2",
               "is_incompatible": true,
               "kwargs": {"objname": "Flavor", "objver": "1.3", "supported": "1.2"}})
    );
    assert_eq!(got["bad"]["type"], "ValueError", "{got}");
    assert_eq!(got["bad"]["is_value_error"], true, "{got}");
    assert_eq!(
        got["bad"]["first_line"],
        "invalid literal for int() with base 10: 'many'"
    );
    assert_eq!(
        got["made"],
        json!({"version": "1.1", "has_description": false, "name": "made"})
    );
    server.stop(true).await;
    t.close().await;
}
