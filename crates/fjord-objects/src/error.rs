//! The error type: what failed, named after the Python exception a peer
//! running oslo.versionedobjects would raise for the same input.

use std::fmt;

/// What kind of failure an [`ObjectError`] is; each maps to the Python
/// exception class oslo.versionedobjects raises ([`ErrorKind::python_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value that the field refuses (`ValueError`), including `None` on a
    /// field that is not nullable and has no default.
    Value,
    /// A dict key that is not a string (`KeyTypeError`).
    KeyType,
    /// A value of a type the conversion cannot take at all (`TypeError`).
    Type,
    /// A primitive without one of its required keys (`KeyError`).
    MissingKey,
    /// An object of another namespace or an unregistered name
    /// (`UnsupportedObjectError`).
    UnsupportedObject,
    /// No registered class can load this version (`IncompatibleObjectVersion`).
    IncompatibleVersion,
    /// A backport above the object's own version (`InvalidTargetVersion`).
    InvalidTargetVersion,
    /// An object action that cannot be done (`ObjectActionError`), such as a
    /// backport with no rule for a sub-object.
    ObjectAction,
    /// A version string that does not parse.
    BadVersion,
    /// Reading a field that was never set (`NotImplementedError`: "Cannot
    /// load 'x' in the base class").
    Unset,
    /// A remotable method or RPC method that does not exist
    /// (`NotImplementedError` / `AttributeError` in Python).
    NotImplemented,
    /// A sub-object that is not registered (`UnregisteredSubobject`).
    UnregisteredSubobject,
    /// Python's `ReadOnlyFieldError`.
    ReadOnlyField,
}

impl ErrorKind {
    /// The Python exception, `module.Class`, as oslo.versionedobjects 3.12
    /// raises it (and as it appears in a failure reply).
    pub fn python_class(self) -> &'static str {
        match self {
            ErrorKind::Value => "builtins.ValueError",
            ErrorKind::KeyType => "oslo_versionedobjects.fields.KeyTypeError",
            ErrorKind::Type => "builtins.TypeError",
            ErrorKind::MissingKey => "builtins.KeyError",
            ErrorKind::UnsupportedObject => {
                "oslo_versionedobjects.exception.UnsupportedObjectError"
            }
            ErrorKind::IncompatibleVersion => {
                "oslo_versionedobjects.exception.IncompatibleObjectVersion"
            }
            ErrorKind::InvalidTargetVersion => {
                "oslo_versionedobjects.exception.InvalidTargetVersion"
            }
            ErrorKind::ObjectAction => "oslo_versionedobjects.exception.ObjectActionError",
            ErrorKind::BadVersion => "builtins.ValueError",
            ErrorKind::Unset => "builtins.NotImplementedError",
            ErrorKind::NotImplemented => "builtins.NotImplementedError",
            ErrorKind::UnregisteredSubobject => {
                "oslo_versionedobjects.exception.UnregisteredSubobject"
            }
            ErrorKind::ReadOnlyField => "oslo_versionedobjects.exception.ReadOnlyFieldError",
        }
    }
}

/// An error of this crate: its [`ErrorKind`] and the message Python would
/// give (`str(exception)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    kind: ErrorKind,
    message: String,
    /// `IncompatibleObjectVersion`'s keyword arguments, for the failure
    /// reply: objname, objver, supported.
    pub(crate) incompatible: Option<(String, String, String)>,
}

impl ObjectError {
    /// An error of `kind` with Python's message text.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ObjectError {
            kind,
            message: message.into(),
            incompatible: None,
        }
    }
    /// A `ValueError`.
    pub(crate) fn value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Value, message)
    }
    /// `IncompatibleObjectVersion(objname, objver, supported)`.
    pub fn incompatible(objname: &str, objver: &str, supported: &str) -> Self {
        ObjectError {
            kind: ErrorKind::IncompatibleVersion,
            message: format!(
                "Version {objver} of {objname} is not supported, supported version is {supported}"
            ),
            incompatible: Some((objname.into(), objver.into(), supported.into())),
        }
    }
    /// `ObjectActionError(action, reason)`.
    pub fn action(action: &str, reason: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::ObjectAction,
            format!("Object action {action} failed because: {reason}"),
        )
    }
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message, as Python's `str(exception)`.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The Python exception class, `module.Class`.
    pub fn python_class(&self) -> &'static str {
        self.kind.python_class()
    }
    /// For [`ErrorKind::IncompatibleVersion`]: the object name, the version
    /// received and the highest version supported.
    pub fn incompatible_parts(&self) -> Option<(&str, &str, &str)> {
        self.incompatible
            .as_ref()
            .map(|(n, v, s)| (n.as_str(), v.as_str(), s.as_str()))
    }
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.python_class(), self.message)
    }
}

impl std::error::Error for ObjectError {}

/// The result type of this crate.
pub type Result<T, E = ObjectError> = std::result::Result<T, E>;
