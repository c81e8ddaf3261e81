//! [`FieldData`]: the Rust types that typed object fields hold.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indexmap::IndexMap;
use ipnet::IpNet;
use serde_json::Value;

use super::FieldValue;
use crate::datetime::DateTime;
use crate::error::{ObjectError, Result};

/// A Rust type a typed object field can hold. The field's declared
/// [`super::FieldType`] decides the coercion; this trait converts the
/// coerced [`FieldValue`] to the Rust type and writes the primitive.
///
/// Implemented for `String`, the integer types, `f64`, `bool`,
/// [`DateTime`], IP addresses and [`IpNet`], `Vec<T>`, `IndexMap<String,
/// T>`, `BTreeMap<String, T>`, `BTreeSet<T>`, `Option<T>` (nullable
/// elements), `Box<T>`, and every `#[derive(VersionedObject)]` type.
pub trait FieldData: Sized + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The value as Python would hold it.
    fn to_field_value(&self) -> FieldValue;
    /// The Rust value of a coerced field value.
    ///
    /// # Errors
    ///
    /// A value of another shape: the Rust type does not match the declared
    /// field type.
    fn from_field_value(value: FieldValue) -> Result<Self>;
    /// The primitive (JSON) Python writes for this value.
    fn to_primitive(&self) -> Value;
    /// Appends the primitive as JSON text, objects with their keys in the
    /// order Python writes them.
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_primitive().to_string());
    }
    /// The value as an object, when it is one (an `ObjectField` value):
    /// `obj_what_changed` looks into it.
    fn as_object(&self) -> Option<&dyn crate::Object> {
        None
    }
    /// `obj_reset_changes(recursive=True)` on the objects this value holds
    /// (an object, or the elements of a list of objects).
    fn reset_changes_recursive(&mut self) {}
}

pub(crate) fn mismatch(want: &str, got: &FieldValue) -> ObjectError {
    ObjectError::new(
        crate::ErrorKind::Type,
        format!(
            "the Rust field holds {want} but the field type gave a {}",
            got.py_type_name()
        ),
    )
}

