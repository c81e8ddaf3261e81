//! The embedded transport (M11): two transports on one socket path, the
//! first of which becomes the broker, carry calls, casts, fanout casts and
//! replies with the same semantics as RabbitMQ.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fjord_messaging::transport::EmbeddedDriver;
use fjord_messaging::{Context, MessagingOptions, RpcClient, RpcServer, Target, Transport};
use fjord_service::Service;
use serde_json::json;
use support::endpoints::{demo, demo_server};
use support::{args, wait_until_async};

fn transport(path: &std::path::Path) -> Transport {
    Transport::with_driver(
        Arc::new(EmbeddedDriver::new(path)),
        MessagingOptions::default(),
    )
}

fn socket_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fjord-embedded-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("broker.sock")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_casts_and_fanout_through_the_embedded_broker() {
    let path = socket_path("rpc");
    let server_side = transport(&path);
    let client_side = transport(&path);
    let (s1, stats) = demo_server(&server_side, "emb");
    s1.start().await.unwrap();
    assert!(path.exists(), "the first user became the broker");

    let client = RpcClient::new(&client_side, Target::new("emb"));
    let ctx = Context::new().with("user_id", "u1");
    let got = client
        .call(&ctx, "echo", args(json!({"value": {"k": [1, 2]}})))
        .await
        .unwrap();
    assert_eq!(got, json!({"k": [1, 2]}));
    assert_eq!(
        client.call(&ctx, "ctx", args(json!({}))).await.unwrap()["user_id"],
        json!("u1")
    );
    client.cast(&ctx, "record", args(json!({}))).await.unwrap();
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .casts
            .load(Ordering::SeqCst)
            == 1)
        .await
    );

    // A second server on another transport: fanout reaches both.
    let s2 = RpcServer::builder(&client_side, Target::new("emb").with_server("s2"))
        .endpoint(demo("s2", stats.clone()))
        .build()
        .unwrap();
    s2.start().await.unwrap();
    let fan = RpcClient::new(&client_side, Target::new("emb")).with_fanout(true);
    fan.cast(&ctx, "record", args(json!({}))).await.unwrap();
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .casts
            .load(Ordering::SeqCst)
            == 3)
        .await
    );

    // Timeouts still work (nobody listens on this topic).
    let nobody = RpcClient::new(&client_side, Target::new("nobody"))
        .with_timeout(Duration::from_millis(300));
    let err = nobody
        .call(&ctx, "echo", args(json!({})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");

    s1.stop(true).await;
    s1.wait().await;
    s2.stop(true).await;
    s2.wait().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
