//! Each field type's `coerce`, `from_primitive` and `to_primitive`, with
//! Python's accepted inputs and error messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use indexmap::IndexMap;
use ipnet::IpNet;
use serde_json::Value;

use super::{FieldType, FieldValue};
use crate::datetime::DateTime;
use crate::error::{ErrorKind, ObjectError, Result};

fn value_err(msg: String) -> ObjectError {
    ObjectError::value(msg)
}

/// Python's `int(str)`: optional whitespace, sign, digits with single
/// underscores between them.
fn py_int_from_str(s: &str) -> Option<i128> {
    let t = fjord_config::pyrepr::py_strip(s);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let n: i128 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(str)`.
fn py_float_from_str(s: &str) -> Option<f64> {
    let t = fjord_config::pyrepr::py_strip(s).to_ascii_lowercase();
    let body = t.trim_start_matches(['+', '-']);
    match body {
        "inf" | "infinity" => {
            return Some(if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || "+-._e".contains(c)) {
        return None;
    }
    t.replace('_', "").parse().ok()
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok()
}

fn ip_from_value(v: &FieldValue) -> std::result::Result<IpAddr, String> {
    match v {
        FieldValue::Ip(a) => Ok(*a),
        FieldValue::Int(i) if *i >= 0 && *i <= i128::from(u32::MAX) => {
            Ok(IpAddr::V4(Ipv4Addr::from(*i as u32)))
        }
        FieldValue::Int(i) if *i >= 0 => Ok(IpAddr::V6(Ipv6Addr::from(*i as u128))),
        FieldValue::Str(s) => parse_ip(s).ok_or_else(|| s.clone()),
        other => Err(other.py_str()),
    }
}

fn net_from_value(v: &FieldValue) -> std::result::Result<IpNet, String> {
    match v {
        FieldValue::Net(n) => Ok(*n),
        FieldValue::Ip(a) => Ok(IpNet::from(*a)),
        FieldValue::Str(s) => {
            if let Ok(n) = s.parse::<IpNet>() {
                Ok(n)
            } else if let Some(a) = parse_ip(s) {
                Ok(IpNet::from(a))
            } else {
                Err(s.clone())
            }
        }
        other => Err(other.py_str()),
    }
}

fn mac(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase().replace('-', ":");
    let parts: Vec<&str> = lower.split(':').collect();
    if parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(lower)
    } else {
        None
    }
}

fn pci(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let b = lower.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(|c| c.is_ascii_hexdigit());
    let ok = b.len() == 12
        && hex(0..4)
        && b[4] == b':'
        && hex(5..7)
        && b[7] == b':'
        && (b[8] == b'0' || b[8] == b'1')
        && b[9].is_ascii_hexdigit()
        && b[10] == b'.'
        && (b'0'..=b'7').contains(&b[11]);
    ok.then_some(lower)
}

fn version_predicate_ok(s: &str) -> bool {
    // distutils' VersionPredicate: "check (op ver, op ver, ...)".
    s.split(',').all(|part| {
        let p = part.trim();
        let op_len = ["<=", ">=", "==", "!=", "<", ">"]
            .iter()
            .find(|op| p.starts_with(**op))
            .map(|op| op.len());
        match op_len {
            Some(n) => {
                let v = p[n..].trim();
                !v.is_empty()
                    && v.split('.')
                        .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            }
            None => false,
        }
    })
}

fn is_iterable_for_list(v: &FieldValue) -> bool {
    matches!(
        v,
        FieldValue::List(_) | FieldValue::Tuple(_) | FieldValue::Set(_)
    )
}

impl FieldType {
    /// The type's coerce step (`FieldType.coerce`) for a value that is not
    /// None (see [`super::Field::coerce`] for the None rules).
    ///
    /// # Errors
    ///
    /// What Python raises for the same value, with its message.
    pub fn coerce(&self, attr: &str, value: FieldValue) -> Result<FieldValue> {
        use FieldValue as V;
        match self {
            FieldType::String | FieldType::SensitiveString | FieldType::Uuid => match value {
                V::Str(_) => Ok(value),
                V::Int(_) | V::Float(_) | V::Bool(_) | V::DateTime(_) => Ok(V::Str(value.py_str())),
                other if matches!(self, FieldType::Uuid) => Ok(V::Str(other.py_str())),
                other => Err(value_err(format!(
                    "A string is required in field {attr}, not a {}",
                    other.py_type_name()
                ))),
            },
            FieldType::VersionPredicate => {
                let s = FieldType::String.coerce(attr, value)?;
                let text = s.py_str();
                if version_predicate_ok(&text) {
                    Ok(s)
                } else {
                    Err(value_err(format!(
                        "Version {text} is not a valid predicate in field {attr}"
                    )))
                }
            }
            FieldType::MacAddress => {
                let s = FieldType::String.coerce(attr, value)?.py_str();
                mac(&s)
                    .map(V::Str)
                    .ok_or_else(|| value_err(format!("Malformed MAC {s}")))
            }
            FieldType::PciAddress => {
                let s = FieldType::String.coerce(attr, value)?.py_str();
                pci(&s)
                    .map(V::Str)
                    .ok_or_else(|| value_err(format!("Malformed PCI address {s}")))
            }
            FieldType::Integer | FieldType::NonNegativeInteger => {
                let i = match value {
                    V::Int(i) => i,
                    V::Bool(b) => i128::from(b),
                    V::Float(f) if f.is_finite() => f.trunc() as i128,
                    V::Float(f) => {
                        return Err(ObjectError::new(
                            if f.is_nan() {
                                ErrorKind::Value
                            } else {
                                ErrorKind::Type
                            },
                            if f.is_nan() {
                                "cannot convert float NaN to integer".to_string()
                            } else {
                                "cannot convert float infinity to integer".to_string()
                            },
                        ));
                    }
                    V::Str(s) => py_int_from_str(&s).ok_or_else(|| {
                        value_err(format!(
                            "invalid literal for int() with base 10: {}",
                            fjord_config::pyrepr::py_repr(&s)
                        ))
                    })?,
                    other => {
                        return Err(ObjectError::new(
                            ErrorKind::Type,
                            format!(
                                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                                other.py_type_name()
                            ),
                        ));
                    }
                };
                if matches!(self, FieldType::NonNegativeInteger) && i < 0 {
                    return Err(value_err(format!("Value must be >= 0 for field {attr}")));
                }
                Ok(V::Int(i))
            }
            FieldType::Float | FieldType::NonNegativeFloat => {
                let f = match value {
                    V::Float(f) => f,
                    V::Int(i) => i as f64,
                    V::Bool(b) => f64::from(u8::from(b)),
                    V::Str(s) => py_float_from_str(&s).ok_or_else(|| {
                        value_err(format!(
                            "could not convert string to float: {}",
                            fjord_config::pyrepr::py_repr(&s)
                        ))
                    })?,
                    other => {
                        return Err(ObjectError::new(
                            ErrorKind::Type,
                            format!(
                                "float() argument must be a string or a real number, not '{}'",
                                other.py_type_name()
                            ),
                        ));
                    }
                };
                if matches!(self, FieldType::NonNegativeFloat) && f < 0.0 {
                    return Err(value_err(format!("Value must be >= 0 for field {attr}")));
                }
                Ok(V::Float(f))
            }
            FieldType::Boolean => Ok(V::Bool(value.truthy())),
            FieldType::FlexibleBoolean => {
                let b = match &value {
                    V::Bool(b) => *b,
                    other => {
                        let s = other.py_str();
                        let s = fjord_config::pyrepr::py_strip(&s).to_lowercase();
                        matches!(s.as_str(), "1" | "t" | "true" | "on" | "y" | "yes")
                    }
                };
                Ok(V::Bool(b))
            }
            FieldType::DateTime { tzinfo_aware } => {
                let dt = match value {
                    V::DateTime(d) => d,
                    V::Str(s) => DateTime::parse(&s)?,
                    other => {
                        return Err(value_err(format!(
                            "A datetime.datetime is required in field {attr}, not a {}",
                            other.py_type_name()
                        )));
                    }
                };
                Ok(V::DateTime(if *tzinfo_aware {
                    if dt.offset.is_none() {
                        DateTime {
                            offset: Some(0),
                            ..dt
                        }
                    } else {
                        dt
                    }
                } else {
                    dt.without_offset()
                }))
            }
            FieldType::IpAddress
            | FieldType::IpV4Address
            | FieldType::IpV6Address
            | FieldType::IpV4AndV6Address => {
                let addr = ip_from_value(&value).map_err(|text| {
                    value_err(format!("failed to detect a valid IP address from '{text}'"))
                })?;
                let ok = match self {
                    FieldType::IpV4Address => addr.is_ipv4(),
                    FieldType::IpV6Address => addr.is_ipv6(),
                    _ => true,
                };
                if !ok {
                    return Err(value_err(format!(
                        "Network \"{}\" is not valid in field {attr}",
                        value.py_str()
                    )));
                }
                Ok(V::Ip(addr))
            }
            FieldType::IpNetwork | FieldType::IpV4Network | FieldType::IpV6Network => {
                let net = net_from_value(&value)
                    .map_err(|text| value_err(format!("invalid IPNetwork {text}")))?;
                match (self, net) {
                    (FieldType::IpV4Network, IpNet::V6(n)) => Err(value_err(format!(
                        "base address '{}' is not IPv4",
                        n.addr()
                    ))),
                    (FieldType::IpV6Network, IpNet::V4(n)) => Err(value_err(format!(
                        "base address '{}' is not IPv6",
                        n.addr()
                    ))),
                    _ => Ok(V::Net(net)),
                }
            }
            FieldType::Enum { valid, .. } => match &value {
                V::Str(s) if valid.values.iter().any(|v| v == s) => Ok(value),
                other => Err(value_err(format!(
                    "Field value {} is invalid",
                    other.py_str()
                ))),
            },
            FieldType::List(elem) => {
                if !is_iterable_for_list(&value) {
                    return Err(value_err(format!(
                        "A list is required in field {attr}, not a {}",
                        value.py_type_name()
                    )));
                }
                let items = match value {
                    V::List(v) | V::Tuple(v) | V::Set(v) => v,
                    _ => Vec::new(),
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    out.push(elem.coerce(&format!("{attr}[{i}]"), item)?);
                }
                Ok(V::List(out))
            }
            FieldType::Dict(elem) => {
                let V::Dict(map) = value else {
                    return Err(value_err(format!(
                        "A dict is required in field {attr}, not a {}",
                        value.py_type_name()
                    )));
                };
                let mut out = IndexMap::with_capacity(map.len());
                for (k, v) in map {
                    let v = elem.coerce(&format!("{attr}[{k}]"), v)?;
                    out.insert(k, v);
                }
                Ok(V::Dict(out))
            }
            FieldType::Set(elem) => {
                let V::Set(items) = value else {
                    return Err(value_err(format!(
                        "A set is required in field {attr}, not a {}",
                        value.py_type_name()
                    )));
                };
                let mut out: Vec<FieldValue> = Vec::with_capacity(items.len());
                for item in items {
                    let name = format!("{attr}[{}]", item.py_str());
                    let v = elem.coerce(&name, item)?;
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Ok(V::Set(out))
            }
            FieldType::Object(r) => match &value {
                V::Object(o) if o.obj_name() == r.name => Ok(value),
                other => Err(value_err(format!(
                    "An object of type {} is required in field {attr}, not a {}",
                    r.name,
                    other.py_type_name()
                ))),
            },
        }
    }

    /// The type's `from_primitive` (before the setter's coerce).
    ///
    /// # Errors
    ///
    /// An unparsable datetime, a bad nested object.
    pub fn from_primitive(&self, attr: &str, value: &Value) -> Result<FieldValue> {
        match self {
            FieldType::DateTime { .. } => match value {
                Value::String(s) => Ok(FieldValue::DateTime(DateTime::parse(s)?)),
                other => Ok(FieldValue::from_json(other)),
            },
            FieldType::List(elem) => match value {
                Value::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        out.push(elem.read_primitive_value(&format!("{attr}[{i}]"), item)?);
                    }
                    Ok(FieldValue::List(out))
                }
                other => Ok(FieldValue::from_json(other)),
            },
            FieldType::Set(elem) => match value {
                Value::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        let v = elem.read_primitive_value(attr, item)?;
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                    Ok(FieldValue::Set(out))
                }
                other => Ok(FieldValue::from_json(other)),
            },
            FieldType::Dict(elem) => match value {
                Value::Object(map) => {
                    let mut out = IndexMap::with_capacity(map.len());
                    for (k, v) in map {
                        out.insert(k.clone(), elem.read_primitive_value(attr, v)?);
                    }
                    Ok(FieldValue::Dict(out))
                }
                other => Ok(FieldValue::from_json(other)),
            },
            FieldType::Object(r) => match value {
                Value::Object(_) => {
                    let schema = (r.schema)();
                    Ok(FieldValue::Object((schema.from_primitive)(value)?))
                }
                other => Ok(FieldValue::from_json(other)),
            },
            _ => Ok(FieldValue::from_json(value)),
        }
    }
}

/// The primitive (JSON) of a value, as `to_primitive` writes it.
pub(crate) fn to_primitive(value: &FieldValue) -> Value {
    match value {
        FieldValue::None => Value::Null,
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Int(i) => {
            if let Ok(v) = i64::try_from(*i) {
                Value::from(v)
            } else if let Ok(v) = u64::try_from(*i) {
                Value::from(v)
            } else {
                Value::from(*i as f64)
            }
        }
        FieldValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        FieldValue::Str(s) => Value::String(s.clone()),
        FieldValue::DateTime(d) => Value::String(d.to_primitive()),
        FieldValue::Ip(a) => Value::String(a.to_string()),
        FieldValue::Net(n) => Value::String(n.to_string()),
        FieldValue::List(v) | FieldValue::Tuple(v) | FieldValue::Set(v) => {
            Value::Array(v.iter().map(to_primitive).collect())
        }
        FieldValue::Dict(d) => Value::Object(
            d.iter()
                .map(|(k, v)| (k.clone(), to_primitive(v)))
                .collect(),
        ),
        FieldValue::Object(o) => o.obj_to_primitive(),
    }
}
