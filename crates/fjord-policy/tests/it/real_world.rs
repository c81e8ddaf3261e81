//! `policy-fixtures/real_world_keystone_v3cloudsample.json`: keystone's
//! `etc/policy.v3cloudsample.json` loaded as a policy file, every rule (and
//! an undefined one) x 8 credential profiles x 3 targets = 5400 results,
//! each as oslo.policy 6.0.1 answered; plus the parsed tree of every rule
//! and what loading logged.

use std::io::Write;

use fjord_config::{ConfigOpts, EnvSource};
use fjord_policy::Enforcer;
use serde_json::Value;

#[test]
fn keystone_v3cloudsample_matrix() {
    let test = "real_world::keystone_v3cloudsample_matrix";
    let name = "real_world_keystone_v3cloudsample.json";
    let Some(shared) = fjord_test_support::shared_dir(test, "policy-fixtures", name) else {
        return;
    };
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(shared.join(name)).expect("read fixture"))
            .expect("fixture is JSON");

    let dir = fjord_test_support::temp_dir("policy-real-world");
    std::fs::copy(
        shared.join("sources/keystone-policy.v3cloudsample.json"),
        dir.join("policy.v3cloudsample.json"),
    )
    .expect("copy the policy file");
    let conf_path = dir.join("service.conf");
    std::fs::write(&conf_path, doc["config"].as_str().expect("config")).expect("write conf");
    let mut conf = ConfigOpts::new("keystone").env_source(EnvSource::Off);
    fjord_policy::register_opts(&mut conf).expect("register");
    conf.parse_args([
        "keystone",
        "--config-file",
        conf_path.to_str().expect("utf-8"),
    ])
    .expect("parse config");
    let enforcer = Enforcer::from_conf(&conf).expect("enforcer");
    enforcer.capture_notices(true);
    enforcer.load_rules().expect("the file loads");

    // What loading said: check_rules() and the log lines.
    let report = enforcer.check_rules();
    assert_eq!(Some(report.is_ok()), doc["load"]["check_rules"].as_bool());
    let logs: Vec<String> = enforcer
        .take_notices()
        .iter()
        .map(|n| n.message.clone())
        .collect();
    let want_logs: Vec<String> = doc["load"]["logs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(logs, want_logs);

    // The parsed tree of every rule, in the file's order.
    let rules = enforcer.rules();
    let parsed = doc["parsed"].as_object().expect("parsed");
    assert_eq!(rules.len(), parsed.len());
    let mut mismatches = Vec::new();
    for (name, want) in parsed {
        let got = rules.get(name).map(ToString::to_string);
        if got.as_deref() != want.as_str() {
            mismatches.push(format!("parsed[{name}]: got {got:?}, want {want}"));
        }
    }

    // The matrix.
    let target_order: Vec<&str> = doc["target_order"]
        .as_array()
        .expect("target_order")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut total = 0;
    let mut passed = 0;
    for (rule, per_creds) in doc["results"].as_object().expect("results") {
        for (creds_name, results) in per_creds.as_object().expect("per creds") {
            let creds = &doc["creds"][creds_name];
            for (target_name, want) in target_order.iter().zip(results.as_array().expect("list")) {
                total += 1;
                let target = &doc["targets"][*target_name];
                let got = enforcer.enforce(rule, target, creds);
                let ok = match (&got, want) {
                    (Ok(g), Value::Bool(w)) => g == w,
                    (Err(_), Value::Null) => true,
                    _ => false,
                };
                if ok {
                    passed += 1;
                } else {
                    mismatches.push(format!(
                        "{rule} / {creds_name} / {target_name}: got {got:?}, want {want}"
                    ));
                }
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "{name}: {passed}/{total} results match oslo.policy"
    );
    assert_eq!(total, 5400, "the fixture has 5400 results");
    assert!(doc["errors"].as_array().is_some_and(Vec::is_empty));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
