//! fjord-rpc-service: an RPC service, a manager served on a topic, with its
//! hooks, periodic tasks and the base API (nova/karbor `service.Service`,
//! S1, S2, S5). The layer above fjord-messaging (the RPC server) and
//! fjord-service (the `Service` contract, task groups, periodic tasks);
//! the `fjord` facade re-exports it as `fjord::rpc_service`.
//!
//! ```text
//! create(): the RPC server of the manager's endpoints and the base API,
//!           with the manager's serializer (if any)
//! start():  init_host -> pre_start_hook -> RPC server start (topic, server = host)
//!           -> post_start_hook -> periodic tasks (fuzzy delay) -> extra tasks
//! stop():   RPC server stop -> tasks stop -> cleanup_host
//! ```
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use fjord_messaging::{Endpoint, Transport};
//! use fjord_rpc_service::{Manager, RpcService};
//!
//! #[derive(Debug)]
//! struct Conductor;
//!
//! impl Manager for Conductor {
//!     fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
//!         Vec::new()
//!     }
//! }
//!
//! // Synchronous, no runtime needed: fine in a master before fork.
//! let service = RpcService::create("conductor", "conductor", "host-1", &Transport::fake(), Conductor)?;
//! # let _ = service;
//! # Ok::<(), fjord_service::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

use std::sync::Arc;

use fjord_messaging::{
    Endpoint, FnEndpoint, RemoteError, RpcServer, Serializer, Target, Transport,
};
use fjord_service::periodic::{PeriodicOptions, PeriodicTasks};
use fjord_service::{Error, ErrorKind, Result, Service, TaskGroup, async_trait};
use serde_json::{Value, json};

/// What an RPC service serves and the hooks it runs (nova's `Manager`).
/// Every hook defaults to doing nothing.
#[async_trait]
pub trait Manager: Send + Sync + std::fmt::Debug + 'static {
    /// The RPC endpoints of the manager (its API, with namespace and version).
    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>>;

    /// The serializer of the RPC server's arguments, results and context
    /// (what nova's `Service.start` passes to `rpc.get_server`:
    /// `NovaObjectSerializer()`), e.g. fjord-objects' `ObjectSerializer`
    /// for a service whose API carries versioned objects. It serves the
    /// base API too. Default: None, oslo's `NoOpSerializer` (JSON values as
    /// they are).
    fn serializer(&self) -> Option<Arc<dyn Serializer>> {
        None
    }

    /// The manager's periodic tasks. Default: none.
    fn periodic_tasks(&self) -> PeriodicTasks {
        PeriodicTasks::new()
    }

    /// Runs first at start, before anything listens.
    async fn init_host(&self) -> Result<()> {
        Ok(())
    }

    /// Runs before the RPC server starts consuming.
    async fn pre_start_hook(&self) -> Result<()> {
        Ok(())
    }

    /// Runs once the RPC server consumes.
    async fn post_start_hook(&self) -> Result<()> {
        Ok(())
    }

    /// Runs at stop, after the RPC server stopped.
    async fn cleanup_host(&self) {}
}

/// A task an [`RpcService`] runs beside its server (service heartbeats, ...),
/// started in the service's [`TaskGroup`] at the end of `start()`.
pub type ExtraTask = Arc<dyn Fn(&TaskGroup) + Send + Sync>;

/// A manager served over RPC on `(topic, server = host)` (S1). See the
/// module docs for the order of hooks.
///
/// Every RPC service also answers the base API (namespace `baseapi`,
/// version 1.1): `ping(arg)` returns `{"service": binary, "arg": arg}` and
/// `get_backdoor_port()` returns the operator console's TCP port
/// (`backdoor_port`, see [`fjord_service::diagnostics::backdoor_port`]),
/// `null` when there is none or it listens on a Unix socket, as nova's
/// `BaseRPCAPI` does.
pub struct RpcService {
    binary: String,
    topic: String,
    host: String,
    manager: Arc<dyn Manager>,
    server: RpcServer,
    periodic: PeriodicTasks,
    periodic_options: PeriodicOptions,
    extra: Vec<ExtraTask>,
    tg: TaskGroup,
}

