//! The board: counters every process of one master shares, in one
//! `MAP_SHARED` anonymous mapping the master creates before its first fork
//! (so every worker and the diagnostics process inherit it).
//!
//! * Each worker owns one [`Slot`] (given by the master at fork): it alone
//!   adds to the slot's counters and writes its heartbeat; the master
//!   writes the slot's header (pid, service, index, phase).
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Worker slots of one board: workers alive at once, replacements
/// included. A worker forked while every slot is taken runs uncounted.
pub(crate) const SLOTS: usize = 128;
/// Services of one master with their own totals; more run uncounted.
pub(crate) const SERVICES: usize = 16;
/// Named entries (RPC topic and method, periodic task) per worker.
pub(crate) const NAMES: usize = 48;
/// Bytes of a name (RPC `topic\0method`, a task's name).
pub(crate) const NAME_LEN: usize = 120;

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
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        add(&self.buckets[i], 1);
        add(&self.sum_ns, d.as_nanos().min(u64::MAX as u128) as u64);
        add(&self.count, 1);
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

/// The counters of one worker, or a service's retired totals.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Counters {
    /// `[method][class]`.
    pub(crate) http_requests: [[AtomicU64; CLASSES.len()]; METHODS.len()],
    pub(crate) http_duration: Hist,
    /// Requests that waited for a free pool slot.
    pub(crate) http_pool_waits: AtomicU64,
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
        for (a, b) in self.http_requests.iter().zip(&to.http_requests) {
            for (a, b) in a.iter().zip(b) {
                add(b, get(a));
                a.store(0, Ordering::Relaxed);
            }
        }
        self.http_duration.fold_into(&to.http_duration);
        self.http_duration.clear();
        add(&to.http_pool_waits, get(&self.http_pool_waits));
        self.http_pool_waits.store(0, Ordering::Relaxed);
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

/// Per-worker gauges, read live, never folded.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    pub(crate) connections_open: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) pool_size: AtomicU64,
}

/// One worker's place on the board.
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
    pub(crate) gauges: Gauges,
    pub(crate) counters: Counters,
}

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
        }
        for g in [
            &slot.gauges.connections_open,
            &slot.gauges.in_flight,
            &slot.gauges.pool_size,
        ] {
            g.store(0, Ordering::Relaxed);
        }
        slot.heartbeat_ns.store(0, Ordering::Relaxed);
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

/// The worker-side handle: adds to this worker's slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recorder {
    pub(crate) slot: &'static Slot,
}

impl Recorder {
    pub(crate) fn http_request(&self, method: &str, status: u16, took: Duration) {
        let m = METHODS[..METHODS.len() - 1]
            .iter()
            .position(|x| *x == method)
            .unwrap_or(METHODS.len() - 1);
        let c = (status / 100).clamp(1, 5) as usize - 1;
        add(&self.slot.counters.http_requests[m][c], 1);
        self.slot.counters.http_duration.observe(took);
    }

    pub(crate) fn named(&self, kind: Kind, name: &[u8], outcome: usize, took: Option<Duration>) {
        if let Some(e) = self.slot.counters.entry(kind, name) {
            add(&e.outcomes[outcome.min(OUTCOMES.len() - 1)], 1);
            if let Some(d) = took {
                e.hist.observe(d);
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
    let size = std::mem::size_of::<Board>();
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
    const _: () = assert!(std::mem::align_of::<Board>() <= 4096);
    // SAFETY: the mapping is page-aligned (more than `Board`'s alignment,
    // asserted above), `size_of::<Board>()` bytes long, readable and
    // writable, and zero-filled by the kernel; every field of `Board` is an
    // `AtomicU64` (or an array or `repr(C)` struct of them), for which all
    // zero bytes are a valid value. It is never unmapped, so `'static`
    // holds, and it is only ever accessed through atomics (shared, across
    // processes, which lock-free 64-bit atomics support on Linux).
    Ok(unsafe { &*ptr.cast::<Board>() })
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
        let r = Recorder { slot };
        r.http_request("GET", 200, Duration::from_millis(2));
        r.http_request("BREW", 418, Duration::from_millis(2));
        r.named(
            Kind::RpcServer,
            b"demo\0echo",
            0,
            Some(Duration::from_millis(1)),
        );
        let total = |b: &Board| {
            let live = get(&b.slots[3].counters.http_requests[0][1])
                + get(&b.slots[3].counters.http_requests[7][3]);
            let retired = get(&b.services[1].retired.http_requests[0][1])
                + get(&b.services[1].retired.http_requests[7][3]);
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
        let r = Recorder { slot: &b.slots[0] };
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

    #[test]
    fn histogram_buckets() {
        let h = Hist::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_secs(60));
        assert_eq!(get(&h.buckets[0]), 1);
        assert_eq!(get(&h.buckets[BUCKETS.len()]), 1);
        assert_eq!(get(&h.count), 2);
    }
}
