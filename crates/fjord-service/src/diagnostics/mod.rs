//! Diagnostics: counters every worker shares with its master, the worker
//! watchdog's heartbeats, and the endpoint that serves them
//! (`GET /metrics`, `GET /status.json`, `GET /`).
//!
//! Under a [`crate::ProcessLauncher`], the master maps one shared board
//! before its first fork (see `board.rs`): each worker adds to its own
//! slot (no lock, no message, no syscall; its HTTP counters with plain
//! stores, one shard per thread, see `shard.rs`), the
//! master folds the slot of a reaped worker into its service's totals, so
//! a scrape's counters never go backwards, and a dedicated diagnostics
//! process, forked by the master like a worker, serves the endpoint from
//! the same board. The master itself stays a synchronous loop with no
//! runtime or thread.
//!
//! The functions below are what services call to count their work. They
//! cost one atomic load when this process has no board (a single-process
//! [`crate::ServiceLauncher`], a test), and a few relaxed adds otherwise
//! (an HTTP request: one compare-and-swap for its in-flight entry, and
//! plain loads and stores).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use fjord_service::diagnostics::{self, Outcome};
//!
//! // Outside a worker of a ProcessLauncher these record nothing.
//! diagnostics::http_request("GET", 200, Duration::from_micros(80));
//! diagnostics::rpc_server("demo", "echo", Outcome::Ok, Duration::from_millis(1));
//! diagnostics::periodic_run("report_state", Outcome::Error);
//! assert!(!diagnostics::recording());
//! ```

pub(crate) mod board;
pub(crate) mod config_dump;
pub(crate) mod console;
pub(crate) mod control;
mod options;
mod page;
pub(crate) mod render;
pub(crate) mod server;
mod shard;
mod tick;

use std::sync::OnceLock;
use std::time::Duration;

pub use board::{BUCKETS, CLASSES, METHODS, OUTCOMES, PHASES, REASONS};
pub use console::Backdoor;
pub use options::DiagnosticsOptions;

use board::{Kind, Recorder};

static RECORDER: OnceLock<Recorder> = OnceLock::new();

/// The console's TCP port, set by the launcher before its first fork (so
/// every worker inherits it); 0: none.
static BACKDOOR_PORT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The TCP port of the operator console (`backdoor_port`), as the RPC
/// base API's `get_backdoor_port` answers it: `None` when there is no
/// console or it listens on a Unix socket (`backdoor_socket`), as oslo.
pub fn backdoor_port() -> Option<u16> {
    match BACKDOOR_PORT.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        p => u16::try_from(p).ok(),
    }
}

pub(crate) fn set_backdoor_port(port: Option<u16>) {
    BACKDOOR_PORT.store(
        u32::from(port.unwrap_or(0)),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Sets this worker's slot, once, right after fork.
pub(crate) fn install(slot: &'static board::Slot) {
    let _ = RECORDER.set(Recorder::new(slot));
}

#[inline]
fn recorder() -> Option<&'static Recorder> {
    RECORDER.get()
}

/// Whether this process records (it is a worker of a
/// [`crate::ProcessLauncher`] with a board slot).
pub fn recording() -> bool {
    recorder().is_some()
}

/// How an RPC message, an RPC call or a periodic task run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed (an error sent back to the caller, an error returned).
    Error,
    /// No answer in time (RPC client calls).
    Timeout,
}

impl Outcome {
    fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::Error => 1,
            Outcome::Timeout => 2,
        }
    }
}

/// Counts one HTTP request answered by this worker: its method (those of
/// [`METHODS`], anything else as `other`), status (by class) and how long
/// it took (`fjord_http_requests_total`,
/// `fjord_http_request_duration_seconds`). [`http_start`] does this and
/// [`http_begin`] in one.
#[inline]
pub fn http_request(method: &str, status: u16, took: Duration) {
    if let Some(r) = recorder() {
        r.http_request(method, status, took);
    }
}

/// Connection opened (`true`) or closed (`false`) in this worker. Each
/// close must follow its open (a guard that counts both): connections
/// open are the opens minus the closes.
#[inline]
pub fn http_connection(open: bool) {
    if let Some(r) = recorder() {
        r.http_connection(open);
    }
}

/// A request had to wait for a free pool slot.
#[inline]
pub fn http_pool_wait() {
    if let Some(r) = recorder() {
        r.http_pool_wait();
    }
}

