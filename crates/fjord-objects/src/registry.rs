//! [`Registry`]: object classes by name, several versions each
//! (`VersionedObjectRegistry` and `obj_class_from_name`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{ErrorKind, ObjectError, Result};
use crate::object::{Envelope, Manifest, Object, Schema, VersionedObject, obj_tree_get_versions};
use crate::version::Version;

/// Object classes of one project (one serial and project namespace), by
/// name and version: what a service's `OBJ_BASE_CLASS` sees.
///
/// # Examples
///
/// ```
/// # use fjord_objects::{Registry, Slot, ObjectMeta, VersionedObject};
/// # #[derive(Debug, Clone, VersionedObject)]
/// # #[object(name = "Tag", version = "1.1", serial_namespace = "nova_object", project_namespace = "nova")]
/// # pub struct Tag { #[field(String)] pub tag: Slot<String>, meta: ObjectMeta }
/// let mut reg = Registry::new("nova_object", "nova");
/// reg.register::<Tag>();
/// let obj = reg.obj_from_primitive(&serde_json::json!({
///     "nova_object.name": "Tag", "nova_object.namespace": "nova",
///     "nova_object.version": "1.0", "nova_object.data": {"tag": "x"}}))?;
/// assert_eq!(obj.obj_version(), "1.0");
/// # Ok::<(), fjord_objects::ObjectError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    serial_namespace: &'static str,
    project_namespace: &'static str,
    /// `S.name`, the key that makes a JSON object an object primitive.
    name_key: String,
    classes: BTreeMap<&'static str, Vec<&'static Schema>>,
}

impl Registry {
    /// An empty registry for objects with these namespaces.
    pub fn new(serial_namespace: &'static str, project_namespace: &'static str) -> Registry {
        Registry {
            serial_namespace,
            project_namespace,
            name_key: format!("{serial_namespace}.name"),
            classes: BTreeMap::new(),
        }
    }
    /// The serial namespace (`S`).
    pub fn serial_namespace(&self) -> &'static str {
        self.serial_namespace
    }
    /// The project namespace (`P`).
    pub fn project_namespace(&self) -> &'static str {
        self.project_namespace
    }
    /// Registers a class (one version of its name).
    pub fn register<O: VersionedObject>(&mut self) -> &mut Self {
        self.register_schema(O::schema())
    }
    /// Registers a class by its schema.
    pub fn register_schema(&mut self, schema: &'static Schema) -> &mut Self {
        let list = self.classes.entry(schema.name).or_default();
        if !list.iter().any(|s| s.version == schema.version) {
            list.push(schema);
            list.sort_by(|a, b| {
                let va = Version::parse(a.version).ok();
                let vb = Version::parse(b.version).ok();
                vb.cmp(&va)
            });
        }
        self
    }
    /// The registered names.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.classes.keys().copied()
    }
    /// The newest registered class of `name`.
    pub fn newest(&self, name: &str) -> Option<&'static Schema> {
        self.classes.get(name).and_then(|l| l.first().copied())
    }
    /// `obj_class_from_name(name, version)`: the class with exactly that
    /// version, otherwise the newest one of the same major that is not
    /// older.
    ///
    /// # Errors
    ///
    /// `UnsupportedObjectError` for an unknown name,
    /// `IncompatibleObjectVersion` when no class fits.
    pub fn class_for(&self, name: &str, version: &str) -> Result<&'static Schema> {
        let list = self.classes.get(name).ok_or_else(|| {
            ObjectError::new(
                ErrorKind::UnsupportedObject,
                format!("Unsupported object type {name}"),
            )
        })?;
        if let Some(s) = list.iter().find(|s| s.version == version) {
            return Ok(s);
        }
        let wanted = Version::parse(version)?;
        let mut best: Option<(&'static Schema, Version)> = None;
        for s in list {
            let v = Version::parse(s.version)?;
            if v.major() == wanted.major()
                && v >= wanted
                && best.as_ref().is_none_or(|(_, b)| v > *b)
            {
                best = Some((s, v));
            }
        }
        match best {
            Some((s, _)) => Ok(s),
            None => Err(ObjectError::incompatible(
                name,
                version,
                list.first().map(|s| s.version).unwrap_or("?"),
            )),
        }
    }
    /// Whether `value` is an object primitive of this registry's serial
    /// namespace (a JSON object with an `S.name` key).
    pub fn is_primitive(&self, value: &Value) -> bool {
        value
            .as_object()
            .is_some_and(|m| m.contains_key(&self.name_key))
    }
    /// `obj_from_primitive` on the registry's base class: picks the class
    /// by name and version and loads the object.
    ///
    /// # Errors
    ///
    /// `KeyError`, `UnsupportedObjectError`, `IncompatibleObjectVersion`,
    /// a field's error.
    pub fn obj_from_primitive(&self, primitive: &Value) -> Result<Box<dyn Object>> {
        let env = Envelope::read(primitive, self.serial_namespace, self.project_namespace)?;
        let schema = self.class_for(env.name, env.version)?;
        (schema.from_primitive)(primitive)
    }
    /// `obj_tree_get_versions(name)` from the newest registered class.
    ///
    /// # Errors
    ///
    /// `UnsupportedObjectError` for an unknown name.
    pub fn tree_versions(&self, name: &str) -> Result<Manifest> {
        let schema = self.newest(name).ok_or_else(|| {
            ObjectError::new(
                ErrorKind::UnsupportedObject,
                format!("Unsupported object type {name}"),
            )
        })?;
        Ok(obj_tree_get_versions(schema))
    }
}
