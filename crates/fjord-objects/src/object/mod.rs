//! Versioned objects: the [`Object`] trait every declared object
//! implements (through `#[derive(VersionedObject)]`), its [`Schema`], the
//! primitive form (`obj_to_primitive` / `obj_from_primitive`), change
//! tracking and backports.

mod compat;
mod slot;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

pub use compat::{make_compatible, obj_tree_get_versions};
pub use slot::{ObjectMeta, Slot};

use crate::error::{ErrorKind, ObjectError, Result};
use crate::field::{Field, FieldValue};
use crate::version::Version;

/// A version manifest: `{object name: highest version understood}`.
pub type Manifest = BTreeMap<String, String>;

/// A class's own backport hook (`obj_make_compatible` after the base):
/// edits the primitive's `data` for `target`.
pub type CompatHook = fn(&mut Map<String, Value>, &Version) -> Result<()>;

/// A declared field: its name, [`Field`] and the version it appeared in.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// The field name.
    pub name: &'static str,
    /// Type, nullable, default.
    pub field: Field,
    /// The object version that added the field: backports below it drop
    /// the field from the primitive.
    pub since: Option<&'static str>,
}

/// Everything known about an object class: what Python keeps on the class
/// (`VERSION`, `fields`, `OBJ_SERIAL_NAMESPACE`, `OBJ_PROJECT_NAMESPACE`,
/// `obj_relationships`, `child_versions`, remotable methods).
pub struct Schema {
    /// The object name (Python's class name).
    pub name: &'static str,
    /// `VERSION`.
    pub version: &'static str,
    /// `S`, the key prefix: `nova_object`, `versioned_object`, ...
    pub serial_namespace: &'static str,
    /// `P`, the `.namespace` value: `nova`, `versionedobjects`, ...
    pub project_namespace: &'static str,
    /// Fields in declaration order.
    pub fields: Vec<FieldSpec>,
    /// `obj_relationships`: field -> `[(my version, child version)]`.
    pub relationships: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
    /// `child_versions` of an `ObjectListBase` (legacy).
    pub child_versions: Vec<(&'static str, &'static str)>,
    /// An `ObjectListBase` (one field, `objects`).
    pub is_list: bool,
    /// Remotable methods: name and Python argument list
    /// (`"cls, context, uuid, expected_attrs=None"`), for fingerprints.
    pub remotable: Vec<(&'static str, &'static str)>,
    /// The class's own `obj_make_compatible` edits.
    pub make_compatible: Option<CompatHook>,
    /// Builds an object of this class from a primitive.
    pub from_primitive: fn(&Value) -> Result<Box<dyn Object>>,
    /// A new, empty object of this class.
    pub new_object: fn() -> Box<dyn Object>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("serial_namespace", &self.serial_namespace)
            .field("project_namespace", &self.project_namespace)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl Schema {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// The `S.<key>` key of this class's primitives.
    pub fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.serial_namespace)
    }
    /// `obj_relationships[field]`.
    pub fn relationship(&self, field: &str) -> Option<&[(&'static str, &'static str)]> {
        self.relationships
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, r)| r.as_slice())
    }
    /// Whether a received version can be loaded by this class: the same
    /// version, or the same major and an older (or equal) minor.
    ///
    /// # Errors
    ///
    /// `IncompatibleObjectVersion` otherwise; a bad version string.
    pub fn check_version(&self, received: &str) -> Result<()> {
        if received == self.version {
            return Ok(());
        }
        let mine = Version::parse(self.version)?;
        let theirs = Version::parse(received)?;
        if mine.major() == theirs.major() && mine >= theirs {
            Ok(())
        } else {
            Err(ObjectError::incompatible(self.name, received, self.version))
        }
    }
}

/// The keys of a received primitive, checked against a class.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// `S.name`.
    pub name: &'a str,
    /// `S.version`.
    pub version: &'a str,
    /// `S.data`.
    pub data: &'a Map<String, Value>,
    /// `S.changes` (absent: empty).
    pub changes: Vec<&'a str>,
}

fn key_error(key: &str) -> ObjectError {
    ObjectError::new(ErrorKind::MissingKey, format!("'{key}'"))
}

