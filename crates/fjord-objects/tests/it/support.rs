//! Reading the fixtures: Python-tagged values to fjord values and back,
//! comparisons that treat sets and change lists as sets, and an
//! order-keeping JSON reader for byte-order checks.

use std::fmt;
use std::path::PathBuf;

use fjord_objects::{DateTime, FieldValue, Object, Registry};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

use crate::defs;

/// The fixture file `name`, parsed; None (test skipped) without ../shared.
pub fn fixture(test: &str, name: &str) -> Option<(Value, String)> {
    let dir: PathBuf = fjord_test_support::shared_dir(test, "versioned-objects-fixtures", name)?;
    let text = std::fs::read_to_string(dir.join(name)).expect("fixture readable");
    let v = serde_json::from_str(&text).expect("fixture is JSON");
    Some((v, text))
}

/// Every registry of the "new" release.
pub fn new_registries() -> Vec<Registry> {
    let (a, b, c) = defs::new_registry();
    vec![a, b, c]
}

/// A Python-tagged value (fixture README) as a FieldValue.
pub fn from_tagged(v: &Value, regs: &[Registry]) -> FieldValue {
    from_tagged_in_order(v, None, regs)
}

/// [`from_tagged`], with dict keys in the order of `order` (the same
/// value parsed keeping key order) when given, as Python held them.
pub fn from_tagged_in_order(v: &Value, order: Option<&Ordered>, regs: &[Registry]) -> FieldValue {
    let child = |k: &str| order.and_then(|o| o.get(k));
    match v {
        Value::Object(m) => {
            if let Some(Value::String(iso)) = m.get("__datetime__") {
                let mut dt = DateTime::parse(iso).expect("fixture datetime");
                if m.get("utcoffset_seconds").is_some_and(Value::is_null) {
                    dt.offset = None;
                }
                return FieldValue::DateTime(dt);
            }
            if let Some(Value::String(s)) = m.get("__ipaddress__") {
                return FieldValue::Ip(s.parse().expect("fixture ip"));
            }
            if let Some(Value::String(s)) = m.get("__ipnetwork__") {
                return FieldValue::Net(s.parse().expect("fixture net"));
            }
            if let Some(Value::Array(a)) = m.get("__set__") {
                return FieldValue::Set(a.iter().map(|x| from_tagged(x, regs)).collect());
            }
            if let Some(Value::Array(a)) = m.get("__tuple__") {
                return FieldValue::Tuple(a.iter().map(|x| from_tagged(x, regs)).collect());
            }
            if let Some(Value::String(name)) = m.get("__object__") {
                return FieldValue::Object(object_from_tagged(v, order, name, regs));
            }
            let keys: Vec<&String> = match order {
                Some(Ordered::Obj(kv)) => kv.iter().map(|(k, _)| k).collect(),
                _ => m.keys().collect(),
            };
            FieldValue::Dict(
                keys.into_iter()
                    .map(|k| (k.clone(), from_tagged_in_order(&m[k], child(k), regs)))
                    .collect(),
            )
        }
        Value::Array(a) => FieldValue::List(
            a.iter()
                .enumerate()
                .map(|(i, x)| from_tagged_in_order(x, order.and_then(|o| o.at(i)), regs))
                .collect(),
        ),
        other => FieldValue::from_json(other),
    }
}

fn object_from_tagged(
    v: &Value,
    order: Option<&Ordered>,
    name: &str,
    regs: &[Registry],
) -> Box<dyn Object> {
    let ns = v["__namespace__"].as_str().expect("namespace");
    let version = v["__version__"].as_str().expect("version");
    let reg = regs
        .iter()
        .find(|r| r.project_namespace() == ns)
        .expect("registry for namespace");
    let schema = reg.class_for(name, version).expect("class");
    let mut obj = (schema.new_object)();
    if version != schema.version {
        obj.obj_meta_mut().set_version(Some(version.to_string()));
    }
    if let Some(Value::Object(fields)) = v.get("fields") {
        for (k, fv) in fields {
            let o = order.and_then(|o| o.get("fields")).and_then(|f| f.get(k));
            obj.obj_set(k, from_tagged_in_order(fv, o, regs))
                .expect("fixture field sets");
        }
    }
    obj.obj_reset_changes(None, false);
    let changed: std::collections::BTreeSet<&'static str> = v["changed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| schema.field(c.as_str()?).map(|f| f.name))
                .collect()
        })
        .unwrap_or_default();
    obj.obj_meta_mut().set_changes(changed);
    obj
}

