//! M9: interoperation with real Python oslo.messaging 18.3.1 (the venv
//! from `scripts/setup-oslo-venv.sh`) over the real RabbitMQ.

use crate::support;

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fjord_messaging::{Context, Error, RpcClient, Target};
use fjord_service::Service;
use serde_json::{Value, json};
use support::endpoints::demo_server;
use support::{args, rabbit_transport, unique, wait_until_async};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const URL: &str = "rabbit://guest:guest@127.0.0.1:5672/";

fn script(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_calls_fjord_server() {
    let test = "python_client_calls_fjord_server";
    if !support::rabbit(test) {
        return;
    }
    let Some(py) = support::venv_python(test) else {
        return;
    };
    let topic = unique("fjt_pyc");
    let t = rabbit_transport("");
    let (s, stats) = demo_server(&t, &topic);
    s.start().await.unwrap();

    let child = Command::new(&py)
        .args([script("py_client.py").as_str(), URL, &topic, "s1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("python client hung")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python client failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));

    assert_eq!(got["echo"], json!({"a": [1, "h\u{e9}llo"], "n": null}));
    assert_eq!(got["add"], json!(42));
    assert_eq!(got["whoami"], json!("s1"));
    assert_eq!(
        got["ctx"],
        json!({"user_id": "u1", "roles": ["admin"], "auth_token": "dummy"})
    );
    assert_eq!(got["versioned"], json!(3));
    assert_eq!(
        got["fail"],
        json!({"type": "ValueError", "first_line": "bad thing"})
    );
    assert_eq!(
        got["nope"],
        json!({"exc_type": "NoSuchMethod", "value": "Endpoint does not support RPC method nope"})
    );
    assert_eq!(
        got["private"],
        json!({"exc_type": "NoSuchMethod", "value": "Endpoint does not support RPC method _private"})
    );
    assert_eq!(
        got["version"],
        json!({"exc_type": "UnsupportedVersion", "value": "Endpoint does not support RPC version 3.0. Attempted method: echo"})
    );
    assert_eq!(got["monitored"], json!("slept 2.5"));
    // cast, fanout cast and cast to server all arrived.
    assert!(
        wait_until_async(Duration::from_secs(10), || stats
            .casts
            .load(Ordering::SeqCst)
            == 3)
        .await
    );
    s.stop(true).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fjord_client_calls_python_server() {
    let test = "fjord_client_calls_python_server";
    if !support::rabbit(test) {
        return;
    }
    let Some(py) = support::venv_python(test) else {
        return;
    };
    let topic = unique("fjt_pys");
    let mut child = Command::new(&py)
        .args([script("py_server.py").as_str(), URL, &topic, "pys1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.trim() == "ready" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "python server did not get ready");

    let t = rabbit_transport("");
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_secs(20));
    let ctx = Context::new()
        .with("user_id", "u9")
        .with("roles", json!(["member"]));
    assert_eq!(
        c.call(
            &ctx,
            "echo",
            args(json!({"value": {"x": [1, 2.5, "\u{2603}"]}}))
        )
        .await
        .unwrap(),
        json!({"x": [1, 2.5, "\u{2603}"]})
    );
    assert_eq!(
        c.prepare()
            .with_server("pys1")
            .call(&ctx, "add", args(json!({"a": 20, "b": 22})))
            .await
            .unwrap(),
        json!(42)
    );
    assert_eq!(
        c.prepare()
            .with_version("1.3")
            .unwrap()
            .call(&ctx, "echo", args(json!({"value": 1})))
            .await
            .unwrap(),
        json!(1)
    );
    let seen = c.call(&ctx, "ctx", args(json!({}))).await.unwrap();
    assert_eq!(seen["user_id"], json!("u9"));
    assert_eq!(seen["roles"], json!(["member"]));
    assert_eq!(seen["client_timeout"], Value::Null);

    let e = c
        .call(&ctx, "fail", args(json!({"message": "py says no"})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("ValueError", "builtins") && r.is_trusted());
    assert_eq!(r.message(), "py says no");
    assert!(r.traceback().iter().any(|l| l.contains("Traceback")));
    let e = c.call(&ctx, "missing", args(json!({}))).await.unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("NoSuchMethod", "oslo_messaging.rpc.dispatcher") && !r.is_trusted());
    let e = c
        .prepare()
        .with_version("2.0")
        .unwrap()
        .call(&ctx, "echo", args(json!({"value": 1})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert_eq!(r.class(), "UnsupportedVersion");
    let e = c
        .call(&ctx, "add", args(json!({"a": 1})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("TypeError", "builtins"), "{r:?}");

    // Heartbeats from the Python server keep a call longer than the monitor timeout alive.
    let monitored = c
        .prepare()
        .with_call_monitor_timeout(Duration::from_secs(2));
    assert_eq!(
        monitored
            .call(&ctx, "sleep", args(json!({"seconds": 2.5})))
            .await
            .unwrap(),
        json!("slept 2.5")
    );

    // Stop the Python server (close its stdin), bounded; kill by PID if it lingers.
    drop(child.stdin.take());
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    t.close().await;
}
