//! The record store: one API over SQLite and PostgreSQL (sqlx).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ColumnIndex, Decode, Row, Type};
use time::OffsetDateTime;

use super::error::RecordsError;
use super::options::{DEFAULT_CONNECTION, ServiceOptions};
use super::record::{ServiceRecord, ServiceStatus, is_up};
use super::url::{Target, mask, parse};

const COLUMNS: &str = "id, host, \"binary\", topic, report_count, disabled, disabled_reason, \
                       created_at, updated_at, last_seen_up";
const MAX_FIELD: usize = 255;

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to whichever pool this is (the SQL text is
/// the same for both backends: `$N` placeholders work in SQLite too).
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

/// Settings for [`ServiceRecords`]; building one touches no runtime.
///
/// # Examples
///
/// ```
/// use fjord_servicegroup::ServiceRecords;
/// use std::time::Duration;
///
/// let builder = ServiceRecords::builder("sqlite://")
///     .service_down_time(Duration::from_secs(30));
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let records = builder.connect().await?;
/// let rec = records.register("host-1", "demo-worker", "demo").await?;
/// records.heartbeat(rec.id).await?;
/// assert!(records.list().await?[0].up);
/// # Ok::<(), fjord_servicegroup::RecordsError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ServiceRecordsBuilder {
    connection: String,
    table: String,
    service_down_time: Duration,
    max_connections: u32,
    acquire_timeout: Duration,
}

