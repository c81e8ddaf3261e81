//! B7: the demo's master exposes one scrape for all its workers: the HTTP
//! requests and RPC calls made through the API equal what was fired, on
//! both sides of the RPC, and stay equal across a SIGKILLed API worker
//! and a reload (SIGHUP), which are counted by reason.
use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// `name{label="v",...}` (labels sorted) -> value (histograms: count).
fn scrape(port: u16) -> BTreeMap<String, f64> {
    let (status, content_type, body) = support::http(port, "GET", "/metrics", None);
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let parsed = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text");
    let mut out = BTreeMap::new();
    for s in parsed.samples {
        let mut labels: Vec<String> = s
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        labels.sort();
        let v = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => continue,
        };
        out.insert(format!("{}{{{}}}", s.metric, labels.join(",")), v);
    }
    out
}

/// The figures this test checks, in one line for the assertions.
fn figures(m: &BTreeMap<String, f64>) -> [u64; 6] {
    let v = |k: &str| m.get(k).copied().unwrap_or(0.0) as u64;
    [
        v(r#"fjord_http_requests_total{api="demo-api",method="GET",status="2xx"}"#),
        v(r#"fjord_http_requests_total{api="demo-api",method="POST",status="2xx"}"#),
        v(r#"fjord_http_requests_total{api="demo-api",method="GET",status="4xx"}"#),
        v(r#"fjord_http_request_duration_seconds{api="demo-api"}"#),
        v(r#"fjord_rpc_client_calls_total{method="echo_object",outcome="ok",topic="demo"}"#),
        v(r#"fjord_rpc_server_messages_total{method="echo_object",outcome="ok",topic="demo"}"#),
    ]
}

fn restarts(m: &BTreeMap<String, f64>, service: &str, reason: &str) -> f64 {
    m.get(&format!(
        "fjord_worker_restarts_total{{reason=\"{reason}\",service=\"{service}\"}}"
    ))
    .copied()
    .unwrap_or(0.0)
}

fn fire(demo: &support::Demo, hellos: usize, echoes: usize, missing: usize) {
    for _ in 0..hellos {
        assert_eq!(demo.http("GET", "/hello", None).0, 200);
    }
    for i in 0..echoes {
        let body = format!("{{\"n\": {i}}}");
        let (status, _, out) = demo.http("POST", "/v1/echo", Some(&body));
        assert_eq!(status, 200, "{out}\n{}", demo.stderr());
    }
    for _ in 0..missing {
        assert_eq!(demo.http("GET", "/no-such-path", None).0, 404);
    }
}

/// Scrapes until the figures are `base` plus `delta` (a request is
/// counted once its response is sent, which the client may see first).
fn wait_figures(port: u16, base: [u64; 6], delta: [u64; 6], what: &str) -> BTreeMap<String, f64> {
    let mut want = base;
    for (w, d) in want.iter_mut().zip(delta) {
        *w += d;
    }
    let mut last = BTreeMap::new();
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(15), || {
        last = scrape(port);
        figures(&last) == want
    });
    assert!(
        ok,
        "{what}: want {want:?}, got {:?}\n{last:#?}",
        figures(&last)
    );
    last
}

#[test]
fn metrics_equal_what_was_fired_across_kill_and_reload() {
    let mut demo = support::Demo::start("demo-all", &[]);
    demo.proc
        .wait_stderr("the diagnostics address", Duration::from_secs(10), |e| {
            fjord_test_support::diagnostics_url(e).is_some()
        });
    let url = fjord_test_support::diagnostics_url(&demo.proc.stderr()).unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    // Ready (GET /v1/services until both are up); the figures from here.
    support::wait_services_up(&demo, &["demo-api", "demo-worker"]);
    let mut base = figures(&scrape(port));
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(10), || {
        std::thread::sleep(Duration::from_millis(300));
        let now = figures(&scrape(port));
        std::mem::replace(&mut base, now) == now
    });
    assert!(ok, "the figures settle");
    let base = base;

    fire(&demo, 40, 10, 5);
    let m = wait_figures(port, base, [40, 10, 5, 55, 10, 10], "after the first load");
    assert_eq!(
        m.get(r#"fjord_workers{service="demo-api",state="serving"}"#),
        Some(&2.0)
    );
    assert_eq!(
        m.get(r#"fjord_http_pool_size{api="demo-api"}"#),
        Some(&200.0),
        "2 workers x wsgi_default_pool_size (100)"
    );

    // SIGKILL an API worker: its requests stay counted.
    let (_, _, echo) = demo.http("GET", "/hello", None);
    assert_eq!(echo, "Hello, World!");
    let master = demo.pid();
    // Not the one running the embedded transport's broker, if one does:
    // RPC would pause while another takes over, which is not this test's
    // subject.
    let stderr = demo.stderr();
    let api_worker = support::children_of(master)
        .into_iter()
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with("fjord: worker demo-api"))
                && !stderr.contains(&format!("this process (pid {p}) runs the broker"))
        })
        .expect("an API worker");
    kill(Pid::from_raw(api_worker), Signal::SIGKILL).unwrap();
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(15), || {
        let m = scrape(port);
        restarts(&m, "demo-api", "signal") == 1.0
            && m.get(r#"fjord_workers{service="demo-api",state="serving"}"#) == Some(&2.0)
    });
    assert!(ok, "the SIGKILL counted and the worker replaced");
    wait_figures(port, base, [41, 10, 5, 56, 10, 10], "after SIGKILL");

    fire(&demo, 9, 5, 0);
    wait_figures(port, base, [50, 15, 5, 70, 15, 15], "after the second load");

    // A reload replaces every worker: nothing is lost.
    demo.signal(Signal::SIGHUP);
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(30), || {
        demo.stderr().contains("reload complete")
    });
    assert!(ok, "reload complete\n{}", demo.stderr());
    let m = wait_figures(port, base, [50, 15, 5, 70, 15, 15], "after the reload");
    assert_eq!(restarts(&m, "demo-api", "reload"), 2.0);
    assert_eq!(restarts(&m, "demo-worker", "reload"), 1.0);
    fire(&demo, 1, 0, 0);
    wait_figures(port, base, [51, 15, 5, 71, 15, 15], "the new workers count");

    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(20)), 0);
}
