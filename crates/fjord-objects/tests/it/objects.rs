//! objects.json and object_definitions.json: obj_to_primitive (with
//! Python's key order), obj_from_primitive, round trips; both registries'
//! declarations match the fixture's definitions.

use fjord_objects::{Object, Registry};
use serde_json::Value;

use crate::defs;
use crate::support::{
    Ordered, assert_same, fixture, from_tagged_in_order, new_registries, object_to_tagged,
};

/// How a typed class reads a primitive.
#[derive(Clone, Copy)]
enum Path {
    /// `obj_from_json` of the text.
    Json,
    /// `obj_from_primitive_general`: no fast path.
    General,
}

/// `class` reads `wire` by `path`.
fn read_as(id: &str, class: &str, wire: &Value, path: Path) -> Box<dyn Object> {
    use crate::defs::new;
    use fjord_objects::VersionedObject;
    fn boxed<T: VersionedObject>(id: &str, wire: &Value, path: Path) -> Box<dyn Object> {
        let read = match path {
            Path::Json => T::obj_from_json(&wire.to_string()),
            Path::General => T::obj_from_primitive_general(wire),
        };
        Box::new(read.unwrap_or_else(|e| panic!("{id}: {e}")))
    }
    match class {
        "Flavor" => boxed::<new::Flavor>(id, wire, path),
        "Instance" => boxed::<new::Instance>(id, wire, path),
        "InstanceList" => boxed::<new::InstanceList>(id, wire, path),
        "KeyPair" => boxed::<new::KeyPair>(id, wire, path),
        "KeyPairList" => boxed::<new::KeyPairList>(id, wire, path),
        "Checkpoint" => boxed::<new::Checkpoint>(id, wire, path),
        "Plan" => boxed::<new::Plan>(id, wire, path),
        "PlanList" => boxed::<new::PlanList>(id, wire, path),
        "AllTypes" => boxed::<new::AllTypes>(id, wire, path),
        "AllTypesChild" => boxed::<new::AllTypesChild>(id, wire, path),
        other => panic!("{id}: no class {other}"),
    }
}

fn registry<'a>(regs: &'a [Registry], primitive: &Value) -> &'a Registry {
    regs.iter()
        .find(|r| r.is_primitive(primitive))
        .expect("a registry for the primitive")
}

#[test]
fn every_object_case() {
    let Some((doc, text)) = fixture("objects::every_object_case", "objects.json") else {
        return;
    };
    let ordered = Ordered::parse(&text);
    let regs = new_registries();
    let cases = doc["cases"].as_array().expect("cases");
    for (i, case) in cases.iter().enumerate() {
        let id = case["id"].as_str().expect("id");
        let ordered_case = ordered.get("cases").and_then(|c| c.at(i));
        let order = ordered_case.and_then(|c| c.get("python_value"));
        let fjord_objects::FieldValue::Object(obj) =
            from_tagged_in_order(&case["python_value"], order, &regs)
        else {
            panic!("{id}: python_value is not an object");
        };
        // obj_to_primitive, compared as values (changes as a set) ...
        let prim = obj.obj_to_primitive();
        assert_same(id, &prim, &case["obj_to_primitive"]);
        // ... and as text: the same keys in the order Python wrote them.
        let want = ordered
            .get("cases")
            .and_then(|c| c.at(i))
            .and_then(|c| c.get("obj_to_primitive"))
            .expect("ordered case")
            .sorted_changes();
        let got = Ordered::parse(&obj.obj_to_json()).sorted_changes();
        assert_eq!(got, want, "{id}: key order of obj_to_json");
        // obj_from_primitive of the wire form
        let wire = &case["obj_to_primitive"];
        let back = registry(&regs, wire)
            .obj_from_primitive(wire)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_same(
            id,
            &object_to_tagged(back.as_ref()),
            &case["python_value_after_from_primitive"],
        );
        // The fast text path and the general path give the same object.
        for path in [Path::Json, Path::General] {
            let other = read_as(id, case["class"].as_str().expect("class"), wire, path);
            assert_same(
                id,
                &object_to_tagged(other.as_ref()),
                &case["python_value_after_from_primitive"],
            );
        }
        // and out again
        let again = back.obj_to_primitive();
        assert_eq!(
            crate::support::normalize(&again) == crate::support::normalize(wire),
            case["reprimitive_equal"].as_bool().expect("bool"),
            "{id}: reprimitive"
        );
    }
    assert_eq!(cases.len(), 15);
}

