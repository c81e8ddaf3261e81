//! The sample generator against the real one: generated rule defaults
//! (descriptions with long words, hyphens, em-dashes, literal blocks,
//! blank lines; operations; scopes; deprecations) formatted by
//! `fjord_policy::format_rule_default` and by oslo.policy 6.0.1's
//! `generator._format_rule_default_yaml` in the test venv must be the same
//! text, with the same warnings.

use std::io::Write;
use std::process::{Command, Stdio};

use fjord_policy::{DeprecatedRule, Operation, RuleDefault, SampleOptions, format_rule_default};
use serde_json::{Value, json};

const PY: &str = r#"
import json, sys, warnings
from oslo_policy import generator, policy
out = []
for line in sys.stdin:
    d = json.loads(line)
    kw = {k: d[k] for k in ("description", "scope_types", "deprecated_for_removal",
                             "deprecated_reason", "deprecated_since") if k in d}
    if "deprecated_rule" in d:
        r = d["deprecated_rule"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kw["deprecated_rule"] = policy.DeprecatedRule(
                r["name"], r["check_str"], deprecated_reason=r.get("deprecated_reason"),
                deprecated_since=r.get("deprecated_since"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if d["class"] == "DocumentedRuleDefault":
            rule = policy.DocumentedRuleDefault(d["name"], d["check_str"],
                                                operations=d["operations"], **kw)
        else:
            rule = policy.RuleDefault(d["name"], d["check_str"], **kw)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        text = generator._format_rule_default_yaml(rule)
    out.append({"text": text, "warnings": [type(x.message).__name__ + " " + str(x.message) for x in w]})
print(json.dumps(out))
"#;

const WORDS: &[&str] = &[
    "server",
    "the",
    "a",
    "of",
    "os_compute_api:os-hypervisors:list",
    "well-behaved",
    "client-side",
    "re-validate",
    "x-y-z",
    "e-mail",
    "ab-",
    "-cd",
    "--all-tenants",
    "word--dash",
    "very--long--dashed--thing",
    "https://docs.openstack.org/api-ref/compute/#list-servers-detailed-and-a-very-long-anchor",
    "supercalifragilisticexpialidocious-and-then-some-more-letters-to-pass-seventy",
    "1-2",
    "a1-b2",
    "\"quoted\"",
    "it's",
    "(parenthesised)",
    "end.",
    "émigré-café",
    "tab\there",
    "",
];

const LITERALS: &[&str] = &[
    "    $ openstack server list --long --all-projects --os-compute-api-version 2.latest",
    "  indented",
    "\tindented with a tab",
];

/// xorshift64*: a fixed sequence, so the inputs are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn description(rng: &mut Rng) -> String {
    let mut lines = Vec::new();
    for _ in 0..1 + rng.below(5) {
        match rng.below(6) {
            0 => lines.push(String::new()),
            1 => lines.push(rng.pick(LITERALS).to_owned()),
            _ => {
                let n = 1 + rng.below(25);
                let words: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
                lines.push(words.join(if rng.below(8) == 0 { "  " } else { " " }));
            }
        }
    }
    lines.join("\n")
}

fn generate(n: usize) -> Vec<RuleDefault> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("svc:thing-{i}:action");
        let check = ["role:admin", "", "rule:a or role:b", "'x':%(y)s"][rng.below(4)];
        let desc = description(&mut rng);
        let mut rule = if rng.below(2) == 0 && !desc.trim().is_empty() {
            let ops = (0..1 + rng.below(3))
                .map(|_| {
                    Operation::new(
                        ["GET", "POST", ""][rng.below(3)],
                        ["/things", "/things/{id}", ""][rng.below(3)],
                    )
                })
                .collect();
            RuleDefault::documented(&name, check, &desc, ops)
        } else if rng.below(3) == 0 {
            RuleDefault::new(&name, check)
        } else {
            RuleDefault::new(&name, check).with_description(&desc)
        };
        match rng.below(4) {
            0 => rule = rule.with_scope_types(&["project"]),
            1 => rule = rule.with_scope_types(&["system", "project"]),
            2 => rule = rule.with_scope_types(&[]),
            _ => {}
        }
        match rng.below(5) {
            0 => {
                rule = rule
                    .with_deprecated_for_removal(true)
                    .with_deprecated_reason(&description(&mut rng))
                    .with_deprecated_since("Z");
            }
            1 => {
                let old = if rng.below(2) == 0 {
                    name.clone()
                } else {
                    format!("old-{name}")
                };
                let mut d = DeprecatedRule::new(&old, "role:old");
                if rng.below(3) > 0 {
                    d = d.with_reason(&description(&mut rng)).with_since("2025.1");
                }
                rule = rule.with_deprecated_rule(d);
            }
            _ => {}
        }
        out.push(rule);
    }
    out
}

#[test]
fn rule_blocks_are_oslo_policys_text() {
    let test = "generator_interop::rule_blocks_are_oslo_policys_text";
    let Some(py) = fjord_test_support::venv_python(test, "oslo_policy") else {
        return;
    };
    let rules = generate(800);
    let mut child = Command::new(py)
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for r in &rules {
            writeln!(stdin, "{}", r.to_json()).expect("write");
        }
    }
    let out = child.wait_with_output().expect("python ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("python's JSON");
    assert_eq!(theirs.len(), rules.len());

    let mut differences = Vec::new();
    for (rule, want) in rules.iter().zip(&theirs) {
        let g = format_rule_default(rule, SampleOptions::default());
        let got = json!({
            "text": g.text,
            "warnings": g.warnings.iter()
                .map(|n| format!("{} {}", n.kind.python_name(), n.message))
                .collect::<Vec<_>>(),
        });
        if &got != want {
            differences.push(format!(
                "{}\n  fjord: {:?}\n  oslo:  {:?}",
                rule.to_json(),
                got["text"],
                want["text"]
            ));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "generator_interop: {} rules, {} differences",
        rules.len(),
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} rules differ:\n{}",
        differences.len(),
        rules.len(),
        differences.join("\n")
    );
}
