//! The RPC server (WIRE.md §5): consumes, acks before dispatch, drops
//! duplicates, dispatches in a bounded pool and replies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fjord_service::{Service, async_trait};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::dispatcher::{AccessPolicy, Dispatcher, Endpoint};
use super::serializer::Serializer;
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Reply, Request};
use crate::target::Target;
use crate::transport::{
    Acker, Deliver, Destination, IncomingMessage, ListenSpec, OutgoingMessage, Transport,
};

/// How many recent `_unique_id`s a listener remembers (as Python: 16).
const DEDUP_WINDOW: usize = 16;

/// An RPC server: a [`fjord_service::Service`] that serves endpoints on
/// `(exchange, topic, server)`.
///
/// Construction is synchronous and needs no runtime (build it before fork);
/// [`Service::start`] connects, declares the queues and starts consuming,
/// and returns once the server consumes.
///
/// # Examples
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use fjord_messaging::{Context, FnEndpoint, RpcClient, RpcServer, Target, Transport};
/// use fjord_service::Service;
/// use serde_json::{json, Map, Value};
///
/// let transport = Transport::fake();
/// let echo = FnEndpoint::builder()
///     .method("echo", |_ctx, args| async move { Ok(args.get("value").cloned().unwrap_or(Value::Null)) })
///     .build();
/// let server = RpcServer::builder(&transport, Target::new("demo").with_server("host1"))
///     .endpoint(echo)
///     .build()?;
/// server.start().await?;
/// let mut args = Map::new();
/// args.insert("value".into(), json!(7));
/// let got = RpcClient::new(&transport, Target::new("demo")).call(&Context::new(), "echo", args).await?;
/// assert_eq!(got, json!(7));
/// server.stop(true).await;
/// server.wait().await;
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct RpcServer {
    transport: Transport,
    target: Target,
    exchange: String,
    topic: String,
    server: String,
    dispatcher: Arc<Dispatcher>,
    pool_size: usize,
    running: Mutex<Option<Running>>,
}

#[derive(Debug, Clone)]
struct Running {
    stop_consuming: CancellationToken,
    abort: CancellationToken,
    tracker: TaskTracker,
}

/// Builds an [`RpcServer`].
#[derive(Debug)]
pub struct RpcServerBuilder {
    transport: Transport,
    target: Target,
    endpoints: Vec<Arc<dyn Endpoint>>,
    pool_size: Option<usize>,
    policy: AccessPolicy,
    serializer: Option<Arc<dyn Serializer>>,
}

impl RpcServerBuilder {
    /// Adds an endpoint; endpoints are tried in the order added.
    pub fn endpoint(mut self, e: impl Endpoint) -> Self {
        self.endpoints.push(Arc::new(e));
        self
    }
    /// Adds a shared endpoint.
    pub fn endpoint_arc(mut self, e: Arc<dyn Endpoint>) -> Self {
        self.endpoints.push(e);
        self
    }
    /// How many requests run at once. Default is `executor_thread_pool_size` (64).
    pub fn executor_pool_size(mut self, n: usize) -> Self {
        self.pool_size = Some(n);
        self
    }
    /// The access policy. Default is [`AccessPolicy::Default`] (no `_` methods).
    pub fn access_policy(mut self, p: AccessPolicy) -> Self {
        self.policy = p;
        self
    }
    /// The serializer. Default is [`super::NoOpSerializer`].
    pub fn serializer(mut self, s: Arc<dyn Serializer>) -> Self {
        self.serializer = Some(s);
        self
    }
    /// The server.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTarget`] when the target has no topic or no server;
    /// [`Error::InvalidOption`] for a pool size of 0.
    pub fn build(self) -> Result<RpcServer> {
        let topic = self.target.require_topic()?.to_string();
        let server = match self.target.server.as_deref() {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => {
                return Err(Error::InvalidTarget {
                    target: self.target.to_string(),
                    reason: "a server needs a server name".into(),
                });
            }
        };
        let opts = self.transport.options();
        let pool_size = self.pool_size.unwrap_or(opts.executor_thread_pool_size);
        if pool_size == 0 {
            return Err(Error::InvalidOption {
                option: "executor_thread_pool_size".into(),
                reason: "must be at least 1".into(),
            });
        }
        let mut d = Dispatcher::new(self.endpoints)
            .with_access_policy(self.policy)
            .with_ping(opts.rpc_ping_enabled);
        if let Some(s) = self.serializer {
            d = d.with_serializer(s);
        }
        Ok(RpcServer {
            exchange: self
                .target
                .exchange
                .clone()
                .unwrap_or_else(|| opts.control_exchange.clone()),
            transport: self.transport,
            target: self.target,
            topic,
            server,
            dispatcher: Arc::new(d),
            pool_size,
            running: Mutex::new(None),
        })
    }
}

