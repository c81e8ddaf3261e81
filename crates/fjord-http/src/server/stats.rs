//! Lifecycle phase and counters, observable by tests
//! ([`crate::server::HttpService::stats`]). In a worker of a
//! `ProcessLauncher` the same events also go to the master's diagnostics
//! board (`fjord_service::diagnostics`: requests by method and status,
//! latency, connections, pool use and waits), which the master's
//! `/metrics` endpoint sums over workers.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where an [`crate::server::HttpService`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Built (socket bound) or reset; not accepting in this process.
    Idle,
    /// Accepting and serving.
    Running,
    /// Graceful stop in progress: not accepting, finishing in-flight work.
    Draining,
    /// Every connection is closed.
    Stopped,
}

/// Counters of one worker's server. All relaxed atomics; read with
/// [`Stats::snapshot`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) active_connections: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) pool_waits: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) idle_closed: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Connections accepted since start.
    pub connections_accepted: u64,
    /// Connections open now (idle keep-alive ones included).
    pub active_connections: u64,
    /// Requests being served now (bounded by `wsgi_default_pool_size`).
    pub in_flight: u64,
    /// Requests received since start (rejected ones included).
    pub requests: u64,
    /// Requests that had to wait for a free pool slot (pool saturation).
    pub pool_waits: u64,
    /// Requests answered 4xx by the server's own limits (413, 414, 431).
    pub rejected: u64,
    /// Idle keep-alive connections closed to make room at `max_connections`.
    pub idle_closed: u64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            connections_accepted: r(&self.connections_accepted),
            active_connections: r(&self.active_connections),
            in_flight: r(&self.in_flight),
            requests: r(&self.requests),
            pool_waits: r(&self.pool_waits),
            rejected: r(&self.rejected),
            idle_closed: r(&self.idle_closed),
        }
    }
}

pub(crate) fn inc(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn dec(a: &AtomicU64) {
    a.fetch_sub(1, Ordering::Relaxed);
}
