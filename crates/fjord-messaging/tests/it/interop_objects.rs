//! Versioned objects over RPC between fjord and Python oslo.messaging
//! 18.3.1 + oslo.versionedobjects 3.12.0 (the venv) over the real
//! RabbitMQ, both ways, with the `rpc_server` / `rpc_client` examples and
//! the Python peers `tests/python/py_objects_*.py` (the same schema:
//! DemoWidget 1.2, DemoPart 1.1, DemoMachine 1.1 in namespace `fjord`).
//!
//! * a Python client sends widgets and nova-like machines (nested object,
//!   list of objects, datetimes, unset fields) and a request context to
//!   the fjord server: what it gets back is what a Python server of the
//!   same API returns, malformed primitives included;
//! * an older Python service (DemoWidget 1.0) gets a backported widget,
//!   by `target_version` and by asking the fjord server as its conductor
//!   (`object_backport_versions`);
//! * the fjord client calls a Python server that returns objects, with a
//!   request context;
//! * a fjord client receiving a newer widget (1.3) has a Python
//!   conductor-style service backport it.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fjord_test_support::Proc;
use serde_json::{Value, json};
use support::unique;

const URL: &str = "rabbit://guest:guest@127.0.0.1:5672/";
const S: &str = "fjord_object";

fn script(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python with oslo.versionedobjects, or `None` after the skip.
fn venv(test: &str) -> Option<PathBuf> {
    if !support::rabbit(test) {
        return None;
    }
    fjord_test_support::venv_python(test, "oslo_versionedobjects")
}

/// The `rpc_server` example on `topic`, once it consumes.
fn fjord_server(topic: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--transport-url", URL, "--topic", topic, "--server", "s1"];
    args.extend_from_slice(extra);
    let p = Proc::example("rpc_server", &args);
    p.wait_stdout("rpc server ready", Duration::from_secs(60), |o| {
        o.iter().any(|l| l == "rpc server ready")
    });
    p
}

/// `py_objects_server.py` on `topic`, once it consumes (it stops when its
/// stdin closes, that is when the `Proc` is dropped).
fn python_server(py: &Path, topic: &str, extra: &[&str]) -> Proc {
    let mut cmd = Command::new(py);
    cmd.arg(script("py_objects_server.py"))
        .args([URL, topic, "s1"])
        .args(extra)
        .stdin(Stdio::piped());
    let p = Proc::spawn(cmd);
    p.wait_stdout("python server ready", Duration::from_secs(60), |o| {
        o.iter().any(|l| l == "ready")
    });
    p
}

/// Runs `py_objects_client.py` with `args` to its end; its JSON output.
fn python_client(py: &Path, args: &[&str]) -> Value {
    let mut cmd = Command::new(py);
    cmd.arg(script("py_objects_client.py")).arg(URL).args(args);
    let mut p = Proc::spawn(cmd);
    let code = p.wait_exit(Duration::from_secs(120));
    assert_eq!(code, 0, "python client failed\n{}", p.output());
    let out = p.stdout();
    serde_json::from_str(out.last().map_or("", String::as_str))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()))
}

/// Runs the `rpc_client` example; its exit code and last stdout line as
/// JSON.
fn fjord_client(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--transport-url", URL, "--timeout", "20"];
    all.extend_from_slice(args);
    let mut p = Proc::example("rpc_client", &all);
    let code = p.wait_exit(Duration::from_secs(60));
    let out = p.stdout();
    let v = serde_json::from_str(out.last().map_or("", String::as_str))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    (code, v)
}

/// A primitive with its `changes` sorted, recursively (they are sets).
fn normal(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out: serde_json::Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), normal(v))).collect();
            if let Some(Value::Array(c)) = out.get_mut(&format!("{S}.changes")) {
                c.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normal).collect()),
        other => other.clone(),
    }
}

fn widget(version: &str, data: Value) -> Value {
    json!({
        format!("{S}.name"): "DemoWidget", format!("{S}.namespace"): "fjord",
        format!("{S}.version"): version, format!("{S}.data"): data,
    })
}

