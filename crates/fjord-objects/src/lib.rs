//! oslo.versionedobjects for fjord: objects declared as typed Rust structs
//! that travel in the same primitive (JSON) form as Python's, so a fjord
//! service trades objects with nova-style Python services over RPC.
//!
//! * [`FieldType`] / [`Field`]: every stock field type, with Python's
//!   coercion, primitive form and errors.
//! * `#[derive(VersionedObject)]`: declare an object (name, namespaces,
//!   `VERSION`, fields with type, nullable, default and the version they
//!   appeared in); it implements [`Object`] and [`VersionedObject`].
//! * [`Object::obj_to_primitive_with`] (target version, manifest: the
//!   backports), [`VersionedObject::obj_from_primitive`], change tracking.
//! * [`Registry`]: classes by name and version, `obj_from_primitive` of
//!   any registered class.
//! * [`fingerprint::ObjectVersionChecker`]: the version fingerprints to
//!   pin in tests, identical to Python's.
//!
//! # Examples
//!
//! ```
//! use fjord_objects::{Object, Slot, ObjectMeta, VersionedObject};
//!
//! #[derive(Debug, Clone, VersionedObject)]
//! #[object(name = "DemoWidget", version = "1.2",
//!          serial_namespace = "fjord_object", project_namespace = "fjord")]
//! pub struct DemoWidget {
//!     #[field(Integer)]
//!     pub id: Slot<i64>,
//!     #[field(String)]
//!     pub name: Slot<String>,
//!     #[field(List(String), since = "1.1")]
//!     pub tags: Slot<Vec<String>>,
//!     #[field(String, nullable, since = "1.2")]
//!     pub owner: Slot<String>,
//!     meta: ObjectMeta,
//! }
//!
//! let mut w = DemoWidget::default();
//! w.set_id(1)?;
//! w.set_name("gear".to_string())?;
//! w.set_tags(vec!["new".to_string()])?;
//! let old = w.obj_to_primitive_with(Some("1.0"), None)?;
//! assert_eq!(old["fjord_object.data"], serde_json::json!({"id": 1, "name": "gear"}));
//! let back = DemoWidget::obj_from_primitive(&old)?;
//! assert_eq!(back.obj_version(), "1.0");
//! assert!(!back.tags.is_set());
//! # Ok::<(), fjord_objects::ObjectError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod datetime;
mod error;
pub mod field;
pub mod fingerprint;
pub mod indirection;
pub mod object;
mod registry;
pub mod serializer;
mod version;

pub use datetime::DateTime;
pub use error::{ErrorKind, ObjectError, Result};
pub use field::{Field, FieldData, FieldType, FieldValue};
pub use fjord_objects_derive::VersionedObject;
pub use object::{
    Manifest, Object, ObjectMeta, Schema, Slot, VersionedObject, make_compatible,
    obj_tree_get_versions,
};
pub use registry::Registry;
pub use serializer::{Indirection, ObjectSerializer};
pub use version::Version;

/// What the derive's generated code uses; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use indexmap;
    pub use serde;
    pub use serde_json;
}