impl Default for ServiceRecordsBuilder {
    fn default() -> Self {
        ServiceRecordsBuilder {
            connection: DEFAULT_CONNECTION.to_string(),
            table: "services".to_string(),
            service_down_time: Duration::from_secs(60),
            max_connections: 5,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl ServiceRecordsBuilder {
    /// Sets the database URL. Default is [`DEFAULT_CONNECTION`].
    pub fn connection(mut self, url: impl Into<String>) -> Self {
        self.connection = url.into();
        self
    }

    /// Sets the table name (letters, digits, `_`; at most 48 characters).
    /// Default is `services`.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Sets `service_down_time`, the age past which a heartbeat means
    /// down. Default is 60 s.
    pub fn service_down_time(mut self, d: Duration) -> Self {
        self.service_down_time = d;
        self
    }

    /// Sets the size of the connection pool (an in-memory SQLite database
    /// always uses one connection). Default is 5.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets how long an operation waits for a connection (including
    /// connecting) before it fails. Default is 10 s.
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.acquire_timeout = d;
        self
    }

    /// The URL this builder connects to, password masked.
    pub fn masked_connection(&self) -> String {
        mask(&self.connection)
    }

    /// Opens the pool and creates the table if it is missing.
    ///
    /// # Errors
    ///
    /// [`RecordsError::InvalidUrl`] / [`RecordsError::InvalidInput`] for a
    /// bad URL or table name (nothing is touched), [`RecordsError::Connect`]
    /// when the database cannot be reached or opened (a SQLite file whose
    /// directory does not exist, a PostgreSQL server that is down),
    /// [`RecordsError::Schema`] when the table cannot be created.
    pub async fn connect(&self) -> Result<ServiceRecords, RecordsError> {
        validate_table(&self.table)?;
        let target = parse(&self.connection)?;
        let url = mask(&self.connection);
        let connect_err = |source| RecordsError::Connect {
            url: url.clone(),
            source,
        };
        let pool = match target {
            Target::SqliteMemory => {
                // one connection that lives as long as the pool: each SQLite
                // connection has its own in-memory database
                let opts = SqliteConnectOptions::new().in_memory(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(self.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(connect_err)?;
                Pool::Sqlite(pool)
            }
            Target::SqliteFile(path) => {
                // No journal mode on connect: switching a file to WAL takes
                // a lock SQLite's busy timeout does not wait for, so
                // `set_wal` does it once, retrying.
                let opts = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                let pool = SqlitePoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(connect_err)?;
                set_wal(&pool, SQLITE_BUSY_TIMEOUT)
                    .await
                    .map_err(connect_err)?;
                Pool::Sqlite(pool)
            }
            Target::Postgres(opts) => {
                let pool = PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .connect_with(*opts)
                    .await
                    .map_err(connect_err)?;
                Pool::Postgres(pool)
            }
        };
        let records = ServiceRecords {
            pool,
            table: self.table.clone(),
            url,
            service_down_time: self.service_down_time,
        };
        records.create_schema().await?;
        Ok(records)
    }
}

/// Service records in a SQLite or PostgreSQL database (nova's servicegroup
/// DB driver plus the `services` table).
///
/// Cheap to clone (the pool is shared). Open it from
/// [`fjord_service::Service::start`] (after fork), never in the master.
#[derive(Clone)]
pub struct ServiceRecords {
    pool: Pool,
    table: String,
    url: String,
    service_down_time: Duration,
}

impl fmt::Debug for ServiceRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceRecords")
            .field("url", &self.url)
            .field("table", &self.table)
            .field("service_down_time", &self.service_down_time)
            .finish()
    }
}

impl ServiceRecords {
    /// A builder for `url` with the default table (`services`), pool and
    /// `service_down_time` (60 s).
    pub fn builder(url: impl Into<String>) -> ServiceRecordsBuilder {
        ServiceRecordsBuilder::default().connection(url)
    }

    /// A builder from the service options (`connection`,
    /// `service_down_time`).
    pub fn from_options(options: &ServiceOptions) -> ServiceRecordsBuilder {
        Self::builder(options.connection.clone()).service_down_time(options.service_down_time)
    }

    /// Connects to `url` with the defaults; see
    /// [`ServiceRecordsBuilder::connect`].
    ///
    /// # Errors
    ///
    /// As [`ServiceRecordsBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, RecordsError> {
        Self::builder(url).connect().await
    }

    /// The database URL, password masked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The table holding the records.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The age past which a record's service is down.
    pub fn service_down_time(&self) -> Duration {
        self.service_down_time
    }

    /// Whether this is PostgreSQL (otherwise SQLite).
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    fn query_err(&self, what: &'static str) -> impl Fn(sqlx::Error) -> RecordsError + '_ {
        move |source| RecordsError::Query {
            what,
            url: self.url.clone(),
            source,
        }
    }

    async fn create_schema(&self) -> Result<(), RecordsError> {
        let t = &self.table;
        let schema_err = |source| RecordsError::Schema {
            table: t.clone(),
            url: self.url.clone(),
            source,
        };
        match &self.pool {
            Pool::Sqlite(p) => {
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        host VARCHAR(255) NOT NULL,
                        \"binary\" VARCHAR(255) NOT NULL,
                        topic VARCHAR(255) NOT NULL,
                        report_count BIGINT NOT NULL DEFAULT 0,
                        disabled BOOLEAN NOT NULL DEFAULT FALSE,
                        disabled_reason VARCHAR(255),
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME,
                        last_seen_up DATETIME,
                        deleted BOOLEAN NOT NULL DEFAULT FALSE,
                        CONSTRAINT uniq_{t}_host_binary_topic UNIQUE (host, \"binary\", topic)
                    )"
                );
                sqlx::query(&ddl).execute(p).await.map_err(schema_err)?;
            }
            Pool::Postgres(p) => {
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                        id BIGSERIAL PRIMARY KEY,
                        host VARCHAR(255) NOT NULL,
                        \"binary\" VARCHAR(255) NOT NULL,
                        topic VARCHAR(255) NOT NULL,
                        report_count BIGINT NOT NULL DEFAULT 0,
                        disabled BOOLEAN NOT NULL DEFAULT FALSE,
                        disabled_reason VARCHAR(255),
                        created_at TIMESTAMPTZ NOT NULL,
                        updated_at TIMESTAMPTZ,
                        last_seen_up TIMESTAMPTZ,
                        deleted BOOLEAN NOT NULL DEFAULT FALSE,
                        CONSTRAINT uniq_{t}_host_binary_topic UNIQUE (host, \"binary\", topic)
                    )"
                );
                // Workers starting together would race in CREATE TABLE IF
                // NOT EXISTS (PostgreSQL can fail it with a duplicate key in
                // its catalog): serialise on an advisory lock per table.
                let mut tx = p.begin().await.map_err(schema_err)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(lock_key(t))
                    .execute(&mut *tx)
                    .await
                    .map_err(schema_err)?;
                sqlx::query(&ddl)
                    .execute(&mut *tx)
                    .await
                    .map_err(schema_err)?;
                tx.commit().await.map_err(schema_err)?;
            }
        }
        Ok(())
    }