impl RpcServer {
    /// Starts building a server for `target` (topic and server required).
    pub fn builder(transport: &Transport, target: Target) -> RpcServerBuilder {
        RpcServerBuilder {
            transport: transport.clone(),
            target,
            endpoints: Vec::new(),
            pool_size: None,
            policy: AccessPolicy::Default,
            serializer: None,
        }
    }

    /// The server's target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn running(&self) -> Option<Running> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Starts consuming (the [`Service::start`] body, with this crate's error).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyStarted`] when already running; [`ErrorKind::Connection`] when the
    /// broker cannot be reached.
    pub async fn start_listening(&self) -> Result<()> {
        if self.running().is_some() {
            return Err(Error::AlreadyStarted(format!("RPC server {}", self.target)));
        }
        let run = Running {
            stop_consuming: CancellationToken::new(),
            abort: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        let consumer = Arc::new(Consumer {
            transport: self.transport.clone(),
            dispatcher: self.dispatcher.clone(),
            pool: Arc::new(Semaphore::new(self.pool_size)),
            run: run.clone(),
            topic: Arc::from(self.topic.as_str()),
            missing_reply_timeout: Duration::from_secs(
                self.transport
                    .options()
                    .rabbit
                    .kombu_missing_consumer_retry_timeout,
            ),
            seen: Mutex::new(VecDeque::with_capacity(DEDUP_WINDOW)),
        });
        let sub = self
            .transport
            .driver()
            .listen_with(
                ListenSpec::Rpc {
                    exchange: self.exchange.clone(),
                    topic: self.topic.clone(),
                    server: self.server.clone(),
                },
                consumer,
            )
            .await?;
        // Stops the listener on `stop`, or once it stopped by itself (the
        // transport closed); the server's tasks are then all tracked.
        let watch = run.clone();
        run.tracker.spawn(async move {
            tokio::select! {
                _ = watch.stop_consuming.cancelled() => {}
                _ = sub.ended() => {}
            }
            sub.control.stop().await;
            watch.tracker.close();
        });
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(run);
        tracing::info!(target = %self.target, "RPC server consuming");
        Ok(())
    }
}

/// Takes the server's messages as its listener delivers them: reads,
/// acks, drops duplicates and hands each request to the pool.
struct Consumer {
    transport: Transport,
    dispatcher: Arc<Dispatcher>,
    pool: Arc<Semaphore>,
    run: Running,
    missing_reply_timeout: Duration,
    /// The topic, as the diagnostics label it.
    topic: Arc<str>,
    /// The last [`DEDUP_WINDOW`] `_unique_id`s.
    seen: Mutex<VecDeque<String>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("topic", &self.topic)
            .finish()
    }
}