impl<'a> Envelope<'a> {
    /// Reads `S.name`, `S.namespace`, `S.version`, `S.data` and `S.changes`
    /// of `primitive` with the serial namespace `s`, and checks that the
    /// namespace is `project`.
    ///
    /// # Errors
    ///
    /// `KeyError` for a missing key (or one of the wrong JSON type),
    /// `UnsupportedObjectError` for another project namespace.
    pub fn read(primitive: &'a Value, s: &str, project: &str) -> Result<Envelope<'a>> {
        let obj = primitive.as_object().ok_or_else(|| {
            ObjectError::value(format!(
                "an object primitive must be a JSON object, not {}",
                json_type(primitive)
            ))
        })?;
        // One pass over the keys (no key is built), then the checks in
        // the order Python makes them.
        let (mut namespace, mut name, mut version, mut data, mut changes) =
            (None, None, None, None, None);
        for (k, v) in obj {
            match k.strip_prefix(s).and_then(|k| k.strip_prefix('.')) {
                Some("namespace") => namespace = Some(v),
                Some("name") => name = Some(v),
                Some("version") => version = Some(v),
                Some("data") => data = Some(v),
                Some("changes") => changes = Some(v),
                _ => {}
            }
        }
        let get_str = |k: &str, v: Option<&'a Value>| -> Result<&'a str> {
            match v {
                Some(Value::String(v)) => Ok(v.as_str()),
                Some(other) => Err(ObjectError::value(format!(
                    "{s}.{k} must be a string, not {}",
                    json_type(other)
                ))),
                None => Err(key_error(&format!("{s}.{k}"))),
            }
        };
        let namespace = get_str("namespace", namespace)?;
        let name = get_str("name", name)?;
        let version = get_str("version", version)?;
        if namespace != project {
            return Err(ObjectError::new(
                ErrorKind::UnsupportedObject,
                format!("Unsupported object type {namespace}.{name}"),
            ));
        }
        let data = match data {
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(ObjectError::value(format!(
                    "{s}.data must be an object, not {}",
                    json_type(other)
                )));
            }
            None => return Err(key_error(&format!("{s}.data"))),
        };
        let changes = match changes {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        Ok(Envelope {
            name,
            version,
            data,
            changes,
        })
    }
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An object of any class: what the registry, the serializer and
/// sub-object fields handle. Implemented by `#[derive(VersionedObject)]`.
pub trait Object: fmt::Debug + Send + Sync + 'static {
    /// The class's schema.
    fn obj_schema(&self) -> &'static Schema;
    /// The change set and instance version.
    fn obj_meta(&self) -> &ObjectMeta;
    /// The change set and instance version, mutably.
    fn obj_meta_mut(&mut self) -> &mut ObjectMeta;
    /// A field's value as Python holds it: None when unset.
    ///
    /// # Errors
    ///
    /// No such field.
    fn obj_get(&self, field: &str) -> Result<Option<FieldValue>>;
    /// Assigns a field as Python's setter does: coerce, then mark changed.
    ///
    /// # Errors
    ///
    /// No such field; the coercion's error.
    fn obj_set(&mut self, field: &str, value: FieldValue) -> Result<()>;
    /// The `data` of the primitive: every set field's primitive.
    fn obj_data_primitive(&self) -> Map<String, Value>;
    /// Appends the `data` object as JSON, in field declaration order.
    fn obj_write_data(&self, out: &mut String);
    /// The set fields holding an object that reports changes.
    fn obj_changed_children(&self) -> Vec<&'static str>;
    /// `obj_reset_changes(recursive=True)` on the sub-objects.
    fn obj_reset_children(&mut self);
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Object>;
    /// For downcasting to the concrete type.
    fn as_any(&self) -> &dyn Any;

    /// The object name.
    fn obj_name(&self) -> &'static str {
        self.obj_schema().name
    }
    /// The instance's version: the received version, or `VERSION`.
    fn obj_version(&self) -> &str {
        self.obj_meta()
            .version()
            .unwrap_or(self.obj_schema().version)
    }
    /// Whether a field was assigned (`obj_attr_is_set`).
    fn obj_attr_is_set(&self, field: &str) -> bool {
        matches!(self.obj_get(field), Ok(Some(_)))
    }
    /// `obj_what_changed()`: the change set plus each set field holding an
    /// object that has changes of its own (recursively).
    fn obj_what_changed(&self) -> BTreeSet<&'static str> {
        let mut changed = self.obj_meta().changes().clone();
        changed.extend(self.obj_changed_children());
        changed
    }
    /// `obj_reset_changes(fields, recursive)`.
    fn obj_reset_changes(&mut self, fields: Option<&[&str]>, recursive: bool) {
        if recursive {
            self.obj_reset_children();
        }
        self.obj_meta_mut().reset(fields);
    }
    /// `obj_get_changes()`: each changed field and its value.
    fn obj_get_changes(&self) -> BTreeMap<&'static str, FieldValue> {
        self.obj_what_changed()
            .into_iter()
            .filter_map(|f| match self.obj_get(f) {
                Ok(Some(v)) => Some((f, v)),
                _ => None,
            })
            .collect()
    }
    /// `obj_set_defaults(*fields)`: every defaulted field still unset (or
    /// the named ones) gets its default, and is marked changed.
    ///
    /// # Errors
    ///
    /// `ObjectActionError` when a named field has no default.
    fn obj_set_defaults(&mut self, fields: Option<&[&str]>) -> Result<()> {
        let schema = self.obj_schema();
        for spec in &schema.fields {
            if let Some(names) = fields
                && !names.contains(&spec.name)
            {
                continue;
            }
            let Some(default) = &spec.field.default else {
                if fields.is_some() {
                    return Err(ObjectError::action(
                        "set_defaults",
                        format!("No default set for field {}", spec.name),
                    ));
                }
                continue;
            };
            if !self.obj_attr_is_set(spec.name) {
                self.obj_set(spec.name, default.clone())?;
            }
        }
        Ok(())
    }
    /// `obj_to_primitive()`: the primitive at the object's own version.
    fn obj_to_primitive(&self) -> Value {
        // With no target and no manifest nothing can fail.
        self.obj_to_primitive_with(None, None)
            .unwrap_or(Value::Null)
    }
    /// `obj_to_primitive(target_version, version_manifest)`: the primitive,
    /// backported to `target` (§4, §7).
    ///
    /// # Errors
    ///
    /// `InvalidTargetVersion` above the object's version; what the
    /// backport raises (`ObjectActionError`).
    fn obj_to_primitive_with(
        &self,
        target: Option<&str>,
        manifest: Option<&Manifest>,
    ) -> Result<Value> {
        let schema = self.obj_schema();
        let version = self.obj_version();
        let target = target.unwrap_or(version);
        if target != version && Version::parse(target)? > Version::parse(version)? {
            return Err(ObjectError::new(
                ErrorKind::InvalidTargetVersion,
                format!("Invalid target version {target}"),
            ));
        }
        let mut data = self.obj_data_primitive();
        if target != version || manifest.is_some_and(|m| !m.is_empty()) {
            make_compatible(schema, &mut data, &Version::parse(target)?, manifest)?;
        }
        let changes: Vec<Value> = self
            .obj_what_changed()
            .into_iter()
            .filter(|c| data.contains_key(*c))
            .map(|c| Value::String(c.to_string()))
            .collect();
        let mut out = Map::new();
        out.insert(schema.key("name"), Value::from(schema.name));
        out.insert(
            schema.key("namespace"),
            Value::from(schema.project_namespace),
        );
        out.insert(schema.key("version"), Value::from(target));
        out.insert(schema.key("data"), Value::Object(data));
        if !changes.is_empty() {
            out.insert(schema.key("changes"), Value::Array(changes));
        }
        Ok(Value::Object(out))
    }
    /// The primitive at the object's own version as JSON text, with keys
    /// in the order Python writes them (name, namespace, version, data in
    /// field order, changes), for byte-level comparison and fast output.
    fn obj_to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.obj_write_json(&mut out);
        out
    }
    /// Appends [`Object::obj_to_json`]'s text.
    fn obj_write_json(&self, out: &mut String) {
        let schema = self.obj_schema();
        let s = schema.serial_namespace;
        let w = crate::field::write_json_str;
        out.push('{');
        w(out, &format!("{s}.name"));
        out.push_str(": ");
        w(out, schema.name);
        out.push_str(", ");
        w(out, &format!("{s}.namespace"));
        out.push_str(": ");
        w(out, schema.project_namespace);
        out.push_str(", ");
        w(out, &format!("{s}.version"));
        out.push_str(": ");
        w(out, self.obj_version());
        out.push_str(", ");
        w(out, &format!("{s}.data"));
        out.push_str(": ");
        self.obj_write_data(out);
        let changed = self.obj_what_changed();
        let changed: Vec<&str> = changed
            .into_iter()
            .filter(|c| self.obj_attr_is_set(c))
            .collect();
        if !changed.is_empty() {
            out.push_str(", ");
            w(out, &format!("{s}.changes"));
            out.push_str(": [");
            for (i, c) in changed.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                w(out, c);
            }
            out.push(']');
        }
        out.push('}');
    }
}

