//! Field types: how each of oslo.versionedobjects' stock fields coerces a
//! value, writes its primitive and reads it back (VERSIONED_OBJECTS.md §3).
//!
//! [`Field`] is a declared field (type, nullable, default); [`FieldType`]
//! the type. Both work on [`FieldValue`]s; typed Rust fields go through
//! [`FieldData`].

mod coerce;
mod data;
pub mod fast;
mod value;

use std::fmt::Write as _;

use serde_json::Value;

pub use data::FieldData;
pub(crate) use data::{mismatch as data_mismatch, write_str as write_json_str};
pub use value::{FieldValue, py_float_repr};

use crate::error::Result;
use crate::object::Schema;

/// The valid values of an enum field, as declared (a list or a tuple: it
/// shows in the fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValues {
    /// The values, in declaration order.
    pub values: Vec<String>,
    /// Declared as a Python tuple (`('a', 'b')`) rather than a list.
    pub tuple: bool,
}

impl EnumValues {
    /// Python's repr of the declared list or tuple.
    pub fn py_repr(&self) -> String {
        let items: Vec<String> = self
            .values
            .iter()
            .map(|v| fjord_config::pyrepr::py_repr(v))
            .collect();
        if self.tuple {
            if items.len() == 1 {
                format!("({},)", items[0])
            } else {
                format!("({})", items.join(", "))
            }
        } else {
            format!("[{}]", items.join(", "))
        }
    }
}

/// The object class an `ObjectField` holds.
#[derive(Clone, Copy)]
pub struct ObjectRef {
    /// The object name (`ObjectField('Flavor')`).
    pub name: &'static str,
    /// The schema of the Rust type declared for the field.
    pub schema: fn() -> &'static Schema,
}

impl std::fmt::Debug for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectRef({})", self.name)
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A field type: the `FieldType` classes of `oslo_versionedobjects.fields`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldType {
    /// `String` (str of int, float, bool, datetime accepted).
    String,
    /// `SensitiveString`: a string, masked in logs only.
    SensitiveString,
    /// `VersionPredicate`: `">=1.2"`.
    VersionPredicate,
    /// `UUID`: a string, kept as given.
    Uuid,
    /// `MACAddress`: lower case, `:`-separated.
    MacAddress,
    /// `PCIAddress`: lower case `dddd:bb:ss.f`.
    PciAddress,
    /// `Integer`.
    Integer,
    /// `NonNegativeInteger`.
    NonNegativeInteger,
    /// `Float`.
    Float,
    /// `NonNegativeFloat`.
    NonNegativeFloat,
    /// `Boolean` (Python truthiness).
    Boolean,
    /// `FlexibleBoolean` (`bool_from_string`).
    FlexibleBoolean,
    /// `DateTime`; `tzinfo_aware: false` drops offsets (karbor).
    DateTime {
        /// Keep offsets (the default); false drops them without converting.
        tzinfo_aware: bool,
    },
    /// `IPAddress` (v4 or v6).
    IpAddress,
    /// `IPV4Address`.
    IpV4Address,
    /// `IPV6Address`.
    IpV6Address,
    /// `IPV4AndV6Address`.
    IpV4AndV6Address,
    /// `IPNetwork`.
    IpNetwork,
    /// `IPV4Network`.
    IpV4Network,
    /// `IPV6Network`.
    IpV6Network,
    /// `Enum(valid_values)`; `class` is the Python type class name shown
    /// in the fingerprint (`Enum` for `EnumField`).
    Enum {
        /// The valid values.
        valid: EnumValues,
        /// The type class name in the fingerprint.
        class: &'static str,
    },
    /// `List(element)`.
    List(Box<Field>),
    /// `Dict(element)`: string keys.
    Dict(Box<Field>),
    /// `Set(element)`.
    Set(Box<Field>),
    /// `Object(name)`.
    Object(ObjectRef),
}

