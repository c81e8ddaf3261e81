//! Every expected file of the paste corpus
//! (`shared/openstack-configs/paste/**/*.expected.json`, produced by
//! PasteDeploy 3.1.0) is compared with what fjord's loader reads from the
//! input next to it: `defaults`, `raw_sections` and every section's
//! resolved context or error; for unreadable files the error class and
//! message.

use std::path::{Path, PathBuf};

use fjord_http::loader::{EggRegistry, PasteConfig};
use serde_json::Value;

fn corpus_dir(test: &str) -> Option<PathBuf> {
    fjord_test_support::shared_dir(test, "openstack-configs", "paste").map(|d| d.join("paste"))
}

fn expected_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            expected_files(&p, out);
        } else if p.to_string_lossy().ends_with(".expected.json") {
            out.push(p);
        }
    }
}

/// Describes the first difference between two JSON values, with its path.
fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => diff(&format!("{path}.{k}"), wv, gv, out),
                    None => out.push(format!("{path}.{k}: missing (want {wv})")),
                }
            }
            for k in g.keys() {
                if !w.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected"));
                }
            }
            let wk: Vec<&String> = w.keys().collect();
            let gk: Vec<&String> = g.keys().filter(|k| w.contains_key(*k)).collect();
            if wk.len() == gk.len() && wk != gk && !path.is_empty() {
                // serde_json's map is sorted, so order cannot be compared here.
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ if want != got => out.push(format!("{path}: want {want}, got {got}")),
        _ => {}
    }
}

fn check(expected_path: &Path) -> Vec<String> {
    let input = PathBuf::from(
        expected_path
            .to_string_lossy()
            .trim_end_matches(".expected.json"),
    );
    let expected: Value = match std::fs::read_to_string(expected_path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => return vec![format!("cannot read expected file: {e}")],
    };
    let text = match std::fs::read_to_string(&input) {
        Ok(t) => t,
        Err(e) => return vec![format!("cannot read input {}: {e}", input.display())],
    };
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut eggs = EggRegistry::default();
    if let Some(Value::Object(over)) = expected.get("egg_registry_overrides") {
        for (dist, groups) in over {
            for (group, entries) in groups.as_object().into_iter().flatten() {
                for (ep, target) in entries.as_object().into_iter().flatten() {
                    eggs.insert(dist, group, ep, target.as_str().unwrap_or_default());
                }
            }
        }
    }
    let mut out = Vec::new();
    match PasteConfig::parse_with(&text, "{path}", "<here>", &format!("<here>/{name}")) {
        Err(e) => {
            if expected["ok"] != Value::Bool(false) {
                out.push(format!("unexpected error: {e}"));
            } else {
                let got = e.to_json();
                diff(
                    "error.class",
                    &expected["error"]["class"],
                    &got["class"],
                    &mut out,
                );
                diff(
                    "error.message",
                    &expected["error"]["message"],
                    &got["message"],
                    &mut out,
                );
            }
        }
        Ok(config) => {
            if expected["ok"] != Value::Bool(true) {
                out.push(format!("parsed, but expected error {}", expected["error"]));
            } else {
                let got = config.to_json(&eggs);
                for key in ["defaults", "raw_sections", "sections"] {
                    diff(key, &expected[key], &got[key], &mut out);
                }
            }
        }
    }
    out
}

#[test]
fn every_paste_expected_file_matches() {
    let Some(dir) = corpus_dir("every_paste_expected_file_matches") else {
        return;
    };
    let mut files = Vec::new();
    expected_files(&dir, &mut files);
    files.sort();
    assert!(
        files.len() >= 19,
        "expected at least 19 expected files, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let diffs = check(f);
        if !diffs.is_empty() {
            let shown: Vec<String> = diffs.iter().take(8).cloned().collect();
            failures.push(format!(
                "{} ({} differences):\n  {}",
                f.display(),
                diffs.len(),
                shown.join("\n  ")
            ));
        }
    }
    eprintln!(
        "checked {} paste expected files, {} failed",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
