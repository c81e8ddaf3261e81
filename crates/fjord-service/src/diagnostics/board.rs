//! The board: counters every process of one master shares, in one
//! `MAP_SHARED` anonymous mapping the master creates before its first fork
//! (so every worker and the diagnostics process inherit it).
//!
//! * Each worker owns one [`Slot`] (given by the master at fork): it alone
//!   adds to the slot's counters and writes its heartbeat; the master
//!   writes the slot's header (pid, service, index, phase).
//! * A worker's HTTP counters are sharded by thread (see `shard.rs`): a
//!   thread adds to its own [`HttpCounts`] with plain loads and stores,
//!   and the reader sums the shards. Each shard, the in-flight entries and
//!   the slot itself start on a cache line of their own, so what a thread
//!   writes per request shares no line with another thread's shard,
//!   another worker's slot or a field the master writes.
//! * When a worker has been reaped, the master folds its counters into its
//!   service's `retired` totals and frees the slot, inside a sequence lock
//!   ([`Board::begin_fold`]), so a reader summing retired totals and live
//!   slots sees either the worker's counts in its slot or in the retired
//!   totals, never both or neither: the sums never go backwards.
//! * Everything is a `u64` atomic in a `#[repr(C)]` struct, so the zeroed
//!   mapping is a valid, empty board and no process ever holds a lock the
//!   others need.
//!
//! Label sets are bounded by construction: HTTP methods fold into
//! [`METHODS`] (anything else is `other`), statuses into their class
//! ([`CLASSES`]); RPC `(topic, method)` pairs and periodic task names take
//! one of [`NAMES`] named entries per worker in the order they are first
//! seen, and past that (or past [`NAME_LEN`] bytes) are counted under the
//! name `other`.
//!
//! For the report, each slot also holds what its worker is doing now:
//!
//! * [`Flight`]s: one per HTTP request or RPC message in flight, claimed
//!   when it starts and freed when it ends (one compare-and-swap, a few
//!   relaxed stores, one release store; no lock, no allocation, no
//!   syscall). The start is `CLOCK_MONOTONIC` nanoseconds, derived from an
//!   `Instant` the worker already took, so any process of the board computes
//!   the age. Past [`FLIGHTS`] at once, the excess is only counted
//!   ("and K more"); text past [`TEXT_LEN`] bytes is cut. The HTTP requests
//!   in flight (`fjord_http_pool_in_use`) are counted from this table, not
//!   by a gauge of their own.
//! * [`TaskSlot`]s: one per periodic task the worker runs (its last start
//!   and end, next run, runs, failures, last error cut to [`ERROR_LEN`]
//!   bytes), written once per run.
//!
//! A reader copies an entry and checks its state word did not change
//! meanwhile (a generation counter in that word makes a freed and
//! re-claimed entry look changed), so it never shows half of one request
//! and half of another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::shard::{self, SHARDS, Writer};

/// Worker slots of one board: workers alive at once, replacements
/// included. A worker forked while every slot is taken runs uncounted.
pub(crate) const SLOTS: usize = 128;
/// Services of one master with their own totals; more run uncounted.
pub(crate) const SERVICES: usize = 16;
/// Named entries (RPC topic and method, periodic task) per worker.
pub(crate) const NAMES: usize = 48;
/// Bytes of a name (RPC `topic\0method`, a task's name).
pub(crate) const NAME_LEN: usize = 120;
/// Requests and RPC messages in flight shown per worker; more are only
/// counted.
pub(crate) const FLIGHTS: usize = 32;
/// Bytes of an in-flight entry's text (`METHOD path`, `topic\0method`).
pub(crate) const TEXT_LEN: usize = 120;
/// Periodic tasks shown per worker.
pub(crate) const TASKS: usize = 16;
/// Bytes of a periodic task's last error.
pub(crate) const ERROR_LEN: usize = 200;
/// Service records (`binary\0host`) one worker publishes; more are
/// counted as dropped.
pub(crate) const RECORDS: usize = 64;

/// The HTTP methods with their own series; others count as `other`.
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
];
/// HTTP status classes.
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Upper bounds (seconds) of the latency histograms' buckets (`+Inf` is
/// implicit).
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// [`BUCKETS`] in nanoseconds.
const BUCKETS_NS: [u64; BUCKETS.len()] = {
    let mut ns = [0; BUCKETS.len()];
    let mut i = 0;
    while i < BUCKETS.len() {
        ns[i] = (BUCKETS[i] * 1e9 + 0.5) as u64;
        i += 1;
    }
    ns
};
/// Why workers of a service were replaced (`fjord_worker_restarts_total`).
pub const REASONS: [&str; 6] = ["exit", "signal", "watchdog", "recycle", "reload", "upgrade"];
/// Outcomes of an RPC message or call, a periodic task run.
pub const OUTCOMES: [&str; 3] = ["ok", "error", "timeout"];

/// What a named entry counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Kind {
    RpcServer = 1,
    RpcClient = 2,
    Periodic = 3,
}

impl Kind {
    fn from_u64(v: u64) -> Option<Kind> {
        match v {
            1 => Some(Kind::RpcServer),
            2 => Some(Kind::RpcClient),
            3 => Some(Kind::Periodic),
            _ => None,
        }
    }
}

/// A latency histogram: cumulative-at-render bucket counts, sum, count.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct Hist {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    pub(crate) buckets: [AtomicU64; BUCKETS.len() + 1],
    pub(crate) sum_ns: AtomicU64,
    pub(crate) count: AtomicU64,
}

impl Hist {
    #[inline]
    fn observe(&self, w: Writer, ns: u64) {
        let i = BUCKETS_NS
            .iter()
            .position(|b| ns <= *b)
            .unwrap_or(BUCKETS.len());
        w.add(&self.buckets[i], 1);
        w.add(&self.sum_ns, ns);
        w.add(&self.count, 1);
    }

    fn fold_into(&self, to: &Hist) {
        for (a, b) in self.buckets.iter().zip(&to.buckets) {
            add(b, get(a));
        }
        add(&to.sum_ns, get(&self.sum_ns));
        add(&to.count, get(&self.count));
    }

    fn clear(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.sum_ns.store(0, Ordering::Relaxed);
        self.count.store(0, Ordering::Relaxed);
    }
}

/// One named entry: a kind, a name, counts by outcome, a histogram.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct Named {
    /// 0: free; 1: being claimed; 2 + kind: in use.
    state: AtomicU64,
    len: AtomicU64,
    name: [AtomicU64; NAME_LEN / 8],
    pub(crate) outcomes: [AtomicU64; OUTCOMES.len()],
    pub(crate) hist: Hist,
}

const CLAIMING: u64 = 1;
/// The last entries of a table: one `other` per [`Kind`].
const SPILL: usize = 3;

impl Named {
    /// The entry's kind and name, once claimed.
    pub(crate) fn read(&self) -> Option<(Kind, String)> {
        let state = self.state.load(Ordering::Acquire);
        let kind = Kind::from_u64(state.checked_sub(2)?)?;
        Some((kind, self.name()))
    }