impl FieldType {
    /// The Python type class name, as in the fingerprint.
    pub fn py_class(&self) -> &'static str {
        match self {
            FieldType::String => "String",
            FieldType::SensitiveString => "SensitiveString",
            FieldType::VersionPredicate => "VersionPredicate",
            FieldType::Uuid => "UUID",
            FieldType::MacAddress => "MACAddress",
            FieldType::PciAddress => "PCIAddress",
            FieldType::Integer => "Integer",
            FieldType::NonNegativeInteger => "NonNegativeInteger",
            FieldType::Float => "Float",
            FieldType::NonNegativeFloat => "NonNegativeFloat",
            FieldType::Boolean => "Boolean",
            FieldType::FlexibleBoolean => "FlexibleBoolean",
            FieldType::DateTime { .. } => "DateTime",
            FieldType::IpAddress => "IPAddress",
            FieldType::IpV4Address => "IPV4Address",
            FieldType::IpV6Address => "IPV6Address",
            FieldType::IpV4AndV6Address => "IPV4AndV6Address",
            FieldType::IpNetwork => "IPNetwork",
            FieldType::IpV4Network => "IPV4Network",
            FieldType::IpV6Network => "IPV6Network",
            FieldType::Enum { class, .. } => class,
            FieldType::List(_) => "List",
            FieldType::Dict(_) => "Dict",
            FieldType::Set(_) => "Set",
            FieldType::Object(_) => "Object",
        }
    }

    /// An enum type with the given values (declared as a list).
    pub fn enumeration<S: Into<String>>(values: impl IntoIterator<Item = S>) -> FieldType {
        FieldType::Enum {
            valid: EnumValues {
                values: values.into_iter().map(Into::into).collect(),
                tuple: false,
            },
            class: "Enum",
        }
    }

    /// The object an `ObjectField` or `ListOfObjectsField` holds.
    pub fn object_ref(&self) -> Option<ObjectRef> {
        match self {
            FieldType::Object(r) => Some(*r),
            FieldType::List(e) => match &e.ty {
                FieldType::Object(r) => Some(*r),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A declared field: its type, whether it may be None, its default.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The type.
    pub ty: FieldType,
    /// Whether None is a value (`nullable=True`).
    pub nullable: bool,
    /// The default (`default=`), used by `obj_set_defaults` and when None
    /// is assigned to a field that is not nullable.
    pub default: Option<FieldValue>,
    /// `read_only=True`: assignable once.
    pub read_only: bool,
}

impl Field {
    /// A field of `ty`, not nullable, no default.
    pub fn new(ty: FieldType) -> Field {
        Field {
            ty,
            nullable: false,
            default: None,
            read_only: false,
        }
    }
    /// The same field, nullable.
    pub fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }
    /// The same field with a default.
    pub fn with_default(mut self, default: FieldValue) -> Field {
        self.default = Some(default);
        self
    }

    /// The setter's coerce step (`Field.coerce`): the None rules, then the
    /// type's coercion. `attr` names the field in error messages.
    ///
    /// # Errors
    ///
    /// What Python raises for the same value (`ValueError`, `KeyTypeError`,
    /// `TypeError`), with its message.
    pub fn coerce(&self, attr: &str, value: FieldValue) -> Result<FieldValue> {
        if matches!(value, FieldValue::None) {
            if self.nullable {
                return Ok(FieldValue::None);
            }
            if let Some(d) = &self.default {
                return self.ty.coerce(attr, d.clone());
            }
            return Err(crate::ObjectError::value(format!(
                "Field `{attr}' cannot be None"
            )));
        }
        self.ty.coerce(attr, value)
    }

    /// Reads a field's primitive as `obj_from_primitive` does: the type's
    /// `from_primitive`, then the setter's coerce.
    ///
    /// # Errors
    ///
    /// As [`Field::coerce`]; nested objects as
    /// [`crate::VersionedObject::obj_from_primitive`].
    pub fn from_primitive(&self, attr: &str, value: &Value) -> Result<FieldValue> {
        let v = self.read_primitive_value(attr, value)?;
        self.coerce(attr, v)
    }

    fn read_primitive_value(&self, attr: &str, value: &Value) -> Result<FieldValue> {
        if value.is_null() {
            return Ok(FieldValue::None);
        }
        self.ty.from_primitive(attr, value)
    }

    /// The primitive of a value of this field (`Field.to_primitive`).
    pub fn to_primitive(&self, value: &FieldValue) -> Value {
        coerce::to_primitive(value)
    }

    /// `repr(field)` as the fingerprint shows it:
    /// `String(default=<class '...UnspecifiedDefault'>,nullable=False)`.
    pub fn py_repr(&self) -> String {
        let mut s = String::new();
        let default = match &self.default {
            None => "<class 'oslo_versionedobjects.fields.UnspecifiedDefault'>".to_string(),
            Some(FieldValue::Set(items)) => {
                let mut v: Vec<String> = items.iter().map(FieldValue::py_str).collect();
                v.sort();
                format!("set([{}])", v.join(","))
            }
            Some(d) => d.py_str(),
        };
        let nullable = if self.nullable { "True" } else { "False" };
        let _ = write!(
            s,
            "{}(default={default},nullable={nullable}",
            self.ty.py_class()
        );
        let valid = match &self.ty {
            FieldType::Enum { valid, .. } => Some(valid),
            FieldType::List(e) => match &e.ty {
                FieldType::Enum { valid, .. } => Some(valid),
                _ => None,
            },
            _ => None,
        };
        if let Some(valid) = valid {
            let _ = write!(s, ",valid_values={}", valid.py_repr());
        }
        s.push(')');
        s
    }
}
