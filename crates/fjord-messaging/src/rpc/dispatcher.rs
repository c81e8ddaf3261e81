//! Endpoints and the dispatcher (WIRE.md §5.2).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::serializer::{NoOpSerializer, Serializer};
use crate::error::RemoteError;
use crate::message::{Context, Request};
use crate::target::{Target, version_is_compatible};

/// An object whose methods can be called over RPC.
///
/// Implement it directly, or build one from closures with [`FnEndpoint`].
///
/// # Examples
///
/// ```
/// use fjord_messaging::{Endpoint, Context, RemoteError, Target, async_trait};
/// use serde_json::{Map, Value};
///
/// #[derive(Debug)]
/// struct Echo;
///
/// #[async_trait]
/// impl Endpoint for Echo {
///     fn target(&self) -> Target { Target::endpoint(None, Some("1.1")) }
///     fn has_method(&self, method: &str) -> bool { method == "echo" }
///     async fn dispatch(&self, _ctx: Context, _method: &str, args: Map<String, Value>)
///         -> Result<Value, RemoteError> {
///         args.get("value").cloned().ok_or_else(|| RemoteError::type_error("missing value"))
///     }
/// }
/// ```
#[async_trait]
pub trait Endpoint: Send + Sync + fmt::Debug + 'static {
    /// The endpoint's namespace, version and legacy namespaces. Default is
    /// `Target::default()` (null namespace, version 1.0).
    fn target(&self) -> Target {
        Target::default()
    }
    /// Whether the endpoint has `method` (Python `hasattr`).
    fn has_method(&self, method: &str) -> bool;
    /// Runs `method`; the error is sent back as the reply's failure.
    ///
    /// # Errors
    ///
    /// Whatever the method fails with.
    async fn dispatch(
        &self,
        ctx: Context,
        method: &str,
        args: Map<String, Value>,
    ) -> Result<Value, RemoteError>;
}

type Handler = Arc<
    dyn Fn(Context, Map<String, Value>) -> BoxFuture<'static, Result<Value, RemoteError>>
        + Send
        + Sync,
>;

/// An [`Endpoint`] built from closures registered by method name.
///
/// # Examples
///
/// ```
/// use fjord_messaging::{FnEndpoint, RemoteError};
/// use serde_json::{json, Value};
///
/// let ep = FnEndpoint::builder()
///     .version("1.2")
///     .method("add", |_ctx, args| async move {
///         let a = args.get("a").and_then(Value::as_i64).ok_or_else(|| RemoteError::type_error("a"))?;
///         let b = args.get("b").and_then(Value::as_i64).ok_or_else(|| RemoteError::type_error("b"))?;
///         Ok(json!(a + b))
///     })
///     .build();
/// # let _ = ep;
/// ```
#[derive(Clone, Default)]
pub struct FnEndpoint {
    target: Target,
    methods: HashMap<String, Handler>,
}

impl fmt::Debug for FnEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.methods.keys().collect();
        names.sort();
        f.debug_struct("FnEndpoint")
            .field("target", &self.target)
            .field("methods", &names)
            .finish()
    }
}

/// Builds a [`FnEndpoint`].
#[derive(Debug, Default)]
pub struct FnEndpointBuilder {
    inner: FnEndpoint,
}

impl FnEndpoint {
    /// Starts a builder: null namespace, no version (1.0), no methods.
    pub fn builder() -> FnEndpointBuilder {
        FnEndpointBuilder::default()
    }
}

impl FnEndpointBuilder {
    /// Sets the namespace. Default is `None` (the null namespace).
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.inner.target.namespace = Some(ns.into());
        self
    }
    /// Sets the implemented version. Default is `None` (counts as 1.0).
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.inner.target.version = Some(v.into());
        self
    }
    /// Adds a legacy namespace. Default is none.
    pub fn legacy_namespace(mut self, ns: impl Into<String>) -> Self {
        self.inner.target.legacy_namespaces.push(ns.into());
        self
    }
    /// Registers `method`.
    pub fn method<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Context, Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RemoteError>> + Send + 'static,
    {
        let h: Handler = Arc::new(move |ctx, args| Box::pin(f(ctx, args)));
        self.inner.methods.insert(name.into(), h);
        self
    }
    /// The endpoint.
    pub fn build(self) -> FnEndpoint {
        self.inner
    }
}

