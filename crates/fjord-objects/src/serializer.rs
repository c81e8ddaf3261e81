//! [`ObjectSerializer`]: oslo.versionedobjects' `VersionedObjectSerializer`
//! as a `fjord_messaging::Serializer` (VERSIONED_OBJECTS.md §8).

use std::fmt;
use std::sync::Arc;

use fjord_messaging::{Context, RemoteError, Serializer};
use serde_json::{Map, Value, json};

use crate::error::{ErrorKind, ObjectError};
use crate::field::FieldValue;
use crate::object::{Manifest, Object};
use crate::registry::Registry;

/// The conductor's backport service, as the serializer asks for it when it
/// receives an object newer than its own class (nova's
/// `indirection_api.object_backport_versions`).
///
/// `fjord_objects::indirection::ConductorClient` implements it over RPC.
pub trait Indirection: Send + Sync + fmt::Debug + 'static {
    /// `object_backport_versions(ctx, objinst, object_versions)`: the raw
    /// newer primitive and this side's manifest in, a primitive the
    /// manifest's versions can load out.
    ///
    /// # Errors
    ///
    /// The conductor's failure.
    fn object_backport_versions(
        &self,
        ctx: &Context,
        objinst: &Value,
        object_versions: &Manifest,
    ) -> Result<Value, RemoteError>;
}

/// The failure reply Python sends for an [`ObjectError`]: its exception
/// class and module, `args = [message]`, and for
/// `IncompatibleObjectVersion` the kwargs `objname`, `objver`,
/// `supported`, `code` (500), as oslo.versionedobjects' exceptions carry.
pub fn to_remote_error(e: &ObjectError) -> RemoteError {
    let path = e.python_class();
    let (module, class) = path.rsplit_once('.').unwrap_or(("builtins", path));
    let mut r = RemoteError::new(class, module, e.message());
    if let Some((objname, objver, supported)) = e.incompatible_parts() {
        let mut kw = Map::new();
        kw.insert("objname".into(), json!(objname));
        kw.insert("objver".into(), json!(objver));
        kw.insert("supported".into(), json!(supported));
        kw.insert("code".into(), json!(500));
        r = r.with_kwargs(kw);
    }
    r
}

/// The serializer of one project's objects: a [`Registry`] plus, on
/// services that can ask a conductor, an [`Indirection`]; optionally a
/// version cap (cinder's push model).
///
/// As a `fjord_messaging::Serializer` it works on JSON: outgoing values
/// already hold object primitives (`obj_to_primitive`) and are passed
/// through (or backported to the cap); incoming values have every object
/// primitive of the registry's serial namespace loaded and checked (errors
/// as Python's), backported by the conductor when newer than the local
/// class, and are handed to the endpoint as they came (a backported
/// object as the primitive of the loaded object). Endpoints then read
/// typed objects with `VersionedObject::obj_from_primitive`.
#[derive(Clone)]
pub struct ObjectSerializer {
    registry: Arc<Registry>,
    indirection: Option<Arc<dyn Indirection>>,
    cap: Option<Manifest>,
}

impl fmt::Debug for ObjectSerializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectSerializer")
            .field("serial_namespace", &self.registry.serial_namespace())
            .field("indirection", &self.indirection.is_some())
            .field("cap", &self.cap)
            .finish()
    }
}

impl ObjectSerializer {
    /// A serializer over `registry`, with no indirection API and no cap.
    pub fn new(registry: Registry) -> Self {
        ObjectSerializer {
            registry: Arc::new(registry),
            indirection: None,
            cap: None,
        }
    }
    /// Backports received objects newer than the local class through
    /// `api`. Default is none: such objects fail with
    /// `IncompatibleObjectVersion`.
    pub fn with_indirection(mut self, api: Arc<dyn Indirection>) -> Self {
        self.indirection = Some(api);
        self
    }
    /// Caps outgoing objects: every object primitive sent is backported to
    /// `cap[name]` (when lower than its version) with `cap` as the
    /// manifest (cinder's `CinderObjectSerializer(version_cap)`). Default
    /// is no cap.
    pub fn with_version_cap(mut self, cap: Manifest) -> Self {
        self.cap = Some(cap);
        self
    }
    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Python's `serialize_entity` on a dynamic value: objects become
    /// their primitive (full version, with changes), containers are walked,
    /// sets and tuples become arrays.
    pub fn serialize_value(&self, value: &FieldValue) -> Value {
        match value {
            FieldValue::Object(o) => o.obj_to_primitive(),
            FieldValue::List(v) | FieldValue::Tuple(v) | FieldValue::Set(v) => {
                Value::Array(v.iter().map(|x| self.serialize_value(x)).collect())
            }
            FieldValue::Dict(d) => Value::Object(
                d.iter()
                    .map(|(k, v)| (k.clone(), self.serialize_value(v)))
                    .collect(),
            ),
            other => crate::field::Field::new(crate::FieldType::String).to_primitive(other),
        }
    }

