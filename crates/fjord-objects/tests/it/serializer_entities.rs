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

/// The receive hook checks objects and hands them on as they came: a
/// primitive Python would load (here with a value to coerce, a key the
/// class does not have and a change that is not a field) reaches the
/// endpoint byte for byte; one loaded only as `X.Y` reaches it as the
/// primitive of the loaded object.
#[test]
fn received_objects_pass_through_as_they_came() {
    let ser = ObjectSerializer::new(defs::new_registry().0);
    let ctx = Context::new();
    let flavor = |version: &str| {
        serde_json::json!({
            "nova_object.name": "Flavor", "nova_object.namespace": "nova",
            "nova_object.version": version,
            "nova_object.data": {"id": "7", "name": "m1", "not_a_field": [1]},
            "nova_object.changes": ["name", "nope"],
        })
    };
    let args = serde_json::json!({"flavor": flavor("1.2"), "list": [flavor("1.1"), 3], "n": 1.5});
    let hooked = ser.deserialize_entity(&ctx, args.clone()).expect("loads");
    assert_eq!(hooked, args);
    assert_eq!(
        serde_json::to_string(&hooked).expect("JSON"),
        serde_json::to_string(&args).expect("JSON")
    );
    // A three-part version loads as X.Y: the endpoint gets that object.
    let hooked = ser
        .deserialize_entity(&ctx, flavor("1.2.5"))
        .expect("loads as 1.2");
    assert_eq!(
        hooked,
        serde_json::json!({
            "nova_object.name": "Flavor", "nova_object.namespace": "nova",
            "nova_object.version": "1.2",
            "nova_object.data": {"id": 7, "name": "m1"},
            "nova_object.changes": ["name"],
        })
    );
    // A bad object is still refused, wherever it is.
    let bad = serde_json::json!({"x": [1, {"y": flavor("2.0")}]});
    let e = ser.deserialize_entity(&ctx, bad).expect_err("newer major");
    assert_eq!(e.class(), "IncompatibleObjectVersion");
}
