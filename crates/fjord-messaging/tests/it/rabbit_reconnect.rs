//! The broker drops every connection of this process: the server resumes
//! consuming by itself, the client reconnects, and a call in flight ends
//! (with its result, or an error) instead of hanging.

use crate::support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fjord_messaging::{Context, RpcClient, Target};
use fjord_service::Service;
use serde_json::json;
use support::endpoints::demo_server;
use support::{args, rabbit_transport, unique, wait_until_async};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_client_recover_after_connections_drop() {
    let test = "server_and_client_recover_after_connections_drop";
    if !support::rabbit_and_ctl(test) {
        return;
    }
    let topic = unique("fjt_reconn");
    let (ts, tc) = (rabbit_transport(""), rabbit_transport(""));
    let (s, stats) = demo_server(&ts, &topic);
    s.start().await.unwrap();
    let c = RpcClient::new(&tc, Target::new(&topic)).with_timeout(Duration::from_secs(5));
    assert_eq!(
        c.call(&Context::new(), "echo", args(json!({"value": 1})))
            .await
            .unwrap(),
        json!(1)
    );

    // A call in flight when the connections drop.
    let c2 = c.clone();
    let pending = tokio::spawn(async move {
        let started = Instant::now();
        let r = c2
            .call(&Context::new(), "sleep", args(json!({"seconds": 1.0})))
            .await;
        (r, started.elapsed())
    });
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .running
            .load(Ordering::SeqCst)
            == 1)
        .await
    );
    let closed = support::close_my_connections();
    assert!(closed >= 3, "closed only {closed} connections");

    let (r, took) = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .expect("a call in flight hung after the connection dropped")
        .unwrap();
    eprintln!("call in flight during the drop ended after {took:?} with {r:?}");
    assert!(took < Duration::from_secs(7), "took {took:?}: {r:?}");

    // The server consumes again by itself and the client reconnects.
    let end = Instant::now() + Duration::from_secs(30);
    let mut ok = false;
    while Instant::now() < end {
        let c = c.prepare().with_timeout(Duration::from_secs(2));
        if let Ok(v) = c
            .call(&Context::new(), "echo", args(json!({"value": 2})))
            .await
        {
            assert_eq!(v, json!(2));
            eprintln!(
                "recovered {:?} after the drop",
                Instant::now() + Duration::from_secs(30) - end
            );
            ok = true;
            break;
        }
    }
    assert!(
        ok,
        "no call succeeded within 30 s after the connections dropped"
    );
    s.stop(true).await;
    s.wait().await;
    tc.close().await;
    ts.close().await;
}

/// A listener whose consumer is busy (its channel to the consumer is full)
/// still notices its connection drop and reconnects; the acks of the
/// messages it delivered before end at once rather than waiting on the
/// dead connection. The broker's side is a loopback proxy that closes
/// every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_with_a_busy_consumer_still_reconnects() {
    use fjord_messaging::MessagingOptions;
    use fjord_messaging::transport::{Destination, ListenSpec, OutgoingMessage};
    use fjord_test_support::proxy::Proxy;
    let test = "a_listener_with_a_busy_consumer_still_reconnects";
    if !support::rabbit(test) {
        return;
    }
    let proxy = Proxy::start(([127, 0, 0, 1], 5672).into()).await.unwrap();
    let mut o = MessagingOptions::default();
    o.transport_url = Some(format!("rabbit://guest:guest@127.0.0.1:{}/", proxy.port()));
    o.rabbit.rabbit_quorum_queue = false;
    let t = fjord_messaging::Transport::new(&o).unwrap();
    let mut listener = t.driver().listen(ListenSpec::Replies).await.unwrap();
    let queue = listener.address.clone().expect("a reply queue");
    // More than the listener's channel holds (256), none read: the
    // listener waits for room.
    for i in 0..300 {
        t.driver()
            .send(
                &Destination::Reply {
                    queue: queue.clone(),
                },
                OutgoingMessage::new(format!("{{\"n\": {i}}}").into_bytes()),
            )
            .await
            .unwrap();
    }
    assert!(
        wait_until_async(Duration::from_secs(10), || listener.receiver.len() == 256).await,
        "the listener's channel never filled: {}",
        listener.receiver.len()
    );
    let first = listener.receiver.recv().await.expect("a message");
    let accepted = proxy.accepted();
    proxy.close_all();
    // kombu_reconnect_delay (1 s) after it notices (its 1 s check).
    assert!(
        wait_until_async(Duration::from_secs(10), || proxy.accepted() > accepted).await,
        "the listener never reconnected"
    );
    let acked = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), first.acker.ack())
        .await
        .expect("an ack on the dropped connection waited");
    assert!(
        acked.elapsed() < Duration::from_secs(2),
        "{:?}",
        acked.elapsed()
    );
    listener.control.stop().await;
    t.close().await;
}
