//! Service records (S3/S4): the API and the worker register and heart-beat;
//! `GET /v1/services` lists them with up/down.

use std::sync::Arc;

use fjord::servicegroup::{
    Heartbeat, ServiceOptions, ServiceRecords, ServiceRecordsBuilder, format_timestamp,
};
use serde_json::{Value, json};

use crate::conf::DemoConf;

/// The record store options of the demo (`[database] connection`,
/// `report_interval`, `service_down_time`).
pub fn service_options(conf: &DemoConf) -> ServiceOptions {
    ServiceOptions::default()
        .connection(conf.connection.clone())
        .report_interval(conf.report_interval)
        .service_down_time(conf.service_down_time)
}

/// A heartbeat for `binary` on `topic` from this host.
pub fn heartbeat(conf: &DemoConf, binary: &str, topic: &str) -> Heartbeat {
    Heartbeat::new(&conf.host, binary, topic, &service_options(conf))
}

/// The service records of the deployment, read by the API. Built before
/// fork; connects on first use, in the worker.
#[derive(Debug, Clone)]
pub struct Records {
    builder: ServiceRecordsBuilder,
    store: Arc<tokio::sync::OnceCell<ServiceRecords>>,
}

impl Records {
    /// Records as `conf` says.
    pub fn new(conf: &DemoConf) -> Self {
        Records {
            builder: ServiceRecords::from_options(&service_options(conf)),
            store: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Every service record, as the API shows it.
    ///
    /// # Errors
    ///
    /// The database cannot be reached.
    pub async fn list(&self) -> anyhow::Result<Vec<Value>> {
        let store = self
            .store
            .get_or_try_init(|| self.builder.connect())
            .await?;
        Ok(store
            .list()
            .await?
            .into_iter()
            .map(|s| {
                let r = &s.record;
                json!({
                    "binary": r.binary,
                    "host": r.host,
                    "topic": r.topic,
                    "state": s.state(),
                    "status": s.status(),
                    "updated_at": r.updated_at.map(format_timestamp),
                    "disabled": r.disabled,
                    "report_count": r.report_count,
                })
            })
            .collect())
    }
}
