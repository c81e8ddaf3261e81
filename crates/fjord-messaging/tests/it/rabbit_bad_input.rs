//! Bad input over RabbitMQ: a message without the JSON content type, with a
//! broken envelope, an unknown `oslo.version`, non-JSON, no method, or a
//! duplicate `_unique_id` is rejected or dropped; the server keeps serving.
//! Also: failover past a dead host in a several-host URL.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fjord_messaging::message::Request;
use fjord_messaging::{Context, MessagingOptions, RpcClient, RpcServer, Target, Transport};
use fjord_service::Service;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::json;
use support::endpoints::{demo, demo_server};
use support::{args, rabbit_transport, raw, unique, wait_until_async};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_rejected_and_serving_goes_on() {
    if !support::rabbit("bad_messages_are_rejected_and_serving_goes_on") {
        return;
    }
    let topic = unique("fjt_bad");
    let t = rabbit_transport("");
    let (s, stats) = demo_server(&t, &topic);
    s.start().await.unwrap();
    let (_conn, ch) = raw::channel().await;
    let json_props = || BasicProperties::default().with_content_type("application/json".into());
    let good = Request::cast("record", args(json!({}))).encode();
    let cases: Vec<(Vec<u8>, BasicProperties)> = vec![
        (good.clone(), BasicProperties::default()), // no content type: rejected, lost
        (b"{not json".to_vec(), json_props()),
        (
            br#"{"oslo.version": "3.0", "oslo.message": "{}"}"#.to_vec(),
            json_props(),
        ),
        (
            br#"{"oslo.version": "2.0", "oslo.message": "not json"}"#.to_vec(),
            json_props(),
        ),
        (
            br#"{"oslo.version": "2.0", "oslo.message": "{\"args\": {}}"}"#.to_vec(),
            json_props(),
        ),
        (br#"[1, 2]"#.to_vec(), json_props()),
        (good.clone(), json_props()), // runs
        (good, json_props()),         // duplicate _unique_id: dropped
        (
            br#"{"method": "record", "args": {}}"#.to_vec(),
            json_props(),
        ), // legacy un-enveloped: runs
    ];
    for (body, props) in cases {
        ch.basic_publish(
            "openstack".into(),
            topic.as_str().into(),
            BasicPublishOptions::default(),
            &body,
            props,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_secs(10));
    assert_eq!(
        c.call(&Context::new(), "echo", args(json!({"value": 9})))
            .await
            .unwrap(),
        json!(9)
    );
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .casts
            .load(Ordering::SeqCst)
            == 2)
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stats.casts.load(Ordering::SeqCst),
        2,
        "a bad or duplicate message ran"
    );
    s.stop(true).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_past_a_dead_host() {
    if !support::rabbit("fails_over_past_a_dead_host") {
        return;
    }
    let mut o = MessagingOptions::default();
    o.transport_url = Some("rabbit://guest:guest@127.0.0.1:1,guest:guest@127.0.0.1:5672/".into());
    o.rabbit.rabbit_retry_interval = 0.1;
    let t = Transport::new(&o).unwrap();
    let topic = unique("fjt_failover");
    let s = RpcServer::builder(&t, Target::new(&topic).with_server("s1"))
        .endpoint(demo("s1", Arc::default()))
        .build()
        .unwrap();
    s.start().await.unwrap();
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_secs(10));
    for i in 0..3 {
        assert_eq!(
            c.call(&Context::new(), "echo", args(json!({"value": i})))
                .await
                .unwrap(),
            json!(i)
        );
    }
    s.stop(true).await;
    t.close().await;
}

/// `(messages_ready, messages_unacknowledged)` of `queue`, from rabbitmqctl.
fn queue_counts(queue: &str) -> Option<(u64, u64)> {
    let out = support::rabbitmqctl(&[
        "list_queues",
        "-q",
        "name",
        "messages_ready",
        "messages_unacknowledged",
        "--formatter",
        "json",
    ])?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).ok()?;
    rows.iter().find(|r| r["name"] == queue).map(|r| {
        (
            r["messages_ready"].as_u64().unwrap_or(u64::MAX),
            r["messages_unacknowledged"].as_u64().unwrap_or(u64::MAX),
        )
    })
}

/// A backlog read in one burst is settled with one `basic.ack`
/// (multiple) after the unreadable messages among it were rejected: the
/// good ones run once, the bad ones are gone, nothing stays unacked and
/// the channel survives (a wrong ack would close it and requeue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_acked_in_bursts_around_rejected_messages() {
    if !support::rabbit("a_backlog_is_acked_in_bursts_around_rejected_messages") {
        return;
    }
    if !support::need(
        support::rabbitmqctl(&["status"]).is_some(),
        "a_backlog_is_acked_in_bursts_around_rejected_messages",
        "rabbitmqctl is not usable",
    ) {
        return;
    }
    let topic = unique("fjt_burst");
    let t = rabbit_transport("");
    let (s, stats) = demo_server(&t, &topic);
    // Declares the queues, then stops consuming: the backlog waits.
    s.start().await.unwrap();
    s.stop(true).await;
    s.reset().await.unwrap();
    let (_conn, ch) = raw::channel().await;
    let json_props = || BasicProperties::default().with_content_type("application/json".into());
    let mut good = 0;
    for i in 0..200 {
        let body = if i % 7 == 3 {
            b"{not json".to_vec()
        } else {
            good += 1;
            Request::cast("record", args(json!({}))).encode()
        };
        ch.basic_publish(
            "openstack".into(),
            topic.as_str().into(),
            BasicPublishOptions::default(),
            &body,
            json_props(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
    assert_eq!(queue_counts(&topic), Some((200, 0)), "backlog in place");
    s.start().await.unwrap();
    assert!(
        wait_until_async(Duration::from_secs(20), || stats
            .casts
            .load(Ordering::SeqCst)
            == good)
        .await,
        "ran {} of {good}",
        stats.casts.load(Ordering::SeqCst)
    );
    // Settled: nothing ready (no requeue after a channel error), nothing
    // unacked.
    let mut counts = None;
    for _ in 0..20 {
        counts = queue_counts(&topic);
        if counts == Some((0, 0)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(counts, Some((0, 0)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stats.casts.load(Ordering::SeqCst),
        good,
        "a message ran twice"
    );
    s.stop(true).await;
    t.close().await;
}
