//! The demo worker: an RPC service on topic `demo` whose manager echoes
//! what the API sends (logging the request id of the context it came
//! with, and returning that context's ids and roles), with a periodic task
//! that counts. Its serializer is the demo objects' (`objects::serializer`):
//! object arguments are loaded and checked before an endpoint runs.
//!
//! Its RPC API (default namespace, version 1.1):
//!
//! | method | since | arguments | result |
//! |---|---|---|---|
//! | `echo_object` | 1.1 | `echo`: a [`DemoEcho`] primitive | the echo with `host`, `pid` and the context's ids and roles set |
//! | `echo` | 1.0 | `body`: any JSON | `{"result": body, "served_by": {"host", "pid"}, "context": {...}}` (plain data, for Python callers) |
//! | `counter` | 1.0 | | the periodic task's count |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fjord::messaging::{Context, Endpoint, FnEndpoint, RemoteError, RequestContext, Serializer};
use fjord::rpc_service::Manager;
use fjord::service::TaskGroup;
use fjord::service::diagnostics;
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

    /// The counting task's name in diagnostics.
    pub const COUNT_TASK: &'static str = "demo.count";

    /// The counting task, for [`fjord::rpc_service::RpcService::with_task`]:
    /// counts at once, then every `counter_interval`.
    pub fn count_task(&self) -> impl Fn(&TaskGroup) + Send + Sync + 'static {
        let counter = self.counter.clone();
        let interval = self.counter_interval.clone();
        move |tg: &TaskGroup| {
            let counter = counter.clone();
            let interval = interval.clone();
            tg.add_dynamic_timer(Duration::ZERO, None, move || {
                // Shown with its last and next run in the report and the
                // console's `tasks`, as the periodic task runner's are.
                diagnostics::periodic_started(Self::COUNT_TASK);
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                tracing::info!("periodic task count: counter={n}");
                diagnostics::periodic_finished(Self::COUNT_TASK, None);
                diagnostics::periodic_run(Self::COUNT_TASK, diagnostics::Outcome::Ok);
                let next = interval();
                diagnostics::periodic_next(Self::COUNT_TASK, next);
                async move { next }
            });
        }
    }
}

/// The request context of a call, logged with the method's name: the
/// request id the API answered with, the caller's global request id and
/// user identity.
fn log_context(ctx: &Context, method: &str) -> Result<RequestContext, RemoteError> {
    let rctx = RequestContext::try_from(ctx)?;
    tracing::info!(
        request_id = %rctx.request_id,
        global_request_id = %rctx.global_request_id.as_deref().unwrap_or("-"),
        user_identity = %rctx.user_identity(),
        "{method}"
    );
    Ok(rctx)
}

impl Manager for DemoManager {
    /// The demo's object serializer: every `DemoEcho` argument is loaded
    /// and checked before the endpoint runs (nova's
    /// `NovaObjectSerializer`).
    fn serializer(&self) -> Option<Arc<dyn Serializer>> {
        Some(Arc::new(crate::objects::serializer()))
    }

    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        let host = self.host.clone();
        let object_host = self.host.clone();
        let counter = self.counter.clone();
        let endpoint = FnEndpoint::builder()
            .version("1.1")
            .method("echo_object", move |ctx, args| {
                let host = object_host.clone();
                async move {
                    let rctx = log_context(&ctx, "echo_object")?;
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
                    echo.served_for(&rctx);
                    Ok::<_, RemoteError>(echo.obj_to_primitive())
                }
            })
            .method("echo", move |ctx, args| {
                let host = host.clone();
                async move {
                    let rctx = log_context(&ctx, "echo")?;
                    Ok::<_, RemoteError>(json!({
                        "result": args.get("body").cloned().unwrap_or(Value::Null),
                        "served_by": {"host": host, "pid": std::process::id()},
                        "context": {
                            "user_id": rctx.user_id,
                            "project_id": rctx.project_id,
                            "roles": rctx.roles,
                            "request_id": rctx.request_id,
                        },
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
