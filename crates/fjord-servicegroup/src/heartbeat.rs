//! The heartbeat task a service adds to its task group.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::AbortHandle;

use super::error::RecordsError;
use super::options::ServiceOptions;
use super::store::{ServiceRecords, ServiceRecordsBuilder};
use fjord_service::TaskGroup;
use fjord_service::task::sleep_or_stop;

/// Registers a service's record and reports its state every
/// `report_interval` (nova's servicegroup `join` + `_report_state`).
///
/// Build it synchronously (before fork is fine: it only stores settings);
/// [`Heartbeat::start`] it from [`fjord_service::Service::start`]. The task
/// connects, registers (host, binary, topic), writes a heartbeat at once
/// and then every `report_interval`. A database error never stops it or the
/// service: it is logged (ERROR, with the database URL and the error) and
/// the whole step (connect, register, beat) is retried at the next
/// interval; recovery is logged at INFO. A record deleted under it is
/// registered again. In a worker of a `ProcessLauncher` with diagnostics
/// on, each report is followed by a read of every record, published for
/// the endpoint's `fjord_service_up` and status page
/// ([`fjord_service::diagnostics::service_records`]).
///
/// # Examples
///
/// ```
/// use fjord_servicegroup::{Heartbeat, ServiceOptions};
/// use fjord_service::TaskGroup;
///
/// let hb = Heartbeat::new("host-1", "demo-worker", "demo",
///                         &ServiceOptions::default().connection("sqlite://"));
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let tg = TaskGroup::default();
/// hb.start(&tg);                  // in Service::start
/// # tokio::time::sleep(std::time::Duration::from_millis(200)).await;
/// tg.stop(true).await;            // in Service::stop
/// # });
/// ```
#[derive(Clone)]
pub struct Heartbeat {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    binary: String,
    topic: String,
    records: ServiceRecordsBuilder,
    report_interval: Duration,
    state: Mutex<HeartbeatState>,
    connection: Mutex<Option<ServiceRecords>>,
}

/// What the heartbeat task has done so far (for reports and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeartbeatState {
    /// The record's id once registered.
    pub record_id: Option<i64>,
    /// Heartbeats written.
    pub reports: u64,
    /// Reporting steps that failed.
    pub failures: u64,
    /// Whether the last step failed.
    pub failing: bool,
    /// The error of the last failed step.
    pub last_error: Option<String>,
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Heartbeat")
            .field("host", &self.inner.host)
            .field("binary", &self.inner.binary)
            .field("topic", &self.inner.topic)
            .field("database", &self.inner.records.masked_connection())
            .field("report_interval", &self.inner.report_interval)
            .field("state", &self.state())
            .finish()
    }
}

impl Heartbeat {
    /// A heartbeat for (host, binary, topic) using `connection`,
    /// `service_down_time` and `report_interval` from `options`.
    pub fn new(
        host: impl Into<String>,
        binary: impl Into<String>,
        topic: impl Into<String>,
        options: &ServiceOptions,
    ) -> Self {
        Self::with_records(
            host,
            binary,
            topic,
            ServiceRecords::from_options(options),
            options.report_interval,
        )
    }

    /// A heartbeat with its own record store settings (a table other than
    /// `services`, a pool size).
    pub fn with_records(
        host: impl Into<String>,
        binary: impl Into<String>,
        topic: impl Into<String>,
        records: ServiceRecordsBuilder,
        report_interval: Duration,
    ) -> Self {
        // a connection attempt must not outlast the interval
        // (the step timeout in `start` is at least twice this)
        let acquire = (report_interval / 2).clamp(Duration::from_secs(1), Duration::from_secs(10));
        Heartbeat {
            inner: Arc::new(Inner {
                host: host.into(),
                binary: binary.into(),
                topic: topic.into(),
                records: records.max_connections(2).acquire_timeout(acquire),
                report_interval,
                state: Mutex::new(HeartbeatState::default()),
                connection: Mutex::new(None),
            }),
        }
    }

    /// What the task has done so far.
    pub fn state(&self) -> HeartbeatState {
        lock(&self.inner.state).clone()
    }