    fn name(&self) -> String {
        let len = (get(&self.len) as usize).min(NAME_LEN);
        let mut bytes = Vec::with_capacity(NAME_LEN);
        for w in &self.name {
            bytes.extend_from_slice(&get(w).to_le_bytes());
        }
        bytes.truncate(len);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn is(&self, kind: Kind, name: &[u8]) -> bool {
        self.state.load(Ordering::Acquire) == 2 + kind as u64
            && get(&self.len) as usize == name.len()
            && self.name_bytes_eq(name)
    }

    fn name_bytes_eq(&self, name: &[u8]) -> bool {
        let mut chunk = [0u8; 8];
        for (i, w) in self.name.iter().enumerate() {
            let start = i * 8;
            if start >= name.len() {
                break;
            }
            chunk.fill(0);
            let end = (start + 8).min(name.len());
            chunk[..end - start].copy_from_slice(&name[start..end]);
            if get(w) != u64::from_le_bytes(chunk) {
                return false;
            }
        }
        true
    }

    /// Claims this free entry for `kind`/`name`; false if it was taken.
    fn claim(&self, kind: Kind, name: &[u8]) -> bool {
        if self
            .state
            .compare_exchange(0, CLAIMING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let mut chunk = [0u8; 8];
        for (i, w) in self.name.iter().enumerate() {
            let start = (i * 8).min(name.len());
            let end = (start + 8).min(name.len());
            chunk.fill(0);
            chunk[..end - start].copy_from_slice(&name[start..end]);
            w.store(u64::from_le_bytes(chunk), Ordering::Relaxed);
        }
        self.len.store(name.len() as u64, Ordering::Relaxed);
        self.state.store(2 + kind as u64, Ordering::Release);
        true
    }

    fn clear(&self) {
        for o in &self.outcomes {
            o.store(0, Ordering::Relaxed);
        }
        self.hist.clear();
        self.len.store(0, Ordering::Relaxed);
        for w in &self.name {
            w.store(0, Ordering::Relaxed);
        }
        self.state.store(0, Ordering::Release);
    }
}

/// Nanoseconds of `d`, at most `u64::MAX`.
#[inline]
pub(crate) fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// Index into [`METHODS`] of an HTTP method (`other` for the rest).
#[inline]
pub(crate) fn method_index(method: &str) -> usize {
    match method {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PUT" => 3,
        "PATCH" => 4,
        "DELETE" => 5,
        "OPTIONS" => 6,
        _ => METHODS.len() - 1,
    }
}

/// Index into [`CLASSES`] of a status.
#[inline]
fn class_index(status: u16) -> usize {
    (status / 100).clamp(1, 5) as usize - 1
}

/// HTTP counts: one thread's shard of a worker's, a worker's shared ones
/// (threads without a shard), or a service's retired totals. Aligned to
/// a cache line: a shard shares no line with anything another thread or
/// process writes.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub(crate) struct HttpCounts {
    /// `[method][class]`.
    pub(crate) requests: [[AtomicU64; CLASSES.len()]; METHODS.len()],
    pub(crate) duration: Hist,
    /// Requests that waited for a free pool slot.
    pub(crate) pool_waits: AtomicU64,
    /// Connections opened and closed (a worker's only: never folded).
    /// Open now: what was opened minus what was closed, over the slot's
    /// shards; closes are stored with release and read first, with
    /// acquire, so a reader never counts a close without its open.
    conns_opened: AtomicU64,
    conns_closed: AtomicU64,
}

impl HttpCounts {
    #[inline]
    fn request(&self, w: Writer, method: usize, status: u16, took_ns: u64) {
        w.add(
            &self.requests[method.min(METHODS.len() - 1)][class_index(status)],
            1,
        );
        self.duration.observe(w, took_ns);
    }

    #[inline]
    fn connection(&self, w: Writer, open: bool) {
        if open {
            w.add(&self.conns_opened, 1);
        } else {
            w.add_ordered(&self.conns_closed, 1, Ordering::Release);
        }
    }

    /// Adds the counters (not the connections) of `self` to `to` (the
    /// master, the worker gone), then zeroes `self`.
    fn fold_into(&self, to: &HttpCounts) {
        for (a, b) in self.requests.iter().zip(&to.requests) {
            for (a, b) in a.iter().zip(b) {
                add(b, get(a));
            }
        }
        self.duration.fold_into(&to.duration);
        add(&to.pool_waits, get(&self.pool_waits));
        self.clear();
    }

    fn clear(&self) {
        for a in self.requests.iter().flatten() {
            a.store(0, Ordering::Relaxed);
        }
        self.duration.clear();
        for a in [&self.pool_waits, &self.conns_opened, &self.conns_closed] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// The counters of one worker, or a service's retired totals.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Counters {
    /// A worker's: what its threads without a shard add (atomically).
    pub(crate) http: HttpCounts,
    pub(crate) names: [Named; NAMES],
}

impl Counters {
    /// The entry of `kind`/`name`, claimed if new; the kind's `other`
    /// entry (one of the last [`SPILL`]) once the table is full or the name
    /// too long.
    fn entry(&self, kind: Kind, name: &[u8]) -> Option<&Named> {
        let name: &[u8] = if name.len() > NAME_LEN {
            b"other"
        } else {
            name
        };
        for pass in 0..2 {
            for e in &self.names[..NAMES - SPILL] {
                if e.is(kind, name) {
                    return Some(e);
                }
                if pass == 1 && e.state.load(Ordering::Relaxed) == 0 && e.claim(kind, name) {
                    return Some(e);
                }
            }
        }
        // Full: the last entries are each kind's `other`.
        let spill = &self.names[NAMES - SPILL + kind as usize - 1];
        if spill.is(kind, b"other") || spill.claim(kind, b"other") {
            return Some(spill);
        }
        None
    }

    /// Adds every counter of `self` to `to`, then zeroes `self`.
    fn fold_into(&self, to: &Counters) {
        self.http.fold_into(&to.http);
        for e in &self.names {
            if let Some((kind, name)) = e.read()
                && let Some(dst) = to.entry(kind, name.as_bytes())
            {
                for (a, b) in e.outcomes.iter().zip(&dst.outcomes) {
                    add(b, get(a));
                }
                e.hist.fold_into(&dst.hist);
            }
            e.clear();
        }
    }
}

/// One worker's place on the board. Starts on a cache line of its own
/// (its counts are aligned), so no line holds two workers' fields.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Slot {
    /// The worker's PID; 0 when free.
    pub(crate) pid: AtomicU64,
    pub(crate) service: AtomicU64,
    pub(crate) index: AtomicU64,
    /// See [`PHASES`].
    pub(crate) phase: AtomicU64,
    /// Unix time of the fork, milliseconds.
    pub(crate) started_ms: AtomicU64,
    /// `CLOCK_MONOTONIC` of the worker's last heartbeat, nanoseconds; 0:
    /// none yet.
    pub(crate) heartbeat_ns: AtomicU64,
    /// Request pool slots (`wsgi_default_pool_size`), read live.
    pub(crate) pool_size: AtomicU64,
    pub(crate) counters: Counters,
    /// HTTP counts by thread: shard `i` is written by the worker's thread
    /// holding shard index `i` (see `shard.rs`) alone.
    pub(crate) http_shards: [HttpCounts; SHARDS],
    /// Requests and RPC messages in flight.
    pub(crate) flights: [Flight; FLIGHTS],
    /// In flight without an entry (the table was full), by [`FlightKind`].
    pub(crate) flights_more: [AtomicU64; 2],
    /// Periodic tasks.
    pub(crate) tasks: [TaskSlot; TASKS],
    /// Periodic tasks that found the table full (distinct names are not
    /// counted: 1 means "some").
    pub(crate) tasks_full: AtomicU64,
    pub(crate) records: Records,
}

/// The master's state as the board shows it (index into this list).
pub(crate) const MASTER_STATES: [&str; 3] = ["running", "reloading", "stopping"];

/// A worker's phase as the board shows it (index into this list).
pub const PHASES: [&str; 4] = ["starting", "serving", "retiring", "stopping"];

/// One service's area: its name, worker count, restarts and retired totals.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ServiceArea {
    pub(crate) workers: AtomicU64,
    pub(crate) restarts: [AtomicU64; REASONS.len()],
    pub(crate) retired: Counters,
}

