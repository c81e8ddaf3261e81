//! `policy-fixtures/sample_generator.json`: the exact text of
//! `oslopolicy-sample-generator` (with and without
//! `--exclude-deprecated`, and without help), of each rule's block, and of
//! `oslopolicy-policy-generator` for defaults + config + policy file.

use fjord_config::{ConfigOpts, EnvSource};
use fjord_policy::{
    Enforcer, PolicyCatalog, RuleDefault, SampleOptions, format_rule_default, generate_policy,
    generate_sample,
};
use serde_json::Value;

fn fixture() -> Option<Value> {
    let test = "sample_generator";
    let dir = fjord_test_support::shared_dir(test, "policy-fixtures", "sample_generator.json")?;
    let text = std::fs::read_to_string(dir.join("sample_generator.json")).expect("read fixture");
    Some(serde_json::from_str(&text).expect("fixture is JSON"))
}

fn defaults(v: &Value) -> Vec<RuleDefault> {
    v.as_array()
        .expect("defaults")
        .iter()
        .map(|d| RuleDefault::from_json(d).expect("a valid default"))
        .collect()
}

fn warnings(g: &fjord_policy::Generated) -> Vec<String> {
    g.warnings
        .iter()
        .map(|n| format!("{} {}", n.kind.python_name(), n.message))
        .collect()
}

#[test]
fn sample_generator_cases() {
    let Some(doc) = fixture() else { return };
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let id = case["id"].as_str().unwrap_or("?");
        let mut catalog = PolicyCatalog::new();
        for (ns, list) in case["namespaces"].as_object().expect("namespaces") {
            catalog.add(ns, defaults(list));
        }

        let sample = generate_sample(&catalog, SampleOptions::default());
        assert_eq!(
            sample.text,
            case["sample"].as_str().expect("sample"),
            "{id}: sample"
        );
        let want_warnings: Vec<String> = case["warnings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|w| {
                        format!(
                            "{} {}",
                            w["category"].as_str().unwrap_or("?"),
                            w["message"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(warnings(&sample), want_warnings, "{id}: warnings");

        let mut opts = SampleOptions::default();
        opts.exclude_deprecated = true;
        let excl = generate_sample(&catalog, opts);
        assert_eq!(
            excl.text,
            case["sample_exclude_deprecated"].as_str().expect("excl"),
            "{id}: --exclude-deprecated"
        );

        let mut opts = SampleOptions::default();
        opts.include_help = false;
        let rules_only = generate_sample(&catalog, opts);
        assert_eq!(
            rules_only.text,
            case["rules_only"].as_str().expect("rules_only"),
            "{id}: rules only"
        );
        assert!(rules_only.warnings.is_empty());

        let per_rule = case["per_rule"].as_array().expect("per_rule");
        let mut names: Vec<&str> = catalog.names().collect();
        names.sort_unstable();
        let ordered: Vec<(&str, &RuleDefault)> = names
            .iter()
            .flat_map(|n| {
                catalog
                    .get(n)
                    .unwrap_or_default()
                    .iter()
                    .map(move |d| (*n, d))
            })
            .collect();
        assert_eq!(ordered.len(), per_rule.len(), "{id}: rule count");
        for ((ns, default), want) in ordered.iter().zip(per_rule) {
            assert_eq!(Some(*ns), want["namespace"].as_str());
            assert_eq!(Some(default.name()), want["name"].as_str());
            assert_eq!(
                format_rule_default(default, SampleOptions::default()).text,
                want["text"].as_str().expect("text"),
                "{id}: {}",
                default.name()
            );
        }
    }
}

#[test]
fn policy_generator_cases() {
    let Some(doc) = fixture() else { return };
    let cases = doc["policy_generator"]
        .as_array()
        .expect("policy_generator");
    assert_eq!(cases.len(), 1);
    for case in cases {
        let dir = fjord_test_support::temp_dir("policy-generator");
        let conf_path = dir.join("service.conf");
        std::fs::write(&conf_path, case["config"].as_str().expect("config")).expect("write");
        for (rel, text) in case["files"].as_object().expect("files") {
            std::fs::write(dir.join(rel), text.as_str().expect("text")).expect("write");
        }
        let mut conf = ConfigOpts::new("service").env_source(EnvSource::Off);
        fjord_policy::register_opts(&mut conf).expect("register");
        conf.parse_args([
            "service",
            "--config-file",
            conf_path.to_str().expect("utf-8"),
        ])
        .expect("config");
        let mut enforcer = Enforcer::from_conf(&conf).expect("enforcer");
        enforcer
            .register_defaults(defaults(&case["defaults"]))
            .expect("register");
        let text = generate_policy(&enforcer, false).expect("generate");
        assert_eq!(text, case["policy"].as_str().expect("policy"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
