//! [`Slot`]: a typed field's state (unset, None or a value) and
//! [`ObjectMeta`]: an object's change set and received version.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{ErrorKind, ObjectError, Result};
use crate::field::{FieldData, FieldValue};

/// A typed field: never assigned (`Unset`, absent from the primitive),
/// assigned None (`Null`, written `null`), or holding a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Slot<T> {
    /// Never assigned: Python's `obj_attr_is_set` is False.
    #[default]
    Unset,
    /// Assigned None (nullable fields only).
    Null,
    /// Holding a value.
    Value(T),
}

impl<T: FieldData> Slot<T> {
    /// The value, if the field holds one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Slot::Value(v) => Some(v),
            _ => None,
        }
    }
    /// The value, mutably (in-place changes are not tracked, as in Python).
    pub fn value_mut(&mut self) -> Option<&mut T> {
        match self {
            Slot::Value(v) => Some(v),
            _ => None,
        }
    }
    /// Reads the field as Python does: an unset field is an error
    /// (`NotImplementedError: Cannot load 'x' in the base class`), None is
    /// `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unset`] for an unset field.
    pub fn get(&self, name: &str) -> Result<Option<&T>> {
        match self {
            Slot::Unset => Err(ObjectError::new(
                ErrorKind::Unset,
                format!("Cannot load '{name}' in the base class"),
            )),
            Slot::Null => Ok(None),
            Slot::Value(v) => Ok(Some(v)),
        }
    }
    /// Whether the field was assigned (`obj_attr_is_set`).
    pub fn is_set(&self) -> bool {
        !matches!(self, Slot::Unset)
    }
    /// Whether the field holds None.
    pub fn is_null(&self) -> bool {
        matches!(self, Slot::Null)
    }
    /// The value as Python holds it; None when unset.
    pub fn to_field_value(&self) -> Option<FieldValue> {
        match self {
            Slot::Unset => None,
            Slot::Null => Some(FieldValue::None),
            Slot::Value(v) => Some(v.to_field_value()),
        }
    }
    /// The slot for a coerced value.
    ///
    /// # Errors
    ///
    /// The Rust type does not match the field type.
    pub fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::None => Ok(Slot::Null),
            v => T::from_field_value(v).map(Slot::Value),
        }
    }
    /// Reads a field's primitive as `obj_from_primitive` does (the type's
    /// `from_primitive`, then the setter's coerce and None rules).
    ///
    /// # Errors
    ///
    /// The value is refused, as [`crate::Field::from_primitive`].
    pub fn from_primitive(value: &Value, field: &crate::Field, attr: &str) -> Result<Self> {
        if value.is_null() {
            return Self::from_field_value(field.coerce(attr, FieldValue::None)?);
        }
        T::from_primitive(value, field, attr).map(Slot::Value)
    }
    /// The primitive of a set field (None when unset).
    pub fn to_primitive(&self) -> Option<Value> {
        match self {
            Slot::Unset => None,
            Slot::Null => Some(Value::Null),
            Slot::Value(v) => Some(v.to_primitive()),
        }
    }
    /// Appends the JSON of a set field's primitive.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Slot::Unset => {}
            Slot::Null => out.push_str("null"),
            Slot::Value(v) => v.write_json(out),
        }
    }
    /// The held object, for an `ObjectField` holding one.
    pub fn as_object(&self) -> Option<&dyn crate::Object> {
        self.value().and_then(FieldData::as_object)
    }
    /// Resets the changes of the objects this field holds.
    pub fn reset_changes_recursive(&mut self) {
        if let Slot::Value(v) = self {
            v.reset_changes_recursive();
        }
    }
}

/// What every object carries besides its fields: the set of changed field
/// names and the version the object was received at (None: the class's
/// `VERSION`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMeta {
    changes: BTreeSet<&'static str>,
    version: Option<String>,
}

impl ObjectMeta {
    /// Marks a field changed.
    pub fn mark(&mut self, field: &'static str) {
        self.changes.insert(field);
    }
    /// The changed fields (the object's own set, without sub-objects).
    pub fn changes(&self) -> &BTreeSet<&'static str> {
        &self.changes
    }
    /// Replaces the change set.
    pub fn set_changes(&mut self, changes: BTreeSet<&'static str>) {
        self.changes = changes;
    }
    /// Clears the change set, or only the named fields.
    pub fn reset(&mut self, fields: Option<&[&str]>) {
        match fields {
            None => self.changes.clear(),
            Some(names) => self.changes.retain(|c| !names.contains(c)),
        }
    }
    /// The instance's version when it differs from the class's.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// Sets the instance's version (what `obj_from_primitive` does with
    /// the received version).
    pub fn set_version(&mut self, version: Option<String>) {
        self.version = version;
    }
}
