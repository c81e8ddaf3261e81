//! The demo worker: an RPC service on topic `demo` whose manager echoes
//! what the API sends, with a periodic task that counts.
//!
//! Its RPC API (default namespace, version 1.1):
//!
//! | method | since | arguments | result |
//! |---|---|---|---|
//! | `echo_object` | 1.1 | `echo`: a [`DemoEcho`] primitive | the echo with `host` and `pid` set (changes `host`, `pid`) |
//! | `echo` | 1.0 | `body`: any JSON | `{"result": body, "served_by": {"host", "pid"}}` (plain data, for Python callers) |
//! | `counter` | 1.0 | | the periodic task's count |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fjord::messaging::{Endpoint, FnEndpoint, RemoteError};
use fjord::rpc_service::Manager;
use fjord::service::TaskGroup;
use fjord_objects::Object;
use serde_json::{Value, json};

use crate::objects::DemoEcho;

/// The interval of the counting task, read each time it runs.
pub type Interval = Arc<dyn Fn() -> Duration + Send + Sync>;

/// The demo worker's manager.
pub struct DemoManager {
    host: String,
    counter: Arc<AtomicU64>,
    counter_interval: Interval,
}

impl std::fmt::Debug for DemoManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoManager")
            .field("host", &self.host)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl DemoManager {
    /// A manager reporting `host` as where it runs, counting every
    /// `counter_interval()` (read before each wait, so a reloaded or
    /// mutated `[demo] counter_interval` applies at the next run).
    pub fn new(host: &str, counter_interval: Interval) -> Self {
        DemoManager {
            host: host.to_owned(),
            counter: Arc::new(AtomicU64::new(0)),
            counter_interval,
        }
    }

    /// The counting task, for [`fjord::rpc_service::RpcService::with_task`]:
    /// counts at once, then every `counter_interval`.
    pub fn count_task(&self) -> impl Fn(&TaskGroup) + Send + Sync + 'static {
        let counter = self.counter.clone();
        let interval = self.counter_interval.clone();
        move |tg: &TaskGroup| {
            let counter = counter.clone();
            let interval = interval.clone();
            tg.add_dynamic_timer(Duration::ZERO, None, move || {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                tracing::info!("periodic task count: counter={n}");
                let next = interval();
                async move { next }
            });
        }
    }
}

impl Manager for DemoManager {
    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        let host = self.host.clone();
        let object_host = self.host.clone();
        let counter = self.counter.clone();
        let endpoint = FnEndpoint::builder()
            .version("1.1")
            .method("echo_object", move |_ctx, args| {
                let host = object_host.clone();
                async move {
                    let primitive = args.get("echo").ok_or_else(|| {
                        RemoteError::type_error(
                            "echo_object() missing 1 required positional argument: 'echo'",
                        )
                    })?;
                    let mut echo = DemoEcho::from_wire(primitive)?;
                    echo.obj_reset_changes(None, false);
                    echo.host = fjord_objects::Slot::Value(host);
                    echo.pid = fjord_objects::Slot::Value(i64::from(std::process::id()));
                    echo.obj_meta_mut().mark("host");
                    echo.obj_meta_mut().mark("pid");
                    Ok::<_, RemoteError>(echo.obj_to_primitive())
                }
            })
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
}
