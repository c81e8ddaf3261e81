//! `ObjectVersionChecker`: the version fingerprints projects pin in their
//! tests (VERSIONED_OBJECTS.md §10), computed exactly as
//! oslo.versionedobjects 3.12 does, so Python projects' hash tables carry
//! over.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use md5::{Digest, Md5};

use crate::object::Schema;
use crate::registry::Registry;
use crate::version::Version;
use fjord_config::pyrepr::py_repr;

/// Python's `ArgSpec(...)` repr for a signature written as
/// `"cls, context, uuid, expected_attrs=None"`.
pub fn argspec_repr(signature: &str) -> String {
    let mut args = Vec::new();
    let mut defaults = Vec::new();
    for part in signature
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match part.split_once('=') {
            Some((name, default)) => {
                args.push(py_repr(name.trim()));
                defaults.push(default.trim().to_string());
            }
            None => args.push(py_repr(part)),
        }
    }
    let defaults = match defaults.len() {
        0 => "None".to_string(),
        1 => format!("({},)", defaults[0]),
        _ => format!("({})", defaults.join(", ")),
    };
    format!(
        "ArgSpec(args=[{}], varargs=None, keywords=None, defaults={defaults})",
        args.join(", ")
    )
}

/// The exact text `ObjectVersionChecker` hashes for a class:
/// `(fields, methods[, OrderedDict(child_versions)])`.
pub fn hashed_text(schema: &Schema) -> String {
    let mut fields: Vec<(&str, String)> = schema
        .fields
        .iter()
        .map(|f| (f.name, f.field.py_repr()))
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut methods: Vec<(&str, String)> = schema
        .remotable
        .iter()
        .map(|(m, sig)| (*m, argspec_repr(sig)))
        .collect();
    methods.sort_by(|a, b| a.0.cmp(b.0));
    let list = |items: &[(&str, String)]| {
        let parts: Vec<String> = items
            .iter()
            .map(|(n, r)| format!("({}, {r})", py_repr(n)))
            .collect();
        format!("[{}]", parts.join(", "))
    };
    let mut text = format!("({}, {}", list(&fields), list(&methods));
    if schema.is_list || !schema.child_versions.is_empty() {
        let mut cv: Vec<(&str, &str)> = schema.child_versions.clone();
        cv.sort();
        if cv.is_empty() {
            text.push_str(", OrderedDict()");
        } else {
            let parts: Vec<String> = cv
                .iter()
                .map(|(a, b)| format!("({}, {})", py_repr(a), py_repr(b)))
                .collect();
            let _ = write!(text, ", OrderedDict([{}])", parts.join(", "));
        }
    }
    text.push(')');
    text
}

/// A class's fingerprint: `VERSION-md5(hashed_text)`.
pub fn fingerprint(schema: &Schema) -> String {
    let digest = Md5::digest(hashed_text(schema).as_bytes());
    let mut hex = String::with_capacity(32);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    format!("{}-{hex}", schema.version)
}

/// oslo.versionedobjects' `fixture.ObjectVersionChecker` over the newest
/// class of each name of one or more registries.
///
/// # Examples
///
/// Pinning a service's objects, as nova's `test_objects.py` does: a field
/// or remotable method change without a version bump fails the test.
///
/// ```
/// # use fjord_objects::{Registry, Slot, ObjectMeta, VersionedObject};
/// use fjord_objects::fingerprint::ObjectVersionChecker;
/// # #[derive(Debug, Clone, VersionedObject)]
/// # #[object(name = "Tag", version = "1.1", serial_namespace = "nova_object", project_namespace = "nova",
/// #         remotable(create = "self"))]
/// # pub struct Tag { #[field(String)] pub resource_id: Slot<String>,
/// #                  #[field(String)] pub tag: Slot<String>, meta: ObjectMeta }
/// let mut reg = Registry::new("nova_object", "nova");
/// reg.register::<Tag>();
/// let checker = ObjectVersionChecker::new(&[&reg]);
/// let pinned = [("Tag", "1.1-cd8b3ea0afc2a7ee8bd6a6bbc5d1fdc0")];
/// if let Err(report) = checker.test_hashes(&pinned) {
///     // In a real test: panic!("{report}"). Here the pin is made up.
///     assert!(report.contains("Tag"));
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ObjectVersionChecker {
    classes: BTreeMap<&'static str, &'static Schema>,
}

