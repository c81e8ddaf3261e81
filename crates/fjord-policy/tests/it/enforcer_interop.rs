//! The enforcer against the real one: generated scenarios (registered
//! defaults with scope types and deprecated rules, `[oslo_policy]`
//! options, a policy file and a policy.d file, then checks with assorted
//! credentials) run through fjord's `Enforcer` and through oslo.policy
//! 6.0.1's in the test venv must give the same results, exceptions
//! (class and message), effective rules and warnings.

use std::io::Write;
use std::process::{Command, Stdio};

use fjord_config::{ConfigOpts, EnvSource};
use fjord_policy::{Enforcer, RuleDefault};
use serde_json::{Value, json};

const PY: &str = r#"
import json, logging, os, sys, tempfile, warnings
logging.disable(logging.CRITICAL)
from oslo_config import cfg
from oslo_policy import policy

def make(d):
    kw = {k: d[k] for k in ("description", "scope_types", "deprecated_for_removal",
                             "deprecated_reason", "deprecated_since") if k in d}
    if "deprecated_rule" in d:
        r = d["deprecated_rule"]
        kw["deprecated_rule"] = policy.DeprecatedRule(
            r["name"], r["check_str"], deprecated_reason=r.get("deprecated_reason"),
            deprecated_since=r.get("deprecated_since"))
    return policy.RuleDefault(d["name"], d["check_str"], **kw)

