//! RPC client, server and dispatcher over the in-process fake transport.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fjord_messaging::message::Request;
use fjord_messaging::transport::{Destination, OutgoingMessage};
use fjord_messaging::{Context, Error, RpcClient, RpcServer, Target, Transport};
use fjord_service::Service;
use serde_json::json;
use support::endpoints::{Stats, demo};
use support::{args, wait_until_async};

async fn server(
    t: &Transport,
    topic: &str,
    name: &str,
    stats: Arc<Stats>,
    pool: usize,
) -> RpcServer {
    let s = RpcServer::builder(t, Target::new(topic).with_server(name))
        .endpoint(demo(name, stats))
        .executor_pool_size(pool)
        .build()
        .unwrap();
    s.start().await.unwrap();
    s
}

#[tokio::test]
async fn call_cast_and_results() {
    let t = Transport::fake();
    let stats = Arc::new(Stats::default());
    let s = server(&t, "t", "s1", stats.clone(), 64).await;
    let c = RpcClient::new(&t, Target::new("t"));
    let ctx = Context::new();
    assert_eq!(
        c.call(&ctx, "echo", args(json!({"value": {"a": [1, "x"]}})))
            .await
            .unwrap(),
        json!({"a": [1, "x"]})
    );
    assert_eq!(
        c.call(&ctx, "add", args(json!({"a": 2, "b": 40})))
            .await
            .unwrap(),
        json!(42)
    );
    c.cast(&ctx, "record", args(json!({}))).await.unwrap();
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .casts
            .load(Ordering::SeqCst)
            == 1)
        .await
    );
    s.stop(true).await;
    s.wait().await;
}

#[tokio::test]
async fn context_travels_both_ways() {
    let t = Transport::fake();
    let s = server(&t, "t", "s1", Arc::default(), 64).await;
    let c = RpcClient::new(&t, Target::new("t"));
    let ctx = Context::new()
        .with("user_id", "u1")
        .with("roles", json!(["admin"]));
    let got = c.call(&ctx, "ctx", args(json!({}))).await.unwrap();
    assert_eq!(got, json!({"user_id": "u1", "roles": ["admin"]}));
    s.stop(true).await;
}

