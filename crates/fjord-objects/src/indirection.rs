//! The conductor's indirection API over RPC (VERSIONED_OBJECTS.md §9):
//! [`ConductorClient`], the side that asks (backports of objects newer
//! than the local classes, remote class and instance methods), and
//! [`ConductorEndpoint`], the side that answers, so a fjord service can
//! act as a conductor for Python or fjord peers.
//!
//! Wire API (nova's `ConductorAPI`): topic `conductor`, no namespace,
//! version 3.0, three calls: `object_backport_versions(objinst,
//! object_versions)`, `object_class_action_versions(objname, objmethod,
//! object_versions, args, kwargs)` and `object_action(objinst, objmethod,
//! args, kwargs)`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use fjord_messaging::{Context, Endpoint, RemoteError, RpcClient, Target, async_trait};
use serde_json::{Map, Value, json};

use crate::error::ObjectError;
use crate::field::FieldValue;
use crate::object::{Manifest, Object};
use crate::registry::Registry;
use crate::serializer::{Indirection, ObjectSerializer, to_remote_error};
use crate::version::Version;

/// The conductor's topic in nova.
pub const CONDUCTOR_TOPIC: &str = "conductor";
/// The conductor RPC API version the three methods are sent at.
pub const CONDUCTOR_VERSION: &str = "3.0";

/// A future returned by a remote method implementation.
pub type ActionFuture<T> = Pin<Box<dyn Future<Output = Result<T, RemoteError>> + Send>>;

/// A remotable classmethod: `(context, args, kwargs)` to a result (an
/// object or plain data).
pub type ClassAction =
    Arc<dyn Fn(Context, Vec<Value>, Map<String, Value>) -> ActionFuture<FieldValue> + Send + Sync>;

/// A remotable instance method: `(context, object, args, kwargs)` to the
/// object after the call and the method's result.
pub type InstanceAction = Arc<
    dyn Fn(
            Context,
            Box<dyn Object>,
            Vec<Value>,
            Map<String, Value>,
        ) -> ActionFuture<(Box<dyn Object>, FieldValue)>
        + Send
        + Sync,
>;

fn obj_err(e: ObjectError) -> RemoteError {
    to_remote_error(&e)
}

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a Value, RemoteError> {
    args.get(name)
        .ok_or_else(|| RemoteError::type_error(format!("missing required argument: '{name}'")))
}

fn manifest_arg(args: &Map<String, Value>, name: &str) -> Result<Manifest, RemoteError> {
    let m = arg(args, name)?
        .as_object()
        .ok_or_else(|| RemoteError::type_error(format!("{name} must be an object")))?;
    m.iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_string()))
                .ok_or_else(|| {
                    RemoteError::type_error(format!("{name}[{k}] must be a version string"))
                })
        })
        .collect()
}

/// Serves the indirection API over one [`Registry`] (the newest
/// classes), with the remotable methods the service implements.
///
/// # Examples
///
/// ```
/// use fjord_objects::indirection::ConductorEndpoint;
/// use fjord_objects::{FieldValue, Registry};
/// let reg = Registry::new("nova_object", "nova");
/// let conductor = ConductorEndpoint::new(reg)
///     .class_action("Instance", "get_by_uuid", |_ctx, _args, _kwargs| async move {
///         Ok(FieldValue::None) // look the instance up here
///     });
/// # let _ = conductor;
/// ```
#[derive(Clone)]
pub struct ConductorEndpoint {
    registry: Arc<Registry>,
    serializer: ObjectSerializer,
    class_actions: HashMap<(String, String), ClassAction>,
    actions: HashMap<(String, String), InstanceAction>,
}