/// The whole shared board.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Board {
    /// Sequence lock of folds: odd while the master moves a worker's
    /// counters to the retired totals.
    seq: AtomicU64,
    /// The master's PID and its start (Unix ms).
    pub(crate) master_pid: AtomicU64,
    pub(crate) master_started_ms: AtomicU64,
    /// The master's state, an index into [`MASTER_STATES`].
    pub(crate) master_state: AtomicU64,
    /// Services in use.
    pub(crate) services_len: AtomicU64,
    pub(crate) services: [ServiceArea; SERVICES],
    pub(crate) slots: [Slot; SLOTS],
}

impl Board {
    /// Starts a fold (master only).
    pub(crate) fn begin_fold(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends a fold (master only).
    pub(crate) fn end_fold(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// Frees slot `i` after its worker was reaped: its counters go to its
    /// service's retired totals (master only).
    pub(crate) fn retire_slot(&self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let s = get(&slot.service) as usize;
        self.begin_fold();
        if let Some(area) = self.services.get(s) {
            slot.counters.fold_into(&area.retired);
            for shard in &slot.http_shards {
                shard.fold_into(&area.retired.http);
            }
        }
        // Zeroes the connection counts (not folded) and whatever a slot
        // past the services held.
        slot.counters.http.clear();
        for shard in &slot.http_shards {
            shard.clear();
        }
        slot.pool_size.store(0, Ordering::Relaxed);
        slot.heartbeat_ns.store(0, Ordering::Relaxed);
        slot.clear_activity();
        slot.records.clear();
        slot.pid.store(0, Ordering::Release);
        self.end_fold();
    }

    /// Reads the board consistently: runs `f` until no fold overlapped it.
    /// A fold takes microseconds; should the master die in the middle of
    /// one (the sequence then stays odd), the read gives up waiting after
    /// about a second and returns what it sees.
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&Board) -> T) -> T {
        for _ in 0..10_000 {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::thread::sleep(std::time::Duration::from_micros(100));
                continue;
            }
            let out = f(self);
            if self.seq.load(Ordering::Acquire) == before {
                return out;
            }
        }
        f(self)
    }
}

/// What an in-flight entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FlightKind {
    /// An HTTP request: `METHOD path`.
    Http = 0,
    /// An RPC message being dispatched: `topic\0method`.
    Rpc = 1,
}

impl FlightKind {
    fn of_state(state: u64) -> FlightKind {
        if (state >> KIND_SHIFT) & 1 == FlightKind::Rpc as u64 {
            FlightKind::Rpc
        } else {
            FlightKind::Http
        }
    }
}

/// Tags of an entry's state word (its low 2 bits; then the entry's
/// [`FlightKind`], one bit; the rest counts claims).
const FREE: u64 = 0;
const WRITING: u64 = 1;
const LIVE: u64 = 2;
const TAG: u64 = 3;
const KIND_SHIFT: u32 = 2;
const GENERATION_SHIFT: u32 = 3;

/// One request or RPC message in flight. Aligned to a cache line: entries
/// claimed by two threads of a worker share no line.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub(crate) struct Flight {
    /// `generation << 3 | kind << 2 | tag` (FREE, WRITING, LIVE): the kind
    /// is set by the claim itself, so a reader counting the requests in
    /// flight counts an entry being written too.
    state: AtomicU64,
    /// `CLOCK_MONOTONIC` at its start, nanoseconds.
    started_ns: AtomicU64,
    /// The text's full length (more than [`TEXT_LEN`]: cut).
    len: AtomicU64,
    text: [AtomicU64; TEXT_LEN / 8],
}

/// A copy of a [`Flight`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlightCopy {
    pub(crate) kind: FlightKind,
    pub(crate) started_ns: u64,
    /// The text, `...` appended when it was cut.
    pub(crate) text: String,
}

impl Flight {
    /// Copies the entry if it is in use and did not change while read.
    pub(crate) fn read(&self) -> Option<FlightCopy> {
        for _ in 0..3 {
            let before = self.state.load(Ordering::Acquire);
            if before & TAG != LIVE {
                return None;
            }
            let kind = FlightKind::of_state(before);
            let started_ns = get(&self.started_ns);
            let len = get(&self.len) as usize;
            let bytes = unpack(&self.text, len);
            std::sync::atomic::fence(Ordering::Acquire);
            if self.state.load(Ordering::Relaxed) == before {
                return Some(FlightCopy {
                    kind,
                    started_ns,
                    text: text_of(bytes, len > TEXT_LEN),
                });
            }
        }
        None
    }
}

/// One periodic task of a worker.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct TaskSlot {
    /// 0: free; 1: being claimed; 2: in use.
    state: AtomicU64,
    len: AtomicU64,
    name: [AtomicU64; NAME_LEN / 8],
    /// Unix ms of the last run's start and end (0: none yet).
    pub(crate) last_start_ms: AtomicU64,
    pub(crate) last_end_ms: AtomicU64,
    /// Unix ms when it is next due (0: not known).
    pub(crate) next_ms: AtomicU64,
    /// 1 while a run is in progress.
    pub(crate) running: AtomicU64,
    pub(crate) runs: AtomicU64,
    pub(crate) failures: AtomicU64,
    /// 1: the last finished run succeeded; 2: it failed.
    pub(crate) last_outcome: AtomicU64,
    /// Sequence lock of the error text: odd while it is written.
    error_seq: AtomicU64,
    /// Unix ms of the last failure.
    error_ms: AtomicU64,
    error_len: AtomicU64,
    error: [AtomicU64; ERROR_LEN / 8],
}

/// A copy of a [`TaskSlot`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TaskCopy {
    pub(crate) name: String,
    pub(crate) last_start_ms: u64,
    pub(crate) last_end_ms: u64,
    pub(crate) next_ms: u64,
    pub(crate) running: bool,
    pub(crate) runs: u64,
    pub(crate) failures: u64,
    /// Whether the last finished run failed.
    pub(crate) last_failed: bool,
    /// The last failure: when (Unix ms) and its error.
    pub(crate) last_error: Option<(u64, String)>,
}

