//! The request context between fjord and Python oslo.messaging 18.3.1 +
//! oslo.context 6.5.0 (the venv) over the real RabbitMQ, both ways: every
//! field, nova's extra keys and fjord's service identity survive.

use crate::support;

use std::process::Stdio;
use std::time::Duration;

use fjord_messaging::{Context, FnEndpoint, RequestContext, RpcClient, RpcServer, Target};
use fjord_service::Service;
use serde_json::{Value, json};
use support::{args, rabbit_transport, unique};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const URL: &str = "rabbit://guest:guest@127.0.0.1:5672/";

fn script(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The oslo.context attributes of `ctx` (the scripts' `FIELDS`), token
/// exposed: what the two sides compare.
fn fields(ctx: &RequestContext) -> Value {
    json!({
        "request_id": ctx.request_id,
        "global_request_id": ctx.global_request_id,
        "auth_token": ctx.auth_token.as_ref().map(|t| t.expose()),
        "user_id": ctx.user_id,
        "project_id": ctx.project_id,
        "domain_id": ctx.domain_id,
        "user_domain_id": ctx.user_domain_id,
        "project_domain_id": ctx.project_domain_id,
        "user_name": ctx.user_name,
        "project_name": ctx.project_name,
        "domain_name": ctx.domain_name,
        "user_domain_name": ctx.user_domain_name,
        "project_domain_name": ctx.project_domain_name,
        "roles": ctx.roles,
        "is_admin": ctx.is_admin,
        "is_admin_project": ctx.is_admin_project,
        "read_only": ctx.read_only,
        "show_deleted": ctx.show_deleted,
        "resource_uuid": ctx.resource_uuid,
        "system_scope": ctx.system_scope,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_context_reaches_fjord_endpoint() {
    let test = "python_context_reaches_fjord_endpoint";
    if !support::rabbit(test) {
        return;
    }
    let Some(py) = fjord_test_support::venv_python(test, "oslo_context") else {
        return;
    };
    let topic = unique("fjt_ctxs");
    let t = rabbit_transport("");
    let endpoint = FnEndpoint::builder()
        .method("context_fields", |ctx, _args| async move {
            let rctx = RequestContext::try_from(&ctx)?;
            Ok(json!({"fields": fields(&rctx), "to_dict": rctx.to_dict()}))
        })
        .build();
    let server = RpcServer::builder(&t, Target::new(&topic).with_server("s1"))
        .endpoint(endpoint)
        .build()
        .unwrap();
    server.start().await.unwrap();

    let child = Command::new(&py)
        .args([script("py_context_client.py").as_str(), URL, &topic])
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

    // Every attribute of the Python context, as the fjord endpoint rebuilt it.
    assert_eq!(got["got"]["fields"], got["fields"]);
    assert_eq!(got["got"]["fields"]["auth_token"], "gAAAAABpy-token");
    assert_eq!(
        got["got"]["fields"]["roles"],
        json!(["admin", "member", "reader"])
    );
    // fjord's to_dict of it is the dict Python sent, nova's keys included.
    assert_eq!(got["got"]["to_dict"], got["sent"]);
    assert_eq!(
        got["got"]["to_dict"]["service_catalog"][0]["name"],
        "glance"
    );
    // A malformed context is a ValueError for the caller; the server goes on.
    assert_eq!(
        got["bad"],
        json!({"type": "ValueError",
               "first_line": "request context key \"roles\": expected a list of strings or null, got a string"})
    );
    assert_eq!(got["after_bad"], "u-py");

    server.stop(true).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fjord_context_reaches_python_endpoint() {
    let test = "fjord_context_reaches_python_endpoint";
    if !support::rabbit(test) {
        return;
    }
    let Some(py) = fjord_test_support::venv_python(test, "oslo_context") else {
        return;
    };
    let topic = unique("fjt_ctxc");
    let mut child = Command::new(&py)
        .args([script("py_context_server.py").as_str(), URL, &topic])
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

    let mut rctx = RequestContext::new();
    rctx.global_request_id = Some("req-5d1f7a9e-0000-4000-8000-00000000abcd".into());
    rctx.auth_token = Some("gAAAAABrust-token".into());
    rctx.user_id = Some("u-rs".into());
    rctx.project_id = Some("p-rs".into());
    rctx.domain_id = Some("d-rs".into());
    rctx.user_domain_id = Some("ud-rs".into());
    rctx.project_domain_id = Some("pd-rs".into());
    rctx.user_name = Some("bob".into());
    rctx.project_name = Some("proj".into());
    rctx.domain_name = Some("Dom".into());
    rctx.user_domain_name = Some("UDom".into());
    rctx.project_domain_name = Some("PDom".into());
    rctx.roles = vec!["member".into(), "reader".into()];
    rctx.is_admin = true;
    rctx.is_admin_project = false;
    rctx.read_only = true;
    rctx.show_deleted = true;
    rctx.resource_uuid = Some("res-rs".into());
    rctx.system_scope = Some("all".into());
    rctx.service_token = Some("never-sent".into());
    rctx.service_user_id = Some("su".into());
    rctx.service_user_name = Some("nova".into());
    rctx.service_user_domain_id = Some("sud".into());
    rctx.service_user_domain_name = Some("SUD".into());
    rctx.service_project_id = Some("sp".into());
    rctx.service_project_name = Some("service".into());
    rctx.service_project_domain_id = Some("spd".into());
    rctx.service_project_domain_name = Some("SPD".into());
    rctx.service_roles = vec!["service".into()];
    rctx.extra.insert("read_deleted".into(), json!("only"));
    rctx.extra
        .insert("remote_address".into(), json!("127.0.0.1"));

    let t = rabbit_transport("");
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_secs(20));
    let seen = c
        .call(&Context::from(&rctx), "context_fields", args(json!({})))
        .await
        .unwrap();

    // oslo.context's from_dict rebuilds every field it knows.
    assert_eq!(seen["fields"], fields(&rctx));
    // Python's to_dict of it is fjord's, on oslo's keys.
    let ours = rctx.to_dict();
    for key in fjord_context::OSLO_DICT_KEYS {
        assert_eq!(seen["to_dict"][key], ours[key], "{key}");
    }
    // The service identity reaches a Python context that asks for it
    // (FROM_DICT_EXTRA_KEYS), and with it the same policy credentials.
    assert_eq!(
        seen["policy"],
        Value::Object(rctx.to_policy_values()),
        "to_policy_values"
    );
    assert_eq!(
        seen["service_fields"],
        json!({
            "service_user_id": "su", "service_user_name": "nova",
            "service_user_domain_id": "sud", "service_user_domain_name": "SUD",
            "service_project_id": "sp", "service_project_name": "service",
            "service_project_domain_id": "spd", "service_project_domain_name": "SPD",
            "service_roles": ["service"],
        })
    );
    // Unknown keys arrive as sent; the service token never leaves.
    assert_eq!(seen["raw"]["read_deleted"], "only");
    assert_eq!(seen["raw"]["remote_address"], "127.0.0.1");
    assert!(!seen.to_string().contains("never-sent"));
    // And fjord reads back what Python received.
    let raw = seen["raw"].as_object().unwrap().clone();
    let mut back = RequestContext::from_dict(&raw).unwrap();
    back.extra.remove("client_timeout");
    let mut expected = rctx.clone();
    expected.service_token = None;
    assert_eq!(back, expected);

    drop(child.stdin.take());
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    t.close().await;
}
