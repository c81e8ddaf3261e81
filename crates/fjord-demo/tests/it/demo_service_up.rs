//! `fjord_service_up{binary,host}`: the demo's master shows its service
//! records up or down as nova's servicegroup decides (`GET /metrics` and
//! `/status.json`), in agreement with the API's `GET /v1/services`: a
//! record whose service never reports goes down after
//! `service_down_time`; a disabled service that reports stays up.
use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use fjord::servicegroup::ServiceRecords;
use nix::sys::signal::Signal;
use serde_json::Value;

/// `(binary, host)` -> value of every `fjord_service_up` sample.
pub(crate) fn service_up(port: u16) -> BTreeMap<(String, String), f64> {
    let (status, _, body) = support::http(port, "GET", "/metrics", None);
    assert_eq!(status, 200, "{body}");
    let parsed = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text");
    parsed
        .samples
        .into_iter()
        .filter(|s| s.metric == "fjord_service_up")
        .map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Gauge(v) => v,
                other => panic!("fjord_service_up is a gauge, not {other:?}"),
            };
            let label = |k: &str| s.labels.get(k).unwrap_or_default().to_owned();
            ((label("binary"), label("host")), v)
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn service_up_follows_the_service_records() {
    let host = format!("svcup-{}", std::process::id());
    let stale = format!("gone-{}", std::process::id());
    let mut demo = support::Demo::start(
        "demo-all",
        &[
            ("OS_DEFAULT__HOST", &host),
            ("OS_DEFAULT__REPORT_INTERVAL", "1"),
            ("OS_DEFAULT__SERVICE_DOWN_TIME", "5"),
        ],
    );
    demo.proc
        .wait_stderr("the diagnostics address", Duration::from_secs(10), |e| {
            fjord_test_support::diagnostics_url(e).is_some()
        });
    let url = fjord_test_support::diagnostics_url(&demo.proc.stderr()).unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    support::wait_services_up(&demo, &["demo-api", "demo-worker"]);

    // A record whose service never reports (up from its creation time
    // for service_down_time, then down), and the API disabled by an
    // operator (disabled is not down).
    let db = format!("sqlite:///{}", demo.state.join("demo.sqlite").display());
    runtime().block_on(async {
        let records = ServiceRecords::connect(&db).await.unwrap();
        records
            .register(&stale, "demo-worker", "demo")
            .await
            .unwrap();
        records
            .set_disabled(&host, "demo-api", true, Some("maintenance"))
            .await
            .unwrap();
        records.close().await;
    });
    let key = |binary: &str, host: &str| (binary.to_owned(), host.to_owned());
    let mut seen_up = false;
    let mut last = BTreeMap::new();
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(30), || {
        last = service_up(port);
        seen_up |= last.get(&key("demo-worker", &stale)) == Some(&1.0);
        last.get(&key("demo-worker", &stale)) == Some(&0.0)
    });
    assert!(ok, "the record that never reports goes down: {last:?}");
    assert!(seen_up, "it was up first (its creation time): {last:?}");
    assert_eq!(last.get(&key("demo-worker", &host)), Some(&1.0), "{last:?}");
    assert_eq!(last.get(&key("demo-api", &host)), Some(&1.0), "{last:?}");

    // The API's service list says the same.
    let (status, _, body) = demo.http("GET", "/v1/services", None);
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let listed = listed["services"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    for s in listed {
        let k = key(s["binary"].as_str().unwrap(), s["host"].as_str().unwrap());
        let up = if s["state"] == "up" { 1.0 } else { 0.0 };
        assert_eq!(last.get(&k), Some(&up), "{s} vs {last:?}");
    }
    assert!(
        listed
            .iter()
            .any(|s| s["binary"] == "demo-api" && s["status"] == "disabled")
    );

    // And the status page's data.
    let (status, _, body) = support::http(port, "GET", "/status.json", None);
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    let records = json["service_records"].as_array().unwrap();
    let state = |binary: &str, h: &str| {
        records
            .iter()
            .find(|r| r["binary"] == binary && r["host"] == h)
            .map(|r| r["state"].clone())
    };
    assert_eq!(
        state("demo-worker", &stale),
        Some("down".into()),
        "{records:?}"
    );
    assert_eq!(
        state("demo-worker", &host),
        Some("up".into()),
        "{records:?}"
    );
    assert_eq!(state("demo-api", &host), Some("up".into()), "{records:?}");

    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(20)), 0);
}
