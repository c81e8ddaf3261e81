//! The test endpoints shared by the fake and RabbitMQ tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fjord_messaging::{FnEndpoint, RemoteError, RpcServer, Target, Transport};
use serde_json::{Value, json};

/// Counters the endpoints update.
#[derive(Debug, Default)]
pub struct Stats {
    pub casts: AtomicUsize,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
}

/// An RPC server `s1` on `topic` serving [`demo`], built (not started),
/// with the counters its endpoint updates.
pub fn demo_server(t: &Transport, topic: &str) -> (RpcServer, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let s = RpcServer::builder(t, Target::new(topic).with_server("s1"))
        .endpoint(demo("s1", stats.clone()))
        .build()
        .unwrap();
    (s, stats)
}

/// echo(value), add(a, b), sleep(seconds), fail(message), whoami(), ctx(), record(note), _private().
pub fn demo(name: &str, stats: Arc<Stats>) -> FnEndpoint {
    let name = name.to_string();
    let (s1, s2) = (stats.clone(), stats);
    FnEndpoint::builder()
        .method("echo", |_ctx, args| async move {
            Ok(args.get("value").cloned().unwrap_or(Value::Null))
        })
        .method("add", |_ctx, args| async move {
            let n = |k: &str| {
                args.get(k)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| RemoteError::type_error(format!("add() missing argument {k}")))
            };
            Ok(json!(n("a")? + n("b")?))
        })
        .method("sleep", move |_ctx, args| {
            let s = s1.clone();
            async move {
                let now = s.running.fetch_add(1, Ordering::SeqCst) + 1;
                s.max_running.fetch_max(now, Ordering::SeqCst);
                let secs = args.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                s.running.fetch_sub(1, Ordering::SeqCst);
                Ok(json!(format!("slept {secs}")))
            }
        })
        .method("fail", |_ctx, args| async move {
            let m = args
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("failed");
            Err(RemoteError::value_error(m))
        })
        .method("whoami", move |_ctx, _args| {
            let n = name.clone();
            async move { Ok(json!(n)) }
        })
        .method("ctx", |ctx, _args| async move {
            Ok(Value::Object(ctx.values().clone()))
        })
        .method("record", move |_ctx, _args| {
            let s = s2.clone();
            async move {
                s.casts.fetch_add(1, Ordering::SeqCst);
                Ok(Value::Null)
            }
        })
        .method("_private", |_ctx, _args| async move {
            Ok(json!("must not run"))
        })
        .build()
}
