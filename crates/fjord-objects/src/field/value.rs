//! [`FieldValue`]: a field's value as Python holds it, for the dynamic
//! side of the crate (coercion, the serializer, `object_action` diffs).

use std::net::IpAddr;

use indexmap::IndexMap;
use ipnet::IpNet;

use crate::datetime::DateTime;
use crate::object::Object;

/// A dynamically typed field value: what a Python attribute can hold.
/// Typed Rust fields convert to and from it ([`crate::FieldData`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum FieldValue {
    /// Python `None`.
    None,
    /// `bool`.
    Bool(bool),
    /// `int` (wide enough for anything JSON carries as an integer).
    Int(i128),
    /// `float`.
    Float(f64),
    /// `str`.
    Str(String),
    /// `datetime.datetime`.
    DateTime(DateTime),
    /// `netaddr.IPAddress`.
    Ip(IpAddr),
    /// `netaddr.IPNetwork` (host bits kept).
    Net(IpNet),
    /// `list`.
    List(Vec<FieldValue>),
    /// `tuple`.
    Tuple(Vec<FieldValue>),
    /// `set`: no two elements equal, order of insertion.
    Set(Vec<FieldValue>),
    /// `dict` with string keys, insertion order.
    Dict(IndexMap<String, FieldValue>),
    /// A versioned object.
    Object(Box<dyn Object>),
}

impl Clone for FieldValue {
    fn clone(&self) -> Self {
        match self {
            FieldValue::None => FieldValue::None,
            FieldValue::Bool(b) => FieldValue::Bool(*b),
            FieldValue::Int(i) => FieldValue::Int(*i),
            FieldValue::Float(f) => FieldValue::Float(*f),
            FieldValue::Str(s) => FieldValue::Str(s.clone()),
            FieldValue::DateTime(d) => FieldValue::DateTime(*d),
            FieldValue::Ip(i) => FieldValue::Ip(*i),
            FieldValue::Net(n) => FieldValue::Net(*n),
            FieldValue::List(v) => FieldValue::List(v.clone()),
            FieldValue::Tuple(v) => FieldValue::Tuple(v.clone()),
            FieldValue::Set(v) => FieldValue::Set(v.clone()),
            FieldValue::Dict(d) => FieldValue::Dict(d.clone()),
            FieldValue::Object(o) => FieldValue::Object(o.clone_box()),
        }
    }
}

impl PartialEq for FieldValue {
    /// Python's `==`, except that objects compare by identity, as nova's
    /// objects (no `__eq__`) do: two object values are never equal.
    fn eq(&self, other: &Self) -> bool {
        use FieldValue as V;
        match (self, other) {
            (V::None, V::None) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Int(a), V::Int(b)) => a == b,
            (V::Float(a), V::Float(b)) => a == b,
            (V::Int(a), V::Float(b)) | (V::Float(b), V::Int(a)) => (*a as f64) == *b,
            (V::Bool(a), V::Int(b)) | (V::Int(b), V::Bool(a)) => i128::from(*a) == *b,
            (V::Str(a), V::Str(b)) => a == b,
            (V::DateTime(a), V::DateTime(b)) => a == b,
            (V::Ip(a), V::Ip(b)) => a == b,
            (V::Net(a), V::Net(b)) => a == b,
            (V::List(a), V::List(b)) | (V::Tuple(a), V::Tuple(b)) => a == b,
            (V::Set(a), V::Set(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)),
            (V::Dict(a), V::Dict(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            _ => false,
        }
    }
}

impl FieldValue {
    /// Python's type name (`type(v).__name__`), used in error messages.
    pub fn py_type_name(&self) -> String {
        match self {
            FieldValue::None => "NoneType".into(),
            FieldValue::Bool(_) => "bool".into(),
            FieldValue::Int(_) => "int".into(),
            FieldValue::Float(_) => "float".into(),
            FieldValue::Str(_) => "str".into(),
            FieldValue::DateTime(_) => "datetime".into(),
            FieldValue::Ip(_) => "IPAddress".into(),
            FieldValue::Net(_) => "IPNetwork".into(),
            FieldValue::List(_) => "list".into(),
            FieldValue::Tuple(_) => "tuple".into(),
            FieldValue::Set(_) => "set".into(),
            FieldValue::Dict(_) => "dict".into(),
            FieldValue::Object(o) => o.obj_name().into(),
        }
    }