out = []
for line in sys.stdin:
    sc = json.loads(line)
    d = tempfile.mkdtemp()
    open(os.path.join(d, "service.conf"), "w").write(sc["config"])
    for rel, text in sc["files"].items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write(text)
    conf = cfg.ConfigOpts()
    conf(["--config-file", os.path.join(d, "service.conf")])
    res = {"checks": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = policy.Enforcer(conf)
        e.register_defaults([make(x) for x in sc["defaults"]])
    for c in sc["checks"]:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                f = e.authorize if c["method"] == "authorize" else e.enforce
                r = {"result": bool(f(c["rule"], c["target"], c["creds"], do_raise=c["do_raise"]))}
            except Exception as ex:
                r = {"exception": type(ex).__name__, "message": str(ex)}
        r["warnings"] = [str(x.message) for x in w if x.category is UserWarning]
        res["checks"].append(r)
    res["rules"] = sorted([k, str(v)] for k, v in e.rules.items())
    out.append(res)
print(json.dumps(out))
"#;

/// xorshift64*: a fixed sequence, so the scenarios are the same every run.
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

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

const NAMES: &[&str] = &["a", "b", "c", "d", "old_a", "old_b", "default", "admin_api"];
const CHECKS: &[&str] = &[
    "role:admin",
    "role:reader",
    "role:member and project_id:%(project_id)s",
    "rule:admin_api",
    "rule:a or rule:b",
    "rule:missing",
    "@",
    "!",
    "",
    "not role:admin",
    "user_id:%(user_id)s",
    "rule:old_a",
];
const SCOPES: &[&[&str]] = &[&[], &["project"], &["system"], &["domain", "project"]];
const FILE_VALUES: &[&str] = &[
    "\"role:admin\"",
    "\"role:member or role:reader\"",
    "\"rule:admin_api\"",
    "\"rule:a\"",
    "\"!\"",
    "\"@\"",
    "",
    "\"role:old\"",
    "\"rule:c\"",
];

fn default(rng: &mut Rng, name: &str) -> RuleDefault {
    let mut d = RuleDefault::new(name, rng.pick(CHECKS));
    let scopes = SCOPES[rng.below(SCOPES.len())];
    if !scopes.is_empty() || rng.chance(4) {
        d = d.with_scope_types(scopes);
    }
    match rng.below(6) {
        0 => {
            let old = if rng.chance(2) {
                name.to_owned()
            } else {
                format!("old_{name}")
            };
            d = d.with_deprecated_rule(
                fjord_policy::DeprecatedRule::new(&old, rng.pick(CHECKS))
                    .with_reason("r")
                    .with_since("S"),
            );
        }
        1 => {
            d = d
                .with_deprecated_for_removal(true)
                .with_deprecated_reason("gone")
                .with_deprecated_since("Z")
        }
        _ => {}
    }
    d
}

fn creds(rng: &mut Rng) -> Value {
    let roles: Vec<&str> = ["admin", "member", "reader", "old"]
        .into_iter()
        .filter(|_| rng.chance(2))
        .collect();
    let mut c = json!({"user_id": "u1", "roles": roles, "project_id": "p1",
                        "system_scope": null, "domain_id": null});
    match rng.below(4) {
        0 => c["system_scope"] = json!("all"),
        1 => c["domain_id"] = json!("d1"),
        _ => {}
    }
    c
}

fn scenario(rng: &mut Rng) -> Value {
    let mut defaults = Vec::new();
    for name in ["a", "b", "c", "d", "admin_api"] {
        if rng.below(5) > 0 {
            defaults.push(default(rng, name).to_json());
        }
    }
    let mut config = String::from("[oslo_policy]\n");
    if rng.chance(2) {
        config.push_str("enforce_new_defaults = false\n");
    }
    if rng.chance(4) {
        config.push_str("policy_default_rule = admin_api\n");
    }
    let mut files = serde_json::Map::new();
    for (path, n) in [("policy.yaml", 4), ("policy.d/10-extra.yaml", 2)] {
        if rng.chance(4) {
            continue;
        }
        let mut text = String::new();
        for _ in 0..rng.below(n + 1) {
            text.push_str(&format!(
                "\"{}\": {}\n",
                rng.pick(NAMES),
                rng.pick(FILE_VALUES)
            ));
        }
        files.insert(path.into(), json!(text));
    }
    let checks: Vec<Value> = (0..6)
        .map(|_| {
            json!({
                "method": if rng.chance(3) { "authorize" } else { "enforce" },
                "rule": rng.pick(&["a", "b", "c", "d", "old_a", "nope", "admin_api"]),
                "target": {"project_id": "p1", "user_id": "u1"},
                "creds": creds(rng),
                "do_raise": rng.chance(2),
            })
        })
        .collect();
    json!({"config": config, "files": files, "defaults": defaults, "checks": checks})
}

fn ours(sc: &Value) -> Value {
    let dir = fjord_test_support::temp_dir("policy-enforcer-interop");
    let conf_path = dir.join("service.conf");
    std::fs::write(&conf_path, sc["config"].as_str().unwrap_or("")).expect("write");
    for (rel, text) in sc["files"].as_object().into_iter().flatten() {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text.as_str().unwrap_or("")).expect("write");
    }
    let mut conf = ConfigOpts::new("service").env_source(EnvSource::Off);
    fjord_policy::register_opts(&mut conf).expect("register opts");
    conf.parse_args([
        "service",
        "--config-file",
        conf_path.to_str().expect("utf-8"),
    ])
    .expect("config");
    let mut e = Enforcer::from_conf(&conf).expect("enforcer");
    for d in sc["defaults"].as_array().into_iter().flatten() {
        e.register_default(RuleDefault::from_json(d).expect("default"))
            .expect("register");
    }
    e.capture_notices(true);
    let mut checks = Vec::new();
    for c in sc["checks"].as_array().into_iter().flatten() {
        let rule = c["rule"].as_str().unwrap_or("");
        let (t, cr) = (&c["target"], &c["creds"]);
        let raise = c["do_raise"].as_bool() == Some(true);
        let r = match (c["method"].as_str(), raise) {
            (Some("authorize"), true) => e.authorize(rule, t, cr).map(|()| true),
            (Some("authorize"), false) => e.is_authorized(rule, t, cr),
            (_, true) => e.require(rule, t, cr).map(|()| true),
            (_, false) => e.enforce(rule, t, cr),
        };
        let mut v = match r {
            Ok(b) => json!({"result": b}),
            Err(err) => json!({"exception": err.python_class(), "message": err.to_string()}),
        };
        v["warnings"] = json!(
            e.take_notices()
                .iter()
                .filter(|n| n.kind == fjord_policy::NoticeKind::UserWarning)
                .map(|n| n.message.clone())
                .collect::<Vec<_>>()
        );
        checks.push(v);
    }
    let mut rules: Vec<(String, String)> = e
        .rules()
        .iter()
        .map(|(n, c)| (n.to_owned(), c.to_string()))
        .collect();
    rules.sort();
    let _ = std::fs::remove_dir_all(&dir);
    json!({"checks": checks, "rules": rules})
}

#[test]
fn enforcer_scenarios_match_oslo_policy() {
    let test = "enforcer_interop::enforcer_scenarios_match_oslo_policy";
    let Some(py) = fjord_test_support::venv_python(test, "oslo_policy") else {
        return;
    };
    let mut rng = Rng(0xfeed_beef_0bad_cafe);
    let scenarios: Vec<Value> = (0..300).map(|_| scenario(&mut rng)).collect();
    let mut child = Command::new(py)
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for s in &scenarios {
            writeln!(stdin, "{s}").expect("write");
        }
    }
    let out = child.wait_with_output().expect("python ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("python's JSON");
    assert_eq!(theirs.len(), scenarios.len());

    let mut differences = Vec::new();
    let mut checks = 0;
    for (sc, want) in scenarios.iter().zip(&theirs) {
        let got = ours(sc);
        checks += sc["checks"].as_array().map_or(0, Vec::len);
        if &got != want {
            differences.push(format!("{sc}\n  fjord: {got}\n  oslo:  {want}"));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "enforcer_interop: {} scenarios, {checks} checks, {} differences",
        scenarios.len(),
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} scenarios differ:\n{}",
        differences.len(),
        scenarios.len(),
        differences.join("\n")
    );
}
