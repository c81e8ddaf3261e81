//! `fjord-config dump` over every conf expected file of the corpus, end to
//! end: same `ok`, exit code 0/2, `sections`/`normalized`/`resolved`
//! (multi-file cases through repeated `--config-file`), error line.

use crate::support;

use serde_json::Value;

#[test]
fn dump_matches_every_conf_expected_file() {
    let Some(corpus) = support::corpus("dump_matches_every_conf_expected_file") else {
        return;
    };
    let files = support::expected_files(&corpus.join("conf"));
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for expected_path in &files {
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(expected_path).unwrap()).unwrap();
        let input = std::path::PathBuf::from(
            expected_path
                .to_string_lossy()
                .trim_end_matches(".expected.json"),
        );
        let mut args: Vec<String> = vec!["dump".into()];
        if input.is_dir() {
            let mut inputs: Vec<_> = std::fs::read_dir(&input)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            inputs.sort();
            for f in inputs {
                args.push("--config-file".into());
                args.push(f.display().to_string());
            }
        } else {
            args.push("--config-file".into());
            args.push(input.display().to_string());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = support::run(&refs);
        let name = expected_path
            .strip_prefix(&corpus)
            .unwrap()
            .display()
            .to_string();
        let got: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: stdout is not JSON ({e})"));
                continue;
            }
        };
        let ok = expected["ok"].as_bool().unwrap();
        let want_code = if ok { 0 } else { 2 };
        if out.status.code() != Some(want_code) || got["ok"] != expected["ok"] {
            failures.push(format!(
                "{name}: exit {:?}, ok {}",
                out.status.code(),
                got["ok"]
            ));
            continue;
        }
        if !ok {
            if got["error"]["line"] != expected["error"]["parse_error"]["lineno"] {
                failures.push(format!(
                    "{name}: error line {} want {}",
                    got["error"]["line"], expected["error"]["parse_error"]["lineno"]
                ));
            }
            if got["error"]["message"].as_str().is_none_or(str::is_empty)
                || got["error"]["file"].as_str().is_none()
            {
                failures.push(format!("{name}: error lacks message or file"));
            }
            continue;
        }
        let parts: &[&str] = if expected.get("per_file").is_some() {
            &["resolved"]
        } else {
            &["sections", "normalized", "resolved"]
        };
        for part in parts {
            if got[*part] != expected[*part] {
                failures.push(format!("{name}: {part} differs"));
            }
        }
        if let Some(per_file) = expected.get("per_file").and_then(Value::as_array) {
            for (i, pf) in per_file.iter().enumerate() {
                if got["per_file"][i]["sections"] != pf["sections"]
                    || got["per_file"][i]["normalized"] != pf["normalized"]
                {
                    failures.push(format!("{name}: per_file {i} differs"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn config_dir_is_read_sorted_in_command_line_order() {
    let dir = support::temp_dir("dump-dir");
    let d = dir.join("conf.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("b.conf"), "[DEFAULT]\nx = dir-b\n").unwrap();
    std::fs::write(d.join("a.conf"), "[DEFAULT]\nx = dir-a\ny = $x/y\n").unwrap();
    std::fs::write(d.join("skip.txt"), "[DEFAULT]\nx = no\n").unwrap();
    std::fs::write(dir.join("main.conf"), "[DEFAULT]\nx = main\n").unwrap();
    let main = dir.join("main.conf").display().to_string();
    let d = d.display().to_string();

    let out = support::run(&["dump", "--config-file", &main, "--config-dir", &d]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["resolved"]["DEFAULT"]["x"]["value"], "dir-b");
    assert_eq!(
        v["resolved"]["DEFAULT"]["x"]["values"],
        serde_json::json!(["main", "dir-a", "dir-b"])
    );
    assert_eq!(v["resolved"]["DEFAULT"]["y"]["value"], "dir-b/y");

    let out = support::run(&["dump", "--config-dir", &d, "--config-file", &main]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["resolved"]["DEFAULT"]["x"]["value"], "main");
}

#[test]
fn unreadable_inputs_exit_two_with_json() {
    let out = support::run(&["dump", "--config-file", "/nonexistent/x.conf"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["file"], "/nonexistent/x.conf");
    assert_eq!(v["error"]["line"], Value::Null);

    let out = support::run(&["dump", "--config-dir", "/nonexistent/dir"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);

    let out = support::run(&["dump"]);
    assert_eq!(out.status.code(), Some(2));
    let out = support::run(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
}