pub(crate) fn write_str(out: &mut String, s: &str) {
    // serde_json's string escaping; writing to a String cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

impl FieldData for String {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Str(self.clone())
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Str(s) => Ok(s),
            other => Err(mismatch("a String", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::String(self.clone())
    }
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

macro_rules! int_data {
    ($($t:ty),*) => {$(
        impl FieldData for $t {
            fn to_field_value(&self) -> FieldValue {
                FieldValue::Int(i128::from(*self))
            }
            fn from_field_value(value: FieldValue) -> Result<Self> {
                match value {
                    FieldValue::Int(i) => <$t>::try_from(i).map_err(|_| {
                        ObjectError::value(format!(
                            "integer {i} out of range for {}", stringify!($t)
                        ))
                    }),
                    other => Err(mismatch(stringify!($t), &other)),
                }
            }
            fn to_primitive(&self) -> Value {
                Value::from(*self)
            }
            fn write_json(&self, out: &mut String) {
                use std::fmt::Write as _;
                let _ = write!(out, "{}", self);
            }
        }
    )*};
}
int_data!(i32, i64, u32, u64);

impl FieldData for i128 {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Int(*self)
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Int(i) => Ok(i),
            other => Err(mismatch("an i128", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        super::coerce::to_primitive(&FieldValue::Int(*self))
    }
}

impl FieldData for f64 {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Float(*self)
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Float(f) => Ok(f),
            other => Err(mismatch("an f64", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        super::coerce::to_primitive(&FieldValue::Float(*self))
    }
}

impl FieldData for bool {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Bool(*self)
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Bool(b) => Ok(b),
            other => Err(mismatch("a bool", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::Bool(*self)
    }
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl FieldData for DateTime {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::DateTime(*self)
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::DateTime(d) => Ok(d),
            other => Err(mismatch("a DateTime", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::String(DateTime::to_primitive(self))
    }
    fn write_json(&self, out: &mut String) {
        out.push('"');
        out.push_str(&DateTime::to_primitive(self));
        out.push('"');
    }
}

impl FieldData for IpAddr {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Ip(*self)
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Ip(a) => Ok(a),
            other => Err(mismatch("an IpAddr", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl FieldData for Ipv4Addr {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Ip(IpAddr::V4(*self))
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Ip(IpAddr::V4(a)) => Ok(a),
            other => Err(mismatch("an Ipv4Addr", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl FieldData for Ipv6Addr {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Ip(IpAddr::V6(*self))
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Ip(IpAddr::V6(a)) => Ok(a),
            other => Err(mismatch("an Ipv6Addr", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl FieldData for IpNet {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Net(*self)
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Net(n) => Ok(n),
            other => Err(mismatch("an IpNet", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl<T: FieldData> FieldData for Option<T> {
    fn to_field_value(&self) -> FieldValue {
        match self {
            None => FieldValue::None,
            Some(v) => v.to_field_value(),
        }
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::None => Ok(None),
            v => T::from_field_value(v).map(Some),
        }
    }
    fn to_primitive(&self) -> Value {
        match self {
            None => Value::Null,
            Some(v) => v.to_primitive(),
        }
    }
    fn write_json(&self, out: &mut String) {
        match self {
            None => out.push_str("null"),
            Some(v) => v.write_json(out),
        }
    }
}

impl<T: FieldData> FieldData for Box<T> {
    fn to_field_value(&self) -> FieldValue {
        (**self).to_field_value()
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        T::from_field_value(value).map(Box::new)
    }
    fn to_primitive(&self) -> Value {
        (**self).to_primitive()
    }
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out)
    }
    fn as_object(&self) -> Option<&dyn crate::Object> {
        (**self).as_object()
    }
    fn reset_changes_recursive(&mut self) {
        (**self).reset_changes_recursive()
    }
}

fn write_seq<'a, T: FieldData + 'a>(out: &mut String, items: impl Iterator<Item = &'a T>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_json(out);
    }
    out.push(']');
}

fn write_map<'a, T: FieldData + 'a>(
    out: &mut String,
    items: impl Iterator<Item = (&'a String, &'a T)>,
) {
    out.push('{');
    for (i, (k, v)) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(out, k);
        out.push_str(": ");
        v.write_json(out);
    }
    out.push('}');
}

impl<T: FieldData> FieldData for Vec<T> {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::List(self.iter().map(FieldData::to_field_value).collect())
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::List(v) | FieldValue::Tuple(v) => {
                v.into_iter().map(T::from_field_value).collect()
            }
            other => Err(mismatch("a Vec", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::Array(self.iter().map(FieldData::to_primitive).collect())
    }
    fn write_json(&self, out: &mut String) {
        write_seq(out, self.iter());
    }
    fn reset_changes_recursive(&mut self) {
        for item in self {
            item.reset_changes_recursive();
        }
    }
}

impl<T: FieldData + Ord> FieldData for BTreeSet<T> {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Set(self.iter().map(FieldData::to_field_value).collect())
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Set(v) => v.into_iter().map(T::from_field_value).collect(),
            other => Err(mismatch("a BTreeSet", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::Array(self.iter().map(FieldData::to_primitive).collect())
    }
    fn write_json(&self, out: &mut String) {
        write_seq(out, self.iter());
    }
}

impl<T: FieldData> FieldData for IndexMap<String, T> {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Dict(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_field_value()))
                .collect(),
        )
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Dict(d) => d
                .into_iter()
                .map(|(k, v)| Ok((k, T::from_field_value(v)?)))
                .collect(),
            other => Err(mismatch("an IndexMap", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_primitive()))
                .collect(),
        )
    }
    fn write_json(&self, out: &mut String) {
        write_map(out, self.iter());
    }
}

impl<T: FieldData> FieldData for BTreeMap<String, T> {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Dict(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_field_value()))
                .collect(),
        )
    }
    fn from_field_value(value: FieldValue) -> Result<Self> {
        match value {
            FieldValue::Dict(d) => d
                .into_iter()
                .map(|(k, v)| Ok((k, T::from_field_value(v)?)))
                .collect(),
            other => Err(mismatch("a BTreeMap", &other)),
        }
    }
    fn to_primitive(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_primitive()))
                .collect(),
        )
    }
    fn write_json(&self, out: &mut String) {
        write_map(out, self.iter());
    }
}