#[test]
fn python_client_trades_objects_with_fjord_server() {
    let test = "python_client_trades_objects_with_fjord_server";
    let Some(py) = venv(test) else {
        return;
    };
    let topic = unique("fjt_objs");
    let server = fjord_server(&topic, &[]);
    let got = python_client(&py, &[&topic, "current"]);

    // The received widget, renamed: other fields and version as received,
    // changes exactly ["name"].
    assert_eq!(got["rename"]["version"], "1.2");
    assert_eq!(got["rename"]["changed"], json!(["name"]));
    assert_eq!(
        got["rename"]["primitive"][format!("{S}.data")],
        json!({"id": 1, "name": "cog", "tags": ["a", "b"], "owner": "alice"})
    );
    // A 1.1 widget stays 1.1 (owner never set).
    assert_eq!(got["rename_11"]["version"], "1.1");
    assert_eq!(got["rename_11"]["set"], json!(["id", "name", "tags"]));
    assert_eq!(got["rename_11"]["changed"], json!(["name"]));
    // widget_make at 1.2 and backported.
    assert_eq!(
        got["make"]["primitive"][format!("{S}.data")],
        json!({"id": 7, "name": "gear", "tags": ["new"], "owner": null})
    );
    assert_eq!(
        got["make"]["changed"],
        json!(["id", "name", "owner", "tags"])
    );
    assert_eq!(got["make_11"]["version"], "1.1");
    assert_eq!(got["make_11"]["set"], json!(["id", "name", "tags"]));
    assert_eq!(got["make_10"]["version"], "1.0");
    assert_eq!(
        got["make_10"]["primitive"][format!("{S}.data")],
        json!({"id": 7, "name": "gear"})
    );
    // The nova-like machine comes back equal, field by field, unset fields
    // still unset, the nested objects' own changes kept.
    assert_eq!(got["machine_same"], true, "{}", got["machine"]);
    assert_eq!(got["machine_bare_same"], true);
    assert_eq!(got["machine_updated_at_set"], false);
    assert_eq!(got["machine_part2_made_at_set"], false);
    let data = &got["machine"]["primitive"][format!("{S}.data")];
    assert_eq!(data["created_at"], "2024-02-29T13:45:30Z");
    assert_eq!(
        data["parts"][0][format!("{S}.data")]["made_at"],
        "2023-01-02T03:04:05Z"
    );
    assert!(data["parts"][1].get(format!("{S}.changes")).is_none());
    // Every key of the Python context survives; fjord adds nova's user_id.
    let sent = got["context_sent"].as_object().unwrap();
    let back = got["context_got"].as_object().unwrap();
    for (k, v) in sent {
        assert_eq!(back.get(k), Some(v), "context key {k}");
    }
    assert_eq!(back["user_id"], "u-py");
    assert_eq!(back.len(), sent.len() + 1, "{back:?}");
    // Malformed primitives: Python's exception for each, the server goes on.
    let bad = &got["bad"];
    let first = |k: &str| bad[k]["first_line"].as_str().unwrap_or("").to_string();
    assert_eq!(bad["missing_data"]["type"], "KeyError");
    assert_eq!(first("missing_data"), "'fjord_object.data'");
    assert_eq!(bad["missing_name_key"]["type"], "KeyError");
    assert_eq!(
        bad["wrong_namespace"],
        json!({"type": "UnsupportedObjectError", "first_line": "Unsupported object type nova.DemoWidget"})
    );
    assert_eq!(
        bad["unknown_object"],
        json!({"type": "UnsupportedObjectError", "first_line": "Unsupported object type DemoGizmo"})
    );
    assert_eq!(
        bad["newer_version"],
        json!({"type": "IncompatibleObjectVersion",
               "first_line": "Version 1.3 of DemoWidget is not supported, supported version is 1.2"})
    );
    assert_eq!(bad["bad_version"]["type"], "ValueError");
    assert!(first("bad_version").contains("one.two"), "{bad}");
    assert_eq!(bad["wrong_field_type"]["type"], "ValueError");
    assert_eq!(
        bad["null_name"],
        json!({"type": "ValueError", "first_line": "Field `name' cannot be None"})
    );
    assert_eq!(bad["tags_not_list"]["type"], "ValueError");
    assert_eq!(got["after_bad"]["changed"], json!(["name"]));
    assert_eq!(
        got["after_bad"]["primitive"][format!("{S}.data")]["name"],
        "still"
    );
    drop(server);

    // The same calls to a Python server of the same API give the same
    // answers, except where fjord's error class differs (a bad version
    // string: packaging's InvalidVersion, a ValueError subclass Python
    // sends as a RemoteError; tags = 5: Python's TypeError from iterating
    // an int) and nova's user_id key in the context.
    let topic = unique("fjt_objs_py");
    let py_server = python_server(&py, &topic, &[]);
    let mut want = python_client(&py, &[&topic, "current"]);
    drop(py_server);
    let mut got = got;
    for v in [&mut got, &mut want] {
        let m = v.as_object_mut().unwrap();
        m["bad"].as_object_mut().unwrap().remove("bad_version");
        m["bad"].as_object_mut().unwrap().remove("tags_not_list");
        m["context_got"].as_object_mut().unwrap().remove("user_id");
    }
    assert_eq!(normal(&got), normal(&want));
}