impl TaskSlot {
    /// Copies the entry if it is in use.
    pub(crate) fn read(&self) -> Option<TaskCopy> {
        if self.state.load(Ordering::Acquire) != 2 {
            return None;
        }
        let len = get(&self.len) as usize;
        let mut last_error = None;
        for _ in 0..100 {
            let before = self.error_seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let elen = get(&self.error_len) as usize;
            let at = get(&self.error_ms);
            let bytes = unpack(&self.error, elen);
            std::sync::atomic::fence(Ordering::Acquire);
            if self.error_seq.load(Ordering::Relaxed) == before {
                last_error = (at != 0).then(|| (at, text_of(bytes, elen > ERROR_LEN)));
                break;
            }
        }
        Some(TaskCopy {
            name: text_of(unpack(&self.name, len), false),
            last_start_ms: get(&self.last_start_ms),
            last_end_ms: get(&self.last_end_ms),
            next_ms: get(&self.next_ms),
            running: get(&self.running) == 1,
            runs: get(&self.runs),
            failures: get(&self.failures),
            last_failed: get(&self.last_outcome) == 2,
            last_error,
        })
    }

    fn is(&self, name: &[u8]) -> bool {
        self.state.load(Ordering::Acquire) == 2
            && get(&self.len) as usize == name.len()
            && unpack(&self.name, name.len()) == name
    }