/// Sets this worker's request pool size (once, when its server starts).
pub fn http_pool_size(size: u64) {
    if let Some(r) = recorder() {
        r.slot
            .pool_size
            .store(size, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An HTTP request being served by this worker, from [`http_start`]: in
/// flight (shown by the report, counted in `fjord_http_pool_in_use`)
/// until dropped; [`HttpRequest::finish`] counts it as [`http_request`]
/// does. Dropped without `finish`, it is not counted.
#[must_use = "the request is in flight until this is dropped"]
pub struct HttpRequest {
    recorder: &'static Recorder,
    started: std::time::Instant,
    /// Index into [`METHODS`].
    method: u8,
    /// The in-flight entry's index; `u8::MAX`: none (counted only).
    flight: u8,
}

/// An HTTP request started at `started`: `method` and `path` (give the
/// path without its query string: the report shows it) are shown in
/// flight until the result is dropped, and [`HttpRequest::finish`] counts
/// it. `None` outside a worker of a [`crate::ProcessLauncher`]. Costs a
/// compare-and-swap, a few relaxed stores, and no clock read: the caller
/// gives the start, and the end to `finish`.
#[inline]
pub fn http_start(method: &str, path: &str, started: std::time::Instant) -> Option<HttpRequest> {
    let r = recorder()?;
    let flight = r.slot.flight_begin(
        board::FlightKind::Http,
        &[method.as_bytes(), b" ", path.as_bytes()],
        r.monotonic_of(started),
    );
    Some(HttpRequest {
        recorder: r,
        started,
        method: board::method_index(method) as u8,
        flight: flight.map_or(u8::MAX, |i| i as u8),
    })
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &METHODS[usize::from(self.method)])
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// Counts the request, answered with `status` and ended at `ended`
    /// (`fjord_http_requests_total`, `fjord_http_request_duration_seconds`),
    /// and ends it.
    #[inline]
    pub fn finish(self, status: u16, ended: std::time::Instant) {
        let took = board::nanos(ended.saturating_duration_since(self.started));
        self.recorder
            .http_done(usize::from(self.method), status, took);
    }
}

impl Drop for HttpRequest {
    fn drop(&mut self) {
        let i = (self.flight != u8::MAX).then_some(usize::from(self.flight));
        self.recorder.slot.flight_end(board::FlightKind::Http, i);
    }
}

/// A request or RPC message in flight in this worker, shown with its age
/// by the report (SIGUSR2, `GET /report`) until this is dropped. From
/// [`http_begin`] and [`rpc_begin`]; holds nothing outside a worker of a
/// [`crate::ProcessLauncher`].
#[must_use = "the entry is freed when this is dropped"]
#[derive(Debug)]
pub struct InFlight {
    slot: Option<&'static board::Slot>,
    kind: board::FlightKind,
    /// The entry's index; `u8::MAX`: none (counted only).
    index: u8,
}

const _: () = assert!(board::FLIGHTS < u8::MAX as usize);

impl InFlight {
    fn begin(kind: board::FlightKind, parts: &[&[u8]], started: std::time::Instant) -> Self {
        match recorder() {
            Some(r) => {
                let i = r.slot.flight_begin(kind, parts, r.monotonic_of(started));
                InFlight {
                    slot: Some(r.slot),
                    kind,
                    index: i.map_or(u8::MAX, |i| i as u8),
                }
            }
            None => InFlight {
                slot: None,
                kind,
                index: u8::MAX,
            },
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let i = (self.index != u8::MAX).then_some(self.index as usize);
            slot.flight_end(self.kind, i);
        }
    }
}

/// An HTTP request started at `started`: `method` and `path` (give the
/// path without its query string: the report shows it) are shown until the
/// result is dropped, and it counts in flight (`fjord_http_pool_in_use`)
/// meanwhile. Costs a compare-and-swap and a few relaxed stores; the text
/// is cut past 120 bytes. [`http_start`] also counts the request when it
/// ends.
#[inline]
pub fn http_begin(method: &str, path: &str, started: std::time::Instant) -> InFlight {
    InFlight::begin(
        board::FlightKind::Http,
        &[method.as_bytes(), b" ", path.as_bytes()],
        started,
    )
}

/// An RPC message whose dispatch started at `started`, shown as
/// `topic` and `method` until the result is dropped.
#[inline]
pub fn rpc_begin(topic: &str, method: &str, started: std::time::Instant) -> InFlight {
    InFlight::begin(
        board::FlightKind::Rpc,
        &[topic.as_bytes(), b"\0", method.as_bytes()],
        started,
    )
}

/// Periodic task `task` is next due in `after` (the report shows it).
pub fn periodic_next(task: &str, after: Duration) {
    if let Some(t) = recorder().and_then(|r| r.slot.task(task)) {
        let at = board::unix_ms().saturating_add(after.as_millis() as u64);
        t.next_ms.store(at, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A run of periodic task `task` starts.
pub fn periodic_started(task: &str) {
    if let Some(t) = recorder().and_then(|r| r.slot.task(task)) {
        use std::sync::atomic::Ordering::Relaxed;
        t.last_start_ms.store(board::unix_ms(), Relaxed);
        t.running.store(1, Relaxed);
        board::add(&t.runs, 1);
    }
}

/// A run of periodic task `task` ended, with `error` if it failed (the
/// report shows the last one, cut past 200 bytes).
pub fn periodic_finished(task: &str, error: Option<&str>) {
    if let Some(t) = recorder().and_then(|r| r.slot.task(task)) {
        use std::sync::atomic::Ordering::Relaxed;
        let now = board::unix_ms();
        if let Some(e) = error {
            t.set_error(now, e);
            board::add(&t.failures, 1);
        }
        t.last_outcome
            .store(if error.is_some() { 2 } else { 1 }, Relaxed);
        t.last_end_ms.store(now, Relaxed);
        t.running.store(0, Relaxed);
    }
}

/// Counts one RPC message this worker's server dispatched
/// (`fjord_rpc_server_messages_total`,
/// `fjord_rpc_server_duration_seconds`). A worker gives its first
/// distinct `(topic, method)` pairs series of their own (see the module
/// `board` rule: a fixed table per worker); later ones count as method
/// `other`.
#[inline]
pub fn rpc_server(topic: &str, method: &str, outcome: Outcome, took: Duration) {
    if let Some(r) = recorder() {
        r.named(
            Kind::RpcServer,
            &pair(topic, method),
            outcome.index(),
            Some(took),
        );
    }
}

/// Counts one RPC call (or cast) this worker's client made
/// (`fjord_rpc_client_calls_total`).
#[inline]
pub fn rpc_client(topic: &str, method: &str, outcome: Outcome) {
    if let Some(r) = recorder() {
        r.named(Kind::RpcClient, &pair(topic, method), outcome.index(), None);
    }
}

/// Counts one run of a periodic task (`fjord_periodic_task_runs_total`).
#[inline]
pub fn periodic_run(task: &str, outcome: Outcome) {
    if let Some(r) = recorder() {
        r.named(Kind::Periodic, task.as_bytes(), outcome.index(), None);
    }
}

/// Publishes the service records this worker has just read
/// (`fjord_service_up`): `(binary, host, last heartbeat)` of every record,
/// and the `service_down_time` they are judged by. Each call replaces the
/// worker's previous list; records of the same (binary, host) (several
/// topics) count as one, with their latest heartbeat. The endpoint takes,
/// per (binary, host), the list read last by any live worker and applies
/// nova's rule at scrape time: up while `|now - heartbeat| <=
/// service_down_time`. A worker keeps at most 64 records; fjord-servicegroup's
/// heartbeat calls this after each report.
pub fn service_records<'a>(
    service_down_time: Duration,
    records: impl IntoIterator<Item = (&'a str, &'a str, std::time::SystemTime)>,
) {
    let Some(r) = recorder() else { return };
    let ms = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64)
    };
    let mut latest: std::collections::BTreeMap<Vec<u8>, u64> = Default::default();
    for (binary, host, heartbeat) in records {
        let e = latest.entry(pair(binary, host)).or_default();
        *e = (*e).max(ms(heartbeat));
    }
    let entries: Vec<(Vec<u8>, u64)> = latest.into_iter().collect();
    // One writer at a time per process (several heartbeats may publish).
    static WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = WRITER.lock().unwrap_or_else(|p| p.into_inner());
    r.slot.records.publish(
        board::unix_ms(),
        service_down_time.as_millis().min(u64::MAX as u128) as u64,
        &entries,
    );
}

fn pair(topic: &str, method: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(topic.len() + method.len() + 1);
    v.extend_from_slice(topic.as_bytes());
    v.push(0);
    v.extend_from_slice(method.as_bytes());
    v
}

/// The worker's heartbeat: a task of its runtime that writes the time
/// into its slot every `every` (the watchdog reads it). It stops beating
/// when the runtime stops running tasks, which is the point. Ticked by a
/// `timerfd` (see `tick.rs`), so it arms no tokio timer.
pub(crate) fn spawn_heartbeat(every: Duration) {
    let Some(r) = recorder() else { return };
    r.heartbeat();
    tokio::spawn(async move {
        let mut tick = tick::Ticker::new(every);
        loop {
            tick.tick().await;
            r.heartbeat();
        }
    });
}
