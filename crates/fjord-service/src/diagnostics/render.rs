//! What the diagnostics endpoint shows: a [`Snapshot`] of the board
//! (services summed over their live workers and retired totals, and each
//! worker), rendered as Prometheus text (`prometheus-client`'s encoder)
//! or as the JSON of `/status.json`.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

use super::board::{self, BUCKETS, Board, CLASSES, Kind, METHODS, OUTCOMES, PHASES, REASONS, get};

/// A histogram's copy: per-bucket counts (the last is `+Inf`), sum, count.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistSnap {
    pub(crate) buckets: [u64; BUCKETS.len() + 1],
    pub(crate) sum_s: f64,
    pub(crate) count: u64,
}

impl HistSnap {
    fn add(&mut self, h: &board::Hist) {
        for (a, b) in self.buckets.iter_mut().zip(&h.buckets) {
            *a += get(b);
        }
        self.sum_s += get(&h.sum_ns) as f64 / 1e9;
        self.count += get(&h.count);
    }

    fn merge(&mut self, o: &HistSnap) {
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
        self.sum_s += o.sum_s;
        self.count += o.count;
    }
}

/// One named series' copy (RPC pair or periodic task).
#[derive(Debug, Clone, Default)]
pub(crate) struct NamedSnap {
    pub(crate) outcomes: [u64; OUTCOMES.len()],
    pub(crate) hist: HistSnap,
}

/// A service's sums.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceSnap {
    pub(crate) name: String,
    pub(crate) workers: u64,
    pub(crate) restarts: [u64; REASONS.len()],
    pub(crate) http_requests: [[u64; CLASSES.len()]; METHODS.len()],
    pub(crate) http_duration: HistSnap,
    pub(crate) pool_waits: u64,
    pub(crate) connections: u64,
    pub(crate) in_flight: u64,
    pub(crate) pool_size: u64,
    pub(crate) by_phase: [u64; PHASES.len()],
    /// By (kind, name).
    pub(crate) named: BTreeMap<(u64, String), NamedSnap>,
}

/// A live worker's copy.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerSnap {
    pub(crate) service: usize,
    pub(crate) index: u64,
    pub(crate) pid: u64,
    pub(crate) phase: usize,
    pub(crate) started_ms: u64,
    pub(crate) heartbeat_age_s: Option<f64>,
    pub(crate) rss_bytes: Option<u64>,
    pub(crate) requests: u64,
    pub(crate) rpc_messages: u64,
    pub(crate) connections: u64,
    pub(crate) in_flight: u64,
    pub(crate) pool_size: u64,
}

/// The board at one moment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) name: String,
    pub(crate) master_pid: u64,
    pub(crate) master_started_ms: u64,
    pub(crate) now_ms: u64,
    pub(crate) services: Vec<ServiceSnap>,
    pub(crate) workers: Vec<WorkerSnap>,
}

fn add_counters(s: &mut ServiceSnap, c: &board::Counters) {
    for (a, b) in s.http_requests.iter_mut().zip(&c.http_requests) {
        for (a, b) in a.iter_mut().zip(b) {
            *a += get(b);
        }
    }
    s.http_duration.add(&c.http_duration);
    s.pool_waits += get(&c.http_pool_waits);
    for e in &c.names {
        if let Some((kind, name)) = e.read() {
            let n = s.named.entry((kind as u64, name)).or_default();
            for (a, b) in n.outcomes.iter_mut().zip(&e.outcomes) {
                *a += get(b);
            }
            n.hist.add(&e.hist);
        }
    }
}

