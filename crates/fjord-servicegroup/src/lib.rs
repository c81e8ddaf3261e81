//! fjord-servicegroup: service records and heartbeats (nova's servicegroup
//! DB driver and `services` table, S3/S4), a layer over fjord-service.
//!
//! Its own crate because it is the one layer that needs a database driver
//! (sqlx with SQLite and PostgreSQL): a program that serves HTTP or RPC
//! without service records does not build one. The `fjord` facade
//! re-exports it as `fjord::servicegroup` under its `servicegroup` feature.
//!
//! Every service (RPC worker or HTTP API) has a record keyed by
//! (host, binary, topic). At start it registers it (re-using the record
//! left by a previous run), then writes a heartbeat every `report_interval`
//! (10 s). A service is **up** while its last heartbeat is within
//! `service_down_time` (60 s) of now — nova's rule, including the absolute
//! value that tolerates a clock ahead of ours, and the creation time
//! standing in for a service that has not reported yet. **Disabled** is a
//! separate flag an operator sets (with a reason); a disabled service still
//! runs and reports.
//!
//! * [`ServiceRecords`]: the store (`connect`, `register`, `heartbeat`,
//!   `list`, `get`, `set_disabled`), one API over SQLite and PostgreSQL.
//! * [`Heartbeat`]: the task a service adds to its [`fjord_service::TaskGroup`]; a
//!   database outage is logged and retried, never fatal.
//! * [`ServiceOptions`]: `report_interval`, `service_down_time`,
//!   `periodic_interval_max`, `periodic_fuzzy_delay`, `connection`, and
//!   their declarations (namespace `fjord.service`).
//!
//! # Databases
//!
//! `[database] connection` takes oslo.db's URLs:
//!
//! | URL                                      | database                          |
//! |------------------------------------------|-----------------------------------|
//! | `sqlite:///fjord.sqlite` (default)       | file relative to the working dir  |
//! | `sqlite:////var/lib/fjord/fjord.sqlite`  | absolute path                     |
//! | `sqlite://`                              | in memory (one process only)      |
//! | `postgresql://user:pw@host:5432/db`      | PostgreSQL (`postgres://` and `postgresql+psycopg2://` too) |
//!
//! SQLite needs no server and is right for one host: the file is opened in
//! WAL mode with a 10 s busy timeout, so the workers of that host can share
//! it. Use PostgreSQL when services on several hosts report to one place.
//! The table is created if missing (`CREATE TABLE IF NOT EXISTS`, under an
//! advisory lock on PostgreSQL so that workers starting together do not
//! race). Timestamps are UTC from the reporting host's clock, as in nova.
//!
//! # Examples
//!
//! ```
//! use fjord_servicegroup::{Heartbeat, ServiceOptions, ServiceRecords};
//! use fjord_service::{async_trait, Result, Service, TaskGroup};
//!
//! #[derive(Debug)]
//! struct Worker { tg: TaskGroup, heartbeat: Heartbeat }
//!
//! impl Worker {
//!     // synchronous, no connection yet: may run in the master before fork
//!     fn new(options: &ServiceOptions) -> Self {
//!         let heartbeat = Heartbeat::new("host-1", "demo-worker", "demo", options);
//!         Worker { tg: TaskGroup::default(), heartbeat }
//!     }
//! }
//!
//! #[async_trait]
//! impl Service for Worker {
//!     fn name(&self) -> &str { "demo-worker" }
//!     async fn start(&self) -> Result<()> {
//!         self.heartbeat.start(&self.tg);
//!         Ok(())
//!     }
//!     async fn stop(&self, graceful: bool) { self.tg.stop(graceful).await }
//!     async fn wait(&self) { self.tg.wait().await }
//!     async fn reset(&self) -> Result<()> { self.tg.reset(); Ok(()) }
//! }
//!
//! // the `service list` view
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let records = ServiceRecords::connect("sqlite://").await?;
//! for s in records.list().await? {
//!     println!("{} {} {} {} {}", s.record.binary, s.record.host, s.record.topic,
//!              s.state(), s.status());
//! }
//! # Ok::<(), fjord_servicegroup::RecordsError>(())
//! # }).unwrap();
//! # let _ = Worker::new(&ServiceOptions::default());
//! ```

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod error;
mod heartbeat;
mod options;
mod record;
mod store;
mod url;

pub use error::RecordsError;
pub use heartbeat::{Heartbeat, HeartbeatState};
pub use options::{DEFAULT_CONNECTION, ServiceOptions};
pub use record::{ServiceRecord, ServiceStatus, format_table, format_timestamp, is_up};
pub use store::{ServiceRecords, ServiceRecordsBuilder};
