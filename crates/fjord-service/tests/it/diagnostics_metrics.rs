//! B7/B1/B10: the master's diagnostics endpoint, scraped from a real
//! multi-worker master: it parses as Prometheus text, sums its workers,
//! never goes back when workers are killed, hung (watchdog) or reloaded,
//! counts each replacement by reason, survives its own process's death,
//! and answers bad requests with an error.
use crate::support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::Proc;

/// Sends `raw` to the endpoint; returns the status code and the body.
fn send(url: &str, raw: &[u8]) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect to the diagnostics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn get(url: &str, path: &str) -> (u16, String) {
    send(
        url,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// A scrape: `name{label="v",...}` (labels sorted) -> value; histograms
/// as their `_count`.
type Series = BTreeMap<String, f64>;

/// Scrapes `/metrics` and parses it with a Prometheus text parser.
fn scrape(url: &str) -> Series {
    let (status, body) = get(url, "/metrics");
    assert_eq!(status, 200, "{body}");
    // Every line is a comment or `name{labels} value`.
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        assert!(value.parse::<f64>().is_ok(), "bad value in {line:?}");
        assert!(series.starts_with("fjord_"), "bad name in {line:?}");
    }
    let parsed = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text");
    assert!(!parsed.samples.is_empty());
    let mut out = Series::new();
    for s in parsed.samples {
        let mut labels: Vec<(String, String)> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.sort();
        let labels: Vec<String> = labels
            .into_iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        let key = format!("{}{{{}}}", s.metric, labels.join(","));
        let v = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => continue,
        };
        out.insert(key, v);
    }
    out
}

fn value(s: &Series, key: &str) -> f64 {
    s.get(key).copied().unwrap_or(0.0)
}

/// Every counter (and histogram count) of `before` is in `after`, not
/// smaller.
fn assert_monotonic(before: &Series, after: &Series, when: &str) {
    let counters = before
        .keys()
        .filter(|k| k.contains("_total{") || k.contains("duration_seconds{"))
        .count();
    assert!(counters >= 8, "{when}: counters to compare in {before:#?}");
    for (k, v) in before {
        let counter = k.contains("_total{") || k.contains("duration_seconds{");
        if counter {
            let now = after.get(k).copied().unwrap_or(0.0);
            assert!(now >= *v, "{when}: {k} went back from {v} to {now}");
        }
    }
}

fn runs(s: &Series, outcome: &str) -> f64 {
    value(
        s,
        &format!("fjord_periodic_task_runs_total{{outcome=\"{outcome}\",task=\"Jobs.tick\"}}"),
    )
}

fn restarts(s: &Series, reason: &str) -> f64 {
    value(
        s,
        &format!("fjord_worker_restarts_total{{reason=\"{reason}\",service=\"jobs\"}}"),
    )
}

fn wait_scrape(url: &str, what: &str, f: impl Fn(&Series) -> bool) -> Series {
    let mut last = Series::new();
    let ok = fjord_test_support::wait::wait_until(Duration::from_secs(15), || {
        last = scrape(url);
        f(&last)
    });
    assert!(ok, "{what}; last scrape: {last:#?}");
    last
}