/// Reads `board` consistently (see [`Board::read`]); `names` are the
/// services' names, in the master's order.
pub(crate) fn snapshot(board: &Board, name: &str, names: &[String]) -> Snapshot {
    let mut snap = board.read(|b| {
        let n = (get(&b.services_len) as usize).min(names.len());
        let mut services: Vec<ServiceSnap> = (0..n)
            .map(|s| {
                let area = &b.services[s];
                let mut svc = ServiceSnap {
                    name: names[s].clone(),
                    workers: get(&area.workers),
                    ..ServiceSnap::default()
                };
                for (a, r) in svc.restarts.iter_mut().zip(&area.restarts) {
                    *a = get(r);
                }
                add_counters(&mut svc, &area.retired);
                svc
            })
            .collect();
        let mut workers = Vec::new();
        for slot in &b.slots {
            let pid = slot.pid.load(std::sync::atomic::Ordering::Acquire);
            if pid == 0 {
                continue;
            }
            let s = get(&slot.service) as usize;
            let Some(svc) = services.get_mut(s) else {
                continue;
            };
            add_counters(svc, &slot.counters);
            let phase = (get(&slot.phase) as usize).min(PHASES.len() - 1);
            svc.by_phase[phase] += 1;
            let g = &slot.gauges;
            let (conns, in_flight, pool) = (
                get(&g.connections_open),
                get(&g.in_flight),
                get(&g.pool_size),
            );
            svc.connections += conns;
            svc.in_flight += in_flight;
            svc.pool_size += pool;
            let hb = get(&slot.heartbeat_ns);
            workers.push(WorkerSnap {
                service: s,
                index: get(&slot.index),
                pid,
                phase,
                started_ms: get(&slot.started_ms),
                heartbeat_age_s: (hb != 0)
                    .then(|| board::monotonic_ns().saturating_sub(hb) as f64 / 1e9),
                rss_bytes: None,
                requests: slot.counters.http_requests.iter().flatten().map(get).sum(),
                rpc_messages: slot
                    .counters
                    .names
                    .iter()
                    .filter(|e| matches!(e.read(), Some((Kind::RpcServer, _))))
                    .flat_map(|e| e.outcomes.iter().map(get))
                    .sum(),
                connections: conns,
                in_flight,
                pool_size: pool,
            });
        }
        Snapshot {
            name: name.to_owned(),
            master_pid: get(&b.master_pid),
            master_started_ms: get(&b.master_started_ms),
            now_ms: board::unix_ms(),
            services,
            workers,
        }
    });
    // /proc reads outside the read loop: a retry would repeat them.
    for w in &mut snap.workers {
        w.rss_bytes = rss(w.pid);
    }
    snap.workers.sort_by_key(|w| (w.service, w.index, w.pid));
    snap
}

