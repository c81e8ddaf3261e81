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

use super::board::{
    self, BUCKETS, Board, CLASSES, FlightKind, Kind, METHODS, OUTCOMES, PHASES, REASONS, get,
};

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
    pub(crate) open_fds: Option<usize>,
    /// Requests and RPC messages in flight with an entry, oldest first.
    pub(crate) flights: Vec<FlightSnap>,
    /// In flight without an entry (the table was full): requests, RPC
    /// messages.
    pub(crate) flights_more: [u64; 2],
    /// Periodic tasks, in the order the worker first ran them.
    pub(crate) tasks: Vec<board::TaskCopy>,
    /// Some periodic tasks found the table full and are not shown.
    pub(crate) tasks_full: bool,
}

/// A request or RPC message in flight.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FlightSnap {
    pub(crate) kind: FlightKind,
    /// `METHOD path`, or `topic.method`.
    pub(crate) what: String,
    pub(crate) age_s: f64,
}

/// The board at one moment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) name: String,
    pub(crate) master_pid: u64,
    pub(crate) master_started_ms: u64,
    /// Index into [`board::MASTER_STATES`].
    pub(crate) master_state: usize,
    pub(crate) now_ms: u64,
    pub(crate) services: Vec<ServiceSnap>,
    pub(crate) workers: Vec<WorkerSnap>,
    /// Service records, by (binary, host).
    pub(crate) records: Vec<RecordSnap>,
    /// Records left out of the fullest list (past the table).
    pub(crate) records_dropped: u64,
}

/// A service record as the freshest worker read it, judged now.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RecordSnap {
    pub(crate) binary: String,
    pub(crate) host: String,
    /// Unix ms of its last heartbeat.
    pub(crate) heartbeat_ms: u64,
    /// Unix ms of the worker's read it comes from.
    pub(crate) read_ms: u64,
    pub(crate) down_time_ms: u64,
    /// nova's rule at `now`: `|now - heartbeat| <= service_down_time`.
    pub(crate) up: bool,
}

/// Per (binary, host), the record from the latest read of any live
/// worker, judged at `now_ms`; and the most records a list left out.
fn service_records(board: &Board, now_ms: u64) -> (Vec<RecordSnap>, u64) {
    let mut by: BTreeMap<(String, String), RecordSnap> = BTreeMap::new();
    let mut dropped = 0;
    for slot in &board.slots {
        if slot.pid.load(std::sync::atomic::Ordering::Acquire) == 0 {
            continue;
        }
        let Some(copy) = slot.records.copy() else {
            continue;
        };
        dropped = dropped.max(copy.dropped);
        for (binary, host, heartbeat_ms) in copy.entries {
            let e = by.entry((binary.clone(), host.clone())).or_default();
            if copy.read_ms >= e.read_ms {
                *e = RecordSnap {
                    binary,
                    host,
                    heartbeat_ms,
                    read_ms: copy.read_ms,
                    down_time_ms: copy.down_time_ms,
                    up: now_ms.abs_diff(heartbeat_ms) <= copy.down_time_ms,
                };
            }
        }
    }
    (by.into_values().collect(), dropped)
}

fn add_http(s: &mut ServiceSnap, c: &board::HttpCounts) {
    for (a, b) in s.http_requests.iter_mut().zip(&c.requests) {
        for (a, b) in a.iter_mut().zip(b) {
            *a += get(b);
        }
    }
    s.http_duration.add(&c.duration);
    s.pool_waits += get(&c.pool_waits);
}

