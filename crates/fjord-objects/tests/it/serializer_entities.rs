//! serializer_entities.json: serialize_entity of objects inside lists,
//! tuples, dicts and sets; deserialize_entity's edge and error cases.

use fjord_messaging::{Context, Serializer};
use fjord_objects::{ObjectSerializer, Registry};
use serde_json::Value;

use crate::defs;
use crate::support::{assert_same, fixture, from_tagged, new_registries, to_tagged};

/// The Rust serializer for a fixture's serializer class and registry.
fn serializer(name: &str, registry: &str) -> ObjectSerializer {
    let pick = |regs: Vec<Registry>, serial: &str| {
        regs.into_iter()
            .find(|r| r.serial_namespace() == serial)
            .expect("registry")
    };
    let serial = match name {
        "NovaLikeObjectSerializer" => "nova_object",
        "KarborLikeObjectSerializer" => "karbor_object",
        "VersionedObjectSerializer" => "versioned_object",
        other => panic!("unknown serializer {other}"),
    };
    let regs = if registry == "old" {
        let (a, b) = defs::old_registry();
        vec![a, b]
    } else {
        new_registries()
    };
    ObjectSerializer::new(pick(regs, serial))
}

#[test]
fn every_serializer_case() {
    let Some((doc, _)) = fixture(
        "serializer_entities::every_serializer_case",
        "serializer_entities.json",
    ) else {
        return;
    };
    let regs = new_registries();
    let ctx = Context::new();
    let cases = doc["cases"].as_array().expect("cases");
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let registry = case["receiver_registry"].as_str().unwrap_or("new");
        let ser = serializer(case["serializer"].as_str().expect("serializer"), registry);
        if let Some(entity) = case.get("entity_python") {
            // serialize_entity, then what the receiver makes of the wire.
            let wire = ser.serialize_value(&from_tagged(entity, &regs));
            assert_same(id, &wire, &case["serialize_entity_wire"]);
            let back = ser
                .deserialize_value(&ctx, &wire)
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_same(
                id,
                &to_tagged(&back),
                &case["deserialize_entity_of_wire_python"],
            );
            // The messaging hook: JSON in, the loaded objects' primitives out.
            let hooked = ser.deserialize_entity(&ctx, wire.clone()).expect("hook");
            assert_same(id, &hooked, &wire);
            continue;
        }
        let wire = &case["wire_value"];
        let got = ser.deserialize_value(&ctx, wire);
        if let Some(err) = case.get("deserialize_error") {
            let e = got.expect_err(id);
            let class = format!("{}.{}", e.module(), e.class());
            assert_eq!(class, err["exception"], "{id}: {e}");
            assert_eq!(e.message(), err["message"], "{id}");
            // the messaging hook refuses it the same way
            let hooked = ser.deserialize_entity(&ctx, wire.clone()).expect_err(id);
            assert_eq!(hooked, e, "{id}");
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_same(id, &to_tagged(&got), &case["deserialize_entity_python"]);
        if let Some(re) = case.get("reserialized") {
            assert_same(id, &ser.serialize_value(&got), re);
        }
    }
    assert_eq!(cases.len(), 24);
}

/// IncompatibleObjectVersion goes back as the failure Python reads:
/// class, module, message and the exception's kwargs.
#[test]
fn incompatible_version_failure_reply() {
    let ser = serializer("KarborLikeObjectSerializer", "old");
    let plan = serde_json::json!({
        "karbor_object.name": "Plan", "karbor_object.namespace": "karbor",
        "karbor_object.version": "1.3", "karbor_object.data": {}});
    let e = ser
        .deserialize_entity(&Context::new(), plan)
        .expect_err("newer");
    assert_eq!(
        (e.module(), e.class()),
        (
            "oslo_versionedobjects.exception",
            "IncompatibleObjectVersion"
        )
    );
    assert_eq!(
        e.message(),
        "Version 1.3 of Plan is not supported, supported version is 1.2"
    );
    assert_eq!(
        Value::Object(e.kwargs().clone()),
        serde_json::json!({"objname": "Plan", "objver": "1.3", "supported": "1.2", "code": 500})
    );
}
