//! Golden test against `config_variants.json`: for every driver-option
//! variant fjord supports, given as transport-URL query exactly as the
//! capture did, the queues and exchanges fjord declares have the same type,
//! flags and arguments as those Python oslo.messaging declared (read back
//! with `rabbitmqctl ... --formatter json`).

use crate::support;

use std::collections::HashMap;

use fjord_messaging::{RpcServer, Target};
use fjord_service::Service;
use serde_json::Value;
use support::{rabbit_transport, raw, unique};

type NameMatch = Box<dyn Fn(&str, &str) -> bool>;

fn list(what: &str, cols: &[&str]) -> Vec<Value> {
    let mut args = vec![what, "-q"];
    args.extend_from_slice(cols);
    args.extend_from_slice(&["--formatter", "json"]);
    let out = support::rabbitmqctl(&args).expect("rabbitmqctl");
    serde_json::from_str(&out).expect("rabbitmqctl json")
}

fn norm_args(v: &Value) -> Vec<String> {
    let mut a: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default();
    a.sort();
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_topology_matches_every_captured_variant() {
    let test = "declared_topology_matches_every_captured_variant";
    if !support::rabbit(test) {
        return;
    }
    let Some(dir) = support::fixtures(test) else {
        return;
    };
    if !support::need(
        support::rabbitmqctl(&["status"]).is_some(),
        test,
        "rabbitmqctl is not usable",
    ) {
        return;
    }
    let variants = support::load(&dir, "config_variants.json")["variants"]
        .as_array()
        .cloned()
        .unwrap();
    let mut running = Vec::new();
    for v in &variants {
        let q = v["url_query"].as_object().unwrap();
        if q.contains_key("rabbit_stream_fanout") || q.contains_key("use_queue_manager") {
            continue; // not supported by fjord (refused at Transport::new)
        }
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        let t = rabbit_transport(&format!("?{}", query.join("&")));
        let (topic, exchange) = (unique("fjt_var"), unique("fjt_varx"));
        let s = RpcServer::builder(
            &t,
            Target::new(&topic)
                .with_server("s1")
                .with_exchange(&exchange),
        )
        .build()
        .unwrap();
        s.start()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", v["variant"]));
        running.push((v.clone(), topic, exchange, t, s));
    }
    assert!(running.len() >= 8, "only {} variants", running.len());
    let queues = list(
        "list_queues",
        &["name", "type", "durable", "auto_delete", "arguments"],
    );
    let exchanges = list(
        "list_exchanges",
        &["name", "type", "durable", "auto_delete", "arguments"],
    );
    let by_name = |list: &[Value], pred: &dyn Fn(&str) -> bool| -> Option<Value> {
        list.iter()
            .find(|x| x["name"].as_str().is_some_and(pred))
            .cloned()
    };
    for (v, topic, exchange, _, _) in &running {
        let variant = v["variant"].as_str().unwrap();
        let ptopic = v["target"]["topic"].as_str().unwrap();
        let pexchange = v["target"]["exchange"].as_str().unwrap();
        let pq = v["queues"].as_array().unwrap();
        let px = v["exchanges"].as_array().unwrap();
        let kinds: [(&str, NameMatch); 3] = [
            ("topic queue", Box::new(|n: &str, t: &str| n == t)),
            (
                "server queue",
                Box::new(|n: &str, t: &str| n == format!("{t}.s1")),
            ),
            (
                "fanout queue",
                Box::new(|n: &str, t: &str| n.starts_with(&format!("{t}_fanout_"))),
            ),
        ];
        let mut seen: HashMap<&str, bool> = HashMap::new();
        for (kind, matches) in &kinds {
            let theirs = by_name(pq, &|n| matches(n, ptopic))
                .unwrap_or_else(|| panic!("{variant}: no python {kind}"));
            let ours = by_name(&queues, &|n| matches(n, topic))
                .unwrap_or_else(|| panic!("{variant}: no fjord {kind}"));
            for k in ["type", "durable", "auto_delete"] {
                assert_eq!(ours[k], theirs[k], "{variant} {kind} {k}");
            }
            assert_eq!(
                norm_args(&ours["arguments"]),
                norm_args(&theirs["arguments"]),
                "{variant} {kind} arguments"
            );
            seen.insert(kind, true);
        }
        for (theirs_name, ours_name) in [
            (pexchange.to_string(), exchange.clone()),
            (format!("{ptopic}_fanout"), format!("{topic}_fanout")),
        ] {
            let theirs = by_name(px, &|n| n == theirs_name).unwrap();
            let ours = by_name(&exchanges, &|n| n == ours_name)
                .unwrap_or_else(|| panic!("{variant}: no {ours_name}"));
            for k in ["type", "durable", "auto_delete"] {
                assert_eq!(ours[k], theirs[k], "{variant} exchange {theirs_name} {k}");
            }
            assert_eq!(
                norm_args(&ours["arguments"]),
                norm_args(&theirs["arguments"])
            );
        }
        assert_eq!(seen.len(), 3);
    }
    let (_conn, ch) = raw::channel().await;
    for (_, topic, exchange, t, s) in running {
        s.stop(true).await;
        t.close().await;
        for q in [topic.clone(), format!("{topic}.s1")] {
            let _ = ch.queue_delete(q.as_str().into(), Default::default()).await;
        }
        let _ = ch
            .exchange_delete(exchange.as_str().into(), Default::default())
            .await;
        let _ = ch
            .exchange_delete(
                format!("{topic}_fanout").as_str().into(),
                Default::default(),
            )
            .await;
    }
}
