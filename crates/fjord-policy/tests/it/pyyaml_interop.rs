//! The policy file reader against the real one: generated YAML/JSON policy
//! texts go through `fjord_policy::parse_policy_file` and through
//! oslo.policy 6.0.1's `parse_file_contents` + `_parser.parse_rule`
//! (PyYAML's `safe_load`) in the test venv; the outcome must agree: the
//! same error class, or the same rule names with the same parsed trees.

use std::io::Write;
use std::process::{Command, Stdio};

use fjord_policy::parse_policy_file;
use serde_json::{Value, json};

const PY: &str = r#"
import json, logging, sys
logging.disable(logging.CRITICAL)
from oslo_policy import policy, _parser
out = []
for line in sys.stdin:
    text = json.loads(line)
    try:
        data = policy.parse_file_contents(text)
        out.append({"rules": [[str(k), str(_parser.parse_rule(v))] for k, v in data.items()]})
    except Exception as e:
        out.append({"error": type(e).__name__})
print(json.dumps(out))
"#;

const KEYS: &[&str] = &[
    "\"a\"",
    "b",
    "'c d'",
    "\"rule:x\"",
    "e",
    "\"f\"",
    "g:h",
    "\"i\"",
    "j",
];

const VALUES: &[&str] = &[
    "\"role:admin\"",
    "role:admin or role:member",
    "'project_id:%(project_id)s'",
    "\"\"",
    "",
    "~",
    "null",
    "!",
    "\"!\"",
    "'@'",
    "@",
    "yes",
    "No",
    "on",
    "true",
    "1",
    "0x1f",
    "1.5",
    "1e5",
    ".inf",
    "2002-12-14",
    "1:30",
    "[[\"role:a\"], [\"role:b\", \"role:c\"]]",
    "[]",
    "{}",
    "[\"role:a\", \"role:b\"]",
    "!!str 5",
    "!!int \"7\"",
    "!foo bar",
    "&x role:x",
    "*x",
    "\"tab\there\"",
    "role:a\t# tab",
    "[unclosed",
    "\"unclosed",
    "|\n  role:a\n  or role:b",
    ">-\n  role:a\n  and role:b",
    "role:a # comment",
    "'it''s'",
    "\"\\u00e9\"",
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

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn generate(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed_f00d_cafe_beef);
    let mut texts = Vec::new();
    for i in 0..n {
        let lines = 1 + (rng.next() % 4) as usize;
        let mut text = String::new();
        match i % 3 {
            // Block mapping.
            0 => {
                for _ in 0..lines {
                    text.push_str(&format!("{}: {}\n", rng.pick(KEYS), rng.pick(VALUES)));
                }
            }
            // JSON-ish flow mapping, sometimes tab-indented.
            1 => {
                let indent = if rng.next().is_multiple_of(5) {
                    "\t"
                } else {
                    "    "
                };
                let items: Vec<String> = (0..lines)
                    .map(|_| format!("{indent}{}: {}", rng.pick(KEYS), rng.pick(VALUES)))
                    .collect();
                text = format!("{{\n{}\n}}\n", items.join(",\n"));
            }
            // Odd documents.
            _ => {
                let pieces = [
                    "",
                    "# only a comment\n",
                    "---\n",
                    "...\n",
                    "- a\n",
                    "[]\n",
                    "0\n",
                    "a: 1\n---\nb: 2\n",
                    "%YAML 1.1\n---\n",
                    "a:\n  b: c\n",
                    "? a\n: b\n",
                ];
                text.push_str(rng.pick(&pieces));
                for _ in 0..lines.saturating_sub(2) {
                    text.push_str(&format!("{}: {}\n", rng.pick(KEYS), rng.pick(VALUES)));
                }
            }
        }
        texts.push(text);
    }
    texts
}

fn ours(text: &str) -> Value {
    match parse_policy_file(text) {
        Ok(rules) => json!({"rules": rules
            .iter()
            .map(|(n, p)| json!([n, p.check.to_string()]))
            .collect::<Vec<_>>()}),
        Err(e) => json!({"error": e.python_class()}),
    }
}

/// Texts where fjord is known to answer differently, with the reason.
/// Kept empty unless a difference is understood and accepted.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[];

#[test]
fn policy_files_read_as_pyyaml_and_oslo_policy_read_them() {
    let test = "pyyaml_interop::policy_files_read_as_pyyaml_and_oslo_policy_read_them";
    let Some(py) = fjord_test_support::venv_python(test, "oslo_policy") else {
        return;
    };
    let texts = generate(3000);
    let mut child = Command::new(py)
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for t in &texts {
            writeln!(stdin, "{}", Value::String(t.clone())).expect("write");
        }
    }
    let out = child.wait_with_output().expect("python ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("python's JSON");
    assert_eq!(theirs.len(), texts.len());

    let mut differences = Vec::new();
    let mut errors = 0;
    for (text, want) in texts.iter().zip(&theirs) {
        if want.get("error").is_some() {
            errors += 1;
        }
        let got = ours(text);
        if &got != want && !EXPECTED_DIFFERENCES.iter().any(|(t, _)| t == text) {
            differences.push(format!("{text:?}\n  fjord: {got}\n  oslo:  {want}"));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "pyyaml_interop: {} texts ({errors} rejected by oslo.policy), {} differences",
        texts.len(),
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} texts differ:\n{}",
        differences.len(),
        texts.len(),
        differences.join("\n")
    );
}