impl fmt::Debug for ConductorEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConductorEndpoint")
            .field("serial_namespace", &self.registry.serial_namespace())
            .field(
                "class_actions",
                &self.class_actions.keys().collect::<Vec<_>>(),
            )
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConductorEndpoint {
    /// An endpoint answering for `registry`'s objects, with no remotable
    /// methods yet (backports only).
    pub fn new(registry: Registry) -> Self {
        ConductorEndpoint {
            serializer: ObjectSerializer::new(registry.clone()),
            registry: Arc::new(registry),
            class_actions: HashMap::new(),
            actions: HashMap::new(),
        }
    }
    /// The serializer the conductor's RPC server should use (the
    /// registry's, with no indirection: a conductor never asks itself).
    pub fn serializer(&self) -> ObjectSerializer {
        self.serializer.clone()
    }
    /// Registers the remotable classmethod `objname.method`.
    pub fn class_action<F, Fut>(mut self, objname: &str, method: &str, f: F) -> Self
    where
        F: Fn(Context, Vec<Value>, Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<FieldValue, RemoteError>> + Send + 'static,
    {
        let f: ClassAction = Arc::new(move |c, a, k| Box::pin(f(c, a, k)));
        self.class_actions
            .insert((objname.to_string(), method.to_string()), f);
        self
    }
    /// Registers the remotable instance method `objname.method`.
    pub fn action<F, Fut>(mut self, objname: &str, method: &str, f: F) -> Self
    where
        F: Fn(Context, Box<dyn Object>, Vec<Value>, Map<String, Value>) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = Result<(Box<dyn Object>, FieldValue), RemoteError>> + Send + 'static,
    {
        let f: InstanceAction = Arc::new(move |c, o, a, k| Box::pin(f(c, o, a, k)));
        self.actions
            .insert((objname.to_string(), method.to_string()), f);
        self
    }

    /// `object_backport_versions`: loads `objinst` with the newest classes
    /// and returns it backported to `object_versions[name]` with
    /// `object_versions` as the manifest.
    ///
    /// # Errors
    ///
    /// The object does not load; the backport fails.
    pub fn backport_versions(
        &self,
        objinst: &Value,
        object_versions: &Manifest,
    ) -> Result<Value, RemoteError> {
        let obj = self.registry.obj_from_primitive(objinst).map_err(obj_err)?;
        let target = object_versions.get(obj.obj_name()).map(String::as_str);
        obj.obj_to_primitive_with(target, Some(object_versions))
            .map_err(obj_err)
    }

    async fn class_action_versions(
        &self,
        ctx: Context,
        args: &Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        let objname = arg(args, "objname")?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let objmethod = arg(args, "objmethod")?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let versions = manifest_arg(args, "object_versions")?;
        let call_args = arg(args, "args")?.as_array().cloned().unwrap_or_default();
        let kwargs = arg(args, "kwargs")?
            .as_object()
            .cloned()
            .unwrap_or_default();
        let wanted = versions
            .get(&objname)
            .ok_or_else(|| RemoteError::type_error(format!("object_versions has no {objname}")))?;
        // obj_class_from_name: the caller's version must be loadable here.
        self.registry.class_for(&objname, wanted).map_err(obj_err)?;
        let f = self
            .class_actions
            .get(&(objname.clone(), objmethod.clone()))
            .ok_or_else(|| {
                RemoteError::new(
                    "AttributeError",
                    "builtins",
                    format!("type object '{objname}' has no attribute '{objmethod}'"),
                )
            })?;
        let result = f(ctx, call_args, kwargs).await?;
        if let FieldValue::Object(o) = &result {
            let mine = Version::parse(o.obj_version()).map_err(obj_err)?;
            let theirs = Version::parse(wanted).map_err(obj_err)?;
            if mine > theirs || mine.major() != theirs.major() {
                return o
                    .obj_to_primitive_with(Some(wanted), Some(&versions))
                    .map_err(obj_err);
            }
        }
        Ok(self.serializer.serialize_value(&result))
    }

    async fn object_action(
        &self,
        ctx: Context,
        args: &Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        let objinst = arg(args, "objinst")?;
        let objmethod = arg(args, "objmethod")?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let call_args = arg(args, "args")?.as_array().cloned().unwrap_or_default();
        let kwargs = arg(args, "kwargs")?
            .as_object()
            .cloned()
            .unwrap_or_default();
        let obj = self.registry.obj_from_primitive(objinst).map_err(obj_err)?;
        let name = obj.obj_name().to_string();
        let f = self
            .actions
            .get(&(name.clone(), objmethod.clone()))
            .ok_or_else(|| {
                RemoteError::new(
                    "AttributeError",
                    "builtins",
                    format!("'{name}' object has no attribute '{objmethod}'"),
                )
            })?;
        let before = obj.clone_box();
        let (after, result) = f(ctx, obj, call_args, kwargs).await?;
        let mut updates = Map::new();
        for spec in &after.obj_schema().fields {
            let Ok(Some(now)) = after.obj_get(spec.name) else {
                continue;
            };
            let was = before.obj_get(spec.name).ok().flatten();
            if was.as_ref() != Some(&now) {
                updates.insert(spec.name.to_string(), spec.field.to_primitive(&now));
            }
        }
        let changed: Vec<Value> = after
            .obj_what_changed()
            .into_iter()
            .map(Value::from)
            .collect();
        updates.insert("obj_what_changed".into(), Value::Array(changed));
        Ok(json!([updates, self.serializer.serialize_value(&result)]))
    }
}

#[async_trait]
impl Endpoint for ConductorEndpoint {
    fn target(&self) -> Target {
        Target::endpoint(None, Some(CONDUCTOR_VERSION))
    }
    fn has_method(&self, method: &str) -> bool {
        matches!(
            method,
            "object_backport_versions" | "object_class_action_versions" | "object_action"
        )
    }
    async fn dispatch(
        &self,
        ctx: Context,
        method: &str,
        args: Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        match method {
            "object_backport_versions" => {
                let versions = manifest_arg(&args, "object_versions")?;
                self.backport_versions(arg(&args, "objinst")?, &versions)
            }
            "object_class_action_versions" => self.class_action_versions(ctx, &args).await,
            "object_action" => self.object_action(ctx, &args).await,
            other => Err(RemoteError::no_such_method(other)),
        }
    }
}

/// The asking side: an RPC client of a conductor (topic `conductor`,
/// version 3.0). As an [`Indirection`], it backports objects newer than
/// the local classes for an [`ObjectSerializer`].
#[derive(Debug, Clone)]
pub struct ConductorClient {
    client: RpcClient,
}

fn call_err(e: fjord_messaging::Error) -> RemoteError {
    match e.remote() {
        Some(r) => r.clone(),
        None => RemoteError::runtime_error(format!("conductor call failed: {e}")),
    }
}

impl ConductorClient {
    /// A client over `client`, whose target should be the conductor's
    /// topic at version 3.0 (see [`ConductorClient::target`]).
    pub fn new(client: RpcClient) -> Self {
        ConductorClient { client }
    }
    /// nova's conductor target: topic `conductor`, version 3.0.
    pub fn target() -> Target {
        let mut t = Target::new(CONDUCTOR_TOPIC);
        t.version = Some(CONDUCTOR_VERSION.to_string());
        t
    }
    /// Calls `object_backport_versions`.
    ///
    /// # Errors
    ///
    /// The call's failure or the conductor's error.
    pub async fn backport_versions(
        &self,
        ctx: &Context,
        objinst: &Value,
        object_versions: &Manifest,
    ) -> Result<Value, RemoteError> {
        let mut args = Map::new();
        args.insert("objinst".into(), objinst.clone());
        args.insert("object_versions".into(), json!(object_versions));
        self.client
            .call(ctx, "object_backport_versions", args)
            .await
            .map_err(call_err)
    }
    /// Calls `object_class_action_versions` (a remotable classmethod run by
    /// the conductor); the result as received (an object primitive or data).
    ///
    /// # Errors
    ///
    /// The call's failure or the method's error.
    pub async fn class_action(
        &self,
        ctx: &Context,
        objname: &str,
        objmethod: &str,
        object_versions: &Manifest,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        let mut a = Map::new();
        a.insert("objname".into(), json!(objname));
        a.insert("objmethod".into(), json!(objmethod));
        a.insert("object_versions".into(), json!(object_versions));
        a.insert("args".into(), Value::Array(args));
        a.insert("kwargs".into(), Value::Object(kwargs));
        self.client
            .call(ctx, "object_class_action_versions", a)
            .await
            .map_err(call_err)
    }
    /// Calls `object_action` (a remotable method run by the conductor) and
    /// applies the returned updates to `obj` as Python's client does:
    /// assign each updated field, reset the changes, then set them to
    /// `obj_what_changed`. Returns the method's result.
    ///
    /// # Errors
    ///
    /// The call's failure, the method's error, a malformed reply.
    pub async fn object_action(
        &self,
        ctx: &Context,
        obj: &mut dyn Object,
        objmethod: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        let mut a = Map::new();
        a.insert("objinst".into(), obj.obj_to_primitive());
        a.insert("objmethod".into(), json!(objmethod));
        a.insert("args".into(), Value::Array(args));
        a.insert("kwargs".into(), Value::Object(kwargs));
        let reply = self
            .client
            .call(ctx, "object_action", a)
            .await
            .map_err(call_err)?;
        let (updates, result) = match reply {
            Value::Array(mut pair) if pair.len() == 2 => {
                let result = pair.pop().unwrap_or(Value::Null);
                (pair.pop().unwrap_or(Value::Null), result)
            }
            other => {
                return Err(RemoteError::value_error(format!(
                    "object_action reply must be [updates, result], got {other}"
                )));
            }
        };
        apply_updates(obj, &updates).map_err(obj_err)?;
        Ok(result)
    }
}

/// Applies an `object_action` reply's `updates` to `obj`.
///
/// # Errors
///
/// A field value the object refuses.
pub fn apply_updates(obj: &mut dyn Object, updates: &Value) -> Result<(), ObjectError> {
    let Some(map) = updates.as_object() else {
        return Err(ObjectError::value(
            "object_action updates must be an object",
        ));
    };
    let schema = obj.obj_schema();
    for spec in &schema.fields {
        if let Some(v) = map.get(spec.name) {
            let value = spec.field.from_primitive(spec.name, v)?;
            obj.obj_set(spec.name, value)?;
        }
    }
    obj.obj_reset_changes(None, false);
    let changed = map
        .get("obj_what_changed")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| schema.field(c.as_str()?).map(|f| f.name))
                .collect()
        })
        .unwrap_or_default();
    obj.obj_meta_mut().set_changes(changed);
    Ok(())
}

impl Indirection for ConductorClient {
    /// Runs the call on the current tokio runtime: the serializer hook is
    /// synchronous, so this needs a multi-thread runtime
    /// (`tokio::task::block_in_place`); elsewhere it fails with a
    /// `RuntimeError`.
    fn object_backport_versions(
        &self,
        ctx: &Context,
        objinst: &Value,
        object_versions: &Manifest,
    ) -> Result<Value, RemoteError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| RemoteError::runtime_error("the indirection API needs a tokio runtime"))?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Err(RemoteError::runtime_error(
                "the indirection API needs a multi-thread tokio runtime",
            ));
        }
        tokio::task::block_in_place(|| {
            handle.block_on(self.backport_versions(ctx, objinst, object_versions))
        })
    }
}
