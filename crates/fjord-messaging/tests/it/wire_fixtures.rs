//! Golden tests against the messages captured from Python oslo.messaging
//! 18.3.1 (`shared/wire-fixtures/vectors.json`): every request and reply
//! decodes, re-encodes to the same inner message, and replaying each
//! captured request through our dispatcher gives the captured reply.

use crate::support;

use std::sync::Arc;

use fjord_messaging::message::{Reply, Request, decode_body};
use fjord_messaging::{Dispatcher, Endpoint, FnEndpoint, RemoteError};
use serde_json::{Map, Value, json};

fn vectors(test: &str) -> Option<Vec<Value>> {
    let dir = support::fixtures(test)?;
    let v = support::load(&dir, "vectors.json");
    Some(v["vectors"].as_array().cloned().unwrap_or_default())
}

fn content_type(v: &Value) -> Option<&str> {
    v["properties"]["content_type"].as_str()
}

/// The endpoints of the capture script, rebuilt in Rust.
fn capture_dispatcher() -> Dispatcher {
    let main = FnEndpoint::builder()
        .method("echo", |ctx, args| async move {
            let mut seen = ctx.values().clone();
            seen.insert(
                "client_timeout".into(),
                ctx.client_timeout().cloned().unwrap_or(Value::Null),
            );
            Ok(json!({"ctxt_seen_by_endpoint": seen, "args": args}))
        })
        .method("add", |_ctx, args| async move {
            let n = |k: &str| args.get(k).and_then(Value::as_i64).unwrap_or(0);
            Ok(json!(n("a") + n("b")))
        })
        .method("raise_builtin", |_ctx, _args| async move {
            Err(RemoteError::value_error("('bad value', 42)")
                .with_args(vec![json!("bad value"), json!(42)]))
        })
        .method("raise_custom", |_ctx, _args| async move {
            let mut kw = Map::new();
            kw.insert("code".into(), json!(418));
            kw.insert("reason".into(), json!("teapot"));
            Err(
                RemoteError::new("CaptureError", "capture_exceptions", "custom failure")
                    .with_kwargs(kw),
            )
        })
        .method("_private", |_ctx, _args| async move {
            Ok(json!("must not run"))
        })
        .build();
    let ns = FnEndpoint::builder()
        .namespace("capture_ns")
        .version("2.1")
        .method("ns_method", |_ctx, args| async move {
            let x = args.get("x").and_then(Value::as_i64).unwrap_or(0);
            Ok(json!({"namespace": "capture_ns", "x_times_2": x * 2}))
        })
        .build();
    let eps: Vec<Arc<dyn Endpoint>> = vec![Arc::new(main), Arc::new(ns)];
    Dispatcher::new(eps)
}

#[test]
fn every_request_decodes_and_reencodes_identically() {
    let Some(vs) = vectors("every_request_decodes_and_reencodes_identically") else {
        return;
    };
    let mut n = 0;
    for v in vs
        .iter()
        .filter(|v| v["role"].as_str().unwrap_or("").ends_with("_request"))
    {
        let body = v["body_text"].as_str().unwrap().as_bytes();
        let inner = decode_body(content_type(v), body).unwrap();
        assert_eq!(
            Value::Object(inner.clone()),
            v["inner"],
            "{}",
            v["scenario"]
        );
        let req = Request::from_inner(inner.clone()).unwrap();
        assert_eq!(req.is_call, v["role"] == "call_request");
        assert_eq!(req.to_inner(), inner, "{}", v["scenario"]);
        // And back through our own envelope.
        let again = decode_body(Some("application/json"), &req.encode()).unwrap();
        assert_eq!(again, inner);
        n += 1;
    }
    assert!(n >= 15, "only {n} requests");
}