impl Consumer {
    /// Whether `req` repeats one of the last [`DEDUP_WINDOW`] messages;
    /// remembers its `_unique_id`.
    fn is_duplicate(&self, req: &Request) -> bool {
        let Some(u) = &req.unique_id else {
            return false;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(u) {
            return true;
        }
        if seen.len() == DEDUP_WINDOW {
            seen.pop_front();
        }
        seen.push_back(u.clone());
        false
    }
}

#[async_trait]
impl Deliver for Consumer {
    async fn deliver(&self, burst: &mut Vec<IncomingMessage>) {
        // Once stopping, messages are left unsettled: the broker delivers
        // them again (to another server) when the listener's channel goes.
        if self.run.stop_consuming.is_cancelled() {
            burst.clear();
            return;
        }
        // Messages that arrived together are read, then acked with one
        // `basic.ack` (multiple) before any of them is dispatched: at most
        // once, as the Python server, with one ack frame per burst.
        let mut last_good = None;
        let mut batch = Vec::with_capacity(burst.len());
        for m in burst.drain(..) {
            if let Some(req) = read_request(m, &mut last_good).await {
                batch.push(req);
            }
        }
        if let Some(acker) = last_good {
            acker.ack_up_to().await;
        }
        for req in batch {
            if self.is_duplicate(&req) {
                tracing::info!(
                    unique_id = req.unique_id.as_deref().unwrap_or(""),
                    method = %req.method,
                    "dropping a duplicate message"
                );
                continue;
            }
            let permit = tokio::select! {
                _ = self.run.abort.cancelled() => return,
                p = self.pool.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            };
            let (t, d, abort, missing, topic) = (
                self.transport.clone(),
                self.dispatcher.clone(),
                self.run.abort.clone(),
                self.missing_reply_timeout,
                self.topic.clone(),
            );
            self.run.tracker.spawn(async move {
                let _permit = permit;
                tokio::select! {
                    _ = abort.cancelled() => {}
                    _ = handle(t, d, req, missing, &topic) => {}
                }
            });
        }
    }
}

/// Decodes one message; one that cannot be read (or is compressed) is
/// rejected without requeue, as the Python server does. A readable one's
/// acker becomes `last_good`: acking it (multiple) settles it and the
/// readable ones before it.
async fn read_request(m: IncomingMessage, last_good: &mut Option<Acker>) -> Option<Request> {
    if m.compressed {
        tracing::warn!("rejecting a compressed message (kombu_compression is not supported)");
        m.acker.reject(false).await;
        return None;
    }
    match Request::decode(m.content_type.as_deref(), &m.body) {
        Ok(req) => {
            *last_good = Some(m.acker);
            Some(req)
        }
        Err(e) => {
            tracing::warn!(error = %e, "rejecting a message that cannot be read");
            m.acker.reject(false).await;
            None
        }
    }
}

async fn handle(
    transport: Transport,
    d: Arc<Dispatcher>,
    req: Request,
    missing: Duration,
    topic: &str,
) {
    let started = std::time::Instant::now();
    // Shown by the report (topic, method, age) until the dispatch ends.
    let _in_flight = fjord_service::diagnostics::rpc_begin(topic, &req.method, started);
    let reply_to = match (&req.msg_id, &req.reply_q) {
        (Some(id), Some(q)) if !id.is_empty() => Some((id.clone(), q.clone())),
        _ => None,
    };
    let heartbeat = heartbeat_interval(&req).zip(reply_to.clone());
    let dispatch = d.dispatch(&req);
    let outcome = match heartbeat {
        None => dispatch.await,
        Some((every, (id, q))) => {
            tokio::pin!(dispatch);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    r = &mut dispatch => break r,
                    _ = tick.tick() => {
                        send_reply(&transport, &q, Reply::heartbeat(&id), Duration::ZERO).await;
                    }
                }
            }
        }
    };
    match (&outcome, &reply_to) {
        (Err(e), _) => tracing::info!(method = %req.method, error = %e, "RPC method failed"),
        (Ok(_), _) => tracing::debug!(method = %req.method, "RPC method done"),
    }
    // `fjord_rpc_server_messages_total` (bounded per worker: see
    // fjord_service::diagnostics).
    fjord_service::diagnostics::rpc_server(
        topic,
        &req.method,
        match outcome {
            Ok(_) => fjord_service::diagnostics::Outcome::Ok,
            Err(_) => fjord_service::diagnostics::Outcome::Error,
        },
        started.elapsed(),
    );
    if let Some((id, q)) = reply_to {
        send_reply(&transport, &q, Reply::ending(&id, outcome), missing).await;
    }
}

/// `int(_timeout) / 2` seconds when `_timeout` is a number ≥ 2 (WIRE.md §5.3).
fn heartbeat_interval(req: &Request) -> Option<Duration> {
    let t = req.timeout.as_ref()?.as_f64()?;
    let secs = (t.trunc() as u64) / 2;
    if secs < 1 {
        tracing::warn!("call-monitor timeout below 2 s: no heartbeats");
        return None;
    }
    Some(Duration::from_secs(secs))
}

/// Publishes a reply; a returned (unroutable) reply is retried every
/// 0.25 s for up to `missing` (WIRE.md §6.3).
async fn send_reply(transport: &Transport, queue: &str, reply: Reply, missing: Duration) {
    let deadline = tokio::time::Instant::now() + missing;
    let dest = Destination::Reply {
        queue: queue.to_string(),
    };
    let body = reply.encode();
    loop {
        let mut msg = OutgoingMessage::new(body.clone());
        msg.mandatory = true;
        match transport.driver().send(&dest, msg).await {
            Ok(()) => return,
            Err(e)
                if e.kind() == ErrorKind::Unroutable && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => {
                tracing::error!(queue, error = %e, "cannot send a reply; dropping it");
                return;
            }
        }
    }
}

#[async_trait]
impl Service for RpcServer {
    fn name(&self) -> &str {
        &self.topic
    }

    async fn start(&self) -> fjord_service::Result<()> {
        self.start_listening()
            .await
            .map_err(fjord_service::Error::start)
    }

    async fn stop(&self, graceful: bool) {
        let Some(run) = self.running() else { return };
        run.stop_consuming.cancel();
        if !graceful {
            run.abort.cancel();
        }
        run.tracker.wait().await;
    }

    async fn wait(&self) {
        if let Some(run) = self.running() {
            run.tracker.wait().await;
        }
    }

    async fn reset(&self) -> fjord_service::Result<()> {
        let mut g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(run) = g.as_ref()
            && !(run.tracker.is_closed() && run.tracker.is_empty())
        {
            return Err(fjord_service::Error::new(
                fjord_service::ErrorKind::Stop,
                "cannot reset a running RPC server; stop it first",
            ));
        }
        *g = None;
        Ok(())
    }
}
