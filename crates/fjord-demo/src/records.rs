//! Service records (placeholder until the servicegroup layer lands).

use std::time::Duration;

use serde_json::Value;

/// The service records of the deployment.
#[derive(Debug, Clone)]
pub struct Records {
    connection: String,
    down_time: Duration,
}

impl Records {
    /// Records in the database at `connection`; connects on first use.
    pub fn new(connection: &str, down_time: Duration) -> Self {
        Records {
            connection: connection.to_owned(),
            down_time,
        }
    }

    /// Every service record, as the API shows it.
    ///
    /// # Errors
    ///
    /// The database cannot be reached.
    pub async fn list(&self) -> anyhow::Result<Vec<Value>> {
        let _ = (&self.connection, self.down_time);
        Ok(Vec::new())
    }
}