impl Clone for Box<dyn Object> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// A statically known object class: what `#[derive(VersionedObject)]`
/// implements besides [`Object`].
pub trait VersionedObject: Object + crate::FieldData + Default {
    /// The object name.
    const OBJ_NAME: &'static str;
    /// The class's schema (built once).
    fn schema() -> &'static Schema;
    /// `obj_from_primitive` for this class (§5): checks the namespace, the
    /// name and the version, sets the fields present in `data`, keeps the
    /// received version and the received changes that are fields.
    ///
    /// The canonical `data` Python and fjord write is read by the fast
    /// path ([`VersionedObject::obj_deserialize`]'s, over the `Value`);
    /// anything else (a value to coerce, an error) by the general path
    /// (each field through its [`crate::Field`]), with the same result.
    ///
    /// # Errors
    ///
    /// `KeyError`, `UnsupportedObjectError`, `IncompatibleObjectVersion`,
    /// a field's coercion error.
    fn obj_from_primitive(primitive: &Value) -> Result<Self>;
    /// [`VersionedObject::obj_from_primitive`] by the general path alone
    /// (each field through [`crate::Field`]'s rules, no fast path): the
    /// reference the fast paths are tested against. The default is
    /// `obj_from_primitive`.
    ///
    /// # Errors
    ///
    /// As [`VersionedObject::obj_from_primitive`].
    #[doc(hidden)]
    fn obj_from_primitive_general(primitive: &Value) -> Result<Self> {
        Self::obj_from_primitive(primitive)
    }
    /// The fast path of [`VersionedObject::obj_from_json`] and
    /// [`VersionedObject::obj_from_primitive`]: reads the canonical
    /// primitive straight from a deserializer (JSON text, a
    /// `serde_json::Value`), or fails (then the caller takes the general
    /// path).
    ///
    /// # Errors
    ///
    /// Anything off the fast path, an invalid primitive included.
    fn obj_deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Self, D::Error>;
    /// `obj_from_primitive` of JSON text: the same result as parsing the
    /// text to a `serde_json::Value` and calling
    /// [`VersionedObject::obj_from_primitive`], several times faster for
    /// the canonical primitives Python and fjord write (they are read with
    /// no intermediate `Value`).
    ///
    /// # Errors
    ///
    /// Text that is not JSON (`ValueError`), and as
    /// [`VersionedObject::obj_from_primitive`].
    fn obj_from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        if let Ok(obj) = Self::obj_deserialize(&mut de)
            && de.end().is_ok()
        {
            return Ok(obj);
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ObjectError::value(format!("the primitive is not valid JSON: {e}")))?;
        Self::obj_from_primitive_general(&v)
    }
}

