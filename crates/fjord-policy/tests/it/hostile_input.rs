//! The rule parser and the enforcer on hostile rules: a check tree or a
//! deny, an answer or an error; never a panic.

use fjord_policy::{Enforcer, Rules, parse_rule};
use fjord_test_support::hostile::{any_text, check, tokens};
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