    fn claim(&self, name: &[u8]) -> bool {
        if self
            .state
            .compare_exchange(0, CLAIMING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let len = pack(&self.name, &[name]);
        self.len.store(len.min(NAME_LEN as u64), Ordering::Relaxed);
        self.state.store(2, Ordering::Release);
        true
    }

    /// Records a failed run's error (cut to [`ERROR_LEN`] bytes).
    pub(crate) fn set_error(&self, at_ms: u64, error: &str) {
        let mut before = self.error_seq.load(Ordering::Relaxed);
        loop {
            if before % 2 == 1 {
                std::hint::spin_loop();
                before = self.error_seq.load(Ordering::Relaxed);
                continue;
            }
            match self.error_seq.compare_exchange_weak(
                before,
                before + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => before = now,
            }
        }
        let len = pack(&self.error, &[error.as_bytes()]);
        self.error_len.store(len, Ordering::Relaxed);
        self.error_ms.store(at_ms, Ordering::Relaxed);
        self.error_seq.store(before + 2, Ordering::Release);
    }

    fn clear(&self) {
        for a in [
            &self.len,
            &self.last_start_ms,
            &self.last_end_ms,
            &self.next_ms,
            &self.running,
            &self.runs,
            &self.failures,
            &self.last_outcome,
            &self.error_ms,
            &self.error_len,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        for w in self.name.iter().chain(&self.error) {
            w.store(0, Ordering::Relaxed);
        }
        self.state.store(0, Ordering::Release);
    }
}

impl Slot {
    /// Claims an in-flight entry for `kind`, its text the concatenation
    /// of `parts` (cut to [`TEXT_LEN`] bytes); `None` when every entry is
    /// taken (then counted in `flights_more`). The worker calls it; several
    /// of its threads may at once.
    pub(crate) fn flight_begin(
        &self,
        kind: FlightKind,
        parts: &[&[u8]],
        started_ns: u64,
    ) -> Option<usize> {
        for (i, f) in self.flights.iter().enumerate() {
            let s = f.state.load(Ordering::Relaxed);
            if s & TAG != FREE {
                continue;
            }
            let generation = (s >> GENERATION_SHIFT).wrapping_add(1);
            let head = (generation << GENERATION_SHIFT) | ((kind as u64) << KIND_SHIFT);
            if f.state
                .compare_exchange(s, head | WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            f.started_ns.store(started_ns, Ordering::Relaxed);
            let len = pack(&f.text, parts);
            f.len.store(len, Ordering::Relaxed);
            f.state.store(head | LIVE, Ordering::Release);
            return Some(i);
        }
        add(&self.flights_more[kind as usize], 1);
        None
    }

    /// Frees what [`Slot::flight_begin`] returned. Each call pairs with
    /// one `flight_begin` of this worker (an [`InFlight`](super::InFlight)
    /// makes one of each), so the count of those past the table never goes
    /// below zero.
    pub(crate) fn flight_end(&self, kind: FlightKind, entry: Option<usize>) {
        match entry.and_then(|i| self.flights.get(i)) {
            Some(f) => {
                let s = f.state.load(Ordering::Relaxed);
                f.state.store(s & !TAG, Ordering::Release);
            }
            None => {
                self.flights_more[kind as usize].fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// HTTP requests in flight: entries claimed for one (being written
    /// included) and those past the table.
    pub(crate) fn http_in_flight(&self) -> u64 {
        let claimed = self
            .flights
            .iter()
            .filter(|f| {
                let s = f.state.load(Ordering::Relaxed);
                s & TAG != FREE && FlightKind::of_state(s) == FlightKind::Http
            })
            .count() as u64;
        claimed + get(&self.flights_more[FlightKind::Http as usize])
    }

    /// The HTTP counts of this worker: its shared ones and its threads'
    /// shards.
    pub(crate) fn http_counts(&self) -> impl Iterator<Item = &HttpCounts> {
        std::iter::once(&self.counters.http).chain(&self.http_shards)
    }

    /// Connections opened and closed in this worker, closes read first:
    /// every close read has its open before it (see
    /// `HttpCounts::conns_closed`), so `opened >= closed`.
    fn connection_counts(&self) -> (u64, u64) {
        let closed = self.connections_closed();
        let opened = self
            .http_counts()
            .map(|c| get(&c.conns_opened))
            .fold(0, u64::wrapping_add);
        (opened, closed)
    }

    fn connections_closed(&self) -> u64 {
        self.http_counts()
            .map(|c| c.conns_closed.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }

    /// Connections open in this worker now: exact when no connection
    /// closed while the opens were read (tried a few times); otherwise at
    /// most the closes during the read too many.
    pub(crate) fn connections_open(&self) -> u64 {
        let mut open = 0;
        for _ in 0..4 {
            let (opened, closed) = self.connection_counts();
            open = opened.saturating_sub(closed);
            // The counts only grow: the same sum is the same counts.
            if self.connections_closed() == closed {
                break;
            }
        }
        open
    }

    /// The entry of periodic task `name` (cut to [`NAME_LEN`] bytes),
    /// claimed if new; `None` when the table is full.
    pub(crate) fn task(&self, name: &str) -> Option<&TaskSlot> {
        let name = cut(name.as_bytes(), NAME_LEN);
        for pass in 0..2 {
            for t in &self.tasks {
                if t.is(name) {
                    return Some(t);
                }
                if pass == 1 && t.state.load(Ordering::Relaxed) == 0 && t.claim(name) {
                    return Some(t);
                }
            }
        }
        self.tasks_full.store(1, Ordering::Relaxed);
        None
    }

    /// Frees the in-flight and task tables (the worker is gone). Entries
    /// keep their generation, so a reader in the middle of a copy sees
    /// the change.
    fn clear_activity(&self) {
        for f in &self.flights {
            let s = f.state.load(Ordering::Relaxed);
            f.state.store(s & !TAG, Ordering::Release);
        }
        for m in &self.flights_more {
            m.store(0, Ordering::Relaxed);
        }
        for t in &self.tasks {
            t.clear();
        }
        self.tasks_full.store(0, Ordering::Relaxed);
    }
}

/// `bytes` cut to at most `max` bytes.
fn cut(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[..bytes.len().min(max)]
}

/// Stores the concatenation of `parts` in `words` (little-endian, as much
/// as fits, the last word zero-padded); returns its full length. Whole
/// words of input are moved as words, shifted into place behind the
/// bytes before them.
fn pack(words: &[AtomicU64], parts: &[&[u8]]) -> u64 {
    let cap = words.len() * 8;
    // The next word's first `fill` bytes (0..8).
    let mut acc = 0u64;
    let mut fill = 0;
    let mut next = 0;
    let mut pos = 0;
    let mut total = 0;
    for part in parts {
        total += part.len();
        let mut rest = cut(part, cap - pos);
        pos += rest.len();
        while let Some((head, tail)) = rest.split_first_chunk::<8>() {
            let w = u64::from_le_bytes(*head);
            if fill == 0 {
                words[next].store(w, Ordering::Relaxed);
            } else {
                words[next].store(acc | (w << (8 * fill)), Ordering::Relaxed);
                acc = w >> (8 * (8 - fill));
            }
            next += 1;
            rest = tail;
        }
        for &b in rest {
            acc |= u64::from(b) << (8 * fill);
            fill += 1;
            if fill == 8 {
                words[next].store(acc, Ordering::Relaxed);
                next += 1;
                acc = 0;
                fill = 0;
            }
        }
    }
    if fill > 0 {
        words[next].store(acc, Ordering::Relaxed);
    }
    total as u64
}

/// The first `len` bytes stored in `words` (at most all of them).
fn unpack(words: &[AtomicU64], len: usize) -> Vec<u8> {
    let len = len.min(words.len() * 8);
    let mut bytes = Vec::with_capacity(len + 8);
    for w in &words[..len.div_ceil(8)] {
        bytes.extend_from_slice(&get(w).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Text from stored bytes: a character cut in two at the end is dropped,
/// other invalid bytes replaced; `...` marks text that was cut.
fn text_of(bytes: Vec<u8>, was_cut: bool) -> String {
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let split_at_end = e.utf8_error().error_len().is_none();
            let bytes = e.into_bytes();
            if was_cut && split_at_end {
                String::from_utf8_lossy(&bytes[..valid]).into_owned()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    };
    if was_cut {
        text.push_str("...");
    }
    text
}

/// One service record as a worker last read it.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct RecordEntry {
    len: AtomicU64,
    /// `binary\0host`, little-endian words.
    name: [AtomicU64; NAME_LEN / 8],
    /// Unix time of the record's last heartbeat, milliseconds.
    heartbeat_ms: AtomicU64,
}

/// The service records a worker read last (`fjord_service_up`): the whole
/// list, replaced at each read under a sequence lock of its own, so a
/// reader sees one read's list, never a mix. Only the slot's worker
/// writes it (one writer at a time: see `diagnostics::service_records`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Records {
    /// Odd while the worker rewrites the list.
    seq: AtomicU64,
    /// Unix time of the read, milliseconds; 0: never read.
    read_ms: AtomicU64,
    /// The reader's `service_down_time`, milliseconds.
    down_time_ms: AtomicU64,
    len: AtomicU64,
    /// Records of the read past [`RECORDS`] or [`NAME_LEN`], not listed.
    dropped: AtomicU64,
    entries: [RecordEntry; RECORDS],
}

/// A consistent copy of a worker's [`Records`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RecordsCopy {
    pub(crate) read_ms: u64,
    pub(crate) down_time_ms: u64,
    pub(crate) dropped: u64,
    /// `(binary, host, heartbeat_ms)`.
    pub(crate) entries: Vec<(String, String, u64)>,
}

impl Records {
    /// Replaces the list (the slot's worker only, one writer at a time):
    /// `entries` are `(binary\0host, heartbeat_ms)`.
    pub(crate) fn publish(&self, read_ms: u64, down_time_ms: u64, entries: &[(Vec<u8>, u64)]) {
        use std::sync::atomic::fence;
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq | 1, Ordering::Relaxed);
        fence(Ordering::Release);
        let mut n = 0;
        let mut dropped = 0;
        for (name, heartbeat_ms) in entries {
            if n == RECORDS || name.len() > NAME_LEN {
                dropped += 1;
                continue;
            }
            let e = &self.entries[n];
            e.len
                .store(pack(&e.name, &[name.as_slice()]), Ordering::Relaxed);
            e.heartbeat_ms.store(*heartbeat_ms, Ordering::Relaxed);
            n += 1;
        }
        self.len.store(n as u64, Ordering::Relaxed);
        self.dropped.store(dropped, Ordering::Relaxed);
        self.down_time_ms.store(down_time_ms, Ordering::Relaxed);
        self.read_ms.store(read_ms, Ordering::Relaxed);
        self.seq.store((seq | 1) + 1, Ordering::Release);
    }

    /// A consistent copy; `None` if never published, or if no copy came
    /// out whole (a writer that died in the middle: its slot is cleared
    /// when it is reaped).
    pub(crate) fn copy(&self) -> Option<RecordsCopy> {
        use std::sync::atomic::fence;
        for _ in 0..100 {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let read_ms = get(&self.read_ms);
            let len = (get(&self.len) as usize).min(RECORDS);
            let entries = self.entries[..len]
                .iter()
                .map(|e| (unpack(&e.name, get(&e.len) as usize), get(&e.heartbeat_ms)))
                .collect::<Vec<_>>();
            let copy = RecordsCopy {
                read_ms,
                down_time_ms: get(&self.down_time_ms),
                dropped: get(&self.dropped),
                entries: Vec::new(),
            };
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != before {
                continue;
            }
            if read_ms == 0 {
                return None;
            }
            let entries = entries
                .into_iter()
                .map(|(bytes, hb)| {
                    let name = String::from_utf8_lossy(&bytes);
                    let (binary, host) = name.split_once('\0').unwrap_or((&name, ""));
                    (binary.to_owned(), host.to_owned(), hb)
                })
                .collect();
            return Some(RecordsCopy { entries, ..copy });
        }
        None
    }

    /// Empties the list (the master, once the slot's worker is reaped).
    fn clear(&self) {
        self.read_ms.store(0, Ordering::Relaxed);
        self.len.store(0, Ordering::Relaxed);
        self.dropped.store(0, Ordering::Relaxed);
        self.seq.store(0, Ordering::Release);
    }
}

/// The worker-side handle: adds to this worker's slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recorder {
    pub(crate) slot: &'static Slot,
    /// An `Instant` and the same moment in `CLOCK_MONOTONIC` nanoseconds:
    /// an in-flight entry's start is derived from the `Instant` its caller
    /// took, without reading the clock again.
    epoch: std::time::Instant,
    epoch_ns: u64,
}

impl Recorder {
    pub(crate) fn new(slot: &'static Slot) -> Self {
        Recorder {
            slot,
            epoch: std::time::Instant::now(),
            epoch_ns: monotonic_ns(),
        }
    }

    /// `CLOCK_MONOTONIC` nanoseconds of `at`.
    #[inline]
    pub(crate) fn monotonic_of(&self, at: std::time::Instant) -> u64 {
        match at.checked_duration_since(self.epoch) {
            Some(d) => self.epoch_ns.saturating_add(nanos(d)),
            None => self
                .epoch_ns
                .saturating_sub(nanos(self.epoch.duration_since(at))),
        }
    }

    /// The HTTP counts this thread adds to, and how: its own shard, or
    /// the shared counts when it has none.
    #[inline]
    fn http(&self) -> (Writer, &HttpCounts) {
        match shard::mine() {
            Some(i) => (Writer::Own, &self.slot.http_shards[i]),
            None => (Writer::Shared, &self.slot.counters.http),
        }
    }

    /// One HTTP request: its method (an index into [`METHODS`]), status and
    /// duration in nanoseconds.
    #[inline]
    pub(crate) fn http_done(&self, method: usize, status: u16, took_ns: u64) {
        let (w, c) = self.http();
        c.request(w, method, status, took_ns);
    }

    pub(crate) fn http_request(&self, method: &str, status: u16, took: Duration) {
        self.http_done(method_index(method), status, nanos(took));
    }

    /// A connection opened (`true`) or closed.
    pub(crate) fn http_connection(&self, open: bool) {
        let (w, c) = self.http();
        c.connection(w, open);
    }

    pub(crate) fn http_pool_wait(&self) {
        let (w, c) = self.http();
        w.add(&c.pool_waits, 1);
    }

    pub(crate) fn named(&self, kind: Kind, name: &[u8], outcome: usize, took: Option<Duration>) {
        if let Some(e) = self.slot.counters.entry(kind, name) {
            add(&e.outcomes[outcome.min(OUTCOMES.len() - 1)], 1);
            if let Some(d) = took {
                e.hist.observe(Writer::Shared, nanos(d));
            }
        }
    }

    pub(crate) fn heartbeat(&self) {
        self.slot
            .heartbeat_ns
            .store(monotonic_ns(), Ordering::Relaxed);
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (the same clock in every process).
pub(crate) fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Unix time in milliseconds.
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[inline]
pub(crate) fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

#[inline]
pub(crate) fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// Maps a zeroed, shared, anonymous board that forked children inherit.
/// It is never unmapped: it lives as long as the process.
pub(crate) fn map() -> std::io::Result<&'static Board> {
    // SAFETY: every field of `Board` is an `AtomicU64` (or an array or
    // `repr(C)` struct of them), for which all zero bytes are a valid
    // value, and it is only ever accessed through atomics.
    unsafe { map_shared_zeroed::<Board>() }
}

/// Maps a zeroed `T` in a `MAP_SHARED` anonymous mapping that forked
/// children inherit (the board, the console's mailbox). It is never
/// unmapped.
///
/// # Safety
///
/// All-zero bytes must be a valid `T`, and `T` must only be accessed
/// through atomics (lock-free 64-bit atomics work across processes on
/// Linux): every process forked after this shares the memory.
pub(crate) unsafe fn map_shared_zeroed<T>() -> std::io::Result<&'static T> {
    const { assert!(std::mem::align_of::<T>() <= 4096) };
    let size = std::mem::size_of::<T>();
    // SAFETY: a fresh anonymous mapping (no address hint, no descriptor)
    // aliases no Rust object; the result is checked for MAP_FAILED below.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED || ptr.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the mapping is page-aligned (more than `T`'s alignment,
    // asserted above), `size_of::<T>()` bytes long, readable and writable
    // and zero-filled by the kernel, which the caller guarantees is a
    // valid `T` used only through atomics. It is never unmapped, so
    // `'static` holds.
    Ok(unsafe { &*ptr.cast::<T>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> &'static Board {
        map().unwrap()
    }

    #[test]
    fn folding_a_slot_keeps_the_sums() {
        let b = board();
        let slot = &b.slots[3];
        slot.service.store(1, Ordering::Relaxed);
        slot.pid.store(42, Ordering::Relaxed);
        let r = Recorder::new(slot);
        r.http_request("GET", 200, Duration::from_millis(2));
        r.http_request("BREW", 418, Duration::from_millis(2));
        r.named(
            Kind::RpcServer,
            b"demo\0echo",
            0,
            Some(Duration::from_millis(1)),
        );
        let total = |b: &Board| {
            let live: u64 = b.slots[3]
                .http_counts()
                .map(|c| get(&c.requests[0][1]) + get(&c.requests[7][3]))
                .sum();
            let retired = get(&b.services[1].retired.http.requests[0][1])
                + get(&b.services[1].retired.http.requests[7][3]);
            live + retired
        };
        assert_eq!(b.read(total), 2);
        b.retire_slot(3);
        assert_eq!(b.read(total), 2);
        assert_eq!(get(&b.slots[3].pid), 0);
        let e = &b.services[1].retired.names[0];
        assert_eq!(e.read(), Some((Kind::RpcServer, "demo\0echo".to_owned())));
        assert_eq!(get(&e.outcomes[0]), 1);
        assert_eq!(get(&e.hist.count), 1);
        assert_eq!(b.slots[3].counters.names[0].read(), None);
    }

    #[test]
    fn names_past_the_table_count_as_other() {
        let b = board();
        let r = Recorder::new(&b.slots[0]);
        for i in 0..NAMES + 10 {
            r.named(Kind::Periodic, format!("task{i}").as_bytes(), 0, None);
        }
        r.named(Kind::Periodic, &[b'x'; NAME_LEN + 1], 1, None);
        let names: Vec<_> = b.slots[0]
            .counters
            .names
            .iter()
            .filter_map(Named::read)
            .collect();
        assert_eq!(names.len(), NAMES - SPILL + 1);
        assert_eq!(names[NAMES - SPILL], (Kind::Periodic, "other".to_owned()));
        let spill = &b.slots[0].counters.names[NAMES - 1];
        assert_eq!(get(&spill.outcomes[0]), 13, "the 13 names past the table");
        assert_eq!(get(&spill.outcomes[1]), 1);
    }

    #[test]
    fn a_fold_left_open_does_not_hang_readers() {
        let b = board();
        b.begin_fold();
        let started = std::time::Instant::now();
        assert_eq!(b.read(|b| get(&b.master_pid)), 0);
        assert!(started.elapsed() < Duration::from_secs(10));
        b.end_fold();
    }

    fn flights(slot: &Slot) -> Vec<FlightCopy> {
        slot.flights.iter().filter_map(Flight::read).collect()
    }

    #[test]
    fn in_flight_entries_are_claimed_and_released() {
        let b = board();
        let slot = &b.slots[5];
        let a = slot.flight_begin(FlightKind::Http, &[b"GET", b" ", b"/v1/slow"], 10);
        let r = slot.flight_begin(FlightKind::Rpc, &[b"demo", b"\0", b"sleep"], 20);
        assert_eq!((a, r), (Some(0), Some(1)));
        let seen = flights(slot);
        assert_eq!(
            seen,
            [
                FlightCopy {
                    kind: FlightKind::Http,
                    started_ns: 10,
                    text: "GET /v1/slow".to_owned()
                },
                FlightCopy {
                    kind: FlightKind::Rpc,
                    started_ns: 20,
                    text: "demo\0sleep".to_owned()
                },
            ]
        );
        slot.flight_end(FlightKind::Http, a);
        assert_eq!(flights(slot).len(), 1);
        // The freed entry is the next one claimed, with a new generation
        // and no trace of the old text.
        let c = slot.flight_begin(FlightKind::Http, &[b"PUT", b" ", b"/x"], 30);
        assert_eq!(c, Some(0));
        assert_eq!(flights(slot)[0].text, "PUT /x");
        assert_eq!(
            get(&slot.flights[0].state) >> GENERATION_SHIFT,
            2,
            "claimed twice"
        );
        slot.flight_end(FlightKind::Http, c);
        slot.flight_end(FlightKind::Rpc, r);
        assert!(flights(slot).is_empty());
    }

    #[test]
    fn a_full_table_counts_the_rest() {
        let b = board();
        let slot = &b.slots[6];
        let taken: Vec<_> = (0..FLIGHTS)
            .map(|i| slot.flight_begin(FlightKind::Http, &[format!("GET /{i}").as_bytes()], 1))
            .collect();
        assert!(taken.iter().all(Option::is_some));
        let more: Vec<_> = (0..3)
            .map(|_| slot.flight_begin(FlightKind::Rpc, &[b"t\0m"], 1))
            .collect();
        assert_eq!(more, [None, None, None]);
        assert_eq!(get(&slot.flights_more[FlightKind::Rpc as usize]), 3);
        assert_eq!(get(&slot.flights_more[FlightKind::Http as usize]), 0);
        slot.flight_end(FlightKind::Rpc, None);
        assert_eq!(get(&slot.flights_more[FlightKind::Rpc as usize]), 2);
        // One freed: the next one gets an entry again.
        slot.flight_end(FlightKind::Http, taken[7]);
        assert_eq!(slot.flight_begin(FlightKind::Rpc, &[b"t\0m"], 1), Some(7));
        assert_eq!(flights(slot).len(), FLIGHTS);
    }

    #[test]
    fn long_texts_are_cut() {
        let b = board();
        let slot = &b.slots[7];
        let path = format!("/{}", "a".repeat(300));
        slot.flight_begin(FlightKind::Http, &[b"GET ", path.as_bytes()], 1);
        let text = &flights(slot)[0].text;
        assert_eq!(text.len(), TEXT_LEN + 3, "{text}");
        assert!(
            text.starts_with("GET /aaa") && text.ends_with("a..."),
            "{text}"
        );
        // A character cut in two is dropped, not shown as garbage.
        let wide = format!("GET /{}", "é".repeat(100));
        slot.flight_begin(FlightKind::Http, &[wide.as_bytes()], 1);
        let text = &flights(slot)[1].text;
        assert!(text.ends_with("é..."), "{text}");
        assert!(!text.contains('\u{fffd}'), "{text}");
        // Task names and errors too.
        let t = slot.task(&"n".repeat(NAME_LEN + 50)).unwrap();
        t.set_error(5, &"e".repeat(1000));
        let copy = t.read().unwrap();
        assert_eq!(copy.name.len(), NAME_LEN);
        let (at, error) = copy.last_error.unwrap();
        assert_eq!(at, 5);
        assert_eq!(error.len(), ERROR_LEN + 3);
        // The same long name finds the same entry.
        assert!(std::ptr::eq(
            slot.task(&"n".repeat(NAME_LEN + 50)).unwrap(),
            t
        ));
    }

    #[test]
    fn periodic_tasks_have_one_entry_each_until_the_table_is_full() {
        let b = board();
        let slot = &b.slots[8];
        let a = slot.task("Jobs.tick").unwrap();
        assert!(std::ptr::eq(slot.task("Jobs.tick").unwrap(), a));
        a.set_error(7, "boom");
        a.set_error(9, "boom again");
        assert_eq!(
            a.read().unwrap().last_error,
            Some((9, "boom again".to_owned()))
        );
        for i in 1..TASKS {
            assert!(slot.task(&format!("task{i}")).is_some());
        }
        assert_eq!(get(&slot.tasks_full), 0);
        assert!(slot.task("one too many").is_none());
        assert_eq!(get(&slot.tasks_full), 1);
        assert!(slot.task("Jobs.tick").is_some(), "known names still found");
    }

    #[test]
    fn a_reaped_workers_entries_are_gone() {
        let b = board();
        let slot = &b.slots[9];
        slot.pid.store(4242, Ordering::Relaxed);
        slot.flight_begin(FlightKind::Http, &[b"GET /slow"], 1);
        for _ in 0..FLIGHTS {
            slot.flight_begin(FlightKind::Rpc, &[b"t\0m"], 1);
        }
        slot.task("Jobs.tick").unwrap().set_error(1, "boom");
        let generation = get(&slot.flights[0].state) >> GENERATION_SHIFT;
        b.retire_slot(9);
        assert!(flights(slot).is_empty());
        assert_eq!(get(&slot.flights_more[FlightKind::Rpc as usize]), 0);
        assert!(slot.tasks.iter().all(|t| t.read().is_none()));
        assert_eq!(
            get(&slot.flights[0].state) >> GENERATION_SHIFT,
            generation,
            "kept"
        );
        // The next worker in the slot starts with empty tables.
        let t = slot.task("Other.task").unwrap();
        assert_eq!(t.read().unwrap().last_error, None);
    }

    #[test]
    fn a_reader_never_sees_half_of_two_entries() {
        let b = board();
        let slot: &'static Slot = &b.slots[10];
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let texts: Vec<Vec<u8>> = (b'a'..=b'z').map(|c| vec![c; 100]).collect();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let t = &texts[n % texts.len()];
                    let i = slot.flight_begin(FlightKind::Http, &[t], n as u64);
                    slot.flight_end(FlightKind::Http, i);
                    n += 1;
                }
                n
            })
        };
        let mut seen = 0;
        let started = std::time::Instant::now();
        while seen < 2000 && started.elapsed() < Duration::from_secs(5) {
            if let Some(f) = slot.flights[0].read() {
                let first = f.text.as_bytes()[0];
                assert!(f.text.bytes().all(|c| c == first), "torn: {}", f.text);
                assert_eq!(f.text.len(), 100);
                seen += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        assert!(writer.join().unwrap() > 0);
    }

    #[test]
    fn records_are_replaced_whole_and_cleared_with_the_slot() {
        let b = board();
        let r = &b.slots[5].records;
        assert_eq!(r.copy(), None, "never published");
        let many: Vec<(Vec<u8>, u64)> = (0..RECORDS + 2)
            .map(|i| (format!("demo-worker\0host-{i}").into_bytes(), i as u64))
            .collect();
        r.publish(1_000, 60_000, &many);
        let c = r.copy().unwrap();
        assert_eq!(c.entries.len(), RECORDS);
        assert_eq!(c.dropped, 2);
        assert_eq!(c.entries[1], ("demo-worker".into(), "host-1".into(), 1));
        let long = vec![b'x'; NAME_LEN + 1];
        r.publish(2_000, 10_000, &[(b"api\0h".to_vec(), 7), (long, 8)]);
        let c = r.copy().unwrap();
        assert_eq!(
            c,
            RecordsCopy {
                read_ms: 2_000,
                down_time_ms: 10_000,
                dropped: 1,
                entries: vec![("api".into(), "h".into(), 7)],
            }
        );
        b.slots[5].pid.store(9, Ordering::Relaxed);
        b.retire_slot(5);
        assert_eq!(r.copy(), None);
    }

    /// Requests counted in `slot`: by status and by the histogram.
    fn requests(slot: &Slot) -> (u64, u64) {
        slot.http_counts().fold((0, 0), |(n, h), c| {
            (
                n + c.requests.iter().flatten().map(get).sum::<u64>(),
                h + get(&c.duration.count),
            )
        })
    }

    #[test]
    fn sharded_counts_from_many_threads_sum_exactly_and_never_go_back() {
        let b = board();
        let slot: &'static Slot = &b.slots[11];
        let r: &'static Recorder = Box::leak(Box::new(Recorder::new(slot)));
        const PER_THREAD: u64 = 20_000;
        // More threads than shards (some add to the shared counts), in two
        // waves: the second reuses the indexes the first gave back.
        let threads = SHARDS + 4;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut last, mut reads) = ((0, 0), 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let now = requests(slot);
                    assert!(now.0 >= last.0 && now.1 >= last.1, "{now:?} after {last:?}");
                    last = now;
                    reads += 1;
                }
                reads
            })
        };
        for _wave in 0..2 {
            let writers: Vec<_> = (0..threads)
                .map(|t| {
                    std::thread::spawn(move || {
                        for i in 0..PER_THREAD {
                            let method = ["GET", "POST", "BREW"][(t + i as usize) % 3];
                            r.http_request(
                                method,
                                100 + (i % 5) as u16 * 100,
                                Duration::from_micros(i),
                            );
                            r.http_connection(true);
                            r.http_connection(false);
                        }
                        r.http_pool_wait();
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        let total = 2 * threads as u64 * PER_THREAD;
        assert_eq!(requests(slot), (total, total));
        let waits: u64 = slot.http_counts().map(|c| get(&c.pool_waits)).sum();
        assert_eq!(waits, 2 * threads as u64);
        let by_class: Vec<u64> = (0..CLASSES.len())
            .map(|c| {
                slot.http_counts()
                    .map(|h| {
                        get(&h.requests[0][c]) + get(&h.requests[2][c]) + get(&h.requests[7][c])
                    })
                    .sum()
            })
            .collect();
        assert_eq!(by_class, vec![total / 5; 5]);
        let sum_ns: u64 = slot.http_counts().map(|c| get(&c.duration.sum_ns)).sum();
        let per_thread_ns: u64 = (0..PER_THREAD).map(|i| i * 1000).sum();
        assert_eq!(sum_ns, 2 * threads as u64 * per_thread_ns);
        assert_eq!(slot.connections_open(), 0);
        // Folded whole into the retired totals.
        slot.service.store(2, Ordering::Relaxed);
        b.retire_slot(11);
        assert_eq!(requests(slot), (0, 0));
        let retired = &b.services[2].retired.http;
        assert_eq!(
            retired.requests.iter().flatten().map(get).sum::<u64>(),
            total
        );
        assert_eq!(get(&retired.duration.count), total);
        assert_eq!(get(&retired.pool_waits), 2 * threads as u64);
    }

    #[test]
    fn connections_open_across_threads_never_show_a_close_without_its_open() {
        let b = board();
        let slot: &'static Slot = &b.slots[12];
        let r: &'static Recorder = Box::leak(Box::new(Recorder::new(slot)));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Each connection is opened by one thread and closed by another
        // (as a task moved between a runtime's threads): at most `threads`
        // are open at once.
        let threads = 3;
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (opened, closed) = slot.connection_counts();
                    assert!(opened >= closed, "{closed} closed of {opened}");
                }
            })
        };
        let writers: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..5_000 {
                        r.http_connection(true);
                        std::thread::spawn(move || r.http_connection(false))
                            .join()
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        assert_eq!(slot.connections_open(), 0);
        r.http_connection(true);
        assert_eq!(slot.connections_open(), 1);
    }

    #[test]
    fn http_requests_in_flight_are_counted_from_the_table() {
        let b = board();
        let slot = &b.slots[13];
        assert_eq!(slot.http_in_flight(), 0);
        let rpc = slot.flight_begin(FlightKind::Rpc, &[b"t\0m"], 1);
        let http: Vec<_> = (0..FLIGHTS + 2)
            .map(|_| slot.flight_begin(FlightKind::Http, &[b"GET /"], 1))
            .collect();
        assert_eq!(
            slot.http_in_flight(),
            FLIGHTS as u64 + 2,
            "the table and the rest"
        );
        for i in http {
            slot.flight_end(FlightKind::Http, i);
        }
        assert_eq!(slot.http_in_flight(), 0);
        slot.flight_end(FlightKind::Rpc, rpc);
        assert_eq!(get(&slot.flights_more[FlightKind::Http as usize]), 0);
    }

    #[test]
    fn buckets_in_nanoseconds_match_the_seconds() {
        for (b, ns) in BUCKETS.iter().zip(BUCKETS_NS) {
            for v in [ns - 1, ns, ns + 1] {
                let h = Hist::default();
                h.observe(Writer::Own, v);
                let secs = Duration::from_nanos(v).as_secs_f64();
                let want = BUCKETS
                    .iter()
                    .position(|b| secs <= *b)
                    .unwrap_or(BUCKETS.len());
                assert_eq!(get(&h.buckets[want]), 1, "{v} ns against {b} s");
            }
        }
    }

    #[test]
    fn packed_words_hold_the_bytes_in_order() {
        let words: [AtomicU64; 4] = Default::default();
        let text: Vec<u8> = (1..=40).collect();
        // Every split of the text into up to three parts, cut at 32 bytes.
        for a in 0..=text.len() {
            for b in a..=text.len() {
                for w in &words {
                    w.store(u64::MAX, Ordering::Relaxed);
                }
                let n = pack(&words, &[&text[..a], &text[a..b], &text[b..]]);
                assert_eq!(n, 40);
                assert_eq!(unpack(&words, 40), &text[..32], "{a} {b}");
            }
        }
        let n = pack(&words, &[b"GET", b" ", b"/hello"]);
        assert_eq!((n, unpack(&words, 10)), (10, b"GET /hello".to_vec()));
        assert_eq!(get(&words[1]) >> 16, 0, "the last word is zero-padded");
    }

    #[test]
    fn histogram_buckets() {
        let h = Hist::default();
        h.observe(Writer::Shared, 100_000);
        h.observe(Writer::Own, 60_000_000_000);
        assert_eq!(get(&h.buckets[0]), 1);
        assert_eq!(get(&h.buckets[BUCKETS.len()]), 1);
        assert_eq!(get(&h.count), 2);
    }
}