impl ObjectVersionChecker {
    /// A checker over the newest class of each name in `registries`.
    pub fn new(registries: &[&Registry]) -> Self {
        let mut classes = BTreeMap::new();
        for reg in registries {
            for name in reg.names() {
                if let Some(s) = reg.newest(name) {
                    classes.insert(name, s);
                }
            }
        }
        ObjectVersionChecker { classes }
    }
    /// `get_hashes()`: `{name: "VERSION-md5"}`.
    pub fn get_hashes(&self) -> BTreeMap<String, String> {
        self.classes
            .iter()
            .map(|(n, s)| (n.to_string(), fingerprint(s)))
            .collect()
    }
    /// The text each hash is made of.
    pub fn hashed_texts(&self) -> BTreeMap<String, String> {
        self.classes
            .iter()
            .map(|(n, s)| (n.to_string(), hashed_text(s)))
            .collect()
    }
    /// `test_hashes(expected)`: compares with the pinned hashes.
    ///
    /// # Errors
    ///
    /// A report naming each class whose hash differs, is new or is gone,
    /// with the expected and actual values (bump the version, then update
    /// the pin).
    pub fn test_hashes(&self, expected: &[(&str, &str)]) -> Result<(), String> {
        let actual = self.get_hashes();
        let mut report = String::new();
        for (name, want) in expected {
            match actual.get(*name) {
                Some(got) if got == want => {}
                Some(got) => {
                    let _ = writeln!(report, "{name}: expected {want}, got {got}");
                }
                None => {
                    let _ = writeln!(report, "{name}: pinned but not registered");
                }
            }
        }
        for (name, got) in &actual {
            if !expected.iter().any(|(n, _)| n == name) {
                let _ = writeln!(report, "{name}: not pinned (actual {got})");
            }
        }
        if report.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Some objects changed; bump their version and update the pinned hashes:\n{report}"
            ))
        }
    }
    /// `get_dependency_tree()`: `{name: {child: child VERSION}}` through
    /// `ObjectField`s only (lists of objects are not in it), for classes
    /// that have such children.
    pub fn get_dependency_tree(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (name, schema) in &self.classes {
            let mut deps = BTreeMap::new();
            for f in &schema.fields {
                if let crate::FieldType::Object(r) = &f.field.ty {
                    let child = self
                        .classes
                        .get(r.name)
                        .copied()
                        .unwrap_or_else(|| (r.schema)());
                    deps.insert(r.name.to_string(), child.version.to_string());
                }
            }
            if !deps.is_empty() {
                out.insert(name.to_string(), deps);
            }
        }
        out
    }
    /// `test_relationships_in_order()`: each `obj_relationships` list
    /// increases strictly in parent version and never decreases in child
    /// version.
    ///
    /// # Errors
    ///
    /// The first class and field out of order.
    pub fn test_relationships_in_order(&self) -> Result<(), String> {
        for (name, schema) in &self.classes {
            for (field, rels) in &schema.relationships {
                let mut last: Option<(Version, Version)> = None;
                for (p, c) in rels {
                    let (p, c) = match (Version::parse(p), Version::parse(c)) {
                        (Ok(p), Ok(c)) => (p, c),
                        _ => return Err(format!("{name}.{field}: bad version in {rels:?}")),
                    };
                    if let Some((lp, lc)) = &last
                        && (p <= *lp || c < *lc)
                    {
                        return Err(format!(
                            "{name}.{field}: relationships out of order: {rels:?}"
                        ));
                    }
                    last = Some((p, c));
                }
            }
        }
        Ok(())
    }
    /// `test_compatibility_routines()`: backports an empty object to every
    /// minor version from 0 to its own.
    ///
    /// # Errors
    ///
    /// The first class and target that fails.
    pub fn test_compatibility_routines(&self) -> Result<(), String> {
        for (name, schema) in &self.classes {
            let obj = (schema.new_object)();
            let v = Version::parse(schema.version).map_err(|e| format!("{name}: {e}"))?;
            let (major, minor) = (v.major(), v.parts().get(1).copied().unwrap_or(0));
            for m in 0..=minor {
                let target = format!("{major}.{m}");
                obj.obj_to_primitive_with(Some(&target), None)
                    .map_err(|e| format!("{name} to {target}: {e}"))?;
            }
        }
        Ok(())
    }
}