    /// Python's `deserialize_entity`: every JSON object holding `S.name`
    /// becomes an object (§8.2), other objects and arrays are walked.
    ///
    /// # Errors
    ///
    /// What Python raises: `UnsupportedObjectError`, `KeyError`,
    /// `IncompatibleObjectVersion` (no indirection, or one that failed),
    /// a field's `ValueError`; as the failure reply Python reads.
    pub fn deserialize_value(
        &self,
        ctx: &Context,
        value: &Value,
    ) -> Result<FieldValue, RemoteError> {
        match value {
            Value::Object(m) if self.registry.is_primitive(value) => {
                let _ = m;
                self.deserialize_object(ctx, value).map(FieldValue::Object)
            }
            Value::Object(m) => {
                let mut out = indexmap::IndexMap::with_capacity(m.len());
                for (k, v) in m {
                    out.insert(k.clone(), self.deserialize_value(ctx, v)?);
                }
                Ok(FieldValue::Dict(out))
            }
            Value::Array(a) => a
                .iter()
                .map(|v| self.deserialize_value(ctx, v))
                .collect::<Result<Vec<_>, _>>()
                .map(FieldValue::List),
            other => Ok(FieldValue::from_json(other)),
        }
    }

    /// Loads one object primitive as the serializer does: the registry's
    /// `obj_from_primitive`; on `IncompatibleObjectVersion`, a three-part
    /// version is retried as `X.Y`, otherwise the indirection API (if any)
    /// is asked to backport the raw primitive to this side's manifest.
    ///
    /// # Errors
    ///
    /// As [`ObjectSerializer::deserialize_value`].
    pub fn deserialize_object(
        &self,
        ctx: &Context,
        primitive: &Value,
    ) -> Result<Box<dyn Object>, RemoteError> {
        self.load(ctx, primitive).map(|(obj, _)| obj)
    }

    /// [`ObjectSerializer::deserialize_object`], and whether the object
    /// was loaded from `primitive` as it came (no `X.Y` retry, no
    /// backport).
    fn load(
        &self,
        ctx: &Context,
        primitive: &Value,
    ) -> Result<(Box<dyn Object>, bool), RemoteError> {
        match self.registry.obj_from_primitive(primitive) {
            Ok(o) => Ok((o, true)),
            Err(e) if e.kind() == ErrorKind::IncompatibleVersion => {
                let key = format!("{}.version", self.registry.serial_namespace());
                let name_key = format!("{}.name", self.registry.serial_namespace());
                let version = primitive.get(&key).and_then(Value::as_str).unwrap_or("");
                let parts: Vec<&str> = version.split('.').collect();
                if parts.len() == 3 {
                    let mut retry = primitive.clone();
                    if let Some(m) = retry.as_object_mut() {
                        m.insert(key, Value::from(format!("{}.{}", parts[0], parts[1])));
                    }
                    return self.load(ctx, &retry).map(|(obj, _)| (obj, false));
                }
                let name = primitive
                    .get(&name_key)
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match (&self.indirection, self.registry.tree_versions(name)) {
                    (Some(api), Ok(manifest)) => {
                        let back = api.object_backport_versions(ctx, primitive, &manifest)?;
                        self.registry
                            .obj_from_primitive(&back)
                            .map(|obj| (obj, false))
                            .map_err(|e| to_remote_error(&e))
                    }
                    _ => Err(to_remote_error(&e)),
                }
            }
            Err(e) => Err(to_remote_error(&e)),
        }
    }

    /// The receive side of the messaging hook: every object primitive in
    /// `value` is loaded as [`ObjectSerializer::deserialize_value`] loads
    /// it (same checks, same errors, in the same order); one loaded as it
    /// came stays as it came, one that had to be retried as `X.Y` or
    /// backported is replaced with the primitive of the loaded object.
    fn load_in_place(&self, ctx: &Context, value: &mut Value) -> Result<(), RemoteError> {
        match value {
            Value::Object(_) if self.registry.is_primitive(value) => {
                let (obj, as_received) = self.load(ctx, value)?;
                if !as_received {
                    *value = obj.obj_to_primitive();
                }
            }
            Value::Object(m) => {
                for v in m.values_mut() {
                    self.load_in_place(ctx, v)?;
                }
            }
            Value::Array(a) => {
                for v in a {
                    self.load_in_place(ctx, v)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn cap_value(&self, cap: &Manifest, value: Value) -> Result<Value, RemoteError> {
        match value {
            Value::Object(_) if self.registry.is_primitive(&value) => {
                let obj = self
                    .registry
                    .obj_from_primitive(&value)
                    .map_err(|e| to_remote_error(&e))?;
                let target = cap.get(obj.obj_name()).map(String::as_str);
                let version = obj.obj_version();
                let lower = match target {
                    Some(t) => crate::Version::parse(t)
                        .ok()
                        .zip(crate::Version::parse(version).ok())
                        .is_some_and(|(t, v)| t < v),
                    None => false,
                };
                let target = if lower { target } else { None };
                obj.obj_to_primitive_with(target.or(Some(version)), Some(cap))
                    .map_err(|e| to_remote_error(&e))
            }
            Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| Ok((k, self.cap_value(cap, v)?)))
                .collect::<Result<Map<_, _>, RemoteError>>()
                .map(Value::Object),
            Value::Array(a) => a
                .into_iter()
                .map(|v| self.cap_value(cap, v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other),
        }
    }
}

impl Serializer for ObjectSerializer {
    fn serialize_entity(&self, _ctx: &Context, value: Value) -> Result<Value, RemoteError> {
        match &self.cap {
            Some(cap) => self.cap_value(cap, value),
            None => Ok(value),
        }
    }
    /// Loads and checks every object primitive in `value` (Python's
    /// `deserialize_entity`) and hands `value` on as it came: only an
    /// object that had to be backported is replaced, with the primitive of
    /// the loaded object. Endpoints read their typed objects from it.
    fn deserialize_entity(&self, ctx: &Context, mut value: Value) -> Result<Value, RemoteError> {
        self.load_in_place(ctx, &mut value)?;
        Ok(value)
    }
}