#[test]
fn metrics_sum_the_workers_and_never_go_back() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--graceful-shutdown-timeout",
            "5",
            "--tick-seconds",
            "0.1",
            "--tick-fails",
            "--worker-timeout",
            "1",
        ],
    );
    p.wait_stdout("2 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
    });
    p.wait_stderr("the endpoint's address", Duration::from_secs(10), |e| {
        fjord_test_support::diagnostics_url(e).is_some()
    });
    let url = fjord_test_support::diagnostics_url(&p.stderr()).unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let master = p.pid().as_raw();
    let diag = fjord_test_support::diagnostics_child_of(master).expect("a diagnostics process");
    assert_eq!(support::children_of(master).len(), 2, "workers only");

    // Both workers run the task: the scrape sums them, and matches the runs
    // they printed (up to the run each may have in flight).
    let s = wait_scrape(&url, "runs from both workers", |s| {
        runs(s, "ok") >= 6.0 && runs(s, "error") >= 6.0
    });
    let printed = p
        .stdout()
        .iter()
        .filter(|l| l.starts_with("tick pid="))
        .count() as f64;
    let scraped = runs(&s, "ok") + runs(&s, "error");
    assert!(
        scraped <= printed && scraped + 2.0 >= printed,
        "scraped {scraped} runs, printed {printed}"
    );
    assert_eq!(
        value(&s, "fjord_workers{service=\"jobs\",state=\"serving\"}"),
        2.0
    );
    for reason in ["exit", "signal", "watchdog", "recycle", "reload", "upgrade"] {
        assert_eq!(restarts(&s, reason), 0.0, "{reason}");
    }
    for index in ["0", "1"] {
        let rss = value(
            &s,
            &format!("fjord_process_resident_memory_bytes{{index=\"{index}\",service=\"jobs\"}}"),
        );
        assert!(rss > 100_000.0, "RSS of #{index}: {rss}");
    }

    // A worker killed: its counts stay in the totals, the restart counts.
    let before = scrape(&url);
    let victim = p.started_pids()[0];
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let after = wait_scrape(&url, "the SIGKILL counted", |s| {
        restarts(s, "signal") == 1.0
            && value(s, "fjord_workers{service=\"jobs\",state=\"serving\"}") == 2.0
    });
    assert_monotonic(&before, &after, "after SIGKILL");

    // A worker hung: the watchdog replaces it, counted as such.
    let before = after;
    let hung = *p.started_pids().last().unwrap();
    kill(Pid::from_raw(hung), Signal::SIGSTOP).unwrap();
    let after = wait_scrape(&url, "the watchdog counted", |s| {
        restarts(s, "watchdog") == 1.0
            && value(s, "fjord_workers{service=\"jobs\",state=\"serving\"}") == 2.0
    });
    assert_monotonic(&before, &after, "after the watchdog");
    assert_eq!(
        restarts(&after, "signal"),
        1.0,
        "the watchdog's kill is not `signal`"
    );

    // A reload replaces both.
    let before = after;
    p.signal(Signal::SIGHUP);
    p.wait_stderr("reload complete", Duration::from_secs(15), |e| {
        e.iter().any(|l| l.contains("reload complete"))
    });
    let after = wait_scrape(&url, "the reload counted", |s| restarts(s, "reload") == 2.0);
    assert_monotonic(&before, &after, "after the reload");
    // ... and the counts go on growing from the new workers.
    let last = after;
    let grown = wait_scrape(&url, "runs of the new workers", |s| {
        runs(s, "ok") >= runs(&last, "ok") + 2.0
    });
    assert_monotonic(&last, &grown, "later");

    // The diagnostics process dies: the master starts another on the same
    // socket; nothing is lost.
    kill(Pid::from_raw(diag), Signal::SIGKILL).unwrap();
    let respawned = fjord_test_support::wait::wait_until(Duration::from_secs(10), || {
        fjord_test_support::diagnostics_child_of(master).is_some_and(|d| d != diag)
    });
    assert!(respawned, "a new diagnostics process");
    let again = scrape(&url);
    assert_monotonic(&grown, &again, "after the diagnostics process died");

    // SIGUSR2's report and GET /report carry the board's figures too.
    p.signal(Signal::SIGUSR2);
    p.wait_stderr("the report", Duration::from_secs(10), |e| {
        e.iter()
            .any(|l| l.starts_with(&format!("fjord report: master pid={master} ")))
            && e.iter()
                .any(|l| l.contains("periodic task Jobs.tick: ok=") && l.contains("timeout=0"))
            && e.iter()
                .filter(|l| {
                    l.starts_with("jobs #") && l.contains(" fds=") && l.contains("heartbeat=")
                })
                .count()
                >= 2
            && e.iter()
                .any(|l| l.contains("last error (") && l.contains("failed on purpose"))
    });
    let (status, report) = get(&url, "/report");
    assert_eq!(status, 200);
    assert!(
        report.starts_with(&format!("fjord report: master pid={master} "))
            && report.contains("periodic task Jobs.tick: ok=")
            && report.contains("jobs: workers=2 (serving=2) replaced: signal=1 watchdog=1 reload=2")
            && report.contains("Jobs.tick: runs=")
            // Every 0.1 s: the next run may be due at the report's moment.
            && (report.contains("next run in ") || report.contains("next run due now")),
        "{report}"
    );

    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
    assert!(support::is_gone(diag));
}

#[test]
fn the_endpoint_answers_bad_requests_with_errors() {
    let mut p = Proc::example(
        "workers",
        &["--workers", "2", "--graceful-shutdown-timeout", "5"],
    );
    p.wait_stderr("the endpoint's address", Duration::from_secs(10), |e| {
        fjord_test_support::diagnostics_url(e).is_some()
    });
    let url = fjord_test_support::diagnostics_url(&p.stderr()).unwrap();
    let addr = url.trim_start_matches("http://").to_owned();

    // A slow client holding a connection open does not block the others.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /metr").unwrap();

    assert_eq!(get(&url, "/nope").0, 404);
    let (status, _) = send(
        &url,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405);
    assert_eq!(send(&url, b"garbage\r\n\r\n").0, 400);
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let (status, _) = send(&url, huge.as_bytes());
    assert!(
        status == 431 || status == 400 || status == 0,
        "a huge head: {status}"
    );
    let mut binary = vec![0u8, 159, 146, 150, 255];
    binary.extend_from_slice(&[7u8; 4096]);
    assert!(matches!(send(&url, &binary).0, 0 | 400));
    for path in ["/metrics", "/status.json", "/"] {
        assert_eq!(get(&url, path).0, 200, "{path} still served");
    }
    // The slow client is dropped after the head timeout (5 s).
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let (status, body) = get(&url, "/status.json");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["name"], "workers");
    assert_eq!(json["master"]["pid"], p.pid().as_raw());
    assert_eq!(json["workers"].as_array().unwrap().len(), 2);
    assert_eq!(json["services"][0]["name"], "jobs");
    assert_eq!(json["services"][0]["states"]["serving"], 2);
    let (status, page) = get(&url, "/");
    assert_eq!(status, 200);
    assert!(page.contains("<title>fjord status</title>") && page.contains("status.json"));
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn diagnostics_can_be_turned_off() {
    let mut p = Proc::example(
        "workers",
        &[
            "--workers",
            "2",
            "--graceful-shutdown-timeout",
            "5",
            "--no-diagnostics",
        ],
    );
    p.wait_stdout("2 workers", Duration::from_secs(10), |o| {
        support::pids_with(o, "worker started pid=").len() == 2
    });
    assert_eq!(
        fjord_test_support::diagnostics_child_of(p.pid().as_raw()),
        None
    );
    assert!(fjord_test_support::diagnostics_url(&p.stderr()).is_none());
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), 0);
}
