//! The RPC client (WIRE.md §8).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::serializer::{NoOpSerializer, Serializer};
use crate::error::{Error, Result};
use crate::message::{Context, Request, new_id};
use crate::target::{Target, check_version, version_is_compatible};
use crate::transport::{Destination, OutgoingMessage, Transport};

/// Calls and casts methods of remote servers.
///
/// `prepare()` returns a copy whose `with_*` setters override the target
/// and call options, as oslo's `prepare(...)`.
///
/// # Examples
///
/// ```
/// # async fn demo() -> Result<(), fjord_messaging::Error> {
/// use fjord_messaging::{Context, RpcClient, Target, Transport};
/// use serde_json::{json, Map};
/// use std::time::Duration;
///
/// let transport = Transport::fake();
/// let client = RpcClient::new(&transport, Target::new("compute"));
/// let mut args = Map::new();
/// args.insert("value".into(), json!(1));
/// // Nobody listens on the fake transport: the call times out.
/// let err = client.prepare().with_timeout(Duration::from_millis(50))
///     .call(&Context::new(), "echo", args).await.unwrap_err();
/// assert!(err.to_string().contains("echo"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct RpcClient {
    transport: Transport,
    target: Target,
    timeout: Option<Duration>,
    version_cap: Option<String>,
    retry: Option<u32>,
    call_monitor_timeout: Option<Duration>,
    serializer: Arc<dyn Serializer>,
}

impl RpcClient {
    /// A client for `target` over `transport`.
    pub fn new(transport: &Transport, target: Target) -> Self {
        RpcClient {
            transport: transport.clone(),
            target,
            timeout: None,
            version_cap: None,
            retry: None,
            call_monitor_timeout: None,
            serializer: Arc::new(NoOpSerializer),
        }
    }

    /// A copy to override options on (oslo `prepare`).
    pub fn prepare(&self) -> Self {
        self.clone()
    }