    /// The open record store, once the task has connected: a service can
    /// reuse it (for example to serve `GET /v1/services`).
    pub fn records(&self) -> Option<ServiceRecords> {
        lock(&self.inner.connection).clone()
    }

    /// Spawns the heartbeat task in `tg`. It ends when the group stops (a
    /// step in progress finishes first, bounded by `report_interval`).
    /// Starting again after a stop (SIGHUP restart) opens a new connection
    /// and registers again, keeping the same record.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (call it from [`fjord_service::Service::start`]).
    pub fn start(&self, tg: &TaskGroup) -> AbortHandle {
        // After a reset the service may run in another runtime: open a new
        // pool there, and register again (idempotent).
        *lock(&self.inner.connection) = None;
        lock(&self.inner.state).record_id = None;
        let inner = self.inner.clone();
        let stopping = tg.stopping();
        tg.spawn(async move {
            let step_timeout = inner.report_interval.max(Duration::from_secs(2));
            let url = inner.records.masked_connection();
            loop {
                let outcome = match tokio::time::timeout(step_timeout, inner.step()).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("no answer from {url} within {step_timeout:?}")),
                };
                inner.record_outcome(outcome);
                if !sleep_or_stop(inner.report_interval, &stopping).await {
                    return;
                }
            }
        })
    }
}

/// In a worker of a `ProcessLauncher` (diagnostics on), reads every
/// record and publishes it for `fjord_service_up` and the status page. A
/// failed read is logged; the heartbeat itself was written.
async fn publish_records(records: &ServiceRecords) {
    if !fjord_service::diagnostics::recording() {
        return;
    }
    match records.list().await {
        Ok(list) => fjord_service::diagnostics::service_records(
            records.service_down_time(),
            list.iter().map(|s| {
                (
                    s.record.binary.as_str(),
                    s.record.host.as_str(),
                    s.record.last_heartbeat(),
                )
            }),
        ),
        Err(e) => tracing::warn!(
            "cannot list the service records of {} for the diagnostics: {e}",
            records.url()
        ),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    /// Connect if needed, register if needed, then beat.
    async fn step(&self) -> Result<(), RecordsError> {
        let existing = lock(&self.connection).clone();
        let records = match existing {
            Some(r) => r,
            None => {
                let r = self.records.connect().await?;
                *lock(&self.connection) = Some(r.clone());
                r
            }
        };
        let known = lock(&self.state).record_id;
        let id = match known {
            Some(id) => id,
            None => self.register(&records).await?,
        };
        match records.heartbeat(id).await {
            Err(RecordsError::NotFound { .. }) => {
                tracing::warn!(
                    "service record {id} of {} on {} is gone; registering again",
                    self.binary,
                    self.host
                );
                lock(&self.state).record_id = None;
                let id = self.register(&records).await?;
                records.heartbeat(id).await?;
            }
            other => other?,
        }
        publish_records(&records).await;
        Ok(())
    }

    async fn register(&self, records: &ServiceRecords) -> Result<i64, RecordsError> {
        let rec = records
            .register(&self.host, &self.binary, &self.topic)
            .await?;
        tracing::info!(
            "registered service record {} for {} on {} (topic {}) in {}",
            rec.id,
            self.binary,
            self.host,
            self.topic,
            records.url()
        );
        lock(&self.state).record_id = Some(rec.id);
        Ok(rec.id)
    }

    fn record_outcome(&self, outcome: Result<(), String>) {
        let mut st = lock(&self.state);
        match outcome {
            Ok(()) => {
                if st.failing {
                    tracing::info!(
                        "{} on {}: reporting state to {} recovered",
                        self.binary,
                        self.host,
                        self.records.masked_connection()
                    );
                }
                st.reports += 1;
                st.failing = false;
            }
            Err(e) => {
                tracing::error!(
                    "{} on {}: failed to report state to {}: {e}; retrying in {:?}",
                    self.binary,
                    self.host,
                    self.records.masked_connection(),
                    self.report_interval
                );
                st.failures += 1;
                st.failing = true;
                st.last_error = Some(e);
            }
        }
    }
}