fn check_definitions(reg_name: &str, doc: &Value, regs: &[&Registry]) {
    let defs = doc[reg_name].as_object().expect("registry");
    let mut seen = 0;
    for (name, def) in defs {
        let reg = regs
            .iter()
            .find(|r| r.names().any(|n| n == name))
            .unwrap_or_else(|| panic!("{reg_name}: {name} not declared"));
        let schema = reg.newest(name).expect("class");
        assert_eq!(schema.version, def["version"], "{name}");
        assert_eq!(schema.serial_namespace, def["serial_namespace"], "{name}");
        assert_eq!(schema.project_namespace, def["project_namespace"], "{name}");
        assert_eq!(schema.is_list, def["is_list"], "{name}");
        let fields = def["fields"].as_object().expect("fields");
        assert_eq!(schema.fields.len(), fields.len(), "{name}: field count");
        for (fname, fdef) in fields {
            let spec = schema
                .field(fname)
                .unwrap_or_else(|| panic!("{name}.{fname} not declared"));
            assert_eq!(spec.field.py_repr(), fdef["repr"], "{name}.{fname}");
            assert_eq!(spec.field.nullable, fdef["nullable"], "{name}.{fname}");
            assert_eq!(
                spec.field.default.is_some(),
                fdef["has_default"],
                "{name}.{fname}"
            );
            if let Some(obj) = fdef.get("object") {
                assert_eq!(
                    spec.field.ty.object_ref().map(|r| r.name),
                    obj.as_str(),
                    "{name}.{fname}"
                );
            }
            if let Some(aware) = fdef.get("tzinfo_aware") {
                assert_eq!(
                    spec.field.ty,
                    fjord_objects::FieldType::DateTime {
                        tzinfo_aware: aware.as_bool().expect("bool")
                    },
                    "{name}.{fname}"
                );
            }
        }
        let rels: serde_json::Map<String, Value> = schema
            .relationships
            .iter()
            .map(|(f, r)| {
                (
                    f.to_string(),
                    r.iter().map(|(a, b)| serde_json::json!([a, b])).collect(),
                )
            })
            .collect();
        assert_eq!(Value::Object(rels), def["obj_relationships"], "{name}");
        let methods: Vec<&str> = schema.remotable.iter().map(|(m, _)| *m).collect();
        assert_eq!(
            serde_json::json!(methods),
            def["remotable_methods"],
            "{name}"
        );
        let manifest = reg.tree_versions(name).expect("manifest");
        assert_eq!(
            serde_json::json!(manifest),
            def["version_manifest"],
            "{name}"
        );
        seen += 1;
    }
    assert_eq!(seen, defs.len());
}

#[test]
fn both_registries_match_object_definitions() {
    let Some((doc, _)) = fixture(
        "objects::both_registries_match_object_definitions",
        "object_definitions.json",
    ) else {
        return;
    };
    let new = new_registries();
    check_definitions("new", &doc, &new.iter().collect::<Vec<_>>());
    let (nova, karbor) = defs::old_registry();
    check_definitions("old", &doc, &[&nova, &karbor]);
}

#[test]
fn change_tracking_and_unset_vs_null() {
    use crate::defs::new::{Flavor, Instance};
    let mut f = Flavor::default();
    assert!(f.obj_what_changed().is_empty());
    f.set_id(1).expect("id");
    f.obj_set("description", fjord_objects::FieldValue::None)
        .expect("nullable");
    assert!(f.description.is_null() && !f.name.is_set());
    let p = f.obj_to_primitive();
    assert_eq!(
        p["nova_object.data"],
        serde_json::json!({"id": 1, "description": null})
    );
    let mut changes: Vec<&str> = p["nova_object.changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    changes.sort();
    assert_eq!(changes, ["description", "id"]);
    f.obj_reset_changes(Some(&["id"]), false);
    assert_eq!(
        f.obj_what_changed().into_iter().collect::<Vec<_>>(),
        ["description"]
    );
    f.obj_reset_changes(None, false);
    assert!(f.obj_to_primitive().get("nova_object.changes").is_none());

    // A changed sub-object makes its field changed; a recursive reset clears it.
    let mut i = Instance::default();
    i.set_flavor(f.clone()).expect("flavor");
    i.obj_reset_changes(None, false);
    assert!(i.obj_what_changed().is_empty());
    i.flavor
        .value_mut()
        .expect("flavor")
        .set_vcpus(2)
        .expect("vcpus");
    assert_eq!(
        i.obj_what_changed().into_iter().collect::<Vec<_>>(),
        ["flavor"]
    );
    i.obj_reset_changes(None, true);
    assert!(i.obj_what_changed().is_empty());
    assert!(
        i.flavor
            .value()
            .expect("flavor")
            .obj_what_changed()
            .is_empty()
    );
}

#[test]
fn read_only_fields_are_assignable_once() {
    use fjord_objects::{ErrorKind, ObjectMeta, Slot, VersionedObject};
    #[derive(Debug, Clone, VersionedObject)]
    #[object(name = "Pinned", version = "1.0")]
    pub struct Pinned {
        #[field(Integer, read_only)]
        pub id: Slot<i64>,
        pub meta: ObjectMeta,
    }
    let mut p = Pinned::default();
    p.set_id(1).expect("first assignment");
    p.set_id(1).expect("an equal value is ignored");
    let e = p.set_id(2).expect_err("read only");
    assert_eq!(e.kind(), ErrorKind::ReadOnlyField);
    assert_eq!(e.message(), "Cannot modify readonly field id");
    assert_eq!(p.id.value(), Some(&1));
}

/// The canonical primitives take the fast path (no fallback).
#[test]
fn canonical_primitives_take_the_fast_path() {
    use crate::defs::new;
    use fjord_objects::VersionedObject;
    let Some((doc, _)) = fixture(
        "objects::canonical_primitives_take_the_fast_path",
        "objects.json",
    ) else {
        return;
    };
    for case in doc["cases"].as_array().expect("cases") {
        if case["class"] != "Instance" {
            continue;
        }
        let text = case["obj_to_primitive"].to_string();
        let mut de = serde_json::Deserializer::from_str(&text);
        new::Instance::obj_deserialize(&mut de).unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        // and from a parsed Value (what obj_from_primitive tries first)
        new::Instance::obj_deserialize(&case["obj_to_primitive"])
            .unwrap_or_else(|e| panic!("{} as a Value: {e}", case["id"]));
    }
}
