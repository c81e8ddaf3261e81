//! The test objects of `object_definitions.json`, both registries, declared
//! with the derive as a service author would (generated once from the
//! fixture's definitions and the field order of its primitives).

#![allow(unused_imports)]

use std::collections::BTreeSet;
use std::net::IpAddr;

use fjord_objects::{
    DateTime, ErrorKind, ObjectError, ObjectMeta, Registry, Slot, Version, VersionedObject,
};
use indexmap::IndexMap;
use ipnet::IpNet;
use serde_json::{Map, Value};

/// Checkpoint's own backport: a status "copying" cannot go below 1.1.
pub fn checkpoint_compat(
    data: &mut Map<String, Value>,
    target: &Version,
) -> fjord_objects::Result<()> {
    if *target < Version::parse("1.1")? && data.get("status") == Some(&Value::from("copying")) {
        return Err(ObjectError::new(
            ErrorKind::ObjectAction,
            "Object action obj_make_compatible failed because: status=copying not supported in version 1.0",
        ));
    }
    Ok(())
}

/// The 'new' registry's classes.
pub mod new {
    use super::*;

    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "AllTypes", version = "1.1", serial_namespace = "versioned_object", project_namespace = "versionedobjects", relationships(child = [("1.0", "1.0"), ("1.1", "1.1")], children = [("1.0", "1.0"), ("1.1", "1.1")]))]
    pub struct AllTypes {
        #[field(String)]
        pub string: Slot<String>,
        #[field(SensitiveString, nullable)]
        pub sensitive: Slot<String>,
        #[field(String, nullable)]
        pub nullable_string: Slot<String>,
        #[field(Integer)]
        pub integer: Slot<i64>,
        #[field(NonNegativeInteger)]
        pub non_negative: Slot<i64>,
        #[field(Float)]
        pub float: Slot<f64>,
        #[field(NonNegativeFloat)]
        pub non_negative_float: Slot<f64>,
        #[field(Boolean)]
        pub boolean: Slot<bool>,
        #[field(FlexibleBoolean)]
        pub flexible_boolean: Slot<bool>,
        #[field(DateTime)]
        pub datetime: Slot<DateTime>,
        #[field(DateTime(tzinfo_aware = false))]
        pub naive_datetime: Slot<DateTime>,
        #[field(UUID)]
        pub uuid: Slot<String>,
        #[field(MACAddress)]
        pub mac: Slot<String>,
        #[field(PCIAddress)]
        pub pci: Slot<String>,
        #[field(IPAddress)]
        pub ip: Slot<IpAddr>,
        #[field(IPV4Address)]
        pub ipv4: Slot<IpAddr>,
        #[field(IPV6Address)]
        pub ipv6: Slot<IpAddr>,
        #[field(IPV4AndV6Address)]
        pub ipv4_and_v6: Slot<IpAddr>,
        #[field(IPNetwork)]
        pub network: Slot<IpNet>,
        #[field(IPV4Network)]
        pub ipv4_network: Slot<IpNet>,
        #[field(IPV6Network)]
        pub ipv6_network: Slot<IpNet>,
        #[field(Enum("one", "two", "three"))]
        pub r#enum: Slot<String>,
        #[field(List(Enum("a", "b")))]
        pub list_of_enum: Slot<Vec<String>>,
        #[field(VersionPredicate)]
        pub version_predicate: Slot<String>,
        #[field(Dict(String))]
        pub dict_of_strings: Slot<IndexMap<String, String>>,
        #[field(Dict(Nullable(String)))]
        pub dict_of_nullable_strings: Slot<IndexMap<String, Option<String>>>,
        #[field(Dict(Integer))]
        pub dict_of_integers: Slot<IndexMap<String, i64>>,
        #[field(List(String))]
        pub list_of_strings: Slot<Vec<String>>,
        #[field(List(Integer))]
        pub list_of_integers: Slot<Vec<i64>>,
        #[field(List(UUID))]
        pub list_of_uuids: Slot<Vec<String>>,
        #[field(Set(String))]
        pub set_of_strings: Slot<BTreeSet<String>>,
        #[field(Set(Integer))]
        pub set_of_integers: Slot<BTreeSet<i64>>,
        #[field(List(List(String)))]
        pub list_of_lists_of_strings: Slot<Vec<Vec<String>>>,
        #[field(Dict(List(String)))]
        pub dict_of_list_of_strings: Slot<IndexMap<String, Vec<String>>>,
        #[field(Dict(Set(Integer)))]
        pub dict_of_set_of_integers: Slot<IndexMap<String, BTreeSet<i64>>>,
        #[field(List(Set(Integer)))]
        pub list_of_sets_of_integers: Slot<Vec<BTreeSet<i64>>>,
        #[field(List(Dict(Nullable(String))))]
        pub list_of_dict_of_nullable_strings: Slot<Vec<IndexMap<String, Option<String>>>>,
        #[field(String, default = "dflt")]
        pub default_string: Slot<String>,
        #[field(Object(AllTypesChild), nullable)]
        pub child: Slot<AllTypesChild>,
        #[field(List(Object(AllTypesChild)))]
        pub children: Slot<Vec<AllTypesChild>>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "AllTypesChild",
        version = "1.1",
        serial_namespace = "versioned_object",
        project_namespace = "versionedobjects"
    )]
    pub struct AllTypesChild {
        #[field(String)]
        pub name: Slot<String>,
        #[field(String, nullable, since = "1.1")]
        pub note: Slot<String>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "Checkpoint", version = "1.1", serial_namespace = "karbor_object", project_namespace = "karbor", make_compatible = super::checkpoint_compat)]
    pub struct Checkpoint {
        #[field(UUID)]
        pub id: Slot<String>,
        #[field(String)]
        pub project_id: Slot<String>,
        #[field(UUID)]
        pub provider_id: Slot<String>,
        #[field(UUID)]
        pub plan_id: Slot<String>,
        #[field(Enum(("protecting", "available", "error", "deleting", "deleted", "error-deleting", "copying")))]
        pub status: Slot<String>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(String, nullable)]
        pub create_by: Slot<String>,
        #[field(Dict(Nullable(String)), since = "1.1")]
        pub extra_info: Slot<IndexMap<String, Option<String>>>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Flavor",
        version = "1.2",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(save_projects = "self, to_add=None, to_delete=None")
    )]
    pub struct Flavor {
        #[field(Integer)]
        pub id: Slot<i64>,
        #[field(String, nullable)]
        pub name: Slot<String>,
        #[field(Integer)]
        pub memory_mb: Slot<i64>,
        #[field(Integer)]
        pub vcpus: Slot<i64>,
        #[field(Integer)]
        pub root_gb: Slot<i64>,
        #[field(Integer)]
        pub ephemeral_gb: Slot<i64>,
        #[field(String)]
        pub flavorid: Slot<String>,
        #[field(Integer)]
        pub swap: Slot<i64>,
        #[field(Float, nullable, default = 1.0)]
        pub rxtx_factor: Slot<f64>,
        #[field(Integer, nullable)]
        pub vcpu_weight: Slot<i64>,
        #[field(Boolean)]
        pub disabled: Slot<bool>,
        #[field(Boolean)]
        pub is_public: Slot<bool>,
        #[field(Dict(String))]
        pub extra_specs: Slot<IndexMap<String, String>>,
        #[field(List(String))]
        pub projects: Slot<Vec<String>>,
        #[field(String, nullable, since = "1.2")]
        pub description: Slot<String>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Instance",
        version = "2.8",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(
            get_by_uuid = "cls, context, uuid, expected_attrs=None, use_slave=False",
            save = "self, expected_vm_state=None, expected_task_state=None"
        )
    )]
    pub struct Instance {
        #[field(Integer)]
        pub id: Slot<i64>,
        #[field(UUID)]
        pub uuid: Slot<String>,
        #[field(String, nullable)]
        pub user_id: Slot<String>,
        #[field(String, nullable)]
        pub project_id: Slot<String>,
        #[field(String, nullable)]
        pub hostname: Slot<String>,
        #[field(String, nullable)]
        pub display_name: Slot<String>,
        #[field(String, nullable)]
        pub display_description: Slot<String>,
        #[field(String, nullable)]
        pub vm_state: Slot<String>,
        #[field(String, nullable)]
        pub task_state: Slot<String>,
        #[field(Integer, nullable)]
        pub power_state: Slot<i64>,
        #[field(Integer, nullable)]
        pub memory_mb: Slot<i64>,
        #[field(Integer, nullable)]
        pub vcpus: Slot<i64>,
        #[field(String, nullable)]
        pub host: Slot<String>,
        #[field(String, nullable)]
        pub node: Slot<String>,
        #[field(DateTime, nullable)]
        pub launched_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub terminated_at: Slot<DateTime>,
        #[field(IPV4Address, nullable)]
        pub access_ip_v4: Slot<IpAddr>,
        #[field(IPV6Address, nullable)]
        pub access_ip_v6: Slot<IpAddr>,
        #[field(Boolean, default = false)]
        pub locked: Slot<bool>,
        #[field(Dict(String))]
        pub metadata: Slot<IndexMap<String, String>>,
        #[field(Dict(Nullable(String)))]
        pub system_metadata: Slot<IndexMap<String, Option<String>>>,
        #[field(Object(Flavor))]
        pub flavor: Slot<Flavor>,
        #[field(Object(Flavor), nullable)]
        pub old_flavor: Slot<Flavor>,
        #[field(Object(Flavor), nullable)]
        pub new_flavor: Slot<Flavor>,
        #[field(Object(KeyPairList), since = "2.2")]
        pub keypairs: Slot<KeyPairList>,
        #[field(Boolean, default = false, since = "2.6")]
        pub hidden: Slot<bool>,
        #[field(Integer, nullable, since = "2.8")]
        pub compute_id: Slot<i64>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "InstanceList",
        version = "2.6",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        list,
        remotable(get_by_host = "cls, context, host, expected_attrs=None, use_slave=False")
    )]
    pub struct InstanceList {
        #[field(List(Object(Instance)))]
        pub objects: Slot<Vec<Instance>>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "KeyPair",
        version = "1.4",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(get_by_name = "cls, context, user_id, name, localonly=False")
    )]
    pub struct KeyPair {
        #[field(Integer)]
        pub id: Slot<i64>,
        #[field(String)]
        pub name: Slot<String>,
        #[field(String, nullable)]
        pub user_id: Slot<String>,
        #[field(String, nullable)]
        pub fingerprint: Slot<String>,
        #[field(String, nullable)]
        pub public_key: Slot<String>,
        #[field(Enum("ssh", "x509"), since = "1.2")]
        pub r#type: Slot<String>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "KeyPairList",
        version = "1.3",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        list,
        remotable(get_by_user = "cls, context, user_id, limit=None, marker=None")
    )]
    pub struct KeyPairList {
        #[field(List(Object(KeyPair)))]
        pub objects: Slot<Vec<KeyPair>>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "Plan", version = "1.3", serial_namespace = "karbor_object", project_namespace = "karbor", relationships(last_checkpoint = [("1.2", "1.0"), ("1.3", "1.1")]))]
    pub struct Plan {
        #[field(UUID)]
        pub id: Slot<String>,
        #[field(String)]
        pub name: Slot<String>,
        #[field(String, nullable)]
        pub description: Slot<String>,
        #[field(UUID)]
        pub provider_id: Slot<String>,
        #[field(String)]
        pub project_id: Slot<String>,
        #[field(String, nullable)]
        pub status: Slot<String>,
        #[field(List(Dict(Nullable(String))))]
        pub resources: Slot<Vec<IndexMap<String, Option<String>>>>,
        #[field(Dict(Dict(Nullable(String))))]
        pub parameters: Slot<IndexMap<String, IndexMap<String, Option<String>>>>,
        #[field(Set(String), since = "1.1")]
        pub labels: Slot<BTreeSet<String>>,
        #[field(Object(Checkpoint), nullable)]
        pub last_checkpoint: Slot<Checkpoint>,
        #[field(DateTime(tzinfo_aware = false), nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime(tzinfo_aware = false), nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime(tzinfo_aware = false), nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "PlanList", version = "1.1", serial_namespace = "karbor_object", project_namespace = "karbor", list, relationships(objects = [("1.0", "1.2"), ("1.1", "1.3")]))]
    pub struct PlanList {
        #[field(List(Object(Plan)))]
        pub objects: Slot<Vec<Plan>>,
        pub meta: ObjectMeta,
    }
}

