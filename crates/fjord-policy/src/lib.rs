//! oslo.policy for fjord: the check-string language, rules registered in
//! code, policy files, scope types, deprecations, the generators, and the
//! 403 an API answers, behaving like oslo.policy 6.0.1 (quirks included)
//! so that existing policy files and operator knowledge carry over.
//!
//! * [`parse_rule`] / [`parse_rule_value`]: a check string (or the legacy
//!   list-of-lists) to a [`Check`] tree; a rule that does not parse denies.
//!   `Display` of a [`Check`] is oslo.policy's `str(check)`.
//! * [`RuleDefault`] (`RuleDefault` / `DocumentedRuleDefault`) and
//!   [`DeprecatedRule`]: the rules a service registers, with description,
//!   operations, `scope_types` and deprecations.
//! * [`Enforcer`]: registered defaults overridden by `[oslo_policy]
//!   policy_file` and the files of `policy_dirs` ([`register_opts`],
//!   [`PolicyOptions`]), read as PyYAML reads them
//!   ([`parse_policy_file`]) and re-read when they change;
//!   [`Enforcer::authorize`] checks the token's scope and the rule;
//!   errors are [`PolicyError`]s named after the Python exceptions, and
//!   what oslo.policy logs or warns is a [`Notice`].
//! * [`generate_sample`] / [`generate_policy`]: `oslopolicy-sample-generator`
//!   and `oslopolicy-policy-generator` text, byte for byte;
//!   [`PolicyCatalog`] and [`DEFAULTS_FLAG`] hand a program's defaults to
//!   `fjord-config policy check|sample --from-binary`.
//! * [`Denial`]: the status and JSON body of a refused request.
//!
//! `docs/policy.md` has the oslo.policy -> fjord map and the operator's
//! view.
//!
//! # Examples
//!
//! A service registers its defaults, reads the operator's overrides and
//! authorizes each request with the caller's credentials (shaped like
//! oslo.context's `to_policy_values()`):
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_policy::{Denial, Enforcer, FaultStyle, Operation, RuleDefault};
//! use serde_json::json;
//!
//! let dir = std::env::temp_dir().join(format!("fjord-policy-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("demo.conf"), "[oslo_policy]\npolicy_file = policy.yaml\n")?;
//! std::fs::write(dir.join("policy.yaml"), "\"demo:services:list\": \"role:admin or role:auditor\"\n")?;
//!
//! let mut conf = ConfigOpts::new("demo-api").env_source(EnvSource::Off);
//! fjord_policy::register_opts(&mut conf)?;
//! let conf_file = dir.join("demo.conf");
//! conf.parse_args(["demo-api", "--config-file", conf_file.to_str().unwrap()])?;
//!
//! let mut enforcer = Enforcer::from_conf(&conf)?;
//! enforcer.register_defaults([
//!     RuleDefault::new("admin_api", "role:admin"),
//!     RuleDefault::documented("demo:services:list", "rule:admin_api", "List the services.",
//!                             vec![Operation::new("GET", "/v1/services")])
//!         .with_scope_types(&["project"]),
//! ])?;
//!
//! let auditor = json!({"user_id": "u1", "project_id": "p1", "roles": ["auditor"]});
//! enforcer.authorize("demo:services:list", &json!({}), &auditor)?;
//!
//! let member = json!({"user_id": "u2", "project_id": "p1", "roles": ["member"]});
//! let err = enforcer.authorize("demo:services:list", &json!({}), &member).unwrap_err();
//! let denial = Denial::from_error(&err, "demo:services:list");
//! assert_eq!(denial.status(), 403);
//! assert_eq!(denial.body(FaultStyle::Keystone)["error"]["message"],
//!            "demo:services:list is disallowed by policy");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod catalog;
mod check;
mod default;
mod enforcer;
mod error;
mod file;
mod generator;
mod notice;
mod options;
mod parser;
mod python;
mod response;
mod rules;

pub use catalog::{DEFAULTS_FLAG, PolicyCatalog};
pub use check::Check;
pub use default::{DeprecatedRule, Operation, RuleDefault};
pub use enforcer::{Enforcer, MAX_RULE_DEPTH, token_scope};
pub use error::PolicyError;
pub use file::parse_policy_file;
pub use generator::{
    Generated, SampleOptions, format_rule_default, generate_policy, generate_sample,
};
pub use notice::{Notice, NoticeKind};
pub use options::{GROUP, PolicyOptions, namespace, register_opts};
pub use parser::{Parsed, parse_rule, parse_rule_value};
pub use response::{Denial, FaultStyle, forbidden_body};
pub use rules::{DEFAULT_RULE, Rules, RulesReport};
