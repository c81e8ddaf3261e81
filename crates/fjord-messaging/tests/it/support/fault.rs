//! The fault tests' load and accounting: callers that call `echo` in a
//! loop and a caster that casts numbered `note`s, every outcome recorded
//! with its time; a server endpoint that records the notes it got; and the
//! figures of one fault (calls failed, time to recover, casts lost) that the
//! tests assert on and print for bench/results/faults.md.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fjord_messaging::{Context, FnEndpoint, MessagingOptions, RpcClient, Transport};
use serde_json::{Value, json};

use super::args;

/// The notes a server received.
#[derive(Debug, Default)]
pub struct Received {
    pub notes: Mutex<HashSet<u64>>,
    pub duplicates: AtomicU64,
    pub calls: AtomicU64,
}

/// `echo(value)` and `note(n)` (records `n`).
pub fn endpoint(received: Arc<Received>) -> FnEndpoint {
    let (r1, r2) = (received.clone(), received);
    FnEndpoint::builder()
        .method("echo", move |_ctx, a| {
            let r = r1.clone();
            async move {
                r.calls.fetch_add(1, Ordering::SeqCst);
                Ok(a.get("value").cloned().unwrap_or(Value::Null))
            }
        })
        .method("note", move |_ctx, a| {
            let r = r2.clone();
            async move {
                let n = a.get("n").and_then(Value::as_u64).unwrap_or(u64::MAX);
                if !r.notes.lock().unwrap().insert(n) {
                    r.duplicates.fetch_add(1, Ordering::SeqCst);
                }
                Ok(Value::Null)
            }
        })
        .build()
}

/// oslo's defaults for reconnecting, quorum queues on, AMQP heartbeats
/// every `heartbeat` seconds, for `url`.
pub fn options(url: &str, heartbeat: u16) -> MessagingOptions {
    let mut o = MessagingOptions::default();
    o.transport_url = Some(url.to_string());
    o.rabbit.rabbit_quorum_queue = true;
    o.rabbit.heartbeat_timeout_threshold = heartbeat;
    o
}

/// One call's outcome.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub started: Instant,
    pub ended: Instant,
    pub ok: bool,
    /// The call did not end within its timeout plus a margin.
    pub hung: bool,
    pub error: Option<String>,
}

/// A running load; [`Load::stop`] ends it.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub calls: Arc<Mutex<Vec<CallRecord>>>,
    /// Casts the broker confirmed: (n, when).
    pub casts: Arc<Mutex<Vec<(u64, Instant)>>>,
    pub cast_errors: Arc<Mutex<Vec<String>>>,
    pub call_timeout: Duration,
}

/// How long past its timeout a call may take before it counts as hung.
const HANG_MARGIN: Duration = Duration::from_secs(5);