/// Resident memory of `pid` (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss(pid: u64) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Writes one counter or gauge family.
fn family<V>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: Vec<(Vec<(&'static str, String)>, V)>,
) -> std::fmt::Result
where
    V: prometheus_client::encoding::EncodeCounterValue
        + prometheus_client::encoding::EncodeGaugeValue,
{
    let is_counter = matches!(kind, MetricType::Counter);
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in rows {
        let mut f = m.encode_family(&labels)?;
        if is_counter {
            f.encode_counter::<NoLabelSet, V, f64>(&v, None::<&Exemplar<NoLabelSet, f64>>)?;
        } else {
            f.encode_gauge(&v)?;
        }
    }
    Ok(())
}

fn histogram(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: Vec<(Vec<(&'static str, String)>, HistSnap)>,
) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, h) in rows {
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(h.buckets)
            .collect();
        m.encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(h.sum_s, h.count, &buckets, None)?;
    }
    Ok(())
}

fn split(pair: &str) -> (String, String) {
    match pair.split_once('\0') {
        Some((t, m)) => (t.to_owned(), m.to_owned()),
        None => (pair.to_owned(), "other".to_owned()),
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        let http: Vec<&ServiceSnap> = self
            .services
            .iter()
            .filter(|s| s.pool_size > 0 || s.http_duration.count > 0 || s.connections > 0)
            .collect();
        let api = |s: &ServiceSnap| ("api", s.name.clone());
        let mut rows = Vec::new();
        for s in &http {
            for (m, classes) in s.http_requests.iter().enumerate() {
                for (c, v) in classes.iter().enumerate() {
                    if *v > 0 {
                        rows.push((
                            vec![
                                api(s),
                                ("method", METHODS[m].to_owned()),
                                ("status", CLASSES[c].to_owned()),
                            ],
                            *v,
                        ));
                    }
                }
            }
        }
        family(
            &mut enc,
            "fjord_http_requests",
            "HTTP requests answered, by API, method and status class.",
            MetricType::Counter,
            rows,
        )?;
        histogram(
            &mut enc,
            "fjord_http_request_duration_seconds",
            "Time to answer an HTTP request, from its head received to its response sent.",
            http.iter()
                .map(|s| (vec![api(s)], s.http_duration.clone()))
                .collect(),
        )?;
        family(
            &mut enc,
            "fjord_http_connections",
            "HTTP connections open: active (a request in flight) or idle.",
            MetricType::Gauge,
            http.iter()
                .flat_map(|s| {
                    let active = s.in_flight.min(s.connections);
                    [
                        (vec![api(s), ("state", "active".to_owned())], active),
                        (
                            vec![api(s), ("state", "idle".to_owned())],
                            s.connections - active,
                        ),
                    ]
                })
                .collect(),
        )?;
        family(
            &mut enc,
            "fjord_http_pool_in_use",
            "Request pool slots in use (requests being served), summed over workers.",
            MetricType::Gauge,
            http.iter().map(|s| (vec![api(s)], s.in_flight)).collect(),
        )?;
        family(
            &mut enc,
            "fjord_http_pool_size",
            "Request pool slots (wsgi_default_pool_size), summed over workers.",
            MetricType::Gauge,
            http.iter().map(|s| (vec![api(s)], s.pool_size)).collect(),
        )?;
        family(
            &mut enc,
            "fjord_http_pool_waits",
            "HTTP requests that waited for a free pool slot.",
            MetricType::Counter,
            http.iter().map(|s| (vec![api(s)], s.pool_waits)).collect(),
        )?;

        // Named series, summed over services by name.
        let mut named: BTreeMap<(u64, String), NamedSnap> = BTreeMap::new();
        for s in &self.services {
            for (k, v) in &s.named {
                let n = named.entry(k.clone()).or_default();
                for (a, b) in n.outcomes.iter_mut().zip(v.outcomes) {
                    *a += b;
                }
                n.hist.merge(&v.hist);
            }
        }
        let outcome_rows = |kind: Kind, outcomes: &[usize], by: &[&'static str]| {
            let mut rows = Vec::new();
            for ((k, name), n) in &named {
                if *k != kind as u64 {
                    continue;
                }
                for &o in outcomes {
                    let mut labels: Vec<(&'static str, String)> = if by.len() == 2 {
                        let (t, m) = split(name);
                        vec![(by[0], t), (by[1], m)]
                    } else {
                        vec![(by[0], name.clone())]
                    };
                    labels.push(("outcome", OUTCOMES[o].to_owned()));
                    rows.push((labels, n.outcomes[o]));
                }
            }
            rows
        };
        family(
            &mut enc,
            "fjord_rpc_server_messages",
            "RPC messages dispatched by the servers, by topic, method and outcome.",
            MetricType::Counter,
            outcome_rows(Kind::RpcServer, &[0, 1], &["topic", "method"]),
        )?;
        let mut by_topic: BTreeMap<String, HistSnap> = BTreeMap::new();
        for ((k, name), n) in &named {
            if *k == Kind::RpcServer as u64 {
                by_topic.entry(split(name).0).or_default().merge(&n.hist);
            }
        }
        histogram(
            &mut enc,
            "fjord_rpc_server_duration_seconds",
            "Time to dispatch an RPC message, by topic.",
            by_topic
                .into_iter()
                .map(|(t, h)| (vec![("topic", t)], h))
                .collect(),
        )?;
        family(
            &mut enc,
            "fjord_rpc_client_calls",
            "RPC calls and casts made by the clients, by topic, method and outcome.",
            MetricType::Counter,
            outcome_rows(Kind::RpcClient, &[0, 1, 2], &["topic", "method"]),
        )?;
        family(
            &mut enc,
            "fjord_periodic_task_runs",
            "Runs of periodic tasks, by task and outcome.",
            MetricType::Counter,
            outcome_rows(Kind::Periodic, &[0, 1], &["task"]),
        )?;

        let svc = |s: &ServiceSnap| ("service", s.name.clone());
        family(
            &mut enc,
            "fjord_workers",
            "Worker processes, by service and state.",
            MetricType::Gauge,
            self.services
                .iter()
                .flat_map(|s| {
                    PHASES.iter().enumerate().map(move |(p, phase)| {
                        (vec![svc(s), ("state", (*phase).to_owned())], s.by_phase[p])
                    })
                })
                .collect(),
        )?;
        family(
            &mut enc,
            "fjord_worker_restarts",
            "Workers replaced, by service and reason.",
            MetricType::Counter,
            self.services
                .iter()
                .flat_map(|s| {
                    REASONS.iter().enumerate().map(move |(r, reason)| {
                        (
                            vec![svc(s), ("reason", (*reason).to_owned())],
                            s.restarts[r],
                        )
                    })
                })
                .collect(),
        )?;
        let worker_labels = |w: &WorkerSnap| {
            vec![
                (
                    "service",
                    self.services
                        .get(w.service)
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                ),
                ("index", w.index.to_string()),
            ]
        };
        family(
            &mut enc,
            "fjord_process_resident_memory_bytes",
            "Resident memory of each worker process (from /proc).",
            MetricType::Gauge,
            self.workers
                .iter()
                .filter_map(|w| Some((worker_labels(w), w.rss_bytes?)))
                .collect(),
        )?;
        family(
            &mut enc,
            "fjord_worker_heartbeat_age_seconds",
            "Time since each worker's last heartbeat (the watchdog's input).",
            MetricType::Gauge,
            self.workers
                .iter()
                .filter_map(|w| Some((worker_labels(w), w.heartbeat_age_s?)))
                .collect(),
        )?;
        Ok(())
    }
}

/// Prometheus text exposition (0.0.4) of `snap`.
pub(crate) fn metrics(snap: Snapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snap));
    let mut out = String::new();
    // Writing to a String does not fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