    /// Sets the exchange. Default is the target's (the control exchange).
    pub fn with_exchange(mut self, exchange: impl Into<String>) -> Self {
        self.target.exchange = Some(exchange.into());
        self
    }
    /// Sets the topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.target.topic = Some(topic.into());
        self
    }
    /// Sets the namespace. Default is the target's.
    pub fn with_namespace(mut self, ns: impl Into<String>) -> Self {
        self.target.namespace = Some(ns.into());
        self
    }
    /// Sets the version to request.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVersion`] unless it looks like `X.Y` or `X.Y.Z`.
    pub fn with_version(mut self, version: impl Into<String>) -> Result<Self> {
        let v = version.into();
        check_version(&v)?;
        self.target.version = Some(v);
        Ok(self)
    }
    /// Sends to one server. Default is the target's.
    pub fn with_server(mut self, server: impl Into<String>) -> Self {
        self.target.server = Some(server.into());
        self
    }
    /// Fanout (casts only). Default is the target's.
    pub fn with_fanout(mut self, fanout: bool) -> Self {
        self.target.fanout = fanout;
        self
    }
    /// Call timeout. Default is `rpc_response_timeout` (60 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Version cap. Default is none.
    pub fn with_version_cap(mut self, cap: impl Into<String>) -> Self {
        self.version_cap = Some(cap.into());
        self
    }
    /// Connection retries: `None` forever (default), `Some(0)` none, `Some(n)` n.
    pub fn with_retry(mut self, retry: Option<u32>) -> Self {
        self.retry = retry;
        self
    }
    /// Call-monitor timeout (`_timeout`): the server sends heartbeats every
    /// half of it and the call fails when they stop. Default is none.
    pub fn with_call_monitor_timeout(mut self, t: Duration) -> Self {
        self.call_monitor_timeout = Some(t);
        self
    }
    /// Serializer. Default is [`NoOpSerializer`].
    pub fn with_serializer(mut self, s: Arc<dyn Serializer>) -> Self {
        self.serializer = s;
        self
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Whether `version` (default: the target's) is allowed by the version
    /// cap; always true without a cap.
    pub fn can_send_version(&self, version: Option<&str>) -> bool {
        match &self.version_cap {
            None => true,
            Some(cap) => {
                version_is_compatible(Some(cap), version.or(self.target.version.as_deref()))
            }
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout
            .unwrap_or_else(|| self.transport.options().response_timeout())
    }

    fn check(&self, method: &str) -> Result<()> {
        self.target.require_topic()?;
        if method.is_empty() {
            return Err(Error::InvalidTarget {
                target: self.target.to_string(),
                reason: "empty method name".into(),
            });
        }
        if !self.can_send_version(None) {
            return Err(Error::VersionCap {
                version: self.target.version.clone().unwrap_or_else(|| "none".into()),
                cap: self.version_cap.clone().unwrap_or_default(),
            });
        }
        Ok(())
    }

    fn request(&self, ctx: &Context, method: &str, args: Map<String, Value>) -> Result<Request> {
        let mut sargs = Map::new();
        for (k, v) in args {
            let v = self
                .serializer
                .serialize_entity(ctx, v)
                .map_err(Error::from)?;
            sargs.insert(k, v);
        }
        let mut r = Request::cast(method, sargs);
        r.namespace = self.target.namespace.clone();
        r.version = self.target.version.clone();
        r.context = self.serializer.serialize_context(ctx);
        Ok(r)
    }

    fn destination(&self, topic: &str) -> Destination {
        if self.target.fanout {
            return Destination::Fanout {
                topic: topic.to_string(),
            };
        }
        let exchange = self
            .target
            .exchange
            .clone()
            .unwrap_or_else(|| self.transport.control_exchange().to_string());
        let routing_key = match &self.target.server {
            Some(s) => format!("{topic}.{s}"),
            None => topic.to_string(),
        };
        Destination::Topic {
            exchange,
            routing_key,
        }
    }

    /// Sends `method(**args)` without waiting for a result; returns once
    /// the broker confirmed the publish. With fanout, every server on the
    /// topic gets it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTarget`], [`Error::VersionCap`], [`ErrorKind::Connection`](crate::ErrorKind::Connection)
    /// once the retries are used up.
    pub async fn cast(&self, ctx: &Context, method: &str, args: Map<String, Value>) -> Result<()> {
        let r = self.cast_unrecorded(ctx, method, args).await;
        self.record(method, r.as_ref().map(|_| ()));
        r
    }

    /// Counts a call or cast for the diagnostics
    /// (`fjord_rpc_client_calls_total`).
    fn record(&self, method: &str, r: std::result::Result<(), &Error>) {
        use fjord_service::diagnostics::{self, Outcome};
        if !diagnostics::recording() {
            return;
        }
        let outcome = match r {
            Ok(()) => Outcome::Ok,
            Err(Error::Timeout { .. }) => Outcome::Timeout,
            Err(_) => Outcome::Error,
        };
        let topic = self.target.topic.as_deref().unwrap_or("");
        diagnostics::rpc_client(topic, method, outcome);
    }

    async fn cast_unrecorded(
        &self,
        ctx: &Context,
        method: &str,
        args: Map<String, Value>,
    ) -> Result<()> {
        self.check(method)?;
        let topic = self.target.require_topic()?.to_string();
        let req = self.request(ctx, method, args)?;
        let mut msg = OutgoingMessage::new(req.encode());
        msg.retry = self.retry;
        self.transport
            .driver()
            .send(&self.destination(&topic), msg)
            .await
    }

    /// Calls `method(**args)` and waits for its result.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] naming the target and method when no reply comes
    /// in time (or call-monitor heartbeats stop); [`Error::Remote`] with the
    /// server's failure; [`Error::InvalidTarget`] for a fanout target or no
    /// topic; [`Error::VersionCap`]; [`ErrorKind::Connection`](crate::ErrorKind::Connection); [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// when the reply listener went away.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the call; a late reply is dropped.
    pub async fn call(
        &self,
        ctx: &Context,
        method: &str,
        args: Map<String, Value>,
    ) -> Result<Value> {
        let r = self.call_unrecorded(ctx, method, args).await;
        self.record(method, r.as_ref().map(|_| ()));
        r
    }

    async fn call_unrecorded(
        &self,
        ctx: &Context,
        method: &str,
        args: Map<String, Value>,
    ) -> Result<Value> {
        self.check(method)?;
        if self.target.fanout {
            return Err(Error::InvalidTarget {
                target: self.target.to_string(),
                reason: "a call cannot be fanout".into(),
            });
        }
        let topic = self.target.require_topic()?.to_string();
        let timeout = self.timeout();
        let deadline = Instant::now() + timeout;
        let timed_out = || Error::Timeout {
            target: self.target.to_string(),
            method: method.to_string(),
            timeout,
        };
        let mut req = self.request(ctx, method, args)?;
        let replies = tokio::time::timeout_at(deadline, self.transport.replies())
            .await
            .map_err(|_| timed_out())??;
        let msg_id = new_id();
        let mut reg = replies.register(&msg_id, self.call_monitor_timeout.is_some())?;
        req.is_call = true;
        req.msg_id = Some(msg_id);
        req.reply_q = Some(replies.queue().to_string());
        req.timeout = self.call_monitor_timeout.map(|t| Value::from(t.as_secs()));
        let mut msg = OutgoingMessage::new(req.encode());
        msg.expiration = Some(timeout);
        msg.retry = self.retry;
        let dest = self.destination(&topic);
        let send = self.transport.driver().send(&dest, msg);
        let outcome = match (self.call_monitor_timeout, reg.beat.clone()) {
            (Some(monitor), Some(beat)) => {
                tokio::time::timeout_at(deadline, send)
                    .await
                    .map_err(|_| timed_out())??;
                // Each reply that does not end the call (a heartbeat)
                // restarts the call-monitor timer.
                loop {
                    let wait_until = deadline.min(Instant::now() + monitor);
                    tokio::select! {
                        biased;
                        outcome = &mut reg.outcome => break outcome,
                        _ = beat.notified() => {}
                        _ = tokio::time::sleep_until(wait_until) => return Err(timed_out()),
                    }
                }
            }
            // One timer for the publish and the wait.
            _ => tokio::time::timeout_at(deadline, async {
                send.await?;
                Ok::<_, Error>((&mut reg.outcome).await)
            })
            .await
            .map_err(|_| timed_out())??,
        };
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(failure)) => return Err(Error::from(failure)),
            Err(_) => {
                return Err(Error::Closed(format!(
                    "the reply listener closed while waiting for {method} on {}",
                    self.target
                )));
            }
        };
        self.serializer
            .deserialize_entity(ctx, result)
            .map_err(Error::from)
    }
}
