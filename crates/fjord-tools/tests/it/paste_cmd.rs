//! `fjord-config paste` on the demo's and real OpenStack api-paste.ini files.

use std::process::Command;

fn run(path: &str) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_fjord-config"))
        .args(["paste", "--paste-config", path])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn describes_the_demo_pipeline_and_marks_native_factories() {
    let (code, v) = run(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../etc/demo/api-paste.ini"
    ));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    let text = v.to_string();
    // fjord's own middleware is native, the demo's apps are the application's.
    assert!(text.contains("request_id"), "{text}");
    assert!(text.contains("fjord_demo.api:v1_factory"), "{text}");
}

#[test]
fn karbor_paste_from_the_corpus_and_a_missing_file() {
    let corpus = fjord_test_support::shared_dir(
        "karbor_paste_from_the_corpus_and_a_missing_file",
        "openstack-configs",
        "paste",
    );
    if let Some(dir) = corpus.and_then(|c| std::fs::read_dir(c.join("paste")).ok()) {
        let file = dir.flatten().map(|e| e.path()).find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.contains("karbor") && !n.ends_with(".json")
        });
        if let Some(file) = file {
            let (code, v) = run(file.to_str().unwrap());
            assert_eq!(code, 0, "{v}");
            assert!(
                v["sections"].as_array().is_some_and(|s| !s.is_empty()),
                "{v}"
            );
        }
    }
    let (code, v) = run("/nonexistent/api-paste.ini");
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
}
