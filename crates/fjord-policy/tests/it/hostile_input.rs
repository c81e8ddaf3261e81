//! The rule parser, the enforcer and the policy file loader on hostile
//! input: a check tree or a deny, an answer or an error; never a panic.

use fjord_policy::{Enforcer, PolicyOptions, RuleDefault, Rules, parse_policy_file, parse_rule};
use fjord_test_support::hostile::{any_bytes, any_text, check, tokens};
use serde_json::json;

const RULE: &[&str] = &[
    "@",
    "!",
    "role:",
    "rule:",
    "admin",
    "test",
    "default",
    "user_id:",
    "%(",
    ")s",
    "%(user_id)s",
    "%(x)d",
    "%%",
    "'",
    "\"",
    "True:",
    "None",
    "1.5",
    "[",
    "]",
    "(",
    ")",
    " and ",
    " or ",
    "not ",
    "AND",
    "Or",
    " ",
    ":",
    "http://x",
    "is_admin:True",
    "project_id:%(project_id)s",
];

#[test]
fn rule_parser_and_enforcer_never_panic() {
    let target = json!({"user_id": "u", "project_id": "p", "x": 1, "nested": {"a": [1, "b"]}});
    let creds = json!({"user_id": "u", "roles": ["admin", "member"], "is_admin": true});
    check("rule tokens", 3000, tokens(RULE, 30), |rule| {
        let _ = parse_rule(&rule).check.to_string();
        let mut rules = Rules::new();
        rules.insert_str("test", &rule);
        rules.insert_str("admin", "role:admin or rule:test");
        let _ = Enforcer::new(rules).enforce("test", &target, &creds);
        Ok(())
    });
    check("rule text", 1000, any_text(80), |rule| {
        let _ = parse_rule(&rule).check.to_string();
        Ok(())
    });
}

/// Pieces of YAML and JSON policy files: keys, flow and block
/// collections, tags, anchors, quotes, scalars PyYAML resolves, tabs.
const POLICY_FILE: &[&str] = &[
    "\"a\": ",
    "a: ",
    "\"role:x or role:y\"",
    "'it''s'",
    "role:admin",
    "!",
    "!!str ",
    "!!int ",
    "!foo ",
    "&anchor ",
    "*anchor",
    "~",
    "yes",
    "1.5",
    "0x1f",
    "1:30",
    "2002-12-14",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "- ",
    "? ",
    "|",
    ">-",
    "#",
    "\n",
    "\n  ",
    "\t",
    " ",
    "\"",
    "'",
    "\\",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "\u{feff}",
    "\u{85}",
];

#[test]
fn policy_file_loader_never_panics() {
    check(
        "policy file tokens",
        3000,
        tokens(POLICY_FILE, 40),
        |text| {
            if let Ok(rules) = parse_policy_file(&text) {
                for (_, p) in rules {
                    let _ = p.check.to_string();
                }
            }
            Ok(())
        },
    );
    check("policy file text", 1000, any_text(200), |text| {
        let _ = parse_policy_file(&text);
        Ok(())
    });
    check("policy file bytes", 500, any_bytes(200), |bytes| {
        let _ = parse_policy_file(&String::from_utf8_lossy(&bytes));
        Ok(())
    });
}

#[test]
fn enforcer_loading_hostile_files_never_panics() {
    let dir = fjord_test_support::temp_dir("policy-hostile-files");
    let file = dir.join("policy.yaml");
    let mut opts = PolicyOptions::default();
    opts.search_dirs.push(dir.clone());
    let mut enforcer = Enforcer::from_options(opts);
    enforcer
        .register_defaults([
            RuleDefault::new("a", "role:admin").with_scope_types(&["project"]),
            RuleDefault::new("b", "rule:a"),
        ])
        .expect("register");
    let creds = json!({"roles": ["admin"], "project_id": "p"});
    check(
        "policy file on disk",
        300,
        tokens(POLICY_FILE, 30),
        |text| {
            std::fs::write(&file, &text).expect("write the policy file");
            let _ = enforcer.reload();
            let _ = enforcer.enforce("a", &json!({}), &creds);
            let _ = enforcer.enforce("b", &json!({}), &creds);
            Ok(())
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deep_rule_chains_end_in_an_error_not_a_stack_overflow() {
    // 100 rules, each 400 `not`s deep, each referring to the next: Python
    // stops at its recursion limit; so does fjord, with an error.
    let mut rules = Rules::new();
    for i in 0..100 {
        rules.insert_str(
            format!("r{i}"),
            &format!("{}rule:r{}", "not ".repeat(400), i + 1),
        );
    }
    rules.insert_str("r100", "@");
    let err = Enforcer::new(rules)
        .enforce("r0", &json!({}), &json!({}))
        .unwrap_err();
    assert_eq!(err.to_string(), "maximum recursion depth exceeded");
}