#[async_trait]
impl Endpoint for FnEndpoint {
    fn target(&self) -> Target {
        self.target.clone()
    }
    fn has_method(&self, method: &str) -> bool {
        self.methods.contains_key(method)
    }
    async fn dispatch(
        &self,
        ctx: Context,
        method: &str,
        args: Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        match self.methods.get(method) {
            Some(h) => h(ctx, args).await,
            None => Err(RemoteError::no_such_method(method)),
        }
    }
}

/// Which methods may be called (oslo access policies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessPolicy {
    /// `DefaultRPCAccessPolicy`: refuse names starting with `_`.
    #[default]
    Default,
    /// `LegacyRPCAccessPolicy`: allow everything.
    Legacy,
}

/// Chooses the endpoint for a request and runs it.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    endpoints: Vec<Arc<dyn Endpoint>>,
    policy: AccessPolicy,
    serializer: Arc<dyn Serializer>,
    ping: bool,
}

impl Dispatcher {
    /// A dispatcher over `endpoints` (checked in order), default access
    /// policy, no-op serializer, no ping method.
    pub fn new(endpoints: Vec<Arc<dyn Endpoint>>) -> Self {
        Dispatcher {
            endpoints,
            policy: AccessPolicy::Default,
            serializer: Arc::new(NoOpSerializer),
            ping: false,
        }
    }
    /// Sets the access policy. Default is [`AccessPolicy::Default`].
    pub fn with_access_policy(mut self, policy: AccessPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Sets the serializer. Default is [`NoOpSerializer`].
    pub fn with_serializer(mut self, s: Arc<dyn Serializer>) -> Self {
        self.serializer = s;
        self
    }
    /// Adds `oslo_rpc_server_ping` returning `"pong"` (`rpc_ping_enabled`). Default is off.
    pub fn with_ping(mut self, on: bool) -> Self {
        self.ping = on;
        self
    }

    /// Dispatches `req` as the Python dispatcher does: the first endpoint
    /// whose namespace and version match and that has the method runs it;
    /// otherwise `NoSuchMethod` (some endpoint matched) or
    /// `UnsupportedVersion` (none did). A panicking endpoint becomes a
    /// `RuntimeError` failure.
    ///
    /// # Errors
    ///
    /// The failure to send back.
    pub async fn dispatch(&self, req: &Request) -> Result<Value, RemoteError> {
        let ctx = self.serializer.deserialize_context(req.endpoint_context());
        let version = req.version.as_deref().unwrap_or("1.0");
        let method = req.method.as_str();
        let allowed = self.policy == AccessPolicy::Legacy || !method.starts_with('_');
        let mut candidate = false;
        let ping_target = Target::default();
        for ep in &self.endpoints {
            let t = ep.target();
            let ns_ok = t.namespace == req.namespace
                || req
                    .namespace
                    .as_ref()
                    .is_some_and(|n| t.legacy_namespaces.contains(n));
            if !ns_ok
                || !version_is_compatible(
                    Some(t.version.as_deref().unwrap_or("1.0")),
                    Some(version),
                )
            {
                continue;
            }
            candidate = true;
            if allowed && ep.has_method(method) {
                let mut args = Map::new();
                for (k, v) in &req.args {
                    args.insert(
                        k.clone(),
                        self.serializer.deserialize_entity(&ctx, v.clone())?,
                    );
                }
                let fut = ep.dispatch(ctx.clone(), method, args);
                let result = match AssertUnwindSafe(fut).catch_unwind().await {
                    Ok(r) => r?,
                    Err(_) => {
                        tracing::error!(method, "endpoint panicked");
                        return Err(RemoteError::runtime_error(format!(
                            "endpoint panicked in {method}"
                        )));
                    }
                };
                return self.serializer.serialize_entity(&ctx, result);
            }
        }
        if self.ping
            && req.namespace == ping_target.namespace
            && version_is_compatible(Some("1.0"), Some(version))
        {
            candidate = true;
            if method == "oslo_rpc_server_ping" {
                return Ok(Value::String("pong".into()));
            }
        }
        if candidate {
            Err(RemoteError::no_such_method(method))
        } else {
            Err(RemoteError::unsupported_version(version, method))
        }
    }
}