    /// Creates the record of (host, binary, topic), or re-uses it if it
    /// exists (a restart keeps its id, report count and disabled state).
    /// Safe to race: many workers registering the same service at once all
    /// get the same record (`INSERT ... ON CONFLICT`).
    ///
    /// # Errors
    ///
    /// [`RecordsError::InvalidInput`] for an empty or over-long (255)
    /// field, [`RecordsError::Query`] when the database fails.
    pub async fn register(
        &self,
        host: &str,
        binary: &str,
        topic: &str,
    ) -> Result<ServiceRecord, RecordsError> {
        validate_field("host", host)?;
        validate_field("binary", binary)?;
        validate_field("topic", topic)?;
        let sql = format!(
            "INSERT INTO {t} (host, \"binary\", topic, report_count, disabled, deleted, \
                              created_at, updated_at)
             VALUES ($1, $2, $3, 0, FALSE, FALSE, $4, $4)
             ON CONFLICT (host, \"binary\", topic)
             DO UPDATE SET deleted = FALSE, updated_at = excluded.updated_at
             RETURNING {COLUMNS}",
            t = self.table
        );
        let now = OffsetDateTime::now_utc();
        on_pool!(&self.pool, |p| {
            let row = sqlx::query(&sql)
                .bind(host)
                .bind(binary)
                .bind(topic)
                .bind(now)
                .fetch_one(p)
                .await
                .map_err(self.query_err("register"))?;
            record_from_row(&row).map_err(self.query_err("register"))
        })
    }

    /// Writes a heartbeat: `report_count += 1`, `updated_at = last_seen_up
    /// = now` (UTC, this host's clock).
    ///
    /// # Errors
    ///
    /// [`RecordsError::NotFound`] if the record is gone (deleted),
    /// [`RecordsError::Query`] when the database fails.
    pub async fn heartbeat(&self, id: i64) -> Result<(), RecordsError> {
        let sql = format!(
            "UPDATE {t} SET report_count = report_count + 1, updated_at = $2, last_seen_up = $2
             WHERE id = $1 AND deleted = FALSE",
            t = self.table
        );
        let now = OffsetDateTime::now_utc();
        let affected = on_pool!(&self.pool, |p| {
            sqlx::query(&sql)
                .bind(id)
                .bind(now)
                .execute(p)
                .await
                .map_err(self.query_err("heartbeat"))?
                .rows_affected()
        });
        if affected == 0 {
            return Err(RecordsError::NotFound {
                what: format!("with id {id}"),
            });
        }
        Ok(())
    }

    /// Every (non-deleted) record with its up/down state, sorted by binary,
    /// host and topic (the `service list` view).
    ///
    /// # Errors
    ///
    /// [`RecordsError::Query`] when the database fails.
    pub async fn list(&self) -> Result<Vec<ServiceStatus>, RecordsError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {t} WHERE deleted = FALSE ORDER BY \"binary\", host, topic",
            t = self.table
        );
        let records = on_pool!(&self.pool, |p| {
            let rows = sqlx::query(&sql)
                .fetch_all(p)
                .await
                .map_err(self.query_err("list"))?;
            rows.iter()
                .map(record_from_row)
                .collect::<Result<Vec<_>, _>>()
                .map_err(self.query_err("list"))?
        });
        let now = SystemTime::now();
        Ok(records
            .into_iter()
            .map(|record| self.status_at(record, now))
            .collect())
    }

    /// The record with this id, if it exists.
    ///
    /// # Errors
    ///
    /// [`RecordsError::Query`] when the database fails.
    pub async fn get(&self, id: i64) -> Result<Option<ServiceStatus>, RecordsError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {t} WHERE id = $1 AND deleted = FALSE",
            t = self.table
        );
        let record = on_pool!(&self.pool, |p| {
            let row = sqlx::query(&sql)
                .bind(id)
                .fetch_optional(p)
                .await
                .map_err(self.query_err("get"))?;
            row.as_ref()
                .map(record_from_row)
                .transpose()
                .map_err(self.query_err("get"))?
        });
        Ok(record.map(|r| self.status_at(r, SystemTime::now())))
    }

    /// Disables (with an optional reason) or enables every record of
    /// `binary` on `host` (nova `service disable/enable`). Enabling clears
    /// the reason. Returns how many records changed.
    ///
    /// # Errors
    ///
    /// [`RecordsError::NotFound`] if no record matches,
    /// [`RecordsError::InvalidInput`] for a reason over 255 characters,
    /// [`RecordsError::Query`] when the database fails.
    pub async fn set_disabled(
        &self,
        host: &str,
        binary: &str,
        disabled: bool,
        reason: Option<&str>,
    ) -> Result<u64, RecordsError> {
        let reason = if disabled { reason } else { None };
        if let Some(r) = reason
            && r.chars().count() > MAX_FIELD
        {
            return Err(RecordsError::InvalidInput {
                what: "disabled reason",
                value: r.to_string(),
                reason: "at most 255 characters",
            });
        }
        let sql = format!(
            "UPDATE {t} SET disabled = $3, disabled_reason = $4, updated_at = $5
             WHERE host = $1 AND \"binary\" = $2 AND deleted = FALSE",
            t = self.table
        );
        let now = OffsetDateTime::now_utc();
        let affected = on_pool!(&self.pool, |p| {
            sqlx::query(&sql)
                .bind(host)
                .bind(binary)
                .bind(disabled)
                .bind(reason)
                .bind(now)
                .execute(p)
                .await
                .map_err(self.query_err("set_disabled"))?
                .rows_affected()
        });
        if affected == 0 {
            return Err(RecordsError::NotFound {
                what: format!("for binary {binary:?} on host {host:?}"),
            });
        }
        Ok(affected)
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        on_pool!(&self.pool, |p| p.close().await)
    }

    fn status_at(&self, record: ServiceRecord, now: SystemTime) -> ServiceStatus {
        let up = is_up(record.last_heartbeat(), now, self.service_down_time);
        ServiceStatus { record, up }
    }
}