    /// Python's `str(v)`.
    pub fn py_str(&self) -> String {
        match self {
            FieldValue::Str(s) => s.clone(),
            FieldValue::DateTime(d) => d.py_str(),
            FieldValue::Ip(i) => i.to_string(),
            FieldValue::Net(n) => n.to_string(),
            other => other.py_repr(),
        }
    }

    /// Python's `repr(v)` (for plain data; objects print their name).
    pub fn py_repr(&self) -> String {
        fn join(items: &[FieldValue]) -> String {
            items
                .iter()
                .map(FieldValue::py_repr)
                .collect::<Vec<_>>()
                .join(", ")
        }
        match self {
            FieldValue::None => "None".into(),
            FieldValue::Bool(true) => "True".into(),
            FieldValue::Bool(false) => "False".into(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::Float(f) => py_float_repr(*f),
            FieldValue::Str(s) => fjord_config::pyrepr::py_repr(s),
            FieldValue::DateTime(d) => format!("datetime({})", d.isoformat()),
            FieldValue::Ip(i) => format!("IPAddress('{i}')"),
            FieldValue::Net(n) => format!("IPNetwork('{n}')"),
            FieldValue::List(v) => format!("[{}]", join(v)),
            FieldValue::Tuple(v) if v.len() == 1 => format!("({},)", v[0].py_repr()),
            FieldValue::Tuple(v) => format!("({})", join(v)),
            FieldValue::Set(v) if v.is_empty() => "set()".into(),
            FieldValue::Set(v) => format!("{{{}}}", join(v)),
            FieldValue::Dict(d) => format!(
                "{{{}}}",
                d.iter()
                    .map(|(k, v)| format!("{}: {}", fjord_config::pyrepr::py_repr(k), v.py_repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            FieldValue::Object(o) => format!("{}(...)", o.obj_name()),
        }
    }

    /// Python truthiness (`bool(v)`).
    pub fn truthy(&self) -> bool {
        match self {
            FieldValue::None => false,
            FieldValue::Bool(b) => *b,
            FieldValue::Int(i) => *i != 0,
            FieldValue::Float(f) => *f != 0.0,
            FieldValue::Str(s) => !s.is_empty(),
            FieldValue::List(v) | FieldValue::Tuple(v) | FieldValue::Set(v) => !v.is_empty(),
            FieldValue::Dict(d) => !d.is_empty(),
            FieldValue::Ip(i) => match i {
                IpAddr::V4(a) => u32::from(*a) != 0,
                IpAddr::V6(a) => u128::from(*a) != 0,
            },
            FieldValue::DateTime(_) | FieldValue::Net(_) | FieldValue::Object(_) => true,
        }
    }

    /// Reads plain JSON: objects become dicts, arrays lists (object
    /// primitives are read by the field types that expect them).
    pub fn from_json(v: &serde_json::Value) -> FieldValue {
        use serde_json::Value as J;
        match v {
            J::Null => FieldValue::None,
            J::Bool(b) => FieldValue::Bool(*b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    FieldValue::Int(i128::from(i))
                } else if let Some(u) = n.as_u64() {
                    FieldValue::Int(i128::from(u))
                } else {
                    FieldValue::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => FieldValue::Str(s.clone()),
            J::Array(a) => FieldValue::List(a.iter().map(FieldValue::from_json).collect()),
            J::Object(m) => FieldValue::Dict(
                m.iter()
                    .map(|(k, v)| (k.clone(), FieldValue::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// Python's `repr(float)`: the shortest digits that read back, with an
/// exponent below 1e-4 and from 1e16 on (`1e+16`), `inf`, `nan`.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let e = format!("{f:e}"); // shortest round-trip digits: "1.5e0", "-1e16"
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}