#[tokio::test]
async fn remote_errors_keep_class_and_module() {
    let t = Transport::fake();
    let s = server(&t, "t", "s1", Arc::default(), 64).await;
    let c = RpcClient::new(&t, Target::new("t"));
    let ctx = Context::new();
    let e = c
        .call(&ctx, "fail", args(json!({"message": "nope"})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("ValueError", "builtins") && r.is_trusted());
    assert_eq!(r.message(), "nope");

    let e = c.call(&ctx, "missing", args(json!({}))).await.unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("NoSuchMethod", "oslo_messaging.rpc.dispatcher"));
    assert_eq!(r.message(), "Endpoint does not support RPC method missing");
    assert!(!r.is_trusted());

    let e = c.call(&ctx, "_private", args(json!({}))).await.unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("NoSuchMethod", "oslo_messaging.rpc.dispatcher"));

    let e = c
        .prepare()
        .with_version("3.0")
        .unwrap()
        .call(&ctx, "echo", args(json!({})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("UnsupportedVersion", "oslo_messaging.rpc.dispatcher"));
    assert_eq!(
        r.message(),
        "Endpoint does not support RPC version 3.0. Attempted method: echo"
    );

    let e = c
        .prepare()
        .with_namespace("other")
        .call(&ctx, "echo", args(json!({})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert_eq!(r.class(), "UnsupportedVersion");

    let e = c
        .call(&ctx, "add", args(json!({"a": 1})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("TypeError", "builtins"));
    s.stop(true).await;
}

#[tokio::test]
async fn timeout_names_target_and_method() {
    let t = Transport::fake();
    let c = RpcClient::new(&t, Target::new("nobody_home")).with_timeout(Duration::from_millis(200));
    let e = c
        .call(&Context::new(), "ping_me", args(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::Timeout, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("nobody_home") && text.contains("ping_me"),
        "{text}"
    );
}

#[tokio::test]
async fn to_server_and_fanout() {
    let t = Transport::fake();
    let stats = Arc::new(Stats::default());
    let s1 = server(&t, "t", "s1", stats.clone(), 64).await;
    let s2 = server(&t, "t", "s2", stats.clone(), 64).await;
    let c = RpcClient::new(&t, Target::new("t"));
    let ctx = Context::new();
    for _ in 0..3 {
        assert_eq!(
            c.prepare()
                .with_server("s2")
                .call(&ctx, "whoami", args(json!({})))
                .await
                .unwrap(),
            json!("s2")
        );
    }
    c.prepare()
        .with_fanout(true)
        .cast(&ctx, "record", args(json!({})))
        .await
        .unwrap();
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .casts
            .load(Ordering::SeqCst)
            == 2)
        .await
    );
    // A fanout call is refused locally.
    let e = c
        .prepare()
        .with_fanout(true)
        .call(&ctx, "echo", args(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::InvalidTarget, "{e}");
    // Topic calls go round-robin to both servers.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..6 {
        seen.insert(c.call(&ctx, "whoami", args(json!({}))).await.unwrap());
    }
    assert_eq!(seen.len(), 2);
    s1.stop(true).await;
    s2.stop(true).await;
}

#[tokio::test]
async fn version_cap_and_can_send_version() {
    let t = Transport::fake();
    let c = RpcClient::new(&t, Target::new("t").with_version("1.3"));
    assert!(c.can_send_version(None));
    let capped = c.prepare().with_version_cap("1.2");
    assert!(!capped.can_send_version(None));
    assert!(capped.can_send_version(Some("1.1")));
    let e = capped
        .cast(&Context::new(), "m", args(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::VersionCap, "{e}");
    assert!(c.prepare().with_version("bogus").is_err());
    assert!(
        RpcClient::new(&t, Target::default())
            .cast(&Context::new(), "m", args(json!({})))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn executor_pool_bounds_concurrency() {
    let t = Transport::fake();
    let stats = Arc::new(Stats::default());
    let s = server(&t, "t", "s1", stats.clone(), 2).await;
    let c = RpcClient::new(&t, Target::new("t"));
    let mut calls = Vec::new();
    for _ in 0..6 {
        let c = c.clone();
        calls.push(tokio::spawn(async move {
            c.call(&Context::new(), "sleep", args(json!({"seconds": 0.1})))
                .await
        }));
    }
    for h in calls {
        h.await.unwrap().unwrap();
    }
    assert_eq!(stats.max_running.load(Ordering::SeqCst), 2);
    s.stop(true).await;
}

#[tokio::test]
async fn call_monitor_heartbeats_keep_a_long_call_alive() {
    let t = Transport::fake();
    let s = server(&t, "t", "s1", Arc::default(), 64).await;
    let c = RpcClient::new(&t, Target::new("t")).with_call_monitor_timeout(Duration::from_secs(2));
    // Longer than the monitor timeout: only heartbeats keep it alive.
    let got = c
        .call(&Context::new(), "sleep", args(json!({"seconds": 2.6})))
        .await
        .unwrap();
    assert_eq!(got, json!("slept 2.6"));
    s.stop(true).await;
}

#[tokio::test]
async fn duplicates_and_bad_messages_are_dropped_and_serving_goes_on() {
    let t = Transport::fake();
    let stats = Arc::new(Stats::default());
    let s = server(&t, "t", "s1", stats.clone(), 64).await;
    let dest = Destination::Topic {
        exchange: "openstack".into(),
        routing_key: "t".into(),
    };
    let body = Request::cast("record", args(json!({}))).encode();
    for b in [
        body.clone(),
        body,
        b"not json".to_vec(),
        br#"{"oslo.version": "3.0", "oslo.message": "{}"}"#.to_vec(),
    ] {
        t.driver()
            .send(&dest, OutgoingMessage::new(b))
            .await
            .unwrap();
    }
    let c = RpcClient::new(&t, Target::new("t"));
    assert_eq!(
        c.call(&Context::new(), "echo", args(json!({"value": 5})))
            .await
            .unwrap(),
        json!(5)
    );
    assert_eq!(stats.casts.load(Ordering::SeqCst), 1, "the duplicate ran");
    s.stop(true).await;
}

#[tokio::test]
async fn stop_wait_and_restart() {
    let t = Transport::fake();
    let stats = Arc::new(Stats::default());
    let s = server(&t, "t", "s1", stats.clone(), 64).await;
    let c = RpcClient::new(&t, Target::new("t"));
    // A call in flight finishes during a graceful stop.
    let c2 = c.clone();
    let slow = tokio::spawn(async move {
        c2.call(&Context::new(), "sleep", args(json!({"seconds": 0.3})))
            .await
    });
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .running
            .load(Ordering::SeqCst)
            == 1)
        .await
    );
    s.stop(true).await;
    s.wait().await;
    assert_eq!(slow.await.unwrap().unwrap(), json!("slept 0.3"));
    // The fanout queue is gone; topic and server queues stay.
    let s2 = RpcServer::builder(&t, Target::new("t").with_server("s1"))
        .endpoint(demo("s1", stats))
        .build()
        .unwrap();
    s.reset().await.unwrap();
    s.start().await.unwrap();
    assert_eq!(
        c.call(&Context::new(), "echo", args(json!({"value": 1})))
            .await
            .unwrap(),
        json!(1)
    );
    s.stop(false).await;
    s.wait().await;
    drop(s2);
    assert!(
        RpcServer::builder(&t, Target::new("t")).build().is_err(),
        "server name required"
    );
}

#[tokio::test]
async fn call_monitor_fails_fast_without_heartbeats() {
    use fjord_messaging::transport::ListenSpec;
    let t = Transport::fake();
    // A "server" that consumes and never answers.
    let listener = t
        .driver()
        .listen(ListenSpec::Rpc {
            exchange: "openstack".into(),
            topic: "silent".into(),
            server: "s".into(),
        })
        .await
        .unwrap();
    let c = RpcClient::new(&t, Target::new("silent"))
        .with_timeout(Duration::from_secs(30))
        .with_call_monitor_timeout(Duration::from_secs(1));
    let started = std::time::Instant::now();
    let e = c
        .call(&Context::new(), "m", args(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(listener);
}

#[tokio::test]
async fn a_result_then_an_empty_ending_reply_gives_the_result() {
    // Pre-Mitaka servers (WIRE.md §6.2 step 6) send the result (or the
    // failure) in a first message and `ending` in a second, empty one.
    use fjord_messaging::RemoteError;
    use fjord_messaging::message::encode_envelope;
    use fjord_messaging::transport::ListenSpec;
    let t = Transport::fake();
    let mut listener = t
        .driver()
        .listen(ListenSpec::Rpc {
            exchange: "openstack".into(),
            topic: "old".into(),
            server: "s".into(),
        })
        .await
        .unwrap();
    let driver = t.driver().clone();
    let old_server = tokio::spawn(async move {
        while let Some(m) = listener.receiver.recv().await {
            m.acker.ack().await;
            let req = Request::decode(m.content_type.as_deref(), &m.body).unwrap();
            let (id, queue) = (req.msg_id.unwrap(), req.reply_q.unwrap());
            let first = match req.method.as_str() {
                "ok" => json!({"result": 5, "failure": null, "ending": false, "_msg_id": id}),
                _ => json!({
                    "result": null,
                    "failure": RemoteError::value_error("boom").to_failure_json(),
                    "ending": false,
                    "_msg_id": id,
                }),
            };
            let last = json!({"result": null, "failure": null, "ending": true, "_msg_id": id});
            for reply in [first, last] {
                let mut msg = OutgoingMessage::new(encode_envelope(reply.as_object().unwrap()));
                msg.mandatory = true;
                let dest = Destination::Reply {
                    queue: queue.clone(),
                };
                driver.send(&dest, msg).await.unwrap();
            }
        }
    });
    let c = RpcClient::new(&t, Target::new("old")).with_timeout(Duration::from_secs(10));
    let got = c.call(&Context::new(), "ok", args(json!({}))).await;
    assert_eq!(got.unwrap(), json!(5));
    let e = c
        .call(&Context::new(), "fail", args(json!({})))
        .await
        .unwrap_err();
    assert!(
        e.remote().is_some_and(|r| r.is("ValueError", "builtins")),
        "{e}"
    );
    old_server.abort();
}
