//! fingerprints.json: hashes, the exact hashed text, dependency trees and
//! manifests for both registries, and nova's own recorded Tag/TagList
//! hashes; the pinning helper fails on an incompatible change.

use fjord_objects::fingerprint::ObjectVersionChecker;
use fjord_objects::{ObjectMeta, Registry, Slot, VersionedObject};
use serde_json::{Value, json};

use crate::defs;
use crate::support::{fixture, new_registries};

/// Exact copies of nova's Tag and TagList (nova/objects/tag.py).
mod nova_tag {
    use super::*;

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Tag",
        version = "1.1",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(
            create = "self",
            destroy = "cls, context, resource_id, name",
            exists = "cls, context, resource_id, name"
        )
    )]
    pub struct Tag {
        #[field(String)]
        pub resource_id: Slot<String>,
        #[field(String)]
        pub tag: Slot<String>,
        pub meta: ObjectMeta,
    }

    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "TagList",
        version = "1.1",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        list,
        remotable(
            get_by_resource_id = "cls, context, resource_id",
            create = "cls, context, resource_id, tags",
            destroy = "cls, context, resource_id"
        )
    )]
    pub struct TagList {
        #[field(List(Object(Tag)))]
        pub objects: Slot<Vec<Tag>>,
        pub meta: ObjectMeta,
    }
}

fn check(section: &Value, checker: &ObjectVersionChecker, regs: &[&Registry], what: &str) {
    let texts = checker.hashed_texts();
    for (name, want) in section["hashed_text"].as_object().expect("texts") {
        assert_eq!(
            Some(want.as_str().expect("text")),
            texts.get(name).map(String::as_str),
            "{what} {name} text"
        );
    }
    assert_eq!(
        json!(checker.get_hashes()),
        section["hashes"],
        "{what} hashes"
    );
    assert_eq!(
        json!(checker.get_dependency_tree()),
        section["dependency_tree"],
        "{what} tree"
    );
    for (name, want) in section["manifests"].as_object().expect("manifests") {
        let reg = regs
            .iter()
            .find(|r| r.names().any(|n| n == name))
            .expect("registry");
        assert_eq!(
            &json!(reg.tree_versions(name).expect("manifest")),
            want,
            "{what} {name} manifest"
        );
    }
    assert_eq!(
        checker.test_relationships_in_order().is_ok(),
        section["relationships_in_order"].as_bool().expect("bool"),
        "{what}"
    );
    checker
        .test_compatibility_routines()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn both_registries_and_nova_reference() {
    let Some((doc, _)) = fixture(
        "fingerprints::both_registries_and_nova_reference",
        "fingerprints.json",
    ) else {
        return;
    };
    let new = new_registries();
    let new_refs: Vec<&Registry> = new.iter().collect();
    check(
        &doc["new"],
        &ObjectVersionChecker::new(&new_refs),
        &new_refs,
        "new",
    );
    let (nova, karbor) = defs::old_registry();
    check(
        &doc["old"],
        &ObjectVersionChecker::new(&[&nova, &karbor]),
        &[&nova, &karbor],
        "old",
    );

    let mut tags = Registry::new("nova_object", "nova");
    tags.register::<nova_tag::Tag>()
        .register::<nova_tag::TagList>();
    let checker = ObjectVersionChecker::new(&[&tags]);
    check(&doc["nova-reference"], &checker, &[&tags], "nova-reference");
    // The hashes nova's own test suite records.
    let pinned: Vec<(&str, &str)> = doc["nova-reference"]["nova_recorded_hashes"]
        .as_object()
        .expect("recorded")
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().expect("hash")))
        .collect();
    checker
        .test_hashes(&pinned)
        .expect("nova's recorded hashes");
}

/// A field added without a version bump: the pinned hash no longer
/// matches and the helper says which class changed.
#[test]
fn pinning_catches_an_unbumped_change() {
    #[derive(Debug, Clone, VersionedObject)]
    #[object(
        name = "Tag",
        version = "1.1",
        serial_namespace = "nova_object",
        project_namespace = "nova",
        remotable(
            create = "self",
            destroy = "cls, context, resource_id, name",
            exists = "cls, context, resource_id, name"
        )
    )]
    pub struct ChangedTag {
        #[field(String)]
        pub resource_id: Slot<String>,
        #[field(String)]
        pub tag: Slot<String>,
        #[field(String, nullable)]
        pub colour: Slot<String>,
        pub meta: ObjectMeta,
    }
    let mut reg = Registry::new("nova_object", "nova");
    reg.register::<ChangedTag>();
    let report = ObjectVersionChecker::new(&[&reg])
        .test_hashes(&[("Tag", "1.1-8b8d7d5b48887651a0e01241672e2963")])
        .expect_err("the change is caught");
    assert!(
        report.contains("Tag: expected 1.1-8b8d7d5b48887651a0e01241672e2963, got 1.1-"),
        "{report}"
    );
}
