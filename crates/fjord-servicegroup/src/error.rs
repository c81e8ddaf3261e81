//! Errors of the service record store.

/// Why a service record operation failed. Every variant names the database
/// (its URL with the password masked) or the input at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The `[database] connection` URL cannot be used.
    #[error("invalid [database] connection {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, password masked.
        url: String,
        /// What was expected.
        reason: String,
    },
    /// An argument (host, binary, topic, table name, reason) is unusable.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidInput {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// The database could not be reached or opened.
    #[error("cannot connect to database {url}: {source}")]
    Connect {
        /// The URL, password masked.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The `services` table could not be created.
    #[error("cannot create table {table} in database {url}: {source}")]
    Schema {
        /// The table.
        table: String,
        /// The URL, password masked.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A statement failed.
    #[error("{what} failed on database {url}: {source}")]
    Query {
        /// What was being done (`register`, `heartbeat`, ...).
        what: &'static str,
        /// The URL, password masked.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// No (non-deleted) record matched.
    #[error("no service record {what}")]
    NotFound {
        /// Which record was looked for.
        what: String,
    },
}
