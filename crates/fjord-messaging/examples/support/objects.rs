//! The test schema of the objects-over-RPC examples (`rpc_server`,
//! `rpc_client`), the same as `tests/python/py_objects_schema.py`'s
//! "current" release: serial namespace `fjord_object`, project namespace
//! `fjord`.
//!
//! * `DemoWidget` 1.2: `id` Integer, `name` String, `tags` List of Strings
//!   (1.1), `owner` String, nullable (1.2). A 1.0 primitive carries only id
//!   and name.
//! * `DemoPart` 1.1: `id`, `label`, `made_at` DateTime, nullable (1.1).
//! * `DemoMachine` 1.1, nova-like: `uuid`, `name`, `created_at`,
//!   `updated_at` (nullable), `widget` (a DemoWidget, nullable), `parts`
//!   (a list of DemoPart), `metadata` (dict of strings), `note` (nullable,
//!   1.1); `obj_relationships` widget 1.0 -> 1.0, 1.1 -> 1.2 and parts
//!   1.0 -> 1.0, 1.1 -> 1.1.

use fjord_objects::{DateTime, ObjectMeta, Registry, Slot, VersionedObject};
use indexmap::IndexMap;

/// The serial namespace (`S`, the key prefix).
pub(crate) const SERIAL_NAMESPACE: &str = "fjord_object";

/// A widget, the examples' simplest object.
#[derive(Debug, Clone, VersionedObject)]
#[object(
    name = "DemoWidget",
    version = "1.2",
    serial_namespace = "fjord_object",
    project_namespace = "fjord"
)]
pub(crate) struct DemoWidget {
    #[field(Integer)]
    pub(crate) id: Slot<i64>,
    #[field(String)]
    pub(crate) name: Slot<String>,
    #[field(List(String), since = "1.1")]
    pub(crate) tags: Slot<Vec<String>>,
    #[field(String, nullable, since = "1.2")]
    pub(crate) owner: Slot<String>,
    meta: ObjectMeta,
}

/// A part of a machine.
#[derive(Debug, Clone, VersionedObject)]
#[object(
    name = "DemoPart",
    version = "1.1",
    serial_namespace = "fjord_object",
    project_namespace = "fjord"
)]
pub(crate) struct DemoPart {
    #[field(Integer)]
    pub(crate) id: Slot<i64>,
    #[field(String)]
    pub(crate) label: Slot<String>,
    #[field(DateTime, nullable, since = "1.1")]
    pub(crate) made_at: Slot<DateTime>,
    meta: ObjectMeta,
}

/// A nova-like object: nested object, list of objects, datetimes, a dict.
#[derive(Debug, Clone, VersionedObject)]
#[object(name = "DemoMachine", version = "1.1",
         serial_namespace = "fjord_object", project_namespace = "fjord",
         relationships(widget = [("1.0", "1.0"), ("1.1", "1.2")],
                       parts = [("1.0", "1.0"), ("1.1", "1.1")]))]
pub(crate) struct DemoMachine {
    #[field(UUID)]
    pub(crate) uuid: Slot<String>,
    #[field(String)]
    pub(crate) name: Slot<String>,
    #[field(DateTime)]
    pub(crate) created_at: Slot<DateTime>,
    #[field(DateTime, nullable)]
    pub(crate) updated_at: Slot<DateTime>,
    #[field(Object(DemoWidget), nullable)]
    pub(crate) widget: Slot<DemoWidget>,
    #[field(List(Object(DemoPart)))]
    pub(crate) parts: Slot<Vec<DemoPart>>,
    #[field(Dict(String))]
    pub(crate) metadata: Slot<IndexMap<String, String>>,
    #[field(String, nullable, since = "1.1")]
    pub(crate) note: Slot<String>,
    meta: ObjectMeta,
}

/// The registry of the schema's classes.
pub(crate) fn registry() -> Registry {
    let mut reg = Registry::new(SERIAL_NAMESPACE, "fjord");
    reg.register::<DemoWidget>()
        .register::<DemoPart>()
        .register::<DemoMachine>();
    reg
}
