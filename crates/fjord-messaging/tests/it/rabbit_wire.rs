//! What fjord puts on RabbitMQ, checked with a raw AMQP peer: topology
//! flags and arguments (a broker refuses an inequivalent redeclare, so a
//! successful redeclare with oslo's flags proves they match), message
//! properties, and a raw server answering a fjord client.

use crate::support;

use std::time::{Duration, Instant};

use fjord_messaging::message::{Request, decode_body};
use fjord_messaging::{Context, RpcClient, RpcServer, Target};
use fjord_service::Service;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, ExchangeKind};
use serde_json::json;
use support::{args, rabbit_transport, raw, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_topology_matches_oslo() {
    if !support::rabbit("default_topology_matches_oslo") {
        return;
    }
    let topic = unique("fjt_topo");
    let t = rabbit_transport("");
    let s = RpcServer::builder(&t, Target::new(&topic).with_server("s1"))
        .build()
        .unwrap();
    s.start().await.unwrap();
    let (_conn, ch) = raw::channel().await;
    raw::declare_exchange(&ch, "openstack", ExchangeKind::Topic, false, false)
        .await
        .unwrap();
    raw::declare_queue(&ch, &topic, false, false, &[])
        .await
        .unwrap();
    raw::declare_queue(&ch, &format!("{topic}.s1"), false, false, &[])
        .await
        .unwrap();
    raw::declare_exchange(
        &ch,
        &format!("{topic}_fanout"),
        ExchangeKind::Fanout,
        false,
        true,
    )
    .await
    .unwrap();
    // The check is real: an inequivalent declare is refused.
    assert!(
        raw::declare_queue(&ch, &topic, true, false, &[])
            .await
            .is_err()
    );
    if support::rabbitmqctl(&["status"]).is_some() {
        let fanout = support::queues_like(&format!("{topic}_fanout_"));
        assert_eq!(fanout.len(), 1, "{fanout:?}");
        assert!(
            fanout[0].contains("x-expires") && fanout[0].contains("1800000"),
            "{fanout:?}"
        );
        assert!(fanout[0].contains("false\tfalse"), "{fanout:?}");
        let name = fanout[0].split('\t').next().unwrap();
        assert_eq!(name.len(), topic.len() + "_fanout_".len() + 32);
    }
    s.stop(true).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_and_quorum_options_from_the_url() {
    if !support::rabbit("durable_and_quorum_options_from_the_url") {
        return;
    }
    for (query, durable, extra) in [
        ("?amqp_durable_queues=true", true, vec![]),
        (
            "?rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=3",
            true,
            vec![
                ("x-queue-type", AMQPValue::LongString("quorum".into())),
                ("x-delivery-limit", AMQPValue::LongInt(3)),
            ],
        ),
    ] {
        let topic = unique("fjt_dur");
        let exchange = unique("fjt_x");
        let t = rabbit_transport(query);
        let s = RpcServer::builder(
            &t,
            Target::new(&topic)
                .with_server("s1")
                .with_exchange(&exchange),
        )
        .build()
        .unwrap();
        s.start().await.unwrap();
        let (_conn, ch) = raw::channel().await;
        raw::declare_exchange(&ch, &exchange, ExchangeKind::Topic, durable, false)
            .await
            .unwrap();
        raw::declare_queue(&ch, &topic, durable, false, &extra)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        s.stop(true).await;
        let _ = ch
            .queue_delete(topic.as_str().into(), Default::default())
            .await;
        let _ = ch
            .queue_delete(format!("{topic}.s1").as_str().into(), Default::default())
            .await;
        let _ = ch
            .exchange_delete(exchange.as_str().into(), Default::default())
            .await;
        t.close().await;
    }
}

async fn get(ch: &lapin::Channel, queue: &str) -> lapin::message::BasicGetMessage {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await
            .unwrap()
        {
            m.delivery.ack(BasicAckOptions::default()).await.unwrap();
            return m;
        }
        assert!(Instant::now() < end, "nothing arrived on {queue}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_messages_have_oslo_properties_and_read_raw_replies() {
    if !support::rabbit("client_messages_have_oslo_properties_and_read_raw_replies") {
        return;
    }
    let topic = unique("fjt_props");
    let (_conn, ch) = raw::channel().await;
    raw::declare_exchange(&ch, "openstack", ExchangeKind::Topic, false, false)
        .await
        .unwrap();
    raw::declare_queue(&ch, &topic, false, false, &[])
        .await
        .unwrap();
    raw::bind(&ch, &topic, "openstack", &topic).await.unwrap();

    let t = rabbit_transport("");
    let c = RpcClient::new(&t, Target::new(&topic));
    c.cast(
        &Context::new().with("user", "u"),
        "record",
        args(json!({"note": 1})),
    )
    .await
    .unwrap();
    let m = get(&ch, &topic).await;
    let p = &m.delivery.properties;
    assert_eq!(
        p.content_type().as_ref().map(|s| s.as_str()),
        Some("application/json")
    );
    assert_eq!(
        p.content_encoding().as_ref().map(|s| s.as_str()),
        Some("utf-8")
    );
    assert_eq!(*p.delivery_mode(), Some(2));
    assert_eq!(*p.priority(), Some(0));
    assert_eq!(p.headers().as_ref(), Some(&FieldTable::default()));
    assert!(p.expiration().is_none() && p.correlation_id().is_none() && p.reply_to().is_none());
    let inner = decode_body(Some("application/json"), &m.delivery.data).unwrap();
    assert_eq!(inner["_context_user"], json!("u"));
    assert!(!inner.contains_key("_msg_id") && !inner.contains_key("_timeout"));
    assert_eq!(inner["_unique_id"].as_str().unwrap().len(), 32);

    // A call: expiration is the timeout in ms; a raw server answers it.
    let c7 = c.prepare().with_timeout(Duration::from_secs(7));
    let call = tokio::spawn(async move {
        c7.call(&Context::new(), "add", args(json!({"a": 1, "b": 2})))
            .await
    });
    let m = get(&ch, &topic).await;
    assert_eq!(
        m.delivery
            .properties
            .expiration()
            .as_ref()
            .map(|s| s.as_str()),
        Some("7000")
    );
    let req = Request::from_inner(decode_body(Some("application/json"), &m.delivery.data).unwrap())
        .unwrap();
    assert!(req.is_call && req.timeout.is_none());
    let reply_q = req.reply_q.clone().unwrap();
    assert!(reply_q.starts_with("reply_") && reply_q.len() == 6 + 32);
    // A Python-style reply without _unique_id, failure null.
    let body = json!({"oslo.version": "2.0", "oslo.message": json!({
        "result": 3, "failure": null, "ending": true, "_msg_id": req.msg_id.clone().unwrap()
    }).to_string()});
    let props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2);
    ch.basic_publish(
        "".into(),
        reply_q.as_str().into(),
        BasicPublishOptions {
            mandatory: true,
            immediate: false,
        },
        body.to_string().as_bytes(),
        props,
    )
    .await
    .unwrap()
    .await
    .unwrap();
    assert_eq!(call.await.unwrap().unwrap(), json!(3));
    let _ = ch
        .queue_delete(topic.as_str().into(), Default::default())
        .await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory_publish_to_a_missing_queue_is_unroutable() {
    if !support::rabbit("mandatory_publish_to_a_missing_queue_is_unroutable") {
        return;
    }
    use fjord_messaging::transport::{Destination, OutgoingMessage};
    let t = rabbit_transport("");
    let dest = Destination::Reply {
        queue: unique("reply_missing"),
    };
    let mut msg = OutgoingMessage::new(b"{}".to_vec());
    msg.mandatory = true;
    let e = t.driver().send(&dest, msg).await.unwrap_err();
    assert_eq!(e.kind(), fjord_messaging::ErrorKind::Unroutable, "{e}");
    // The same without mandatory is silently dropped, as with Python.
    t.driver()
        .send(&dest, OutgoingMessage::new(b"{}".to_vec()))
        .await
        .unwrap();
    t.close().await;
}