impl Load {
    /// `callers` tasks calling `echo` with `call_timeout`, and one casting
    /// `note` every 20 ms, through `client`.
    pub fn start(client: &RpcClient, callers: usize, call_timeout: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let casts = Arc::new(Mutex::new(Vec::new()));
        let cast_errors = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..callers {
            let (c, stop, calls) = (
                client.prepare().with_timeout(call_timeout),
                stop.clone(),
                calls.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut k = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    k += 1;
                    let started = Instant::now();
                    let r = tokio::time::timeout(
                        call_timeout + HANG_MARGIN,
                        c.call(&Context::new(), "echo", args(json!({"value": [i, k]}))),
                    )
                    .await;
                    let ended = Instant::now();
                    let (ok, hung, error) = match r {
                        Err(_) => (false, true, Some("hung".to_string())),
                        Ok(Ok(v)) => (v == json!([i, k]), false, None),
                        Ok(Err(e)) => (false, false, Some(e.to_string())),
                    };
                    calls.lock().unwrap().push(CallRecord {
                        started,
                        ended,
                        ok,
                        hung,
                        error,
                    });
                    if !ok {
                        // A fast failure must not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
        let (c, stop2, casts2, errors2) = (
            client.clone(),
            stop.clone(),
            casts.clone(),
            cast_errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop2.load(Ordering::SeqCst) {
                n += 1;
                match c
                    .cast(&Context::new(), "note", args(json!({ "n": n })))
                    .await
                {
                    Ok(()) => casts2.lock().unwrap().push((n, Instant::now())),
                    Err(e) => errors2.lock().unwrap().push(e.to_string()),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
        Load {
            stop,
            tasks,
            calls,
            casts,
            cast_errors,
            call_timeout,
        }
    }

    /// Stops the load and waits (bounded) for its tasks.
    pub async fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    }

    /// The first call started at or after `t` that succeeded.
    pub fn first_ok_after(&self, t: Instant) -> Option<CallRecord> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.started >= t && c.ok)
            .min_by_key(|c| c.ended)
            .cloned()
    }

    /// Waits until a call started at or after `t` succeeded, up to `within`.
    pub async fn recovered_after(&self, t: Instant, within: Duration) -> Option<Duration> {
        let end = t + within;
        while Instant::now() < end {
            if let Some(c) = self.first_ok_after(t) {
                return Some(c.ended - t);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// The figures of the fault at `t` (up to `until`); the recovery is
    /// counted from `back` (the fault's start, or when the broker came
    /// back).
    pub fn figures(&self, t: Instant, back: Instant, until: Instant) -> Figures {
        let calls = self.calls.lock().unwrap();
        let window: Vec<&CallRecord> = calls
            .iter()
            .filter(|c| c.ended >= t && c.started < until)
            .collect();
        let in_flight: Vec<&&CallRecord> = window.iter().filter(|c| c.started < t).collect();
        let recovered = calls
            .iter()
            .filter(|c| c.started >= back && c.ok)
            .map(|c| c.ended)
            .min();
        // The longest time without a call succeeding, from the last success
        // before the fault to the window's end.
        let mut ok_ends: Vec<Instant> = calls.iter().filter(|c| c.ok).map(|c| c.ended).collect();
        ok_ends.sort();
        let from = ok_ends.iter().rev().find(|e| **e < t).copied().unwrap_or(t);
        let mut gap = Duration::ZERO;
        let mut prev = from;
        for e in ok_ends.iter().filter(|e| **e >= from && **e <= until) {
            gap = gap.max(*e - prev);
            prev = *e;
        }
        gap = gap.max(until.saturating_duration_since(prev));
        let mut errors: Vec<String> = window.iter().filter_map(|c| c.error.clone()).collect();
        errors.sort();
        errors.dedup();
        Figures {
            calls: window.len(),
            failed: window.iter().filter(|c| !c.ok).count(),
            hung: window.iter().filter(|c| c.hung).count(),
            in_flight: in_flight.len(),
            in_flight_failed: in_flight.iter().filter(|c| !c.ok).count(),
            longest: window
                .iter()
                .map(|c| c.ended - c.started)
                .max()
                .unwrap_or_default(),
            recovery: recovered.map(|r| r - back),
            outage: gap,
            failed_after_recovery: recovered.map_or(0, |r| {
                window.iter().filter(|c| c.started > r && !c.ok).count()
            }),
            errors,
        }
    }

    /// The confirmed casts the server never received, after waiting up to
    /// `within` for them.
    pub async fn lost_casts(&self, received: &Received, within: Duration) -> Vec<u64> {
        let end = Instant::now() + within;
        loop {
            let lost: Vec<u64> = {
                let got = received.notes.lock().unwrap();
                self.casts
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| !got.contains(n))
                    .collect()
            };
            if lost.is_empty() || Instant::now() >= end {
                return lost;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// What one fault did to the load.
#[derive(Debug)]
pub struct Figures {
    /// Calls that ended after the fault and started before the window's end.
    pub calls: usize,
    pub failed: usize,
    pub hung: usize,
    /// Calls in flight at the fault, and how many of them failed.
    pub in_flight: usize,
    pub in_flight_failed: usize,
    /// The longest call of the window.
    pub longest: Duration,
    /// From the fault (or the broker's return) to the end of the first
    /// successful call started after it.
    pub recovery: Option<Duration>,
    /// The longest time in which no call succeeded (the service's outage
    /// as a caller sees it).
    pub outage: Duration,
    /// Calls started after that first success that still failed.
    pub failed_after_recovery: usize,
    /// The distinct errors the failed calls got.
    pub errors: Vec<String>,
}

impl Figures {
    /// One `FAULT` line the table in bench/results/faults.md is made from.
    pub fn report(&self, scenario: &str, casts_confirmed: usize, casts_lost: usize) -> String {
        format!(
            "FAULT {scenario}: calls {} failed {} (in flight {} failed {}) hung {} longest {:.2}s; \
             no call succeeded for {:.2}s; recovered in {}; failed after recovery {}; casts confirmed {casts_confirmed} lost {casts_lost}; errors {:?}",
            self.calls,
            self.failed,
            self.in_flight,
            self.in_flight_failed,
            self.hung,
            self.longest.as_secs_f64(),
            self.outage.as_secs_f64(),
            self.recovery
                .map_or("never".to_string(), |r| format!("{:.2}s", r.as_secs_f64())),
            self.failed_after_recovery,
            self.errors
        )
    }
}

/// This process's connections to the cluster: (broker port, connection name).
pub fn my_connections(cluster: &fjord_test_support::cluster::RabbitCluster) -> Vec<(u16, String)> {
    let marker = format!(":{}:", std::process::id());
    let mut out = Vec::new();
    // Any running node lists the connections of the whole cluster.
    for node in &cluster.nodes {
        let Ok(text) = cluster.ctl(
            node,
            &[
                "list_connections",
                "-q",
                "port",
                "client_properties",
                "--formatter",
                "json",
            ],
        ) else {
            continue;
        };
        let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for c in list {
            let port = c["port"].as_u64().unwrap_or(0) as u16;
            let name = c["client_properties"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p[0] == "connection_name")
                .and_then(|p| p[2].as_str())
                .unwrap_or("")
                .to_string();
            if name.contains(&marker) {
                out.push((port, name));
            }
        }
        break;
    }
    out
}

/// A transport on `options` (panics on bad options: test input).
pub fn transport(options: &MessagingOptions) -> Transport {
    Transport::new(options).expect("transport")
}

/// The nodes through which queues named `queue` (or starting with it, when
/// `prefix`) are consumed: the node in each consumer's channel pid
/// (`<node.N.N.N>`), which is the node its connection is on.
pub fn consumer_nodes(
    cluster: &fjord_test_support::cluster::RabbitCluster,
    queue: &str,
    prefix: bool,
) -> Vec<String> {
    for node in &cluster.nodes {
        // The table form: JSON shows pids without their node.
        let Ok(text) = cluster.ctl(node, &["list_consumers", "-q", "queue_name", "channel_pid"])
        else {
            continue;
        };
        let mut out: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(q, _)| {
                if prefix {
                    q.starts_with(queue)
                } else {
                    *q == queue
                }
            })
            .filter_map(|(_, pid)| {
                let inner = pid.trim().trim_start_matches('<');
                let at = inner.find('@')?;
                let dot = inner[at..].find('.')? + at;
                Some(inner[..dot].to_string())
            })
            .collect();
        out.sort();
        out.dedup();
        return out;
    }
    Vec::new()
}

/// Deletes the queues of `topic` (`<topic>`, `<topic>.<server>`) from the
/// cluster: quorum queues are durable and outlive the test.
pub fn delete_queues(
    cluster: &fjord_test_support::cluster::RabbitCluster,
    topic: &str,
    server: &str,
) {
    for q in [topic.to_string(), format!("{topic}.{server}")] {
        let _ = cluster.ctl(&cluster.nodes[0], &["delete_queue", &q]);
    }
}

/// One fault test on the cluster at a time (they stop its nodes).
pub static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The queues starting with `prefix` that have a consumer (any node's view).
pub fn consumer_queues(
    cluster: &fjord_test_support::cluster::RabbitCluster,
    prefix: &str,
) -> Vec<String> {
    for node in &cluster.nodes {
        let Ok(text) = cluster.ctl(node, &["list_consumers", "-q", "queue_name"]) else {
            continue;
        };
        let mut out: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|q| q.starts_with(prefix))
            .map(str::to_string)
            .collect();
        out.sort();
        out.dedup();
        return out;
    }
    Vec::new()
}

/// The Python oslo.messaging peer of the fault tests
/// (`tests/python/py_fault_peer.py`): a server and a loaded client in one
/// process, driven over stdin.
pub struct PyPeer {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl PyPeer {
    /// Starts the peer on `url` with `extra` arguments (`--queues`,
    /// `--heartbeat`, `--timeout`, `--callers`) and waits (60 s) until a
    /// call succeeded.
    pub async fn start(py: &std::path::Path, url: &str, topic: &str, extra: &[&str]) -> PyPeer {
        use tokio::io::AsyncBufReadExt;
        let script = format!(
            "{}/tests/python/py_fault_peer.py",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut child = tokio::process::Command::new(py)
            .arg(&script)
            .args([url, topic])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the Python peer starts");
        let stdin = child.stdin.take().expect("stdin");
        let lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut p = PyPeer {
            child,
            stdin,
            lines,
        };
        assert!(
            p.expect("ready", Duration::from_secs(60)).await.is_some(),
            "the Python peer did not get ready"
        );
        p
    }

    async fn expect(&mut self, what: &str, within: Duration) -> Option<String> {
        tokio::time::timeout(within, async {
            while let Ok(Some(l)) = self.lines.next_line().await {
                if l.starts_with(what) {
                    return Some(l);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    async fn send(&mut self, cmd: &str) {
        use tokio::io::AsyncWriteExt;
        self.stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .expect("the Python peer reads its stdin");
    }

    /// Marks the fault's start (before the fault is made).
    pub async fn fault(&mut self) {
        self.send("fault").await;
        assert!(
            self.expect("marked", Duration::from_secs(10))
                .await
                .is_some()
        );
    }

    /// Marks the moment recovery counts from.
    pub async fn back(&mut self) {
        self.send("stopped").await;
    }

    /// Waits up to `within` until a call started after [`PyPeer::back`]
    /// succeeded; whether one did.
    pub async fn recovered(&mut self, within: Duration) -> bool {
        self.expect("recovered", within).await.is_some()
    }

    /// Ends the peer without figures.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Stops the load and returns the peer's figures; the peer exits.
    pub async fn report(mut self) -> Value {
        self.send("report").await;
        let line = self.expect("{", Duration::from_secs(60)).await;
        let _ = self.child.kill().await;
        let line = line.expect("no figures from the Python peer");
        serde_json::from_str(&line).expect("JSON figures")
    }
}

/// The `FAULT` line of the Python peer's figures.
pub fn py_report(scenario: &str, f: &Value) -> String {
    let secs = |k: &str| {
        f[k].as_f64()
            .map_or("never".to_string(), |s| format!("{s:.2}s"))
    };
    format!(
        "FAULT {scenario}: calls {} failed {} (in flight {} failed {}) hung {} longest {}; \
         no call succeeded for {}; recovered in {}; casts confirmed {} lost {}; errors {}",
        f["calls"],
        f["failed"],
        f["in_flight"],
        f["in_flight_failed"],
        f["hung"],
        secs("longest"),
        secs("outage"),
        secs("recovery"),
        f["casts_confirmed_after"],
        f["casts_lost_after"],
        f["errors"]
    )
}

/// Awaits `fut` for up to `within`; past it, fails the test naming `what`
/// with the last warnings and errors of the log ([`capture_logs`] must
/// have been called at the test's start): a fault test never hangs.
pub async fn bounded<T>(
    what: &str,
    within: Duration,
    fut: impl std::future::Future<Output = T>,
) -> T {
    match tokio::time::timeout(within, fut).await {
        Ok(v) => v,
        Err(_) => panic!(
            "{what} did not end within {within:?}; last log lines:\n{}",
            log_tail(60)
        ),
    }
}

/// The last `n` INFO, WARN and ERROR lines of the log ([`capture_logs`]),
/// and where the whole log (DEBUG too) was written.
pub fn log_tail(n: usize) -> String {
    let text = fjord_test_support::Logs::global().text();
    let path = std::env::temp_dir().join(format!("fjord-fault-{}.log", std::process::id()));
    let saved = match std::fs::write(&path, &text) {
        Ok(()) => format!("(the whole log: {})", path.display()),
        Err(e) => format!("(cannot write the whole log to {}: {e})", path.display()),
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains(" INFO "))
        .collect();
    format!(
        "{}\n{saved}",
        lines[lines.len().saturating_sub(n)..].join("\n")
    )
}

/// Starts capturing this process's log lines (for [`bounded`]'s report).
pub fn capture_logs() {
    let _ = fjord_test_support::Logs::global();
}

/// Stops a server and closes transports, each step bounded (30 s).
pub async fn teardown(server: &fjord_messaging::RpcServer, transports: &[&Transport]) {
    use fjord_service::Service;
    bounded(
        "stopping the RPC server",
        Duration::from_secs(30),
        server.stop(true),
    )
    .await;
    bounded(
        "waiting for the RPC server",
        Duration::from_secs(30),
        server.wait(),
    )
    .await;
    for t in transports {
        bounded("closing a transport", Duration::from_secs(30), t.close()).await;
    }
}