/// Open file descriptors of `pid` (entries of `/proc/<pid>/fd`).
pub(crate) fn open_fds(pid: u64) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// The board's part of a report (SIGUSR2, `GET /report`): per service
/// its totals, per worker its counters, memory and descriptors.
pub(crate) fn report(snap: &Snapshot) -> String {
    let mut out = String::new();
    let mib = |b: Option<u64>| {
        b.map_or("?".to_owned(), |b| {
            format!("{:.1}MiB", b as f64 / 1048576.0)
        })
    };
    for (s, svc) in snap.services.iter().enumerate() {
        let requests: u64 = svc.http_requests.iter().flatten().sum();
        let restarts: Vec<String> = REASONS
            .iter()
            .zip(svc.restarts)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        out.push_str(&format!(
            "  diagnostics {}: http requests={requests} in_flight={}/{} connections={} \
             pool_waits={} replaced: {}\n",
            svc.name,
            svc.in_flight,
            svc.pool_size,
            svc.connections,
            svc.pool_waits,
            if restarts.is_empty() {
                "none".to_owned()
            } else {
                restarts.join(" ")
            },
        ));
        for ((kind, name), n) in &svc.named {
            let what = match *kind {
                k if k == Kind::RpcServer as u64 => "rpc server",
                k if k == Kind::RpcClient as u64 => "rpc client",
                _ => "periodic task",
            };
            out.push_str(&format!(
                "    {what} {}: ok={} error={} timeout={}\n",
                name.replace('\0', "."),
                n.outcomes[0],
                n.outcomes[1],
                n.outcomes[2]
            ));
        }
        for w in snap.workers.iter().filter(|w| w.service == s) {
            out.push_str(&format!(
                "    #{} pid={} {} requests={} rpc_messages={} in_flight={} connections={} \
                 rss={} fds={} heartbeat={}\n",
                w.index,
                w.pid,
                PHASES[w.phase],
                w.requests,
                w.rpc_messages,
                w.in_flight,
                w.connections,
                mib(w.rss_bytes),
                open_fds(w.pid).map_or("?".to_owned(), |n| n.to_string()),
                w.heartbeat_age_s
                    .map_or("none".to_owned(), |a| format!("{a:.1}s ago")),
            ));
        }
    }
    out
}

