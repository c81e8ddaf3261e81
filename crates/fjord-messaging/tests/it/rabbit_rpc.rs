//! RPC over the real RabbitMQ (127.0.0.1:5672): call, cast, fanout,
//! errors, timeouts and correlation under concurrency.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fjord_messaging::{Context, Error, RpcClient, RpcServer, Target, Transport};
use fjord_service::Service;
use serde_json::json;
use support::endpoints::{Stats, demo};
use support::{args, rabbit_transport, unique, wait_until_async};

async fn server(t: &Transport, topic: &str, name: &str, stats: Arc<Stats>) -> RpcServer {
    let s = RpcServer::builder(t, Target::new(topic).with_server(name))
        .endpoint(demo(name, stats))
        .build()
        .unwrap();
    s.start().await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_cast_fanout_and_errors() {
    if !support::rabbit("call_cast_fanout_and_errors") {
        return;
    }
    let topic = unique("fjt_rpc");
    let (ts, tc) = (rabbit_transport(""), rabbit_transport(""));
    let stats = Arc::new(Stats::default());
    let s1 = server(&ts, &topic, "s1", stats.clone()).await;
    let s2 = server(&ts, &topic, "s2", stats.clone()).await;
    let c = RpcClient::new(&tc, Target::new(&topic)).with_timeout(Duration::from_secs(10));
    let ctx = Context::new().with("user_id", "u1");
    assert_eq!(
        c.call(&ctx, "echo", args(json!({"value": "h\u{e9}llo"})))
            .await
            .unwrap(),
        json!("h\u{e9}llo")
    );
    assert_eq!(
        c.call(&ctx, "add", args(json!({"a": 1, "b": 2})))
            .await
            .unwrap(),
        json!(3)
    );
    assert_eq!(
        c.call(&ctx, "ctx", args(json!({}))).await.unwrap(),
        json!({"user_id": "u1"})
    );
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
    c.cast(&ctx, "record", args(json!({}))).await.unwrap();
    assert!(
        wait_until_async(Duration::from_secs(10), || stats
            .casts
            .load(Ordering::SeqCst)
            == 1)
        .await
    );
    c.prepare()
        .with_fanout(true)
        .cast(&ctx, "record", args(json!({})))
        .await
        .unwrap();
    assert!(
        wait_until_async(Duration::from_secs(10), || stats
            .casts
            .load(Ordering::SeqCst)
            == 3)
        .await
    );

    let e = c
        .call(&ctx, "fail", args(json!({"message": "bad"})))
        .await
        .unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("ValueError", "builtins"));
    let e = c.call(&ctx, "nope", args(json!({}))).await.unwrap_err();
    let Error::Remote(r) = e else { panic!("{e}") };
    assert!(r.is("NoSuchMethod", "oslo_messaging.rpc.dispatcher"));

    s1.stop(true).await;
    s2.stop(true).await;
    s1.wait().await;
    // The fanout queues are deleted on stop; the topic and server queues stay.
    let left = support::queues_like(&topic);
    if !left.is_empty() || support::rabbitmqctl(&["status"]).is_some() {
        assert!(left.iter().all(|l| !l.contains("_fanout_")), "{left:?}");
    }
    tc.close().await;
    ts.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_without_server_times_out() {
    if !support::rabbit("call_without_server_times_out") {
        return;
    }
    let t = rabbit_transport("");
    let topic = unique("fjt_none");
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let e = c
        .call(&Context::new(), "echo", args(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains(&topic) && e.to_string().contains("echo"));
    assert!(started.elapsed() < Duration::from_secs(10));

    // A server that existed and is gone: the request waits in its queue and the call times out.
    let s = server(&t, &topic, "s1", Arc::default()).await;
    s.stop(true).await;
    let e = c
        .call(&Context::new(), "echo", args(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::Timeout, "{e}");
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_are_correlated() {
    if !support::rabbit("concurrent_calls_are_correlated") {
        return;
    }
    let topic = unique("fjt_conc");
    let (ts, tc) = (rabbit_transport(""), rabbit_transport(""));
    let s = server(&ts, &topic, "s1", Arc::default()).await;
    let c = RpcClient::new(&tc, Target::new(&topic)).with_timeout(Duration::from_secs(30));
    let mut handles = Vec::new();
    for i in 0..200 {
        let c = c.clone();
        handles.push(tokio::spawn(async move {
            (
                i,
                c.call(&Context::new(), "echo", args(json!({"value": i})))
                    .await,
            )
        }));
    }
    for h in handles {
        let (i, r) = h.await.unwrap();
        assert_eq!(r.unwrap(), json!(i));
    }
    s.stop(true).await;
    tc.close().await;
    ts.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_fails_with_clear_error() {
    // Port 1 on loopback: nothing listens.
    let mut o = fjord_messaging::MessagingOptions::default();
    o.transport_url = Some("rabbit://guest:Secr3tPw@127.0.0.1:1/".into());
    let t = Transport::new(&o).unwrap();
    let c = RpcClient::new(&t, Target::new("x")).with_retry(Some(0));
    let e = c
        .cast(&Context::new(), "m", args(json!({})))
        .await
        .unwrap_err();
    let text = format!("{e} {e:?}");
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::Connection, "{text}");
    assert!(
        text.contains("127.0.0.1:1") && !text.contains("Secr3tPw"),
        "{text}"
    );
    let s = RpcServer::builder(&t, Target::new("x").with_server("s"))
        .build()
        .unwrap();
    let e = s.start().await.unwrap_err();
    assert!(!e.to_string().contains("Secr3tPw"));
}
