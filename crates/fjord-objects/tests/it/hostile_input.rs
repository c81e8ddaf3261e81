//! Hostile input: the object decoder (`obj_from_primitive`, the
//! serializer's `deserialize_entity`) answers any JSON with an object or
//! a clear error, never a panic; malformed primitives are refused with the
//! error Python raises.

use fjord_messaging::{Context, Serializer};
use fjord_objects::{ErrorKind, Object, ObjectSerializer, Registry, VersionedObject};
use fjord_test_support::hostile::{any_text, check};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::defs::{self, new};

const NAMES: &[&str] = &[
    "Instance",
    "Flavor",
    "KeyPairList",
    "KeyPair",
    "InstanceList",
    "Plan",
    "NoSuch",
    "",
];
const NAMESPACES: &[&str] = &["nova", "karbor", "cinder", ""];
const VERSIONS: &[&str] = &[
    "2.8",
    "2.6",
    "1.2",
    "1.0",
    "2.9",
    "3.0",
    "1.2.5",
    "x.y",
    "1",
    "",
    "2.8rc1",
    "99999999999999999999.1",
    "1..2",
    ".",
];
const KEYS: &[&str] = &[
    "nova_object.name",
    "nova_object.namespace",
    "nova_object.version",
    "nova_object.data",
    "nova_object.changes",
    "id",
    "uuid",
    "name",
    "flavor",
    "keypairs",
    "objects",
    "created_at",
    "access_ip_v4",
    "metadata",
    "system_metadata",
    "vcpus",
    "rxtx_factor",
    "type",
    "deleted",
    "extra_specs",
    "projects",
    "hidden",
    "compute_id",
    "launched_at",
    "x",
];
const STRINGS: &[&str] = &[
    "2024-02-29T13:45:30Z",
    "2024-13-45",
    "20240229T134530+0530",
    "2024-02-29T13:45:30+99:00",
    "192.0.2.1",
    "::ffff:1.2.3.4",
    "010.0.0.1",
    "10.0.0.0/33",
    "aa:bb:cc:dd:ee:ff",
    "ssh",
    "x509",
    "NaN",
    "inf",
    "-1",
    "1e400",
    "9223372036854775808",
    "",
    "\u{0}",
    "é",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        any_text(8).prop_map(Value::from),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..8).prop_map(
                |kv| { Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()) }
            ),
        ]
    })
}

/// An envelope from the object vocabulary with arbitrary data.
fn any_primitive() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(NAMES),
        proptest::sample::select(NAMESPACES),
        proptest::sample::select(VERSIONS),
        proptest::collection::vec((proptest::sample::select(KEYS), any_json()), 0..10),
        any_json(),
        any::<u8>(),
    )
        .prop_map(|(name, ns, version, data, changes, drop)| {
            let mut m = Map::new();
            m.insert("nova_object.name".into(), json!(name));
            m.insert("nova_object.namespace".into(), json!(ns));
            m.insert("nova_object.version".into(), json!(version));
            m.insert(
                "nova_object.data".into(),
                Value::Object(data.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
            );
            m.insert("nova_object.changes".into(), changes);
            // Sometimes leave a required key out.
            match drop % 8 {
                0 => m.remove("nova_object.data"),
                1 => m.remove("nova_object.version"),
                2 => m.remove("nova_object.namespace"),
                _ => None,
            };
            Value::Object(m)
        })
}

fn nova() -> Registry {
    defs::new_registry().0
}

fn decode(reg: &Registry, ser: &ObjectSerializer, v: &Value) {
    if let Ok(obj) = reg.obj_from_primitive(v) {
        // Whatever loads can be written again, at every lower minor too.
        let _ = obj.obj_to_primitive();
        let _ = obj.obj_to_json();
        let _ = obj.obj_to_primitive_with(Some("1.0"), None);
    }
    let _ = ser.deserialize_entity(&Context::new(), v.clone());
    // The fast paths (from the Value, from the text) agree with the
    // general path, object or error. The text is compared with the Value
    // it parses to.
    let general = new::Instance::obj_from_primitive_general(v);
    same_outcome(&general, new::Instance::obj_from_primitive(v), "Value", v);
    let text = v.to_string();
    let reread: Value = serde_json::from_str(&text).expect("JSON of a Value");
    same_outcome(
        &new::Instance::obj_from_primitive_general(&reread),
        new::Instance::obj_from_json(&text),
        "text",
        v,
    );
}

#[track_caller]
fn same_outcome(
    general: &fjord_objects::Result<new::Instance>,
    fast: fjord_objects::Result<new::Instance>,
    path: &str,
    v: &Value,
) {
    match (general, fast) {
        (Ok(a), Ok(b)) => assert_eq!(
            crate::support::object_to_tagged(a),
            crate::support::object_to_tagged(&b),
            "{path} path for {v}"
        ),
        (Err(a), Err(b)) => assert_eq!(*a, b, "{path} path for {v}"),
        (a, b) => panic!("general {a:?} but {path} path {b:?} for {v}"),
    }
}

#[test]
fn decoder_never_panics() {
    let reg = nova();
    let ser = ObjectSerializer::new(reg.clone());
    check("object primitives", 3000, any_primitive(), |v| {
        decode(&reg, &ser, &v);
        // the same primitive nested as an argument and as a sub-object
        decode(
            &reg,
            &ser,
            &json!({"instance": v.clone(), "list": [v.clone(), 1]}),
        );
        Ok(())
    });
    check("any JSON", 1000, any_json(), |v| {
        decode(&reg, &ser, &v);
        Ok(())
    });
    check("any text", 1000, any_text(120), |t| {
        if let Ok(v) = serde_json::from_str::<Value>(&t) {
            decode(&reg, &ser, &v);
        }
        let _ = new::Instance::obj_from_json(&t);
        Ok(())
    });
    // Valid primitives (every field set) through both paths.
    let full = crate::support::fixture("hostile_input::decoder_never_panics", "objects.json");
    if let Some((doc, _)) = full {
        for case in doc["cases"].as_array().expect("cases") {
            if case["class"] == "Instance" {
                decode(&reg, &ser, &case["obj_to_primitive"]);
            }
        }
    }
}