#[test]
fn every_reply_decodes() {
    let Some(vs) = vectors("every_reply_decodes") else {
        return;
    };
    let mut n = 0;
    for v in vs
        .iter()
        .filter(|v| v["role"].as_str().unwrap_or("").starts_with("reply"))
    {
        let body = v["body_text"].as_str().unwrap().as_bytes();
        let inner = decode_body(content_type(v), body).unwrap();
        let reply = Reply::from_inner(&inner, &[]).unwrap();
        assert_eq!(reply.msg_id, v["inner"]["_msg_id"].as_str().unwrap());
        match v["role"].as_str().unwrap() {
            "reply_heartbeat" => {
                assert!(!reply.ending && reply.result.is_null() && reply.failure.is_none())
            }
            "reply_failure" => {
                let f = reply.failure.clone().expect("failure");
                assert!(!f.class().is_empty() && !f.traceback().is_empty());
                assert!(f.traceback().iter().all(|l| l.ends_with('\n')));
            }
            _ => assert!(reply.ending && reply.failure.is_none()),
        }
        // The reply we would write carries the same fields.
        let mut ours = reply.clone();
        ours.unique_id = None;
        let mine = ours.to_inner();
        for k in ["result", "ending", "_msg_id"] {
            assert_eq!(mine[k], inner[k], "{} {k}", v["scenario"]);
        }
        assert!(mine["failure"].is_null() || mine["failure"].is_string());
        n += 1;
    }
    assert!(n >= 14, "only {n} replies");
}

#[test]
fn failure_modules_and_trust() {
    let Some(vs) = vectors("failure_modules_and_trust") else {
        return;
    };
    let custom = vs
        .iter()
        .find(|v| {
            v["scenario"] == "call_remote_custom_exception_allowed" && v["role"] == "reply_failure"
        })
        .unwrap();
    let failure = custom["inner"]["failure"].as_str().unwrap();
    let untrusted = RemoteError::from_failure_json(failure, &[]).unwrap();
    assert!(untrusted.is("CaptureError", "capture_exceptions"));
    assert!(!untrusted.is_trusted());
    assert_eq!(untrusted.kwargs()["code"], json!(418));
    let trusted = RemoteError::from_failure_json(failure, &["capture_exceptions".into()]).unwrap();
    assert!(trusted.is_trusted());
}

#[tokio::test]
async fn replaying_captured_requests_gives_captured_replies() {
    let Some(vs) = vectors("replaying_captured_requests_gives_captured_replies") else {
        return;
    };
    let d = capture_dispatcher();
    let mut checked = 0;
    for req_v in vs.iter().filter(|v| v["role"] == "call_request") {
        let scenario = req_v["scenario"].as_str().unwrap();
        if scenario == "call_monitor_heartbeat" {
            continue; // the `slow` endpoint; heartbeats are tested in rpc_fake
        }
        let inner = decode_body(
            content_type(req_v),
            req_v["body_text"].as_str().unwrap().as_bytes(),
        )
        .unwrap();
        let req = Request::from_inner(inner).unwrap();
        let reply_v = vs
            .iter()
            .find(|v| {
                v["scenario"] == scenario && (v["role"] == "reply" || v["role"] == "reply_failure")
            })
            .unwrap();
        let expected = Reply::from_inner(reply_v["inner"].as_object().unwrap(), &[]).unwrap();
        let ours = Reply::ending(req.msg_id.as_deref().unwrap(), d.dispatch(&req).await);
        // Through the wire format and back, as the Python client would read it.
        let ours = Reply::from_inner(
            &decode_body(Some("application/json"), &ours.encode()).unwrap(),
            &[],
        )
        .unwrap();
        assert_eq!(ours.result, expected.result, "{scenario}");
        assert_eq!(ours.msg_id, expected.msg_id, "{scenario}");
        match (&ours.failure, &expected.failure) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                assert_eq!(a.class(), b.class(), "{scenario}");
                assert_eq!(a.module(), b.module(), "{scenario}");
                assert_eq!(a.message(), b.message(), "{scenario}");
                assert_eq!(a.args(), b.args(), "{scenario}");
                assert_eq!(a.kwargs(), b.kwargs(), "{scenario}");
                assert_eq!(a.traceback().last(), b.traceback().last(), "{scenario}");
            }
            (a, b) => panic!("{scenario}: ours {a:?} expected {b:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 11, "only {checked} scenarios");
}

#[test]
fn call_requests_carry_expiration_and_casts_do_not() {
    // What our RabbitMQ driver must reproduce (checked on the broker in rabbit_wire.rs).
    let Some(vs) = vectors("call_requests_carry_expiration_and_casts_do_not") else {
        return;
    };
    for v in &vs {
        let role = v["role"].as_str().unwrap();
        let p = &v["properties"];
        assert_eq!(p["content_type"], "application/json");
        assert_eq!(p["delivery_mode"], 2);
        assert_eq!(
            p["expiration"].is_string(),
            role == "call_request",
            "{role}"
        );
        assert_eq!(
            v["mandatory"].as_bool().unwrap(),
            role.starts_with("reply"),
            "{role}"
        );
    }
}