impl std::fmt::Debug for RpcService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcService")
            .field("binary", &self.binary)
            .field("topic", &self.topic)
            .field("host", &self.host)
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

/// The base API every RPC service answers (nova `BaseRPCAPI`).
fn base_api(binary: &str) -> FnEndpoint {
    let binary = binary.to_owned();
    FnEndpoint::builder()
        .namespace("baseapi")
        .version("1.1")
        .method("ping", move |_ctx, args| {
            let service = binary.clone();
            async move {
                Ok::<_, RemoteError>(json!({
                    "service": service,
                    "arg": args.get("arg").cloned().unwrap_or(Value::Null),
                }))
            }
        })
        .method("get_backdoor_port", |_ctx, _args| async {
            Ok::<_, RemoteError>(
                fjord_service::diagnostics::backdoor_port().map_or(Value::Null, Value::from),
            )
        })
        .build()
}

impl RpcService {
    /// Builds the service (`Service.create(binary, topic, manager)`):
    /// synchronous and runtime-free, so it can be built in the master before
    /// fork; connections open in `start()`.
    ///
    /// # Errors
    ///
    /// An invalid target (empty topic or host).
    pub fn create(
        binary: &str,
        topic: &str,
        host: &str,
        transport: &Transport,
        manager: impl Manager,
    ) -> Result<Self> {
        let manager: Arc<dyn Manager> = Arc::new(manager);
        let mut builder = RpcServer::builder(transport, Target::new(topic).with_server(host))
            .endpoint(base_api(binary));
        for e in manager.endpoints() {
            builder = builder.endpoint_arc(e);
        }
        if let Some(s) = manager.serializer() {
            builder = builder.serializer(s);
        }
        let server = builder.build().map_err(|e| {
            Error::with_source(ErrorKind::InvalidInput, format!("RPC service {binary}"), e)
        })?;
        Ok(RpcService {
            binary: binary.to_owned(),
            topic: topic.to_owned(),
            host: host.to_owned(),
            periodic: manager.periodic_tasks(),
            manager,
            server,
            periodic_options: PeriodicOptions::default(),
            extra: Vec::new(),
            tg: TaskGroup::default(),
        })
    }

    /// Sets `periodic_interval_max` and `periodic_fuzzy_delay`. Default is
    /// oslo's (60 s, 60 s).
    pub fn periodic_options(mut self, options: PeriodicOptions) -> Self {
        self.periodic_options = options;
        self
    }

    /// Adds a task started at the end of `start()` (e.g. a heartbeat).
    pub fn with_task(mut self, task: impl Fn(&TaskGroup) + Send + Sync + 'static) -> Self {
        self.extra.push(Arc::new(task));
        self
    }

    /// The service's binary name.
    pub fn binary(&self) -> &str {
        &self.binary
    }
}

#[async_trait]
impl Service for RpcService {
    fn name(&self) -> &str {
        &self.binary
    }

    async fn start(&self) -> Result<()> {
        tracing::info!(
            "Starting {} node (topic {}, server {}, fjord {})",
            self.binary,
            self.topic,
            self.host,
            env!("CARGO_PKG_VERSION")
        );
        self.manager.init_host().await?;
        self.manager.pre_start_hook().await?;
        self.server.start().await?;
        self.manager.post_start_hook().await?;
        if !self.periodic.is_empty() {
            self.periodic.start(&self.tg, (), &self.periodic_options);
        }
        for task in &self.extra {
            task(&self.tg);
        }
        Ok(())
    }

    async fn stop(&self, graceful: bool) {
        self.server.stop(graceful).await;
        self.tg.stop(graceful).await;
        self.manager.cleanup_host().await;
    }

    async fn wait(&self) {
        self.server.wait().await;
        self.tg.wait().await;
    }

    async fn reset(&self) -> Result<()> {
        self.server.reset().await?;
        self.tg.reset();
        Ok(())
    }
}
