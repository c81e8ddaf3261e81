//! `Transport::new` picks the driver from the URL scheme.

use crate::support;

use std::sync::Arc;

use fjord_messaging::{Context, Error, MessagingOptions, RpcClient, RpcServer, Target, Transport};
use fjord_service::Service;
use serde_json::json;
use support::args;
use support::endpoints::demo;

fn transport(url: &str) -> Result<Transport, Error> {
    let mut o = MessagingOptions::default();
    o.transport_url = Some(url.into());
    Transport::new(&o)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_url_serves_calls() {
    let sock = std::env::temp_dir().join(format!("fjt-{}.sock", uuid::Uuid::new_v4().simple()));
    let t = transport(&format!("embedded://{}", sock.display())).unwrap();
    let s = RpcServer::builder(&t, Target::new("emb").with_server("s1"))
        .endpoint(demo("s1", Arc::default()))
        .build()
        .unwrap();
    s.start().await.unwrap();
    let c = RpcClient::new(&t, Target::new("emb"));
    assert_eq!(
        c.call(&Context::new(), "add", args(json!({"a": 1, "b": 1})))
            .await
            .unwrap(),
        json!(2)
    );
    s.stop(true).await;
    t.close().await;
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_file(sock.with_extension("sock.lock"));
}

#[test]
fn bad_urls_are_refused_without_leaking_the_password() {
    for url in [
        "embedded://",
        "amqp://u:Secr3t@h/",
        "rabbit://u:Secr3t@h:99999/",
        "rabbit://h/?nope=1",
    ] {
        let e = transport(url).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("Secr3t"), "{e:?}");
    }
    let t = transport("rabbit://u:Secr3t@h/?rabbit_qos_prefetch_count=5").unwrap();
    assert!(!format!("{t:?}").contains("Secr3t"));
    assert_eq!(t.options().rabbit.rabbit_qos_prefetch_count, 5);
    assert!(transport("fake://").is_ok());
}