fn add_counters(s: &mut ServiceSnap, c: &board::Counters) {
    add_http(s, &c.http);
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
            for shard in &slot.http_shards {
                add_http(svc, shard);
            }
            let phase = (get(&slot.phase) as usize).min(PHASES.len() - 1);
            svc.by_phase[phase] += 1;
            let (conns, in_flight, pool) = (
                slot.connections_open(),
                slot.http_in_flight(),
                get(&slot.pool_size),
            );
            svc.connections += conns;
            svc.in_flight += in_flight;
            svc.pool_size += pool;
            let hb = get(&slot.heartbeat_ns);
            let now_ns = board::monotonic_ns();
            let mut flights: Vec<FlightSnap> = slot
                .flights
                .iter()
                .filter_map(board::Flight::read)
                .map(|f| FlightSnap {
                    kind: f.kind,
                    what: f.text.replace('\0', "."),
                    age_s: now_ns.saturating_sub(f.started_ns) as f64 / 1e9,
                })
                .collect();
            flights.sort_by(|a, b| b.age_s.total_cmp(&a.age_s));
            workers.push(WorkerSnap {
                service: s,
                index: get(&slot.index),
                pid,
                phase,
                started_ms: get(&slot.started_ms),
                heartbeat_age_s: (hb != 0)
                    .then(|| board::monotonic_ns().saturating_sub(hb) as f64 / 1e9),
                rss_bytes: None,
                requests: slot
                    .http_counts()
                    .flat_map(|c| c.requests.iter().flatten())
                    .map(get)
                    .sum(),
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
                open_fds: None,
                flights,
                flights_more: [
                    get(&slot.flights_more[FlightKind::Http as usize]),
                    get(&slot.flights_more[FlightKind::Rpc as usize]),
                ],
                tasks: slot
                    .tasks
                    .iter()
                    .filter_map(board::TaskSlot::read)
                    .collect(),
                tasks_full: get(&slot.tasks_full) == 1,
            });
        }
        Snapshot {
            name: name.to_owned(),
            master_pid: get(&b.master_pid),
            master_started_ms: get(&b.master_started_ms),
            master_state: (get(&b.master_state) as usize).min(board::MASTER_STATES.len() - 1),
            now_ms: board::unix_ms(),
            services,
            workers,
            records: Vec::new(),
            records_dropped: 0,
        }
    });
    (snap.records, snap.records_dropped) = service_records(board, snap.now_ms);
    // /proc reads outside the read loop: a retry would repeat them.
    for w in &mut snap.workers {
        w.rss_bytes = rss(w.pid);
        w.open_fds = open_fds(w.pid);
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
        encode_service_up(&mut enc, &self.records)?;
        Ok(())
    }
}

/// `fjord_service_up`, absent when no worker publishes service records.
fn encode_service_up(enc: &mut DescriptorEncoder<'_>, records: &[RecordSnap]) -> std::fmt::Result {
    if records.is_empty() {
        return Ok(());
    }
    family(
        enc,
        "fjord_service_up",
        "Whether each service record is up (1) or down (0): its last heartbeat within \
         service_down_time of now (nova's servicegroup rule).",
        MetricType::Gauge,
        records
            .iter()
            .map(|r| {
                (
                    vec![("binary", r.binary.clone()), ("host", r.host.clone())],
                    u64::from(r.up),
                )
            })
            .collect(),
    )
}

/// The service records of `/status.json`.
fn records_json(snap: &Snapshot) -> Value {
    let age = |ms: u64| snap.now_ms as f64 / 1000.0 - ms as f64 / 1000.0;
    snap.records
        .iter()
        .map(|r| {
            json!({
                "binary": r.binary,
                "host": r.host,
                "up": r.up,
                "state": if r.up { "up" } else { "down" },
                "heartbeat_age_s": age(r.heartbeat_ms),
                "read_age_s": age(r.read_ms),
                "service_down_time_s": r.down_time_ms as f64 / 1000.0,
            })
        })
        .collect()
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

/// What a report says about the program, beyond the board: set once by
/// the master before its first fork, so every process it forks has it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportInfo {
    /// The executable's file name.
    pub(crate) binary: String,
    /// The application's version, if it gave one.
    pub(crate) app_version: Option<String>,
    /// The configuration, secrets masked, as the application handed it
    /// to the launcher and kept current on reload.
    pub(crate) config: Option<std::sync::Arc<std::sync::Mutex<super::config_dump::ConfigDump>>>,
}

static REPORT_INFO: std::sync::Mutex<Option<ReportInfo>> = std::sync::Mutex::new(None);

/// Sets what [`report`] shows besides the board.
pub(crate) fn set_report_info(info: ReportInfo) {
    *REPORT_INFO.lock().unwrap_or_else(|p| p.into_inner()) = Some(info);
}

fn report_info() -> ReportInfo {
    REPORT_INFO
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

/// The executable's file name (`/proc/self/exe`, else `argv[0]`).
pub(crate) fn binary_name() -> String {
    std::env::current_exe()
        .ok()
        .or_else(|| std::env::args_os().next().map(Into::into))
        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "fjord".to_owned())
}