/// The first step of `obj_from_primitive` for a class (the derive's
/// generated code calls it): reads and checks the envelope (namespace,
/// name, version) and keeps the received version on `obj`.
///
/// # Errors
///
/// As [`VersionedObject::obj_from_primitive`].
pub fn read_envelope<'a, O: Object>(obj: &mut O, primitive: &'a Value) -> Result<Envelope<'a>> {
    let schema = obj.obj_schema();
    let env = Envelope::read(primitive, schema.serial_namespace, schema.project_namespace)?;
    if env.name != schema.name {
        return Err(ObjectError::new(
            ErrorKind::UnsupportedObject,
            format!(
                "Unsupported object type {}.{}: expected {}",
                schema.project_namespace, env.name, schema.name
            ),
        ));
    }
    schema.check_version(env.version)?;
    if env.version != schema.version {
        obj.obj_meta_mut()
            .set_version(Some(env.version.to_string()));
    }
    Ok(env)
}

/// The checks of `obj_from_primitive` on the envelope read by the fast
/// path: whether `name`, `namespace` and `version` are ones this class
/// loads (anything else goes to the general path for Python's error).
pub fn fast_envelope_ok(
    schema: &Schema,
    name: Option<&str>,
    namespace: Option<&str>,
    version: Option<&str>,
) -> bool {
    name == Some(schema.name)
        && namespace == Some(schema.project_namespace)
        && version.is_some_and(|v| schema.check_version(v).is_ok())
}

/// The last step of `obj_from_primitive`: the change set becomes the
/// received changes that are fields of the class.
pub fn set_received_changes<O: Object>(obj: &mut O, env: &Envelope<'_>) {
    let schema = obj.obj_schema();
    let changes: BTreeSet<&'static str> = env
        .changes
        .iter()
        .filter_map(|c| schema.field(c).map(|f| f.name))
        .collect();
    obj.obj_meta_mut().set_changes(changes);
}

/// The error for a field name the class does not have.
pub fn no_such_field(class: &str, field: &str) -> ObjectError {
    ObjectError::new(
        ErrorKind::Value,
        format!("{class} object has no field {field}"),
    )
}

/// The concrete object of a [`FieldValue::Object`].
///
/// # Errors
///
/// Another value, or an object of another class.
pub fn downcast_object<O: VersionedObject + Clone>(value: FieldValue) -> Result<O> {
    match value {
        FieldValue::Object(o) => o.as_any().downcast_ref::<O>().cloned().ok_or_else(|| {
            ObjectError::value(format!(
                "An object of type {} is required, not a {}",
                O::OBJ_NAME,
                o.obj_name()
            ))
        }),
        other => Err(crate::field::data_mismatch(O::OBJ_NAME, &other)),
    }
}