/// A FieldValue in the fixtures' tagged form.
pub fn to_tagged(v: &FieldValue) -> Value {
    match v {
        FieldValue::DateTime(d) => json!({
            "__datetime__": d.isoformat(),
            "utcoffset_seconds": d.offset,
        }),
        FieldValue::Ip(a) => {
            json!({"__ipaddress__": a.to_string(), "version": if a.is_ipv4() {4} else {6}})
        }
        FieldValue::Net(n) => {
            json!({"__ipnetwork__": n.to_string(), "version": if n.addr().is_ipv4() {4} else {6}})
        }
        FieldValue::Set(items) => {
            json!({"__set__": items.iter().map(to_tagged).collect::<Vec<_>>()})
        }
        FieldValue::Tuple(items) => {
            json!({"__tuple__": items.iter().map(to_tagged).collect::<Vec<_>>()})
        }
        FieldValue::List(items) => Value::Array(items.iter().map(to_tagged).collect()),
        FieldValue::Dict(d) => {
            Value::Object(d.iter().map(|(k, v)| (k.clone(), to_tagged(v))).collect())
        }
        FieldValue::Object(o) => object_to_tagged(o.as_ref()),
        other => fjord_objects::Field::new(fjord_objects::FieldType::String).to_primitive(other),
    }
}

/// An object in the fixtures' tagged form.
pub fn object_to_tagged(o: &dyn Object) -> Value {
    let schema = o.obj_schema();
    let mut fields = serde_json::Map::new();
    let mut unset = Vec::new();
    for f in &schema.fields {
        match o.obj_get(f.name).expect("field") {
            Some(v) => {
                fields.insert(f.name.to_string(), to_tagged(&v));
            }
            None => unset.push(Value::from(f.name)),
        }
    }
    let changed: Vec<Value> = o.obj_what_changed().into_iter().map(Value::from).collect();
    json!({
        "__object__": schema.name,
        "__version__": o.obj_version(),
        "__namespace__": schema.project_namespace,
        "fields": fields,
        "unset": unset,
        "changed": changed,
    })
}

/// Sorts what Python leaves in set order: `__set__`, `unset`, `changed`
/// lists and every `*.changes` array, recursively; floats that are whole
/// compare with integers as Python does.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut n = normalize(v);
                    if (k == "__set__" || k == "unset" || k == "changed" || k.ends_with(".changes"))
                        && let Value::Array(a) = &mut n
                    {
                        a.sort_by_key(|x| x.to_string());
                    }
                    (k.clone(), n)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// Normalizes both and asserts equality, naming the case.
#[track_caller]
pub fn assert_same(case: &str, got: &Value, want: &Value) {
    let (g, w) = (normalize(got), normalize(want));
    assert_eq!(g, w, "case {case}:\n got  {got}\n want {want}");
}

/// JSON with the order of object keys kept (for Python's key order).
#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    /// An object, keys in document order.
    Obj(Vec<(String, Ordered)>),
    /// An array.
    Arr(Vec<Ordered>),
    /// Anything else.
    Leaf(Value),
}

impl Ordered {
    /// Parses JSON text keeping key order.
    pub fn parse(text: &str) -> Ordered {
        serde_json::from_str(text).expect("valid JSON")
    }
    /// The value at `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// The element `i` of an array.
    pub fn at(&self, i: usize) -> Option<&Ordered> {
        match self {
            Ordered::Arr(a) => a.get(i),
            _ => None,
        }
    }
    /// The same with every `*.changes` array sorted.
    pub fn sorted_changes(&self) -> Ordered {
        match self {
            Ordered::Obj(kv) => Ordered::Obj(
                kv.iter()
                    .map(|(k, v)| {
                        let mut v = v.sorted_changes();
                        if k.ends_with(".changes")
                            && let Ordered::Arr(a) = &mut v
                        {
                            a.sort_by_key(|x| format!("{x:?}"));
                        }
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Ordered::Arr(a) => Ordered::Arr(a.iter().map(Ordered::sorted_changes).collect()),
            other => other.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::from(v)))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = a.next_element()? {
                    out.push(x);
                }
                Ok(Ordered::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Ordered>()? {
                    out.push((k, v));
                }
                Ok(Ordered::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}