/// A section title, as oslo.reports' text reports draw them.
fn section(out: &mut String, title: &str) {
    let bar = "=".repeat(72);
    let pad = 64 - title.len().min(64);
    out.push_str(&format!(
        "{bar}\n===={}{title}{}====\n{bar}\n",
        " ".repeat(pad / 2),
        " ".repeat(pad - pad / 2)
    ));
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time in milliseconds.
pub(crate) fn utc(ms: u64) -> String {
    let (date, secs) = utc_parts(ms);
    format!(
        "{date} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `YYYYmmddHHMMSS` (UTC): oslo.reports' file-name timestamp.
pub(crate) fn utc_compact(ms: u64) -> String {
    let (date, secs) = utc_parts(ms);
    format!(
        "{}{:02}{:02}{:02}",
        date.replace('-', ""),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The civil date (`YYYY-MM-DD`) and the seconds into that day.
fn utc_parts(ms: u64) -> (String, u64) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    // Days to a civil date (H. Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (format!("{y:04}-{m:02}-{d:02}"), secs % 86_400)
}

/// `1.5s`, `2m03s`, `1h02m`.
fn span(s: f64) -> String {
    let s = s.max(0.0);
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, s as u64 % 60)
    } else {
        format!("{}h{:02}m", (s / 3600.0) as u64, (s / 60.0) as u64 % 60)
    }
}

fn mib(b: Option<u64>) -> String {
    b.map_or("?".to_owned(), |b| {
        format!("{:.1}MiB", b as f64 / 1_048_576.0)
    })
}

/// `api #0 pid=4243`.
fn worker_name(snap: &Snapshot, w: &WorkerSnap) -> String {
    format!(
        "{} #{} pid={}",
        snap.services
            .get(w.service)
            .map_or("?", |s| s.name.as_str()),
        w.index,
        w.pid
    )
}

/// The report (SIGUSR2, `GET /report`): the program (Package), each
/// service's totals, each worker (state, memory, descriptors, heartbeat),
/// what each worker has in flight ([`report_conns`]), its periodic tasks
/// ([`report_tasks`]) and the configuration
/// ([`report_config_section`]).
pub(crate) fn report(snap: &Snapshot) -> String {
    let info = report_info();
    let uptime = |ms: u64| snap.now_ms.saturating_sub(ms) as f64 / 1000.0;
    let mut out = format!(
        "fjord report: master pid={} uptime={} state={}\n",
        snap.master_pid,
        span(uptime(snap.master_started_ms)),
        board::MASTER_STATES[snap.master_state.min(board::MASTER_STATES.len() - 1)],
    );
    section(&mut out, "Guru Meditation");
    out.push_str(&format!("time = {} UTC\n", utc(snap.now_ms)));
    section(&mut out, "Package");
    out.push_str(&format!(
        "binary = {}\nname = {}\nversion = {}\nfjord-service = {}\nmaster pid = {}\nmaster uptime = {}\nmaster rss = {}\n",
        if info.binary.is_empty() {
            binary_name()
        } else {
            info.binary.clone()
        },
        snap.name,
        info.app_version.as_deref().unwrap_or("(not given)"),
        env!("CARGO_PKG_VERSION"),
        snap.master_pid,
        span(uptime(snap.master_started_ms)),
        mib(rss(snap.master_pid)),
    ));
    section(&mut out, "Services");
    for svc in &snap.services {
        let requests: u64 = svc.http_requests.iter().flatten().sum();
        let restarts: Vec<String> = REASONS
            .iter()
            .zip(svc.restarts)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        let phases: Vec<String> = PHASES
            .iter()
            .zip(svc.by_phase)
            .filter(|(_, n)| *n > 0)
            .map(|(p, n)| format!("{p}={n}"))
            .collect();
        out.push_str(&format!(
            "{}: workers={} ({}) replaced: {}\n",
            svc.name,
            svc.workers,
            phases.join(" "),
            if restarts.is_empty() {
                "none".to_owned()
            } else {
                restarts.join(" ")
            },
        ));
        if svc.pool_size > 0 || requests > 0 || svc.connections > 0 {
            out.push_str(&format!(
                "  http: requests={requests} in_flight={}/{} connections={} pool_waits={}\n",
                svc.in_flight, svc.pool_size, svc.connections, svc.pool_waits,
            ));
        }
        for ((kind, name), n) in &svc.named {
            let what = match *kind {
                k if k == Kind::RpcServer as u64 => "rpc server",
                k if k == Kind::RpcClient as u64 => "rpc client",
                _ => "periodic task",
            };
            out.push_str(&format!(
                "  {what} {}: ok={} error={} timeout={}\n",
                name.replace('\0', "."),
                n.outcomes[0],
                n.outcomes[1],
                n.outcomes[2]
            ));
        }
    }
    section(&mut out, "Workers");
    for w in &snap.workers {
        out.push_str(&format!(
            "{}: {} uptime={} rss={} fds={} heartbeat={} requests={} rpc_messages={}\n",
            worker_name(snap, w),
            PHASES[w.phase],
            span(uptime(w.started_ms)),
            mib(w.rss_bytes),
            w.open_fds.map_or("?".to_owned(), |n| n.to_string()),
            w.heartbeat_age_s
                .map_or("none".to_owned(), |a| format!("{a:.1}s ago")),
            w.requests,
            w.rpc_messages,
        ));
    }
    section(&mut out, "In flight");
    out.push_str(&report_conns(snap));
    section(&mut out, "Periodic tasks");
    out.push_str(&report_tasks(snap));
    section(&mut out, "Configuration");
    let dump = info.config.as_ref().map(|d| {
        d.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entries
            .clone()
    });
    out.push_str(&report_config_section(dump.as_deref()));
    out
}

/// Per worker: its connections, then its requests and RPC messages in
/// flight with their age, oldest first; those past the table are
/// counted ("and K more").
pub(crate) fn report_conns(snap: &Snapshot) -> String {
    let mut out = String::new();
    for w in &snap.workers {
        let requests = w
            .flights
            .iter()
            .filter(|f| f.kind == FlightKind::Http)
            .count() as u64
            + w.flights_more[0];
        let messages = w
            .flights
            .iter()
            .filter(|f| f.kind == FlightKind::Rpc)
            .count() as u64
            + w.flights_more[1];
        out.push_str(&format!(
            "{}: connections={} requests in flight={requests} rpc messages in flight={messages}\n",
            worker_name(snap, w),
            w.connections,
        ));
        for (kind, label, more) in [
            (FlightKind::Http, "request", w.flights_more[0]),
            (FlightKind::Rpc, "rpc", w.flights_more[1]),
        ] {
            for f in w.flights.iter().filter(|f| f.kind == kind) {
                out.push_str(&format!("  {label} {} age={}\n", f.what, span(f.age_s)));
            }
            if more > 0 {
                out.push_str(&format!(
                    "  ... and {more} more {label}{} (no table entry free: ages unknown)\n",
                    if more == 1 { "" } else { "s" }
                ));
            }
        }
    }
    if snap.workers.is_empty() {
        out.push_str("(no worker)\n");
    }
    out
}

/// Per worker: its periodic tasks with their last run, next run and last
/// error.
pub(crate) fn report_tasks(snap: &Snapshot) -> String {
    let mut out = String::new();
    let ago = |ms: u64| span(snap.now_ms.saturating_sub(ms) as f64 / 1000.0);
    for w in snap.workers.iter().filter(|w| !w.tasks.is_empty()) {
        out.push_str(&format!("{}:\n", worker_name(snap, w)));
        for t in &w.tasks {
            let last = if t.running {
                format!("running for {}", ago(t.last_start_ms))
            } else if t.last_end_ms == 0 {
                "never".to_owned()
            } else {
                format!(
                    "{} ago ({}, took {})",
                    ago(t.last_start_ms),
                    if t.last_failed { "failed" } else { "ok" },
                    span(t.last_end_ms.saturating_sub(t.last_start_ms) as f64 / 1000.0)
                )
            };
            let next = if t.next_ms == 0 {
                "unknown".to_owned()
            } else if t.next_ms <= snap.now_ms {
                "due now".to_owned()
            } else {
                format!(
                    "in {}",
                    span(t.next_ms.saturating_sub(snap.now_ms) as f64 / 1000.0)
                )
            };
            out.push_str(&format!(
                "  {}: runs={} failures={} last run {last}, next run {next}\n",
                t.name, t.runs, t.failures
            ));
            if let Some((at, error)) = &t.last_error {
                out.push_str(&format!(
                    "    last error ({} ago): {}\n",
                    ago(*at),
                    error.replace('\n', " | ")
                ));
            }
        }
        if w.tasks_full {
            out.push_str("  ... and more tasks (no table entry free)\n");
        }
    }
    if out.is_empty() {
        out.push_str("(no periodic task has run)\n");
    }
    out
}

/// The configuration, `(group, option, value)` with secrets already
/// masked, grouped as in a configuration file; `None`: the program did
/// not give it to the launcher.
pub(crate) fn report_config_section(config: Option<&[(String, String, String)]>) -> String {
    let Some(rows) = config else {
        return "(not given to the launcher)\n".to_owned();
    };
    let mut groups: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (g, o, v) in rows {
        groups.entry(g).or_default().push((o, v));
    }
    let mut out = String::new();
    // [DEFAULT] first, as oslo.config prints it.
    let mut order: Vec<&str> = groups.keys().copied().collect();
    order.sort_by_key(|g| (*g != "DEFAULT", *g));
    for g in order {
        out.push_str(&format!("[{g}]\n"));
        for (o, v) in &groups[g] {
            out.push_str(&format!("  {o} = {v}\n"));
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
        "service_records": records_json(snap),
        "service_records_dropped": snap.records_dropped,
    })
}

// The console's `config` command.

/// The configuration, secrets masked: one group or all (console
/// `config [group]`).
pub(crate) fn report_config(
    dump: &super::config_dump::ConfigDump,
    group: Option<&str>,
) -> Result<String, String> {
    if dump.entries.is_empty() {
        return Err("no configuration was given to the launcher".to_owned());
    }
    let want = group.map(|g| {
        if g.eq_ignore_ascii_case("DEFAULT") {
            "DEFAULT".to_owned()
        } else {
            g.to_lowercase()
        }
    });
    if let Some(g) = &want
        && !dump.groups().contains(&g.as_str())
    {
        return Err(format!(
            "no group {g:?}; groups: {}",
            dump.groups().join(" ")
        ));
    }
    let mut out = String::new();
    for (g, o, v) in &dump.entries {
        if want.as_ref().is_none_or(|w| w == g) {
            out.push_str(&format!("[{g}] {o} = {v}\n"));
        }
    }
    Ok(out)
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

    #[test]
    fn the_report_shows_what_is_in_flight_oldest_first_and_the_tasks() {
        let b = map().unwrap();
        b.services_len.store(1, Relaxed);
        b.master_pid.store(std::process::id() as u64, Relaxed);
        b.master_started_ms.store(board::unix_ms() - 5000, Relaxed);
        let slot = &b.slots[0];
        slot.pid.store(std::process::id() as u64, Relaxed);
        slot.phase.store(1, Relaxed);
        let now = board::monotonic_ns();
        slot.flight_begin(FlightKind::Http, &[b"GET /young"], now - 1_000_000_000);
        slot.flight_begin(FlightKind::Rpc, &[b"demo\0sleep"], now - 2_000_000_000);
        slot.flight_begin(FlightKind::Http, &[b"GET /old"], now - 3_000_000_000);
        for _ in 0..board::FLIGHTS {
            slot.flight_begin(FlightKind::Http, &[b"GET /many"], now);
        }
        let t = slot.task("Jobs.tick").unwrap();
        t.set_error(board::unix_ms() - 2000, "tick 2 failed\non purpose");
        t.last_start_ms.store(board::unix_ms() - 2000, Relaxed);
        t.last_end_ms.store(board::unix_ms() - 1900, Relaxed);
        t.last_outcome.store(2, Relaxed);
        t.runs.store(2, Relaxed);
        t.failures.store(1, Relaxed);
        t.next_ms.store(board::unix_ms() + 30_000, Relaxed);
        let snap = snapshot(b, "t", &["api".to_owned()]);

        let conns = report_conns(&snap);
        let old = conns.find("request GET /old age=3.").expect(&conns);
        let young = conns.find("request GET /young age=1.").expect(&conns);
        assert!(old < young, "oldest first: {conns}");
        assert!(conns.contains("rpc demo.sleep age=2."), "{conns}");
        assert!(conns.contains("... and 3 more requests"), "{conns}");
        assert!(
            conns.contains("requests in flight=34 rpc messages in flight=1"),
            "{conns}"
        );

        let tasks = report_tasks(&snap);
        assert!(
            tasks.contains("Jobs.tick: runs=2 failures=1 last run 2.0s ago (failed, took 0.1s), next run in 29.")
                || tasks.contains("Jobs.tick: runs=2 failures=1 last run 2.0s ago (failed, took 0.1s), next run in 30."),
            "{tasks}"
        );
        assert!(
            tasks.contains("last error (2.0s ago): tick 2 failed | on purpose"),
            "{tasks}"
        );

        set_report_info(ReportInfo {
            binary: "demo-api".to_owned(),
            app_version: Some("9.8.7".to_owned()),
            config: Some(std::sync::Arc::new(std::sync::Mutex::new(
                super::super::config_dump::ConfigDump {
                    entries: vec![
                        ("database".into(), "connection".into(), "****".into()),
                        ("DEFAULT".into(), "debug".into(), "false".into()),
                    ],
                },
            ))),
        });
        let full = report(&snap);
        assert!(
            full.starts_with(&format!(
                "fjord report: master pid={} uptime=5.",
                std::process::id()
            )),
            "{full}"
        );
        for part in [
            "====                        Guru Meditation                         ====",
            "binary = demo-api\n",
            "version = 9.8.7\n",
            "fjord-service = ",
            "api #0 pid=",
            " serving uptime=",
            "request GET /old age=3.",
            "Jobs.tick: runs=2",
            "[DEFAULT]\n  debug = false\n[database]\n  connection = ****\n",
        ] {
            assert!(full.contains(part), "{part:?} in {full}");
        }
        b.retire_slot(0);
        let snap = snapshot(b, "t", &["api".to_owned()]);
        assert_eq!(report_conns(&snap), "(no worker)\n");
        assert_eq!(report_tasks(&snap), "(no periodic task has run)\n");
        assert_eq!(report_config_section(None), "(not given to the launcher)\n");
    }

    #[test]
    fn utc_times_as_oslo_reports_names_its_files() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc_compact(1_388_577_600_000), "20140101120000");
        assert_eq!(utc(951_825_600_000 + 86_400_000), "2000-03-01 12:00:00");
        assert_eq!(utc_compact(4_102_444_799_999), "20991231235959");
        assert_eq!(utc_compact(4_107_542_399_000), "21000228235959");
    }

    #[test]
    fn service_up_takes_the_freshest_read_of_a_live_worker() {
        let b = map().unwrap();
        b.services_len.store(1, Relaxed);
        let names = ["svc".to_owned()];
        let text = metrics(snapshot(b, "t", &names));
        assert!(
            !text.contains("fjord_service_up"),
            "no records: absent\n{text}"
        );
        let now = board::unix_ms();
        for i in 0..3 {
            b.slots[i].pid.store(100 + i as u64, Relaxed);
        }
        let hb = |ago_s: u64| now - ago_s * 1000;
        // Slot 0 read earlier: worker up there, and a record only it saw.
        b.slots[0].records.publish(
            now - 5000,
            60_000,
            &[
                (b"demo-worker\0h1".to_vec(), hb(10)),
                (b"demo-api\0h1".to_vec(), hb(5)),
            ],
        );
        // Slot 1 read later: the worker's heartbeat is now old.
        b.slots[1]
            .records
            .publish(now - 1000, 60_000, &[(b"demo-worker\0h1".to_vec(), hb(70))]);
        // Slot 2's worker is gone: its read does not count.
        b.slots[2]
            .records
            .publish(now, 60_000, &[(b"demo-api\0h1".to_vec(), hb(600))]);
        b.slots[2].pid.store(0, Relaxed);
        let snap = snapshot(b, "t", &names);
        let text = metrics(snap.clone());
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("Prometheus text");
        let up = |binary: &str| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == "fjord_service_up"
                        && s.labels.get("binary") == Some(binary)
                        && s.labels.get("host") == Some("h1")
                })
                .map(|s| match s.value {
                    prometheus_parse::Value::Gauge(v) => v,
                    _ => -1.0,
                })
        };
        assert_eq!(up("demo-worker"), Some(0.0), "{text}");
        assert_eq!(up("demo-api"), Some(1.0), "{text}");
        let json = status(&snap);
        let recs = json["service_records"].as_array().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["binary"], "demo-api");
        assert_eq!(recs[0]["state"], "up");
        assert_eq!(recs[1]["binary"], "demo-worker");
        assert_eq!(recs[1]["up"], false);
        assert!(recs[1]["heartbeat_age_s"].as_f64().unwrap() >= 70.0);
        assert_eq!(json["service_records_dropped"], 0);
    }
}
