//! The demo worker: an RPC service on topic `demo` whose manager echoes
//! what the API sends, with a periodic task that counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fjord::messaging::{Endpoint, FnEndpoint, RemoteError};
use fjord::rpc_service::Manager;
use fjord::service::periodic::{PeriodicTask, PeriodicTasks};
use serde_json::{Value, json};

/// The demo worker's manager.
#[derive(Debug)]
pub struct DemoManager {
    host: String,
    counter: Arc<AtomicU64>,
    counter_interval: Duration,
}

impl DemoManager {
    /// A manager reporting `host` as where it runs.
    pub fn new(host: &str, counter_interval: Duration) -> Self {
        DemoManager {
            host: host.to_owned(),
            counter: Arc::new(AtomicU64::new(0)),
            counter_interval,
        }
    }
}

impl Manager for DemoManager {
    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        let host = self.host.clone();
        let counter = self.counter.clone();
        let endpoint = FnEndpoint::builder()
            .version("1.0")
            .method("echo", move |_ctx, args| {
                let host = host.clone();
                async move {
                    Ok::<_, RemoteError>(json!({
                        "result": args.get("body").cloned().unwrap_or(Value::Null),
                        "served_by": {"host": host, "pid": std::process::id()},
                    }))
                }
            })
            .method("counter", move |_ctx, _args| {
                let n = counter.load(Ordering::SeqCst);
                async move { Ok::<_, RemoteError>(json!(n)) }
            })
            .build();
        vec![Arc::new(endpoint)]
    }

    fn periodic_tasks(&self) -> PeriodicTasks {
        let counter = self.counter.clone();
        PeriodicTasks::new().owner("DemoManager").add(
            PeriodicTask::new("count", self.counter_interval, move |()| {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    tracing::info!("periodic task count: counter={n}");
                    Ok::<(), std::io::Error>(())
                }
            })
            .run_immediately(true),
        )
    }
}
