//! The console's mailbox: a small `MAP_SHARED` area the master maps
//! before its first fork, next to the board, through which the console
//! (served by the diagnostics process) reaches the other processes.
//!
//! * Log filter: the console writes the directive string and bumps a
//!   generation (a sequence lock: odd while it writes). Each worker checks
//!   the generation every [`LOG_CHECK`] from a task of its runtime, the
//!   master each turn of its loop, and applies a new filter with
//!   [`crate::logging::set_filter`].
//! * Scale: the console writes a service index and a signed count, bumps
//!   the request number, and wakes the master (a byte on a pipe the
//!   master polls); the master applies it, writes the service's new worker
//!   count and acknowledges the request number.
//!
//! One writer per field group: the diagnostics process writes requests
//! (its console serialises them), the master writes answers.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bytes of a log filter string.
pub(crate) const FILTER_MAX: usize = 1024;
/// How often a worker looks for a new log filter.
pub(crate) const LOG_CHECK: Duration = Duration::from_millis(200);

/// The shared area (every field an atomic: the zeroed mapping is valid).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Control {
    /// Log filter generation: odd while the text is written; 0: never set.
    log_gen: AtomicU64,
    log_len: AtomicU64,
    log_text: [AtomicU64; FILTER_MAX / 8],
    /// Scale request number (the console's), and the last one the master
    /// answered.
    scale_req: AtomicU64,
    scale_ack: AtomicU64,
    scale_service: AtomicU64,
    /// An `i64` as bits.
    scale_delta: AtomicU64,
    /// The service's worker count after the request.
    scale_workers: AtomicU64,
}

/// A scale request as the master reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScaleRequest {
    pub(crate) id: u64,
    pub(crate) service: usize,
    pub(crate) delta: i64,
}

impl Control {
    /// Publishes a new log filter (console side; callers serialise).
    pub(crate) fn set_log_filter(&self, text: &str) -> Result<(), String> {
        if text.len() > FILTER_MAX {
            return Err(format!("a filter is at most {FILTER_MAX} bytes"));
        }
        let bytes = text.as_bytes();
        self.log_gen.fetch_add(1, Ordering::AcqRel);
        for (i, w) in self.log_text.iter().enumerate() {
            let mut chunk = [0u8; 8];
            let start = (i * 8).min(bytes.len());
            let end = (start + 8).min(bytes.len());
            chunk[..end - start].copy_from_slice(&bytes[start..end]);
            w.store(u64::from_le_bytes(chunk), Ordering::Relaxed);
        }
        self.log_len.store(bytes.len() as u64, Ordering::Relaxed);
        self.log_gen.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// The current log filter and its generation, when one was set and no
    /// write is under way.
    pub(crate) fn log_filter(&self) -> Option<(u64, String)> {
        for _ in 0..100 {
            let before = self.log_gen.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let len = (self.log_len.load(Ordering::Relaxed) as usize).min(FILTER_MAX);
            let mut bytes = Vec::with_capacity(FILTER_MAX);
            for w in &self.log_text {
                bytes.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            bytes.truncate(len);
            if self.log_gen.load(Ordering::Acquire) == before {
                return Some((before, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        None
    }

    /// Posts a scale request (console side; callers serialise); returns
    /// its number.
    pub(crate) fn post_scale(&self, service: usize, delta: i64) -> u64 {
        self.scale_service.store(service as u64, Ordering::Relaxed);
        self.scale_delta.store(delta as u64, Ordering::Relaxed);
        self.scale_req.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The service's worker count once the master answered request `id`.
    pub(crate) fn scale_answer(&self, id: u64) -> Option<u64> {
        (self.scale_ack.load(Ordering::Acquire) >= id)
            .then(|| self.scale_workers.load(Ordering::Relaxed))
    }

    /// A request the master has not answered yet (master side).
    pub(crate) fn pending_scale(&self) -> Option<ScaleRequest> {
        let id = self.scale_req.load(Ordering::Acquire);
        (id != self.scale_ack.load(Ordering::Relaxed)).then(|| ScaleRequest {
            id,
            service: self.scale_service.load(Ordering::Relaxed) as usize,
            delta: self.scale_delta.load(Ordering::Relaxed) as i64,
        })
    }

    /// Answers request `id` (master side).
    pub(crate) fn answer_scale(&self, id: u64, workers: u64) {
        self.scale_workers.store(workers, Ordering::Relaxed);
        self.scale_ack.store(id, Ordering::Release);
    }
}

static CONTROL: OnceLock<&'static Control> = OnceLock::new();

/// The log filter generation this process applied last (inherited at fork).
static APPLIED: AtomicU64 = AtomicU64::new(0);

/// Maps the area (master, before its first fork); children inherit it.
pub(crate) fn install() -> std::io::Result<&'static Control> {
    if let Some(c) = CONTROL.get() {
        return Ok(c);
    }
    // SAFETY: every field of `Control` is an `AtomicU64` (or an array of
    // them), valid when all zero, and it is only accessed through atomics.
    let control = unsafe { super::board::map_shared_zeroed::<Control>() }?;
    Ok(CONTROL.get_or_init(|| control))
}

/// The area, in the master and its children.
pub(crate) fn get() -> Option<&'static Control> {
    CONTROL.get().copied()
}

/// Applies a log filter the console published since this process last
/// looked; returns it when it did.
pub(crate) fn apply_log_filter() -> Option<String> {
    let control = get()?;
    if control.log_gen.load(Ordering::Acquire) == APPLIED.load(Ordering::Acquire) {
        return None;
    }
    let (gen_, text) = control.log_filter()?;
    if APPLIED.swap(gen_, Ordering::AcqRel) == gen_ {
        return None;
    }
    match crate::logging::set_filter(&text) {
        Ok(()) => {
            tracing::info!("log filter is now {text:?}");
            Some(text)
        }
        Err(e) => {
            tracing::warn!("cannot apply the log filter {text:?}: {e}");
            None
        }
    }
}

/// Marks the current generation as applied (the console's own process,
/// which applied it directly).
pub(crate) fn mark_applied() {
    if let Some((gen_, _)) = get().and_then(Control::log_filter) {
        APPLIED.store(gen_, Ordering::Release);
    }
}

/// A worker's task: applies new log filters every [`LOG_CHECK`].
pub(crate) fn spawn_log_watch() {
    if get().is_none() {
        return;
    }
    tokio::spawn(async {
        // A `timerfd` tick: no tokio timer stays armed (see `tick.rs`).
        let mut tick = super::tick::Ticker::new(LOG_CHECK);
        loop {
            apply_log_filter();
            tick.tick().await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_and_scale_round_trip() {
        let c = install().unwrap();
        assert_eq!(c.log_filter(), None);
        c.set_log_filter("info,fjord_http=debug").unwrap();
        let (g1, text) = c.log_filter().unwrap();
        assert_eq!(text, "info,fjord_http=debug");
        c.set_log_filter("warn").unwrap();
        let (g2, text) = c.log_filter().unwrap();
        assert_eq!(text, "warn");
        assert!(g2 > g1 && g2 % 2 == 0);
        assert!(c.set_log_filter(&"x".repeat(FILTER_MAX + 1)).is_err());

        assert_eq!(c.pending_scale(), None);
        let id = c.post_scale(2, -3);
        assert_eq!(c.scale_answer(id), None);
        let req = c.pending_scale().unwrap();
        assert_eq!((req.id, req.service, req.delta), (id, 2, -3));
        c.answer_scale(id, 4);
        assert_eq!(c.pending_scale(), None);
        assert_eq!(c.scale_answer(id), Some(4));
    }
}
