//! [`FieldData`]: the Rust types that typed object fields hold.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indexmap::IndexMap;
use ipnet::IpNet;
use serde_json::Value;

use super::{Field, FieldType, FieldValue};
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
    /// Reads a (non-null) primitive of `field`: the same result as
    /// `from_field_value(field.from_primitive(attr, value)?)`, which is the
    /// default; types override it with a direct path for the common case.
    ///
    /// # Errors
    ///
    /// The value is refused, with Python's error.
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        Self::from_field_value(field.from_primitive(attr, value)?)
    }
    /// The fast read path ([`super::fast`]): reads the canonical
    /// primitive straight from a deserializer, or fails with
    /// [`super::fast::FALLBACK`] (the default) so that the caller uses the
    /// general path.
    ///
    /// # Errors
    ///
    /// Any value off the fast path.
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        let _ = (d, field);
        Err(super::fast::fallback())
    }
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

/// Appends `s` as a JSON string (serde_json's escaping: `"`, `\\` and
/// control characters; other characters as they are).
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{b:04x}")),
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
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
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        match &field.ty {
            FieldType::String | FieldType::SensitiveString | FieldType::Uuid => {
                <String as serde::Deserialize>::deserialize(d)
            }
            FieldType::Enum { valid, .. } => {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                if valid.values.contains(&s) {
                    Ok(s)
                } else {
                    Err(super::fast::fallback())
                }
            }
            _ => Err(super::fast::fallback()),
        }
    }
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        match (&field.ty, value) {
            (
                FieldType::String | FieldType::SensitiveString | FieldType::Uuid,
                Value::String(s),
            ) => Ok(s.clone()),
            _ => Self::from_field_value(field.from_primitive(attr, value)?),
        }
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
            fn deserialize_fast<'de, D: serde::Deserializer<'de>>(d: D, field: &Field) -> std::result::Result<Self, D::Error> {
                match field.ty {
                    FieldType::Integer => <$t as serde::Deserialize>::deserialize(d),
                    _ => Err(super::fast::fallback()),
                }
            }
            fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
                if let (FieldType::Integer, Some(v)) =
                    (&field.ty, value.as_i64().and_then(|i| <$t>::try_from(i).ok()))
                {
                    return Ok(v);
                }
                Self::from_field_value(field.from_primitive(attr, value)?)
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
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        match field.ty {
            FieldType::Float => <f64 as serde::Deserialize>::deserialize(d),
            _ => Err(super::fast::fallback()),
        }
    }
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        match (&field.ty, value) {
            (FieldType::Float, Value::Number(n)) if n.as_f64().is_some() => {
                Ok(n.as_f64().unwrap_or_default())
            }
            _ => Self::from_field_value(field.from_primitive(attr, value)?),
        }
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
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        match field.ty {
            FieldType::Boolean | FieldType::FlexibleBoolean => {
                <bool as serde::Deserialize>::deserialize(d)
            }
            _ => Err(super::fast::fallback()),
        }
    }
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        match (&field.ty, value) {
            (FieldType::Boolean | FieldType::FlexibleBoolean, Value::Bool(b)) => Ok(*b),
            _ => Self::from_field_value(field.from_primitive(attr, value)?),
        }
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
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        match field.ty {
            FieldType::DateTime { tzinfo_aware } => {
                d.deserialize_str(super::fast::StrVisitor(|s: &str| {
                    DateTime::parse(s).ok().map(|dt| {
                        if tzinfo_aware {
                            dt
                        } else {
                            dt.without_offset()
                        }
                    })
                }))
            }
            _ => Err(super::fast::fallback()),
        }
    }
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        if let (FieldType::DateTime { tzinfo_aware }, Value::String(s)) = (&field.ty, value)
            && let Ok(dt) = DateTime::parse(s)
        {
            // A parsed value always has an offset (none given: UTC).
            return Ok(if *tzinfo_aware {
                dt
            } else {
                dt.without_offset()
            });
        }
        Self::from_field_value(field.from_primitive(attr, value)?)
    }
}

impl FieldData for IpAddr {
    fn to_field_value(&self) -> FieldValue {
        FieldValue::Ip(*self)
    }
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        let ty = field.ty.clone();
        d.deserialize_str(super::fast::StrVisitor(move |s: &str| {
            let a = s.parse::<IpAddr>().ok()?;
            let ok = match ty {
                FieldType::IpAddress | FieldType::IpV4AndV6Address => true,
                FieldType::IpV4Address => a.is_ipv4(),
                FieldType::IpV6Address => a.is_ipv6(),
                _ => false,
            };
            ok.then_some(a)
        }))
    }
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        if let Value::String(s) = value
            && let Ok(a) = s.parse::<IpAddr>()
        {
            let ok = match field.ty {
                FieldType::IpAddress | FieldType::IpV4AndV6Address => true,
                FieldType::IpV4Address => a.is_ipv4(),
                FieldType::IpV6Address => a.is_ipv6(),
                _ => false,
            };
            if ok {
                return Ok(a);
            }
        }
        Self::from_field_value(field.from_primitive(attr, value)?)
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
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        if value.is_null() {
            return Self::from_field_value(field.from_primitive(attr, value)?);
        }
        T::from_primitive(value, field, attr).map(Some)
    }
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        super::fast::deserialize_option::<D, T>(d, field)
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
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        T::from_primitive(value, field, attr).map(Box::new)
    }
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        T::deserialize_fast(d, field).map(Box::new)
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
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        if let (FieldType::List(elem), Value::Array(items)) = (&field.ty, value) {
            let fast: Result<Vec<T>> = items
                .iter()
                .map(|item| T::from_primitive(item, elem, attr))
                .collect();
            if let Ok(v) = fast {
                return Ok(v);
            }
        }
        // The general path, for other shapes and for Python's exact error.
        Self::from_field_value(field.from_primitive(attr, value)?)
    }
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        match &field.ty {
            FieldType::List(elem) => d.deserialize_seq(super::fast::SeqVisitor {
                elem,
                _t: std::marker::PhantomData,
            }),
            _ => Err(super::fast::fallback()),
        }
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

/// A string-keyed map field (`DictOfX`): `$map<String, T>` as a
/// `FieldValue::Dict` and a JSON object; further methods (the fast paths)
/// go in the braces.
macro_rules! map_data {
    ($map:ident, $what:literal, { $($more:tt)* }) => {
        impl<T: FieldData> FieldData for $map<String, T> {
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
                    other => Err(mismatch($what, &other)),
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
            $($more)*
        }
    };
}

map_data!(IndexMap, "an IndexMap", {
    fn from_primitive(value: &Value, field: &Field, attr: &str) -> Result<Self> {
        if let (FieldType::Dict(elem), Value::Object(map)) = (&field.ty, value) {
            let fast: Result<IndexMap<String, T>> = map
                .iter()
                .map(|(k, v)| Ok((k.clone(), T::from_primitive(v, elem, attr)?)))
                .collect();
            if let Ok(v) = fast {
                return Ok(v);
            }
        }
        Self::from_field_value(field.from_primitive(attr, value)?)
    }
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        d: D,
        field: &Field,
    ) -> std::result::Result<Self, D::Error> {
        match &field.ty {
            FieldType::Dict(elem) => d.deserialize_map(super::fast::MapVisitor {
                elem,
                _t: std::marker::PhantomData,
            }),
            _ => Err(super::fast::fallback()),
        }
    }
});

map_data!(BTreeMap, "a BTreeMap", {});