#[test]
fn older_python_service_gets_backported_objects() {
    let test = "older_python_service_gets_backported_objects";
    let Some(py) = venv(test) else {
        return;
    };
    let topic = unique("fjt_objs_old");
    // The fjord server is also the old service's conductor.
    let _server = fjord_server(&topic, &["--conductor"]);
    let got = python_client(&py, &[&topic, "old", &topic]);

    // Asked for 1.0: loads as is.
    assert_eq!(got["make_10"]["version"], "1.0");
    assert_eq!(got["make_10"]["set"], json!(["id", "name"]));
    // Sent at 1.2 to a 1.0 service with no indirection API: refused.
    assert_eq!(
        got["make_no_indirection"],
        json!({"type": "IncompatibleObjectVersion",
               "first_line": "Version 1.2 of DemoWidget is not supported, supported version is 1.0"})
    );
    // With one, the fjord conductor backports it to the old manifest.
    assert_eq!(got["backport_calls"], json!([{"DemoWidget": "1.0"}]));
    assert_eq!(got["make_backported"]["version"], "1.0");
    assert_eq!(
        got["make_backported"]["primitive"][format!("{S}.data")],
        json!({"id": 7, "name": "gear"})
    );
    assert_eq!(got["make_backported"]["changed"], json!(["id", "name"]));
    // An old machine sent to the newer fjord server comes back at 1.0,
    // its nested objects at their old versions.
    assert_eq!(got["machine_same"], true, "{}", got["machine"]);
    assert_eq!(got["machine"]["version"], "1.0");
    let data = &got["machine"]["primitive"][format!("{S}.data")];
    assert_eq!(data["widget"][format!("{S}.version")], "1.0");
    assert_eq!(data["parts"][0][format!("{S}.version")], "1.0");
}