/// The JSON of `/status.json`.
pub(crate) fn status(snap: &Snapshot) -> Value {
    let uptime = |ms: u64| snap.now_ms.saturating_sub(ms) as f64 / 1000.0;
    let services: Vec<Value> = snap
        .services
        .iter()
        .map(|s| {
            let requests: u64 = s.http_requests.iter().flatten().sum();
            let errors: u64 = s.http_requests.iter().map(|c| c[4]).sum();
            let rpc = |kind: Kind| -> Vec<Value> {
                s.named
                    .iter()
                    .filter(|((k, _), _)| *k == kind as u64)
                    .map(|((_, name), n)| {
                        let (a, b) = split(name);
                        json!({
                            "topic": a, "method": b, "name": name.replace('\0', "."),
                            "ok": n.outcomes[0], "error": n.outcomes[1], "timeout": n.outcomes[2],
                        })
                    })
                    .collect()
            };
            json!({
                "name": s.name,
                "workers": s.workers,
                "states": PHASES.iter().zip(s.by_phase).map(|(p, n)| (p.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "restarts": REASONS.iter().zip(s.restarts).map(|(r, n)| (r.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "http": {
                    "requests": requests,
                    "errors_5xx": errors,
                    "connections": s.connections,
                    "pool_in_use": s.in_flight,
                    "pool_size": s.pool_size,
                    "pool_waits": s.pool_waits,
                    "duration_sum_s": s.http_duration.sum_s,
                },
                "rpc_server": rpc(Kind::RpcServer),
                "rpc_client": rpc(Kind::RpcClient),
                "periodic_tasks": s.named.iter()
                    .filter(|((k, _), _)| *k == Kind::Periodic as u64)
                    .map(|((_, name), n)| json!({"task": name, "ok": n.outcomes[0], "error": n.outcomes[1]}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let workers: Vec<Value> = snap
        .workers
        .iter()
        .map(|w| {
            json!({
                "service": snap.services.get(w.service).map(|s| s.name.as_str()).unwrap_or(""),
                "index": w.index,
                "pid": w.pid,
                "state": PHASES[w.phase],
                "uptime_s": uptime(w.started_ms),
                "rss_bytes": w.rss_bytes,
                "heartbeat_age_s": w.heartbeat_age_s,
                "requests": w.requests,
                "rpc_messages": w.rpc_messages,
                "connections": w.connections,
                "in_flight": w.in_flight,
                "pool_size": w.pool_size,
            })
        })
        .collect();
    json!({
        "name": snap.name,
        "master": {
            "pid": snap.master_pid,
            "uptime_s": uptime(snap.master_started_ms),
            "rss_bytes": rss(snap.master_pid),
        },
        "time_ms": snap.now_ms,
        "services": services,
        "workers": workers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::board::{Recorder, map};
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::Duration;

    #[test]
    fn a_scrape_parses_and_sums_live_and_retired_workers() {
        let b = map().unwrap();
        b.services_len.store(1, Relaxed);
        for (i, pid) in [(0, std::process::id() as u64), (1, 1)] {
            b.slots[i].pid.store(pid, Relaxed);
            b.slots[i].phase.store(1, Relaxed);
            b.slots[i].index.store(i as u64, Relaxed);
            let r = Recorder::new(&b.slots[i]);
            r.http_request("GET", 200, Duration::from_millis(3));
            r.http_request("PROPFIND", 503, Duration::from_secs(30));
            r.named(
                Kind::RpcServer,
                b"demo\0echo",
                0,
                Some(Duration::from_millis(1)),
            );
        }
        b.services[0].restarts[2].store(1, Relaxed);
        b.retire_slot(1);
        // A name with a quote is escaped as the text format wants.
        let quoted = metrics(snapshot(b, "t", &["a \"b\"".to_owned()]));
        assert!(
            quoted.contains(r#"{service="a \"b\"",state="serving"} 1"#),
            "{quoted}"
        );
        let snap = snapshot(b, "t", &["api".to_owned()]);
        assert_eq!(snap.workers.len(), 1, "the retired one is gone");
        assert!(snap.workers[0].rss_bytes.is_some_and(|r| r > 0));
        let text = metrics(snap.clone());
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("Prometheus text");
        let get = |name: &str, labels: &[(&str, &str)]| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                })
                .map(|s| match &s.value {
                    prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => *v,
                    prometheus_parse::Value::Histogram(h) => h.last().map_or(-1.0, |c| c.count),
                    _ => -1.0,
                })
        };
        let api = ("api", "api");
        assert_eq!(
            get(
                "fjord_http_requests_total",
                &[api, ("method", "GET"), ("status", "2xx")]
            ),
            Some(2.0)
        );
        assert_eq!(
            get(
                "fjord_http_requests_total",
                &[api, ("method", "other"), ("status", "5xx")]
            ),
            Some(2.0)
        );
        assert_eq!(
            get("fjord_http_request_duration_seconds", &[api]),
            Some(4.0)
        );
        assert_eq!(
            get(
                "fjord_rpc_server_messages_total",
                &[("topic", "demo"), ("method", "echo"), ("outcome", "ok")]
            ),
            Some(2.0)
        );
        assert_eq!(
            get(
                "fjord_worker_restarts_total",
                &[("service", "api"), ("reason", "watchdog")]
            ),
            Some(1.0)
        );
        assert_eq!(
            get("fjord_workers", &[("service", "api"), ("state", "serving")]),
            Some(1.0)
        );
        assert!(text.contains(r#"le="+Inf""#), "{text}");
        let json = status(&snap);
        assert_eq!(json["services"][0]["http"]["requests"], 4);
        assert_eq!(json["services"][0]["http"]["errors_5xx"], 2);
        assert_eq!(json["workers"][0]["state"], "serving");
        assert_eq!(json["services"][0]["rpc_server"][0]["name"], "demo.echo");
    }
}
