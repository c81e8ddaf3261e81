//! Typed option values and conversions out of them.

use std::fmt;
use std::net::IpAddr;

use indexmap::IndexMap;

/// The typed value of an option (after parsing, substitution and checks).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Value {
    /// A string (also URIs).
    Str(String),
    /// An integer (also ports).
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An IP address.
    Ip(IpAddr),
    /// A list value, or every value of a multi-valued option.
    List(Vec<Value>),
    /// A `key:value,...` dictionary, in written order.
    Dict(IndexMap<String, String>),
}

impl Value {
    /// The value the way a sample file or the option log writes it:
    /// booleans lower-case, lists joined with `,`, dicts as `k:v,k2:v2`.
    pub fn to_conf_string(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Ip(ip) => ip.to_string(),
            Value::List(items) => items
                .iter()
                .map(Value::to_conf_string)
                .collect::<Vec<_>>()
                .join(","),
            Value::Dict(map) => map
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Python's `str(value)`, which is what oslo substitutes for a `$ref`
    /// to a typed option (`True`, `['a', 'b']`, `{'k': 'v'}`).
    pub(crate) fn py_str(&self) -> String {
        fn item(v: &Value) -> String {
            match v {
                Value::Str(s) => crate::ini::py_repr(s),
                other => other.py_str(),
            }
        }
        match self {
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() => format!("{f:.1}"),
            Value::List(items) => {
                format!(
                    "[{}]",
                    items.iter().map(item).collect::<Vec<_>>().join(", ")
                )
            }
            Value::Dict(map) => format!(
                "{{{}}}",
                map.iter()
                    .map(|(k, v)| format!("{}: {}", crate::ini::py_repr(k), crate::ini::py_repr(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_conf_string(),
        }
    }

    /// A short name of the variant, for type-mismatch errors.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "boolean",
            Value::Ip(_) => "IP address",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_conf_string())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u16> for Value {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<IpAddr> for Value {
    fn from(v: IpAddr) -> Self {
        Value::Ip(v)
    }
}
impl From<Vec<&str>> for Value {
    fn from(v: Vec<&str>) -> Self {
        Value::List(v.into_iter().map(Value::from).collect())
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::List(v.into_iter().map(Value::Str).collect())
    }
}
impl<const N: usize> From<[&str; N]> for Value {
    fn from(v: [&str; N]) -> Self {
        Value::List(v.into_iter().map(Value::from).collect())
    }
}

/// Conversion out of an option's [`Value`], used by [`crate::ConfigOpts::get`].
///
/// Implemented for `String`, the integer types, `f64`, `bool`, `IpAddr`,
/// `Vec<T>`, `IndexMap<String, String>`, `std::time::Duration` (integer or
/// float seconds), [`Value`] itself and `Option<T>` (`None` when the option
/// has no value).
pub trait FromValue: Sized {
    /// Converts `value` (`None` when the option has no value and no default).
    ///
    /// # Errors
    ///
    /// A short description of what was expected when the value does not fit.
    fn from_value(value: Option<&Value>) -> Result<Self, String>;
}

fn need(value: Option<&Value>) -> Result<&Value, String> {
    value.ok_or_else(|| "the option has no value and no default".to_owned())
}

impl FromValue for Value {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        need(value).cloned()
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match value {
            None => Ok(None),
            Some(v) => T::from_value(Some(v)).map(Some),
        }
    }
}

impl FromValue for String {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match need(value)? {
            Value::Str(s) => Ok(s.clone()),
            other => Ok(other.to_conf_string()),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match need(value)? {
            Value::Bool(b) => Ok(*b),
            other => Err(format!("a boolean, the option is a {}", other.kind_name())),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match need(value)? {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("a number, the option is a {}", other.kind_name())),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Option<&Value>) -> Result<Self, String> {
                match need(value)? {
                    Value::Int(i) => <$t>::try_from(*i)
                        .map_err(|_| format!("a value that fits {}, got {i}", stringify!($t))),
                    other => Err(format!("an integer, the option is a {}", other.kind_name())),
                }
            }
        }
    )*};
}
int_from_value!(i64, i32, u16, u32, u64, usize);

impl FromValue for IpAddr {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match need(value)? {
            Value::Ip(ip) => Ok(*ip),
            Value::Str(s) => s.parse().map_err(|_| format!("an IP address, got {s:?}")),
            other => Err(format!(
                "an IP address, the option is a {}",
                other.kind_name()
            )),
        }
    }
}

impl FromValue for std::time::Duration {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match need(value)? {
            Value::Int(i) if *i >= 0 => Ok(std::time::Duration::from_secs(i.unsigned_abs())),
            Value::Float(f) if *f >= 0.0 && f.is_finite() => {
                Ok(std::time::Duration::from_secs_f64(*f))
            }
            other => Err(format!("a non-negative number of seconds, got {other}")),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match value {
            None => Ok(Vec::new()),
            Some(Value::List(items)) => items.iter().map(|v| T::from_value(Some(v))).collect(),
            Some(other) => Ok(vec![T::from_value(Some(other))?]),
        }
    }
}

impl FromValue for IndexMap<String, String> {
    fn from_value(value: Option<&Value>) -> Result<Self, String> {
        match value {
            None => Ok(IndexMap::new()),
            Some(Value::Dict(map)) => Ok(map.clone()),
            Some(other) => Err(format!("a dict, the option is a {}", other.kind_name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_str_forms() {
        assert_eq!(Value::Bool(true).py_str(), "True");
        assert_eq!(Value::from(vec!["a", "b"]).py_str(), "['a', 'b']");
        assert_eq!(Value::Float(2.0).py_str(), "2.0");
        assert_eq!(Value::from(vec!["a", "b"]).to_conf_string(), "a,b");
    }

    #[test]
    fn conversions() {
        assert_eq!(u16::from_value(Some(&Value::Int(80))), Ok(80));
        assert!(u16::from_value(Some(&Value::Int(-1))).is_err());
        assert_eq!(Option::<i64>::from_value(None), Ok(None));
        assert!(i64::from_value(None).is_err());
        assert_eq!(
            Vec::<String>::from_value(Some(&Value::from(vec!["x"]))),
            Ok(vec!["x".to_owned()])
        );
    }
}
