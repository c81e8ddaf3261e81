//! `fjord-config policy check` (oslopolicy-checker) and `fjord-config
//! policy sample` (oslopolicy-sample-generator), run as the real binary:
//! against oslo.policy's own answers for keystone's policy file
//! (`policy-fixtures/real_world_keystone_v3cloudsample.json`) and sample
//! text (`sample_generator.json`), with registered defaults asked from a
//! program with `--from-binary`, and on bad input (exit 2).

use std::path::{Path, PathBuf};

use fjord_policy::{DEFAULTS_FLAG, Operation, PolicyCatalog, RuleDefault};
use serde_json::Value;

use crate::support;

fn fixture(test: &str, name: &str) -> Option<(PathBuf, Value)> {
    let dir = fjord_test_support::shared_dir(test, "policy-fixtures", name)?;
    let doc = serde_json::from_str(&std::fs::read_to_string(dir.join(name)).expect("read"))
        .expect("fixture is JSON");
    Some((dir, doc))
}

/// A "program" that answers the defaults flag with `catalog` and fails
/// otherwise (what a service calling
/// `PolicyCatalog::answer_defaults_flag` does).
fn fake_binary(dir: &Path, catalog: &PolicyCatalog) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-service");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = \"{DEFAULTS_FLAG}\" ] || exit 3\ncat <<'JSON'\n{}\nJSON\n",
        catalog.to_json()
    );
    std::fs::write(&path, script).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_matches_oslo_policy_on_keystones_policy_file() {
    let test = "policy_cmd::check_matches_oslo_policy_on_keystones_policy_file";
    let Some((shared, doc)) = fixture(test, "real_world_keystone_v3cloudsample.json") else {
        return;
    };
    let file = shared.join("sources/keystone-policy.v3cloudsample.json");
    let file = file.to_str().expect("utf-8");
    let order: Vec<&str> = doc["target_order"]
        .as_array()
        .expect("order")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let results = doc["results"].as_object().expect("results");
    let mut checked = 0;
    // Every rule at once, for a few profiles and targets.
    for creds_name in ["domain_admin", "project_member", "system_admin"] {
        for (t, target_name) in order.iter().enumerate().take(2) {
            let creds = doc["creds"][creds_name].to_string();
            let target = doc["targets"][*target_name].to_string();
            let mut args = vec![
                "policy",
                "check",
                "--policy-file",
                file,
                "--creds",
                &creds,
                "--target",
                &target,
            ];
            let names: Vec<&String> = results.keys().collect();
            for n in &names {
                args.push("--rule");
                args.push(n);
            }
            let out = support::run(&args);
            assert_eq!(code(&out), Some(0), "{}", stderr(&out));
            let text = support::stdout(&out);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), names.len());
            for (line, name) in lines.iter().zip(&names) {
                let want = results[*name][creds_name][t].as_bool().expect("no errors");
                let verdict = if want { "allowed" } else { "denied" };
                assert_eq!(
                    *line,
                    format!("{name}: {verdict}"),
                    "{creds_name}/{target_name}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * results.len());

    // No --rule: every rule of the file, sorted.
    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        file,
        "--creds",
        &doc["creds"]["cloud_admin"].to_string(),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let text = support::stdout(&out);
    let got: Vec<&str> = text
        .lines()
        .map(|l| l.split(": ").next().unwrap_or(""))
        .collect();
    let mut want: Vec<&str> = doc["parsed"]
        .as_object()
        .expect("parsed")
        .keys()
        .map(String::as_str)
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
    assert!(text.contains("\nidentity:get_user: allowed\n"), "{text}");
}

#[test]
fn check_with_defaults_from_a_binary() {
    let dir = support::temp_dir("policy-check-binary");
    let catalog = PolicyCatalog::new().with(
        "demo",
        vec![
            RuleDefault::new("admin_api", "role:admin"),
            RuleDefault::documented(
                "demo:services:list",
                "rule:admin_api",
                "List the services.",
                vec![Operation::new("GET", "/v1/services")],
            )
            .with_scope_types(&["project"]),
            RuleDefault::documented(
                "demo:echo",
                "",
                "Echo a body.",
                vec![Operation::new("POST", "/v1/echo")],
            ),
        ],
    );
    let bin = fake_binary(&dir, &catalog);
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "\"demo:echo\": \"role:member\"\n\"extra\": \"@\"\n",
    )
    .expect("write");
    let policy = policy.to_str().expect("utf-8");
    let run = |creds: &str| {
        support::run(&[
            "policy",
            "check",
            "--policy-file",
            policy,
            "--from-binary",
            &bin,
            "--creds",
            creds,
        ])
    };

    let out = run(r#"{"roles": ["admin"], "project_id": "p1"}"#);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        support::stdout(&out),
        "admin_api: allowed\ndemo:echo: denied\ndemo:services:list: allowed\nextra: allowed\n"
    );
    // The file's override applies; a system-scoped token fails the
    // project-scoped rule whatever its roles.
    let out = run(r#"{"roles": ["admin", "member"], "system_scope": "all"}"#);
    assert_eq!(
        support::stdout(&out),
        "admin_api: allowed\ndemo:echo: allowed\ndemo:services:list: denied\nextra: allowed\n"
    );

    // A program that does not answer the flag: exit 2, named.
    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        policy,
        "--from-binary",
        "/bin/false",
        "--creds",
        "{}",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("--from-binary /bin/false"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_rejects_bad_input_with_exit_2() {
    let dir = support::temp_dir("policy-check-bad");
    let good = dir.join("policy.yaml");
    std::fs::write(&good, "\"a\": \"role:x\"\n").expect("write");
    let good = good.to_str().expect("utf-8");
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "malformed YAML",
            "a: [x\n".into(),
            "{}".into(),
            "ValueError",
        ),
        (
            "a tab in JSON",
            "{\n\t\"a\": \"@\"\n}\n".into(),
            "{}".into(),
            "ValueError",
        ),
        (
            "a boolean rule",
            "a: yes\n".into(),
            "{}".into(),
            "TypeError",
        ),
        (
            "a list at the top",
            "- a\n".into(),
            "{}".into(),
            "AttributeError",
        ),
        (
            "creds not JSON",
            String::new(),
            "{\"roles\":".into(),
            "--creds: not valid JSON",
        ),
        (
            "creds not an object",
            String::new(),
            "[1]".into(),
            "must be a JSON object",
        ),
    ];
    for (what, file_text, creds, needle) in cases {
        let path = if file_text.is_empty() {
            good.to_owned()
        } else {
            let p = dir.join("bad.yaml");
            std::fs::write(&p, &file_text).expect("write");
            p.display().to_string()
        };
        let out = support::run(&["policy", "check", "--policy-file", &path, "--creds", &creds]);
        assert_eq!(code(&out), Some(2), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{what}: {}", stderr(&out));
        assert!(support::stdout(&out).is_empty(), "{what}");
    }
    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        "/nonexistent/policy.yaml",
        "--creds",
        "{}",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));

    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        good,
        "--creds",
        "{}",
        "--target",
        "@/nonexistent.json",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("--target /nonexistent.json"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sample_is_oslopolicy_sample_generators_text() {
    let test = "policy_cmd::sample_is_oslopolicy_sample_generators_text";
    let Some((_, doc)) = fixture(test, "sample_generator.json") else {
        return;
    };
    let dir = support::temp_dir("policy-sample");
    let case = &doc["cases"][0];
    let mut catalog = PolicyCatalog::new();
    for (ns, list) in case["namespaces"].as_object().expect("namespaces") {
        let defaults = list
            .as_array()
            .expect("list")
            .iter()
            .map(|d| RuleDefault::from_json(d).expect("valid"))
            .collect();
        catalog.add(ns, defaults);
    }
    let bin = fake_binary(&dir, &catalog);
    let out = support::run(&["policy", "sample", "--from-binary", &bin]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        support::stdout(&out),
        case["sample"].as_str().expect("sample")
    );

    let file = dir.join("policy.yaml.sample");
    let out = support::run(&[
        "policy",
        "sample",
        "--from-binary",
        &bin,
        "--exclude-deprecated",
        "--output-file",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        case["sample_exclude_deprecated"].as_str().expect("excl")
    );

    let out = support::run(&[
        "policy",
        "sample",
        "--from-binary",
        &bin,
        "--namespace",
        "nope",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("unknown policy namespace \"nope\""),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reads_policy_dirs_from_the_services_config() {
    let dir = support::temp_dir("policy-check-conf");
    std::fs::create_dir_all(dir.join("extra.d")).expect("mkdir");
    std::fs::write(
        dir.join("policy.yaml"),
        "\"a\": \"role:x\"\n\"b\": \"role:x\"\n",
    )
    .expect("write");
    std::fs::write(dir.join("extra.d/10-b.yaml"), "\"b\": \"role:y\"\n").expect("write");
    std::fs::write(
        dir.join("svc.conf"),
        "[oslo_policy]\npolicy_dirs = extra.d\npolicy_default_rule = a\n",
    )
    .expect("write");
    let policy = dir.join("policy.yaml").display().to_string();
    let conf = dir.join("svc.conf").display().to_string();
    let creds = r#"{"roles": ["y"]}"#;
    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        &policy,
        "--creds",
        creds,
        "--config-file",
        &conf,
        "--rule",
        "a",
        "--rule",
        "b",
        "--rule",
        "nope",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // policy.d overrides b; an unknown name falls back to the default rule `a`.
    assert_eq!(
        support::stdout(&out),
        "a: denied\nb: allowed\nnope: denied\n"
    );

    // Without the config file, policy.d is not read.
    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        &policy,
        "--creds",
        creds,
    ]);
    assert_eq!(support::stdout(&out), "a: denied\nb: denied\n");

    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        &policy,
        "--creds",
        creds,
        "--config-file",
        "/nonexistent.conf",
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("--config-file"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reports_a_rule_that_cannot_be_evaluated_with_exit_1() {
    let dir = support::temp_dir("policy-check-error");
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "\"a\": \"rule:b\"\n\"b\": \"rule:a\"\n\"c\": \"@\"\n",
    )
    .expect("write");
    let out = support::run(&[
        "policy",
        "check",
        "--policy-file",
        policy.to_str().expect("utf-8"),
        "--creds",
        "{}",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert_eq!(
        support::stdout(&out),
        "a: error (TypeError: unsupported callable)\n\
         b: error (TypeError: unsupported callable)\nc: allowed\n"
    );
    // What oslo.policy logs on loading such a file, on stderr.
    assert!(
        stderr(&out).contains("Policies ['a', 'b'] are part of a cyclical reference."),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
