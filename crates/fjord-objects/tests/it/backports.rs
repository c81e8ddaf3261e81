//! backports.json: obj_to_primitive(target_version, version_manifest) for
//! every case: fields dropped, sub-objects lowered through manifests and
//! obj_relationships, lists, and the errors Python raises.

use fjord_objects::Manifest;

use crate::support::{assert_same, fixture, new_registries};

#[test]
fn every_backport_case() {
    let Some((doc, _)) = fixture("backports::every_backport_case", "backports.json") else {
        return;
    };
    let regs = new_registries();
    let cases = doc["cases"].as_array().expect("cases");
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let source = &case["source_primitive"];
        let reg = regs
            .iter()
            .find(|r| r.is_primitive(source))
            .expect("registry");
        let obj = reg
            .obj_from_primitive(source)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(obj.obj_name(), case["class"], "{id}");
        assert_eq!(obj.obj_version(), case["from_version"], "{id}");
        let manifest: Option<Manifest> = case["version_manifest"].as_object().map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("version").to_string()))
                .collect()
        });
        let target = case["target_version"].as_str().expect("target");
        let got = obj.obj_to_primitive_with(Some(target), manifest.as_ref());
        if let Some(err) = case.get("error") {
            let e = got.expect_err(id);
            assert_eq!(e.python_class(), err["exception"], "{id}: {e}");
            assert_eq!(e.message(), err["message"], "{id}");
        } else {
            let got = got.unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_same(id, &got, &case["backported_primitive"]);
        }
    }
    assert_eq!(cases.len(), 19);
}
