//! Every `conf/**/*.expected.json` of the OpenStack corpus: fjord reads the
//! file as Python oslo.config 10.7.0 did.

use crate::support;

use fjord_config::dump::{Dump, dump};
use serde_json::Value;

/// Also compares key order (file order, first-seen keys), which
/// `serde_json::Value` equality ignores.
fn order_differs(expected_text: &str, got_text: &str, keys: &[&str]) -> Vec<String> {
    let want = support::Ordered::parse(expected_text);
    let got = support::Ordered::parse(got_text);
    keys.iter()
        .filter(|k| want.get(k).is_some() && want.get(k) != got.get(k))
        .map(|k| format!("{k} (order)"))
        .collect()
}

#[test]
fn corpus_conf_expected_files() {
    let Some(corpus) = support::corpus("corpus_conf_expected_files") else {
        return;
    };
    let files = support::expected_files(&corpus.join("conf"));
    assert!(files.len() >= 60, "only {} expected files", files.len());
    let mut failures = Vec::new();
    for expected_path in &files {
        let expected_text = std::fs::read_to_string(expected_path).unwrap();
        let expected: Value = serde_json::from_str(&expected_text).unwrap();
        let inputs = support::inputs_for(expected_path);
        let paths: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
        let got = dump(&paths);
        let got_json: Value = serde_json::from_str(&got.to_json()).unwrap();
        let name = expected_path
            .strip_prefix(&corpus)
            .unwrap()
            .display()
            .to_string();
        if expected["ok"] != got_json["ok"] {
            failures.push(format!("{name}: ok differs: got {}", got.to_json()));
            continue;
        }
        if let Dump::Failed { error, .. } = &got {
            let exp_err = &expected["error"];
            let exp_line = exp_err["parse_error"]["lineno"]
                .as_u64()
                .map(|l| l as usize);
            if exp_line != error.line {
                failures.push(format!("{name}: line {:?} != {exp_line:?}", error.line));
            }
            if exp_err["class"].as_str() != Some(error.class.as_str()) {
                failures.push(format!(
                    "{name}: class {} != {}",
                    error.class, exp_err["class"]
                ));
            }
            let message = error.message.replace(&error.file, "{path}");
            if exp_err["message"].as_str() != Some(message.as_str()) {
                failures.push(format!(
                    "{name}: message\n  got  {message}\n  want {}",
                    exp_err["message"]
                ));
            }
            continue;
        }
        if expected.get("per_file").is_some() {
            let want = expected["per_file"].as_array().unwrap();
            let got_pf = got_json["per_file"].as_array().cloned().unwrap_or_default();
            if want.len() != got_pf.len() {
                failures.push(format!("{name}: per_file count differs"));
            }
            for (w, g) in want.iter().zip(&got_pf) {
                for key in ["sections", "normalized"] {
                    if w[key] != g[key] {
                        failures.push(format!("{name}: per_file {key} differs for {}", w["file"]));
                    }
                }
            }
        } else {
            for key in ["sections", "normalized"] {
                if expected[key] != got_json[key] {
                    failures.push(format!(
                        "{name}: {key} differs\n  got  {}\n  want {}",
                        got_json[key], expected[key]
                    ));
                }
            }
        }
        for what in order_differs(
            &expected_text,
            &got.to_json(),
            &["sections", "normalized", "resolved"],
        ) {
            failures.push(format!("{name}: {what} differs"));
        }
        if expected["resolved"] != got_json["resolved"] {
            let (w, g) = (&expected["resolved"], &got_json["resolved"]);
            let mut detail = String::new();
            if let (Some(wo), Some(go)) = (w.as_object(), g.as_object()) {
                for (group, keys) in wo {
                    for (k, v) in keys.as_object().into_iter().flatten() {
                        if go.get(group).and_then(|gk| gk.get(k)) != Some(v) {
                            detail.push_str(&format!(
                                "\n  [{group}] {k}: want {v} got {:?}",
                                go.get(group).and_then(|gk| gk.get(k))
                            ));
                        }
                    }
                }
            }
            failures.push(format!("{name}: resolved differs{detail}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    eprintln!("corpus_conf: {} expected files match", files.len());
}