fn record_from_row<'r, R>(row: &'r R) -> Result<ServiceRecord, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    OffsetDateTime: Decode<'r, R::Database> + Type<R::Database>,
{
    let ts = |t: OffsetDateTime| SystemTime::from(t);
    Ok(ServiceRecord {
        id: row.try_get("id")?,
        host: row.try_get("host")?,
        binary: row.try_get("binary")?,
        topic: row.try_get("topic")?,
        report_count: row.try_get("report_count")?,
        disabled: row.try_get("disabled")?,
        disabled_reason: row.try_get("disabled_reason")?,
        created_at: ts(row.try_get("created_at")?),
        updated_at: row
            .try_get::<Option<OffsetDateTime>, _>("updated_at")?
            .map(ts),
        last_seen_up: row
            .try_get::<Option<OffsetDateTime>, _>("last_seen_up")?
            .map(ts),
    })
}

fn validate_field(what: &'static str, value: &str) -> Result<(), RecordsError> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.chars().count() > MAX_FIELD {
        "at most 255 characters"
    } else {
        return Ok(());
    };
    Err(RecordsError::InvalidInput {
        what,
        value: value.to_string(),
        reason,
    })
}

fn validate_table(table: &str) -> Result<(), RecordsError> {
    let mut chars = table.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && table.len() <= 48;
    if ok {
        Ok(())
    } else {
        Err(RecordsError::InvalidInput {
            what: "table name",
            value: table.to_string(),
            reason: "letters, digits and _, not starting with a digit, at most 48 characters",
        })
    }
}

/// How long a SQLite statement waits for another connection's lock (the
/// busy timeout), and how long the switch to WAL is retried.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts the SQLite file in WAL journal mode (readers never block the
/// writer; the mode stays with the file). The switch needs an exclusive
/// lock that SQLite returns `SQLITE_BUSY` for at once, without its busy
/// timeout, while another process creates or writes the same new file:
/// that is retried, with a growing pause, for up to `timeout`. On a file
/// already in WAL mode this is a read of the mode.
async fn set_wal(pool: &SqlitePool, timeout: Duration) -> Result<(), sqlx::Error> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        let outcome = sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(pool)
            .await;
        let busy = match &outcome {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            // SQLite answers with the mode it kept when it could not switch.
            Ok(_) => true,
            Err(e) => is_busy(e),
        };
        if !busy || Instant::now() >= deadline {
            return outcome.map(drop);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// `SQLITE_BUSY` or one of its extended codes (`SQLITE_BUSY_RECOVERY`, ...).
fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// A stable 64-bit key for the table's advisory lock (FNV-1a).
fn lock_key(table: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "fjord.servicegroup.".bytes().chain(table.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_defaults() {
        let b = ServiceRecordsBuilder::default();
        assert_eq!(b.connection, DEFAULT_CONNECTION);
        assert_eq!(b.table, "services");
        assert_eq!(b.service_down_time, Duration::from_secs(60));
        assert_eq!(b.max_connections, 5);
        assert_eq!(b.acquire_timeout, Duration::from_secs(10));
    }

    #[test]
    fn table_and_field_validation() {
        assert!(validate_table("services").is_ok());
        assert!(validate_table("_x1").is_ok());
        for bad in ["", "1x", "a-b", "x; DROP TABLE y", &"x".repeat(49)] {
            assert!(validate_table(bad).is_err(), "{bad}");
        }
        assert!(validate_field("host", "").is_err());
        assert!(validate_field("host", &"h".repeat(256)).is_err());
        assert!(validate_field("host", &"h".repeat(255)).is_ok());
    }
}
