//! M10: notifier and listener, over the fake transport, RabbitMQ and
//! against a Python oslo.messaging listener; format checked against the
//! captured notification.

use crate::support;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fjord_messaging::message::decode_body;
use fjord_messaging::notify::{
    Notification, NotificationEndpoint, NotificationListener, NotificationResult, Notifier,
    NotifierDriver, Priority,
};
use fjord_messaging::{Context, Target, Transport, async_trait};
use fjord_service::Service;
use serde_json::{Value, json};
use support::{rabbit_transport, unique, wait_until_async};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Default, Clone)]
struct Collect {
    only: Option<Priority>,
    got: Arc<Mutex<Vec<Notification>>>,
}

#[async_trait]
impl NotificationEndpoint for Collect {
    fn priorities(&self) -> Vec<Priority> {
        match self.only {
            Some(p) => vec![p],
            None => Priority::ALL.to_vec(),
        }
    }
    async fn notify(&self, n: &Notification) -> NotificationResult {
        self.got.lock().unwrap().push(n.clone());
        NotificationResult::Handled
    }
}

impl Collect {
    fn len(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

#[tokio::test]
async fn fake_notifier_to_listener_by_priority() {
    let t = Transport::fake();
    let errors = Collect {
        only: Some(Priority::Error),
        ..Default::default()
    };
    let all = Collect::default();
    let l = NotificationListener::builder(&t, vec![Target::new("notifications")])
        .endpoint(errors.clone())
        .endpoint(all.clone())
        .build()
        .unwrap();
    l.start().await.unwrap();
    let n = Notifier::new(&t, "compute.host1");
    let ctx = Context::new()
        .with("user", "u")
        .with("auth_token", "secret");
    n.info(&ctx, "thing.start", json!({"a": 1})).await.unwrap();
    n.error(&ctx, "thing.error", json!({"b": 2})).await.unwrap();
    assert!(
        wait_until_async(Duration::from_secs(5), || all.len() == 2
            && errors.len() == 1)
        .await
    );
    let got = all.got.lock().unwrap().clone();
    assert_eq!(got[0].priority, Priority::Info);
    assert_eq!(got[0].event_type, "thing.start");
    assert_eq!(got[0].publisher_id, "compute.host1");
    assert_eq!(got[0].payload, json!({"a": 1}));
    assert_eq!(got[0].context.get("user"), Some(&json!("u")));
    assert_eq!(
        got[0].context.get("auth_token"),
        Some(&Value::Null),
        "token must be redacted"
    );
    assert_eq!(got[0].message_id.len(), 36);
    assert_eq!(errors.got.lock().unwrap()[0].event_type, "thing.error");
    l.stop(true).await;
}

#[test]
fn format_matches_captured_notification() {
    let Some(dir) = support::fixtures("format_matches_captured_notification") else {
        return;
    };
    let v = support::load(&dir, "vectors.json");
    let captured = v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["scenario"] == "notification_v2_info")
        .unwrap();
    let inner = decode_body(
        Some("application/json"),
        captured["body_text"].as_str().unwrap().as_bytes(),
    )
    .unwrap();
    let n = Notification::from_inner(inner.clone()).unwrap();
    assert_eq!(n.priority, Priority::Info);
    assert_eq!(n.context.get("auth_token"), Some(&Value::Null));
    assert_eq!(n.to_inner(), inner);
    let keys = |m: &serde_json::Map<String, Value>| {
        let mut k: Vec<String> = m
            .keys()
            .filter(|k| !k.starts_with("_context_"))
            .cloned()
            .collect();
        k.sort();
        k
    };
    // What we build has the same keys as what Python built.
    let mut ours = n.clone();
    ours.context = Context::new();
    assert_eq!(keys(&ours.to_inner()), keys(&inner));
    let ts = fjord_messaging::notify::python_timestamp(std::time::SystemTime::now());
    assert!(ts.len() == 19 || ts.len() == 26, "{ts}");
    assert_eq!(&ts[4..5], "-");
    assert_eq!(&ts[10..11], " ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbit_notifications_are_kept_until_a_listener_comes() {
    if !support::rabbit("rabbit_notifications_are_kept_until_a_listener_comes") {
        return;
    }
    let topic = unique("fjt_notif");
    let t = rabbit_transport("");
    let n = Notifier::new(&t, "svc.host").with_topics(vec![topic.clone()]);
    n.info(&Context::new(), "early.bird", json!({"n": 1}))
        .await
        .unwrap();
    let all = Collect::default();
    let l = NotificationListener::builder(&t, vec![Target::new(&topic)])
        .endpoint(all.clone())
        .build()
        .unwrap();
    l.start().await.unwrap();
    n.with_driver(NotifierDriver::Messaging)
        .error(&Context::new(), "legacy.v1", json!({}))
        .await
        .unwrap();
    assert!(
        wait_until_async(Duration::from_secs(10), || all.len() == 2).await,
        "got {}",
        all.len()
    );
    let got = all.got.lock().unwrap().clone();
    assert_eq!(got[0].event_type, "early.bird");
    assert_eq!(got[1].event_type, "legacy.v1");
    l.stop(true).await;
    if support::rabbitmqctl(&["status"]).is_some() {
        for p in Priority::ALL {
            let _ = support::rabbitmqctl(&["delete_queue", &format!("{topic}.{p}")]);
        }
    }
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_listener_reads_fjord_notifications() {
    let test = "python_listener_reads_fjord_notifications";
    if !support::rabbit(test) {
        return;
    }
    let Some(py) = support::venv_python(test) else {
        return;
    };
    let topic = unique("fjt_pynotif");
    let script = format!(
        "{}/tests/python/py_notify_listener.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = tokio::process::Command::new(&py)
        .args([
            script.as_str(),
            "rabbit://guest:guest@127.0.0.1:5672/",
            &topic,
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
    assert!(
        matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"),
        "{ready:?}"
    );

    let t = rabbit_transport("");
    let n = Notifier::new(&t, "fjord.host1").with_topics(vec![topic.clone()]);
    let ctx = Context::new()
        .with("user", "u1")
        .with("auth_token", "secret");
    n.info(&ctx, "fjord.event.start", json!({"id": "abc"}))
        .await
        .unwrap();
    n.error(&ctx, "fjord.event.error", json!({"why": "x"}))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let l = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("python listener got nothing")
            .unwrap()
            .expect("python listener exited early");
        got.push(serde_json::from_str::<Value>(&l).unwrap());
    }
    got.sort_by_key(|v| v["priority"].as_str().unwrap_or("").to_string());
    assert_eq!(got[0]["priority"], "error");
    assert_eq!(got[1]["priority"], "info");
    assert_eq!(got[1]["publisher_id"], "fjord.host1");
    assert_eq!(got[1]["event_type"], "fjord.event.start");
    assert_eq!(got[1]["payload"], json!({"id": "abc"}));
    assert_eq!(got[1]["ctxt"]["user"], "u1");
    assert_eq!(got[1]["metadata"]["message_id"].as_str().unwrap().len(), 36);
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    let _ = child.kill().await;
    for p in Priority::ALL {
        let _ = support::rabbitmqctl(&["delete_queue", &format!("{topic}.{p}")]);
    }
    t.close().await;
}