#[test]
fn fjord_client_calls_python_server_with_objects() {
    let test = "fjord_client_calls_python_server_with_objects";
    let Some(py) = venv(test) else {
        return;
    };
    let topic = unique("fjt_objc");
    let _server = python_server(&py, &topic, &[]);
    let call = |method: &str, args: Value| {
        fjord_client(&[
            "--topic",
            &topic,
            "--objects",
            "call",
            method,
            &args.to_string(),
        ])
    };

    let (code, made) = call("widget_make", json!({"id": 7, "name": "gear"}));
    assert_eq!(code, 0, "{made}");
    assert_eq!(
        normal(&made),
        normal(&json!({
            "fjord_object.name": "DemoWidget", "fjord_object.namespace": "fjord",
            "fjord_object.version": "1.2",
            "fjord_object.data": {"id": 7, "name": "gear", "tags": ["new"], "owner": null},
            "fjord_object.changes": ["id", "name", "owner", "tags"],
        }))
    );
    let (code, old) = call(
        "widget_make",
        json!({"id": 7, "name": "gear", "target_version": "1.0"}),
    );
    assert_eq!(code, 0, "{old}");
    assert_eq!(old[format!("{S}.version")], "1.0");
    assert_eq!(old[format!("{S}.data")], json!({"id": 7, "name": "gear"}));

    let sent = widget("1.1", json!({"id": 3, "name": "a", "tags": ["t"]}));
    let (code, renamed) = call("widget_rename", json!({"widget": sent, "name": "b"}));
    assert_eq!(code, 0, "{renamed}");
    let mut want = widget("1.1", json!({"id": 3, "name": "b", "tags": ["t"]}));
    want[format!("{S}.changes")] = json!(["name"]);
    assert_eq!(renamed, want);

    // A nova-like machine: Python loads it and sends it back unchanged.
    let machine = json!({
        "fjord_object.name": "DemoMachine", "fjord_object.namespace": "fjord",
        "fjord_object.version": "1.1",
        "fjord_object.data": {
            "uuid": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "name": "m",
            "created_at": "2024-02-29T13:45:30Z",
            "widget": widget("1.2", json!({"id": 1, "name": "w", "tags": [], "owner": null})),
            "parts": [{
                "fjord_object.name": "DemoPart", "fjord_object.namespace": "fjord",
                "fjord_object.version": "1.1",
                "fjord_object.data": {"id": 1, "label": "p", "made_at": "2023-01-02T03:04:05Z"},
                "fjord_object.changes": ["label"],
            }],
            "metadata": {"k": "v"}, "note": null,
        },
        "fjord_object.changes": ["name", "parts"],
    });
    let (code, echoed) = call("machine_echo", json!({"machine": machine}));
    assert_eq!(code, 0, "{echoed}");
    assert_eq!(normal(&echoed), normal(&machine));

    // A malformed primitive: the Python server's remote error.
    let bad = json!({"widget": {"fjord_object.name": "DemoWidget",
        "fjord_object.namespace": "nova", "fjord_object.version": "1.0",
        "fjord_object.data": {}}, "name": "x"});
    let (code, err) = call("widget_rename", bad);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        json!({"error": {"class": "UnsupportedObjectError",
                         "module": "oslo_versionedobjects.exception",
                         "message": "Unsupported object type nova.DemoWidget"}})
    );

    // The request context reaches the Python endpoint.
    let ctx = json!({"user": "u-rs", "project_id": "p-rs", "roles": ["reader"],
                     "request_id": "req-5d1f7a9e-0000-4000-8000-00000000abcd",
                     "global_request_id": "req-5d1f7a9e-1111-4000-8000-00000000abcd",
                     "is_admin": true, "read_only": true, "auth_token": "tok-rs"});
    let (code, seen) = fjord_client(&[
        "--topic",
        &topic,
        "--context",
        &ctx.to_string(),
        "call",
        "context_fields",
    ]);
    assert_eq!(code, 0, "{seen}");
    for (k, v) in ctx.as_object().unwrap() {
        assert_eq!(&seen[k], v, "context key {k}: {seen}");
    }
    assert_eq!(seen["user_identity"], "u-rs p-rs - - -");
}

#[test]
fn fjord_client_has_python_conductor_backport_newer_object() {
    let test = "fjord_client_has_python_conductor_backport_newer_object";
    let Some(py) = venv(test) else {
        return;
    };
    let topic = unique("fjt_objn");
    // A newer Python service (DemoWidget 1.3) that is also a conductor.
    let _server = python_server(&py, &topic, &["--release", "newer", "--conductor"]);
    let args = json!({"id": 9, "name": "new"}).to_string();

    // Without a conductor the 1.3 widget cannot be loaded by fjord (1.2).
    let (code, err) = fjord_client(&["--topic", &topic, "--objects", "call", "widget_make", &args]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        json!({"error": {"class": "IncompatibleObjectVersion",
                         "module": "oslo_versionedobjects.exception",
                         "message": "Version 1.3 of DemoWidget is not supported, supported version is 1.2"}})
    );
    // With one, the Python conductor backports it to fjord's 1.2.
    let (code, got) = fjord_client(&[
        "--topic",
        &topic,
        "--conductor-topic",
        &topic,
        "call",
        "widget_make",
        &args,
    ]);
    assert_eq!(code, 0, "{got}");
    assert_eq!(got[format!("{S}.version")], "1.2");
    assert_eq!(
        got[format!("{S}.data")],
        json!({"id": 9, "name": "new", "tags": ["new"], "owner": null})
    );
}
