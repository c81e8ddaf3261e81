//! oslo.policy-compatible rules for fjord: the check-string language,
//! its parse tree and its evaluation, behaving like oslo.policy 6
//! (quirks included) so that existing policy rules keep their meaning.
//!
//! * [`parse_rule`] / [`parse_rule_value`]: a check string (or the legacy
//!   list-of-lists) to a [`Check`] tree; a rule that does not parse denies.
//!   `Display` of a [`Check`] is oslo.policy's `str(check)`.
//! * [`Rules`]: named rules with the `default` rule fallback and
//!   [`Rules::check_rules`] (undefined references, cycles).
//! * [`Enforcer`]: [`Enforcer::enforce`] a named rule against a target and
//!   credentials (JSON), with Python's `str()` and `%`-formatting
//!   semantics; errors are [`PolicyError`]s named after the Python
//!   exceptions.
//!
//! Policy files, registered defaults, scope types and the sample generator
//! are not here yet.
//!
//! # Examples
//!
//! ```
//! use fjord_policy::{Enforcer, Rules};
//! use serde_json::json;
//!
//! let rules = Rules::from_json(&json!({
//!     "is_admin": "role:admin",
//!     "owner": "user_id:%(user_id)s",
//!     "identity:get_user": "rule:is_admin or rule:owner",
//! }))?;
//! let enforcer = Enforcer::new(rules);
//! let target = json!({"user_id": "u1"});
//! assert!(enforcer.enforce("identity:get_user", &target, &json!({"user_id": "u1"}))?);
//! assert!(enforcer.enforce("identity:get_user", &target, &json!({"roles": ["Admin"]}))?);
//! assert!(!enforcer.enforce("identity:get_user", &target, &json!({"roles": ["member"]}))?);
//! # Ok::<(), fjord_policy::PolicyError>(())
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
