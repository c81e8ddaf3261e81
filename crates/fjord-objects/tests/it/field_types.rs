//! field_types.json: every stock field type's coercion, primitive,
//! wire read-back and refusals, and the attribute semantics.

use fjord_objects::field::ObjectRef;
use fjord_objects::{Field, FieldType, FieldValue, Object, VersionedObject};
use serde_json::Value;

use crate::defs::new;
use crate::support::{assert_same, fixture, from_tagged, new_registries, to_tagged};

fn s(t: FieldType) -> Field {
    Field::new(t)
}

fn list(e: Field) -> Field {
    Field::new(FieldType::List(Box::new(e)))
}
fn dict(e: Field) -> Field {
    Field::new(FieldType::Dict(Box::new(e)))
}
fn set(e: Field) -> Field {
    Field::new(FieldType::Set(Box::new(e)))
}

fn child_ref() -> ObjectRef {
    ObjectRef {
        name: new::AllTypesChild::OBJ_NAME,
        schema: new::AllTypesChild::schema,
    }
}

/// The Field for a fixture label.
fn field_for(label: &str) -> Field {
    use FieldType as T;
    match label {
        "StringField" => s(T::String),
        "StringField(nullable=True)" => s(T::String).nullable(),
        "StringField(default='dflt')" => s(T::String).with_default(FieldValue::Str("dflt".into())),
        "SensitiveStringField" => s(T::SensitiveString),
        "IntegerField" => s(T::Integer),
        "NonNegativeIntegerField" => s(T::NonNegativeInteger),
        "FloatField" => s(T::Float),
        "NonNegativeFloatField" => s(T::NonNegativeFloat),
        "BooleanField" => s(T::Boolean),
        "FlexibleBooleanField" => s(T::FlexibleBoolean),
        "DateTimeField" => s(T::DateTime { tzinfo_aware: true }),
        "DateTimeField(tzinfo_aware=False)" => s(T::DateTime {
            tzinfo_aware: false,
        }),
        "UUIDField" => s(T::Uuid),
        "MACAddressField" => s(T::MacAddress),
        "PCIAddressField" => s(T::PciAddress),
        "IPAddressField" => s(T::IpAddress),
        "IPV4AddressField" => s(T::IpV4Address),
        "IPV6AddressField" => s(T::IpV6Address),
        "IPV4AndV6AddressField" => s(T::IpV4AndV6Address),
        "IPNetworkField" => s(T::IpNetwork),
        "IPV4NetworkField" => s(T::IpV4Network),
        "IPV6NetworkField" => s(T::IpV6Network),
        "EnumField(['one','two','three'])" => s(T::enumeration(["one", "two", "three"])),
        "ListOfEnumField" => list(s(T::enumeration(["a", "b"]))),
        "VersionPredicateField" => s(T::VersionPredicate),
        "DictOfStringsField" => dict(s(T::String)),
        "DictOfNullableStringsField" => dict(s(T::String).nullable()),
        "DictOfIntegersField" => dict(s(T::Integer)),
        "ListOfStringsField" => list(s(T::String)),
        "ListOfIntegersField" => list(s(T::Integer)),
        "ListOfUUIDField" => list(s(T::Uuid)),
        "SetOfStringsField" => set(s(T::String)),
        "SetOfIntegersField" => set(s(T::Integer)),
        "ListOfListsOfStringsField" => list(list(s(T::String))),
        "DictOfListOfStringsField" => dict(list(s(T::String))),
        "DictOfSetOfIntegersField" => dict(set(s(T::Integer))),
        "ListOfSetsOfIntegersField" => list(set(s(T::Integer))),
        "ListOfDictOfNullableStringsField" => list(dict(s(T::String).nullable())),
        "DictOfDictOfStringsField (karbor custom)" => dict(dict(s(T::String).nullable())),
        "ObjectField('AllTypesChild')" => s(T::Object(child_ref())),
        "ListOfObjectsField('AllTypesChild')" => list(s(T::Object(child_ref()))),
        other => panic!("no Field for fixture label {other}"),
    }
}

/// Cases whose Python input JSON cannot express, or where fjord writes a
/// correct value Python does not (listed, with the reason).
fn expected_gap(label: &str, input: &Value) -> Option<&'static str> {
    let dt = |iso: &str| input.get("__datetime__").and_then(Value::as_str) == Some(iso);
    match label {
        "DictOfStringsField" if input == &serde_json::json!({"1": "x"}) => {
            Some("the Python input had an int key; JSON and Rust maps only have string keys")
        }
        "DateTimeField" if dt("2024-02-29T13:45:30+05:30") => Some(
            "an unnamed datetime.timezone writes 'UTC+05:30', which Python cannot read back; fjord writes '+05:30'",
        ),
        "DateTimeField" if dt("2024-02-29T13:45:30+01:00") => Some(
            "a zoneinfo zone writes its wall time with 'Z' (the wrong instant); fjord writes '+01:00'",
        ),
        _ => None,
    }
}