/// Where a mutation of a valid Instance primitive goes: its own data, the
/// nested flavor's, or the first keypair's.
const PLACES: &[&str] = &["instance", "flavor", "keypair"];

/// The data map of `place` in the Instance primitive `v`.
fn data_at<'a>(v: &'a mut Value, place: &str) -> Option<&'a mut Map<String, Value>> {
    let data = v.get_mut("nova_object.data")?;
    let target = match place {
        "flavor" => data.get_mut("flavor")?,
        "keypair" => data
            .get_mut("keypairs")?
            .get_mut("nova_object.data")?
            .get_mut("objects")?
            .get_mut(0)?,
        _ => return data.as_object_mut(),
    };
    target.get_mut("nova_object.data")?.as_object_mut()
}

/// Valid Instance primitives with a few fields replaced by any JSON (or
/// removed): the fast paths (from a Value, from text) agree with the
/// general path on each, object or error.
#[test]
fn fast_paths_agree_with_the_general_path() {
    let Some((doc, _)) = crate::support::fixture(
        "hostile_input::fast_paths_agree_with_the_general_path",
        "objects.json",
    ) else {
        return;
    };
    let bases: Vec<Value> = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["class"] == "Instance")
        .map(|c| c["obj_to_primitive"].clone())
        .collect();
    assert!(!bases.is_empty());
    let reg = nova();
    let ser = ObjectSerializer::new(reg.clone());
    let edits = proptest::collection::vec(
        (
            proptest::sample::select(PLACES),
            proptest::sample::select(KEYS),
            proptest::option::weighted(0.9, prop_oneof![leaf(), any_json()]),
        ),
        1..4,
    );
    check(
        "mutated Instance primitives",
        3000,
        (0..bases.len(), edits),
        |(base, edits)| {
            let mut v = bases[base].clone();
            for (place, key, value) in edits {
                if let Some(data) = data_at(&mut v, place) {
                    match value {
                        Some(value) => data.insert(key.to_string(), value),
                        None => data.remove(key),
                    };
                }
            }
            decode(&reg, &ser, &v);
            Ok(())
        },
    );
}

fn flavor_primitive() -> Value {
    let mut f = new::Flavor::default();
    f.set_id(1).expect("id");
    f.set_name("m1".to_string()).expect("name");
    f.obj_to_primitive()
}

#[track_caller]
fn refused(v: Value, kind: ErrorKind, message: &str) {
    let reg = nova();
    let e = reg.obj_from_primitive(&v).expect_err("refused");
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.message(), message);
    // As a remote error from the serializer, same class and message
    // (without a name key it is a plain dict to the serializer, as in
    // Python).
    if v.get("nova_object.name").is_none() {
        return;
    }
    let r = ObjectSerializer::new(reg)
        .deserialize_entity(&Context::new(), json!({"arg": v}))
        .expect_err("refused");
    assert_eq!(format!("{}.{}", r.module(), r.class()), kind.python_class());
    assert_eq!(r.message(), message);
}

#[test]
fn malformed_primitives_are_refused_clearly() {
    for key in ["name", "namespace", "version", "data"] {
        let mut v = flavor_primitive();
        v.as_object_mut()
            .expect("object")
            .remove(&format!("nova_object.{key}"));
        refused(v, ErrorKind::MissingKey, &format!("'nova_object.{key}'"));
    }
    let mut v = flavor_primitive();
    v["nova_object.namespace"] = json!("cinder");
    refused(
        v,
        ErrorKind::UnsupportedObject,
        "Unsupported object type cinder.Flavor",
    );
    let mut v = flavor_primitive();
    v["nova_object.name"] = json!("Gadget");
    refused(
        v,
        ErrorKind::UnsupportedObject,
        "Unsupported object type Gadget",
    );
    let mut v = flavor_primitive();
    v["nova_object.version"] = json!("one.two");
    refused(
        v,
        ErrorKind::BadVersion,
        "Invalid version string \"one.two\": expected X.Y or X.Y.Z",
    );
    let mut v = flavor_primitive();
    v["nova_object.version"] = json!("1.3");
    refused(
        v,
        ErrorKind::IncompatibleVersion,
        "Version 1.3 of Flavor is not supported, supported version is 1.2",
    );
    let mut v = flavor_primitive();
    v["nova_object.data"]["vcpus"] = json!([1]);
    refused(
        v,
        ErrorKind::Type,
        "int() argument must be a string, a bytes-like object or a real number, not 'list'",
    );
    let mut v = flavor_primitive();
    v["nova_object.data"]["extra_specs"] = json!("not a dict");
    refused(
        v,
        ErrorKind::Value,
        "A dict is required in field extra_specs, not a str",
    );
    let mut v = flavor_primitive();
    v["nova_object.data"]["vcpus"] = Value::Null;
    refused(v, ErrorKind::Value, "Field `vcpus' cannot be None");
    let mut v = flavor_primitive();
    v["nova_object.data"] = json!([]);
    refused(
        v,
        ErrorKind::Value,
        "nova_object.data must be an object, not an array",
    );
}