/// The 'old' registry's classes.
pub mod old {
    use super::*;

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Checkpoint",
        version = "1.0",
        serial_namespace = "karbor_object",
        project_namespace = "karbor"
    )]
    pub struct Checkpoint {
        #[field(UUID)]
        pub id: Slot<String>,
        #[field(String)]
        pub project_id: Slot<String>,
        #[field(UUID)]
        pub provider_id: Slot<String>,
        #[field(UUID)]
        pub plan_id: Slot<String>,
        #[field(Enum(("protecting", "available", "error", "deleting", "deleted", "error-deleting")))]
        pub status: Slot<String>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(String, nullable)]
        pub create_by: Slot<String>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Flavor",
        version = "1.1",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(save_projects = "self, to_add=None, to_delete=None")
    )]
    pub struct Flavor {
        #[field(Integer)]
        pub id: Slot<i64>,
        #[field(String, nullable)]
        pub name: Slot<String>,
        #[field(Integer)]
        pub memory_mb: Slot<i64>,
        #[field(Integer)]
        pub vcpus: Slot<i64>,
        #[field(Integer)]
        pub root_gb: Slot<i64>,
        #[field(Integer)]
        pub ephemeral_gb: Slot<i64>,
        #[field(String)]
        pub flavorid: Slot<String>,
        #[field(Integer)]
        pub swap: Slot<i64>,
        #[field(Float, nullable, default = 1.0)]
        pub rxtx_factor: Slot<f64>,
        #[field(Integer, nullable)]
        pub vcpu_weight: Slot<i64>,
        #[field(Boolean)]
        pub disabled: Slot<bool>,
        #[field(Boolean)]
        pub is_public: Slot<bool>,
        #[field(Dict(String))]
        pub extra_specs: Slot<IndexMap<String, String>>,
        #[field(List(String))]
        pub projects: Slot<Vec<String>>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Instance",
        version = "2.6",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(
            get_by_uuid = "cls, context, uuid, expected_attrs=None, use_slave=False",
            save = "self, expected_vm_state=None, expected_task_state=None"
        )
    )]
    pub struct Instance {
        #[field(Integer)]
        pub id: Slot<i64>,
        #[field(UUID)]
        pub uuid: Slot<String>,
        #[field(String, nullable)]
        pub user_id: Slot<String>,
        #[field(String, nullable)]
        pub project_id: Slot<String>,
        #[field(String, nullable)]
        pub hostname: Slot<String>,
        #[field(String, nullable)]
        pub display_name: Slot<String>,
        #[field(String, nullable)]
        pub display_description: Slot<String>,
        #[field(String, nullable)]
        pub vm_state: Slot<String>,
        #[field(String, nullable)]
        pub task_state: Slot<String>,
        #[field(Integer, nullable)]
        pub power_state: Slot<i64>,
        #[field(Integer, nullable)]
        pub memory_mb: Slot<i64>,
        #[field(Integer, nullable)]
        pub vcpus: Slot<i64>,
        #[field(String, nullable)]
        pub host: Slot<String>,
        #[field(String, nullable)]
        pub node: Slot<String>,
        #[field(DateTime, nullable)]
        pub launched_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub terminated_at: Slot<DateTime>,
        #[field(IPV4Address, nullable)]
        pub access_ip_v4: Slot<IpAddr>,
        #[field(IPV6Address, nullable)]
        pub access_ip_v6: Slot<IpAddr>,
        #[field(Boolean, default = false)]
        pub locked: Slot<bool>,
        #[field(Dict(String))]
        pub metadata: Slot<IndexMap<String, String>>,
        #[field(Dict(Nullable(String)))]
        pub system_metadata: Slot<IndexMap<String, Option<String>>>,
        #[field(Object(Flavor))]
        pub flavor: Slot<Flavor>,
        #[field(Object(Flavor), nullable)]
        pub old_flavor: Slot<Flavor>,
        #[field(Object(Flavor), nullable)]
        pub new_flavor: Slot<Flavor>,
        #[field(Object(KeyPairList), since = "2.2")]
        pub keypairs: Slot<KeyPairList>,
        #[field(Boolean, default = false, since = "2.6")]
        pub hidden: Slot<bool>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "InstanceList",
        version = "2.5",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        list,
        remotable(get_by_host = "cls, context, host, expected_attrs=None, use_slave=False")
    )]
    pub struct InstanceList {
        #[field(List(Object(Instance)))]
        pub objects: Slot<Vec<Instance>>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "KeyPair",
        version = "1.3",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(get_by_name = "cls, context, user_id, name")
    )]
    pub struct KeyPair {
        #[field(Integer)]
        pub id: Slot<i64>,
        #[field(String)]
        pub name: Slot<String>,
        #[field(String, nullable)]
        pub user_id: Slot<String>,
        #[field(String, nullable)]
        pub fingerprint: Slot<String>,
        #[field(String, nullable)]
        pub public_key: Slot<String>,
        #[field(Enum("ssh", "x509"), since = "1.2")]
        pub r#type: Slot<String>,
        #[field(DateTime, nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime, nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "KeyPairList",
        version = "1.2",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        list,
        remotable(get_by_user = "cls, context, user_id")
    )]
    pub struct KeyPairList {
        #[field(List(Object(KeyPair)))]
        pub objects: Slot<Vec<KeyPair>>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "Plan", version = "1.2", serial_namespace = "karbor_object", project_namespace = "karbor", relationships(last_checkpoint = [("1.2", "1.0")]))]
    pub struct Plan {
        #[field(UUID)]
        pub id: Slot<String>,
        #[field(String)]
        pub name: Slot<String>,
        #[field(String, nullable)]
        pub description: Slot<String>,
        #[field(UUID)]
        pub provider_id: Slot<String>,
        #[field(String)]
        pub project_id: Slot<String>,
        #[field(String, nullable)]
        pub status: Slot<String>,
        #[field(List(Dict(Nullable(String))))]
        pub resources: Slot<Vec<IndexMap<String, Option<String>>>>,
        #[field(Dict(Dict(Nullable(String))))]
        pub parameters: Slot<IndexMap<String, IndexMap<String, Option<String>>>>,
        #[field(Set(String), since = "1.1")]
        pub labels: Slot<BTreeSet<String>>,
        #[field(Object(Checkpoint), nullable)]
        pub last_checkpoint: Slot<Checkpoint>,
        #[field(DateTime(tzinfo_aware = false), nullable)]
        pub created_at: Slot<DateTime>,
        #[field(DateTime(tzinfo_aware = false), nullable)]
        pub updated_at: Slot<DateTime>,
        #[field(DateTime(tzinfo_aware = false), nullable)]
        pub deleted_at: Slot<DateTime>,
        #[field(Boolean, default = false)]
        pub deleted: Slot<bool>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "PlanList", version = "1.0", serial_namespace = "karbor_object", project_namespace = "karbor", list, relationships(objects = [("1.0", "1.2")]))]
    pub struct PlanList {
        #[field(List(Object(Plan)))]
        pub objects: Slot<Vec<Plan>>,
        pub meta: ObjectMeta,
    }
}

/// The "new" registry (current release).
pub fn new_registry() -> (Registry, Registry, Registry) {
    let mut nova = Registry::new("nova_object", "nova");
    nova.register::<new::Flavor>()
        .register::<new::Instance>()
        .register::<new::InstanceList>()
        .register::<new::KeyPair>()
        .register::<new::KeyPairList>();
    let mut karbor = Registry::new("karbor_object", "karbor");
    karbor
        .register::<new::Plan>()
        .register::<new::PlanList>()
        .register::<new::Checkpoint>();
    let mut vo = Registry::new("versioned_object", "versionedobjects");
    vo.register::<new::AllTypes>()
        .register::<new::AllTypesChild>();
    (nova, karbor, vo)
}

/// The "old" registry (previous release).
pub fn old_registry() -> (Registry, Registry) {
    let mut nova = Registry::new("nova_object", "nova");
    nova.register::<old::Flavor>()
        .register::<old::Instance>()
        .register::<old::InstanceList>()
        .register::<old::KeyPair>()
        .register::<old::KeyPairList>();
    let mut karbor = Registry::new("karbor_object", "karbor");
    karbor
        .register::<old::Plan>()
        .register::<old::PlanList>()
        .register::<old::Checkpoint>();
    (nova, karbor)
}