/// Python's exception message with the class's module (`__main__.`)
/// removed: fjord names object classes without a Python module.
fn strip_module(msg: &str) -> String {
    msg.replace("__main__.", "")
}

#[test]
fn every_field_type_case() {
    let Some((doc, _)) = fixture("field_types::every_field_type_case", "field_types.json") else {
        return;
    };
    let regs = new_registries();
    let mut ran = 0;
    let mut gaps = Vec::new();
    for ft in doc["field_types"].as_array().expect("field_types") {
        let label = ft["field"].as_str().expect("label");
        let field = field_for(label);
        assert_eq!(
            field.py_repr(),
            ft["repr"].as_str().expect("repr"),
            "repr of {label}"
        );
        for case in ft["cases"].as_array().expect("cases") {
            let input = &case["input"];
            let what = format!("{label} input {input}");
            if let Some(why) = expected_gap(label, input) {
                gaps.push(format!("{what}: {why}"));
                continue;
            }
            ran += 1;
            let coerced = field.coerce("attr", from_tagged(input, &regs));
            if let Some(err) = case.get("coerce_error") {
                let e = coerced.expect_err(&what);
                assert_eq!(e.python_class(), err["exception"], "{what}: {e}");
                assert_eq!(
                    e.message(),
                    strip_module(err["message"].as_str().expect("message")),
                    "{what}"
                );
                continue;
            }
            let coerced = coerced.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_same(&what, &to_tagged(&coerced), &case["coerced"]);
            let prim = field.to_primitive(&coerced);
            assert_same(&what, &prim, &case["wire_json"]);
            let read = field.from_primitive("attr", &case["wire_json"]);
            if let Some(err) = case.get("from_primitive_error") {
                let e = read.expect_err(&what);
                assert_eq!(e.python_class(), err["exception"], "{what}");
                assert_eq!(e.message(), err["message"], "{what}");
                continue;
            }
            let read = read.unwrap_or_else(|e| panic!("{what}: read back: {e}"));
            assert_same(&what, &to_tagged(&read), &case["from_primitive_of_wire"]);
        }
        for case in ft["from_primitive_cases"].as_array().into_iter().flatten() {
            ran += 1;
            let what = format!("{label} primitive {}", case["primitive"]);
            let read = field.from_primitive("attr", &case["primitive"]);
            if let Some(err) = case.get("from_primitive_error") {
                let e = read.expect_err(&what);
                assert_eq!(e.python_class(), err["exception"], "{what}");
                assert_eq!(e.message(), err["message"], "{what}");
            } else {
                let read = read.unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_same(&what, &to_tagged(&read), &case["from_primitive"]);
            }
        }
    }
    assert_eq!(gaps.len(), 3, "expected gaps: {gaps:#?}");
    assert!(ran > 100, "ran {ran} cases");
    eprintln!("field_types.json: {ran} cases passed; not run: {gaps:#?}");
}

#[test]
fn attribute_semantics() {
    let Some((doc, _)) = fixture("field_types::attribute_semantics", "field_types.json") else {
        return;
    };
    let cases = doc["attribute_semantics"].as_array().expect("cases");
    let result = |i: usize| &cases[i]["result"];

    // read an unset field
    let mut f = new::Flavor::default();
    let e = f.name.get("name").expect_err("unset");
    assert_eq!(e.python_class(), result(0)["error"]["exception"]);
    assert_eq!(e.message(), result(0)["error"]["message"]);

    // set None on nullable (name is nullable in the fixture's Flavor? the
    // fixture's case sets a nullable field): description
    f.obj_set("description", FieldValue::None)
        .expect("nullable");
    assert_eq!(
        f.obj_get("description").expect("field"),
        Some(FieldValue::None)
    );
    assert_eq!(result(1)["ok"], Value::Null);

    // None on a non-nullable field with a default: the default
    f.obj_set("deleted", FieldValue::None).expect("default");
    assert_eq!(f.deleted.value(), Some(&false));
    assert_eq!(result(2)["ok"], Value::Bool(false));

    // None on a non-nullable field without default
    let e = f.obj_set("vcpus", FieldValue::None).expect_err("vcpus");
    assert_eq!(e.python_class(), result(3)["error"]["exception"]);
    assert_eq!(e.message(), result(3)["error"]["message"]);

    // obj_set_defaults
    let mut f = new::Flavor::default();
    f.set_id(2).expect("id");
    f.obj_set_defaults(None).expect("defaults");
    assert_same(
        "obj_set_defaults",
        &crate::support::object_to_tagged(&f),
        result(4),
    );

    // obj_set_defaults on a field without default
    let e = f
        .obj_set_defaults(Some(&["vcpus"]))
        .expect_err("no default");
    assert_eq!(e.python_class(), result(5)["error"]["exception"]);
    assert_eq!(e.message(), result(5)["error"]["message"]);
}
