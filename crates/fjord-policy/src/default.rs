//! Rules registered in code: oslo.policy's `RuleDefault`,
//! `DocumentedRuleDefault` and `DeprecatedRule`.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::check::Check;
use crate::error::PolicyError;
use crate::notice::{Notice, NoticeKind};
use crate::parser::parse_rule;

/// One API operation a documented rule protects: `GET /servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The URL path, e.g. `/servers/{server_id}`.
    pub path: String,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
}

impl Operation {
    /// `method path`.
    pub fn new(method: &str, path: &str) -> Self {
        Operation {
            path: path.to_owned(),
            method: method.to_owned(),
        }
    }
}

/// The rule a [`RuleDefault`] replaces (oslo.policy's `DeprecatedRule`):
/// an older name, an older check string, or both.
///
/// # Examples
///
/// ```
/// use fjord_policy::DeprecatedRule;
///
/// let old = DeprecatedRule::new("foo:post_bar", "role:fizz")
///     .with_reason("foo:create_bar is more consistent")
///     .with_since("N");
/// assert_eq!(old.name(), "foo:post_bar");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DeprecatedRule {
    name: String,
    check_str: String,
    check: Check,
    reason: Option<String>,
    since: Option<String>,
}

impl DeprecatedRule {
    /// The deprecated rule `name` with its check string.
    pub fn new(name: &str, check_str: &str) -> Self {
        DeprecatedRule {
            name: name.to_owned(),
            check_str: check_str.to_owned(),
            check: parse_rule(check_str).check,
            reason: None,
            since: None,
        }
    }

    /// Why it was deprecated (`deprecated_reason`). Default: none, which
    /// oslo.policy warns about.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// The release it was deprecated in (`deprecated_since`). Default:
    /// none, which oslo.policy warns about.
    pub fn with_since(mut self, since: &str) -> Self {
        self.since = Some(since.to_owned());
        self
    }

    /// The old name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The old check string.
    pub fn check_str(&self) -> &str {
        &self.check_str
    }

    /// The old check string, parsed.
    pub fn check(&self) -> &Check {
        &self.check
    }

    /// `deprecated_reason`.
    pub fn deprecated_reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// `deprecated_since`.
    pub fn deprecated_since(&self) -> Option<&str> {
        self.since.as_deref()
    }
}

/// A rule registered in code, with its documentation (oslo.policy's
/// `RuleDefault`, or `DocumentedRuleDefault` when made with
/// [`RuleDefault::documented`]).
///
/// The builder methods never fail; what oslo.policy's constructors reject
/// is reported by [`RuleDefault::validate`], which
/// [`Enforcer::register_default`](crate::Enforcer::register_default)
/// calls.
///
/// # Examples
///
/// ```
/// use fjord_policy::{DeprecatedRule, Operation, RuleDefault};
///
/// let rule = RuleDefault::documented(
///     "os_compute_api:servers:delete",
///     "rule:project_member_api",
///     "Delete a server.",
///     vec![Operation::new("DELETE", "/servers/{server_id}")],
/// )
/// .with_scope_types(&["project"])
/// .with_deprecated_rule(
///     DeprecatedRule::new("os_compute_api:servers:delete", "rule:admin_or_owner")
///         .with_reason("New default roles.")
///         .with_since("21.0.0"),
/// );
/// assert!(rule.validate().is_ok());
/// assert_eq!(rule.to_string(), r#""os_compute_api:servers:delete": "rule:project_member_api""#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDefault {
    name: String,
    check_str: String,
    check: Check,
    description: Option<String>,
    operations: Option<Vec<Operation>>,
    scope_types: Option<Vec<String>>,
    deprecated_rule: Option<DeprecatedRule>,
    deprecated_for_removal: bool,
    deprecated_reason: Option<String>,
    deprecated_since: Option<String>,
}

impl RuleDefault {
    /// A `RuleDefault(name, check_str)`.
    pub fn new(name: &str, check_str: &str) -> Self {
        RuleDefault {
            name: name.to_owned(),
            check_str: check_str.to_owned(),
            check: parse_rule(check_str).check,
            description: None,
            operations: None,
            scope_types: None,
            deprecated_rule: None,
            deprecated_for_removal: false,
            deprecated_reason: None,
            deprecated_since: None,
        }
    }

    /// A `DocumentedRuleDefault(name, check_str, description, operations)`:
    /// both are required (non-empty) and shown by the sample generator.
    pub fn documented(
        name: &str,
        check_str: &str,
        description: &str,
        operations: Vec<Operation>,
    ) -> Self {
        let mut rule = RuleDefault::new(name, check_str);
        rule.description = Some(description.to_owned());
        rule.operations = Some(operations);
        rule
    }

    /// What the rule is for (shown by the sample generator). Default: none.
    pub fn with_description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }

    /// The token scopes the operation is meant for (`system`, `domain`,
    /// `project`); a request with another scope is refused before the
    /// check string is evaluated. Default: none (no scope check).
    pub fn with_scope_types(mut self, scopes: &[&str]) -> Self {
        self.scope_types = Some(scopes.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// The rule this one replaces. Default: none.
    pub fn with_deprecated_rule(mut self, rule: DeprecatedRule) -> Self {
        self.deprecated_rule = Some(rule);
        self
    }

    /// Marks the rule as planned for removal (`deprecated_for_removal`);
    /// [`RuleDefault::with_deprecated_reason`] and
    /// [`RuleDefault::with_deprecated_since`] are then required. Default: false.
    pub fn with_deprecated_for_removal(mut self, yes: bool) -> Self {
        self.deprecated_for_removal = yes;
        self
    }

    /// Why the rule is deprecated for removal. Default: none.
    pub fn with_deprecated_reason(mut self, reason: &str) -> Self {
        self.deprecated_reason = Some(reason.to_owned());
        self
    }

    /// Since which release it is deprecated for removal. Default: none.
    pub fn with_deprecated_since(mut self, since: &str) -> Self {
        self.deprecated_since = Some(since.to_owned());
        self
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The default check string.
    pub fn check_str(&self) -> &str {
        &self.check_str
    }

    /// The default check string, parsed.
    pub fn check(&self) -> &Check {
        &self.check
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The operations of a documented rule (`None` for a plain
    /// `RuleDefault`).
    pub fn operations(&self) -> Option<&[Operation]> {
        self.operations.as_deref()
    }

    /// The scope types, if given.
    pub fn scope_types(&self) -> Option<&[String]> {
        self.scope_types.as_deref()
    }

    /// The replaced rule, if any.
    pub fn deprecated_rule(&self) -> Option<&DeprecatedRule> {
        self.deprecated_rule.as_ref()
    }

    /// Whether the rule is deprecated for removal.
    pub fn is_deprecated_for_removal(&self) -> bool {
        self.deprecated_for_removal
    }

    /// The rule's own `deprecated_reason`.
    pub fn deprecated_reason(&self) -> Option<&str> {
        self.deprecated_reason.as_deref()
    }

    /// The rule's own `deprecated_since`.
    pub fn deprecated_since(&self) -> Option<&str> {
        self.deprecated_since.as_deref()
    }

    /// What oslo.policy's constructors check, and the `DeprecationWarning`s
    /// they emit (returned, in oslo's order).
    ///
    /// # Errors
    ///
    /// [`PolicyError::ValueError`] for `deprecated_for_removal` without
    /// both reason and since, or repeated scope types;
    /// [`PolicyError::InvalidRuleDefault`] for a documented rule without
    /// description or with no operations.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::RuleDefault;
    ///
    /// let err = RuleDefault::new("a", "@").with_scope_types(&["system", "system"])
    ///     .validate().unwrap_err();
    /// assert_eq!(err.to_string(), "scope_types must be a list of unique strings.");
    /// ```
    pub fn validate(&self) -> Result<Vec<Notice>, PolicyError> {
        let mut notices = Vec::new();
        if let Some(old) = &self.deprecated_rule
            && (old.reason.as_deref().unwrap_or("").is_empty()
                || old.since.as_deref().unwrap_or("").is_empty())
        {
            notices.push(Notice::new(
                NoticeKind::DeprecationWarning,
                format!(
                    "{} deprecated without deprecated_reason or deprecated_since. \
                     This will be an error in a future release",
                    old.name
                ),
            ));
        }
        if self.deprecated_for_removal {
            if self.deprecated_reason.is_none() || self.deprecated_since.is_none() {
                return Err(PolicyError::ValueError(format!(
                    "{} deprecated without deprecated_reason or deprecated_since. \
                     Both must be supplied if deprecating a policy",
                    self.name
                )));
            }
        } else if self.deprecated_rule.is_some()
            && (self
                .deprecated_reason
                .as_deref()
                .is_some_and(|s| !s.is_empty())
                || self
                    .deprecated_since
                    .as_deref()
                    .is_some_and(|s| !s.is_empty()))
        {
            notices.push(Notice::new(
                NoticeKind::DeprecationWarning,
                format!(
                    "{} should not configure deprecated_reason or deprecated_since as \
                     these should be configured on the DeprecatedRule indicated by \
                     deprecated_rule. This will be an error in a future release",
                    self.name
                ),
            ));
        }
        if let Some(scopes) = &self.scope_types {
            for (i, s) in scopes.iter().enumerate() {
                if scopes[i + 1..].contains(s) {
                    return Err(PolicyError::ValueError(
                        "scope_types must be a list of unique strings.".into(),
                    ));
                }
            }
        }
        if let Some(ops) = &self.operations {
            if self.description.as_deref().unwrap_or("").is_empty() {
                return Err(PolicyError::InvalidRuleDefault(
                    "Description is required".into(),
                ));
            }
            if ops.is_empty() {
                return Err(PolicyError::InvalidRuleDefault(
                    "Operations list must not be empty".into(),
                ));
            }
        }
        Ok(notices)
    }

    /// The rule as JSON, in the shape of the policy fixtures and of what a
    /// program prints for
    /// [`DEFAULTS_FLAG`](crate::DEFAULTS_FLAG): `class`, `name`,
    /// `check_str` and the keyword arguments that are set.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let class = if self.operations.is_some() {
            "DocumentedRuleDefault"
        } else {
            "RuleDefault"
        };
        m.insert("class".into(), json!(class));
        m.insert("name".into(), json!(self.name));
        m.insert("check_str".into(), json!(self.check_str));
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(ops) = &self.operations {
            let ops: Vec<Value> = ops
                .iter()
                .map(|o| json!({"path": o.path, "method": o.method}))
                .collect();
            m.insert("operations".into(), Value::Array(ops));
        }
        if let Some(s) = &self.scope_types {
            m.insert("scope_types".into(), json!(s));
        }
        if let Some(old) = &self.deprecated_rule {
            let mut d = Map::new();
            d.insert("name".into(), json!(old.name));
            d.insert("check_str".into(), json!(old.check_str));
            if let Some(r) = &old.reason {
                d.insert("deprecated_reason".into(), json!(r));
            }
            if let Some(s) = &old.since {
                d.insert("deprecated_since".into(), json!(s));
            }
            m.insert("deprecated_rule".into(), Value::Object(d));
        }
        if self.deprecated_for_removal {
            m.insert("deprecated_for_removal".into(), json!(true));
        }
        if let Some(r) = &self.deprecated_reason {
            m.insert("deprecated_reason".into(), json!(r));
        }
        if let Some(s) = &self.deprecated_since {
            m.insert("deprecated_since".into(), json!(s));
        }
        Value::Object(m)
    }

    /// Reads what [`RuleDefault::to_json`] writes (absent keys take the
    /// constructor defaults).
    ///
    /// # Errors
    ///
    /// [`PolicyError::ValueError`] naming the key that is missing or has
    /// the wrong type.
    pub fn from_json(v: &Value) -> Result<Self, PolicyError> {
        let bad = |what: &str| PolicyError::ValueError(format!("rule default: {what}"));
        let obj = v.as_object().ok_or_else(|| bad("not an object"))?;
        let text = |o: &Map<String, Value>, key: &str| -> Result<Option<String>, PolicyError> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!("{key} must be a string"))),
            }
        };
        let name = text(obj, "name")?.ok_or_else(|| bad("name is required"))?;
        let check_str = text(obj, "check_str")?.ok_or_else(|| bad("check_str is required"))?;
        let mut rule = RuleDefault::new(&name, &check_str);
        rule.description = text(obj, "description")?;
        match obj.get("class").and_then(Value::as_str) {
            None | Some("RuleDefault") => {}
            Some("DocumentedRuleDefault") => {
                let ops = obj
                    .get("operations")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("operations must be a list"))?;
                let mut out = Vec::new();
                for op in ops {
                    let op = op
                        .as_object()
                        .ok_or_else(|| bad("an operation must be an object"))?;
                    out.push(Operation {
                        path: text(op, "path")?.ok_or_else(|| bad("operation path"))?,
                        method: text(op, "method")?.ok_or_else(|| bad("operation method"))?,
                    });
                }
                rule.operations = Some(out);
            }
            Some(other) => return Err(bad(&format!("unknown class {other}"))),
        }
        if let Some(s) = obj.get("scope_types").filter(|s| !s.is_null()) {
            let list = s.as_array().ok_or_else(|| {
                PolicyError::ValueError("scope_types must be a list of strings.".into())
            })?;
            let mut scopes = Vec::new();
            for item in list {
                scopes.push(
                    item.as_str()
                        .ok_or_else(|| {
                            PolicyError::ValueError("scope_types must be a list of strings.".into())
                        })?
                        .to_owned(),
                );
            }
            rule.scope_types = Some(scopes);
        }
        if let Some(d) = obj.get("deprecated_rule").filter(|d| !d.is_null()) {
            let d = d
                .as_object()
                .ok_or_else(|| bad("deprecated_rule must be an object"))?;
            let mut old = DeprecatedRule::new(
                &text(d, "name")?.ok_or_else(|| bad("deprecated_rule name"))?,
                &text(d, "check_str")?.ok_or_else(|| bad("deprecated_rule check_str"))?,
            );
            old.reason = text(d, "deprecated_reason")?;
            old.since = text(d, "deprecated_since")?;
            rule.deprecated_rule = Some(old);
        }
        rule.deprecated_for_removal = obj
            .get("deprecated_for_removal")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        rule.deprecated_reason = text(obj, "deprecated_reason")?;
        rule.deprecated_since = text(obj, "deprecated_since")?;
        Ok(rule)
    }
}

impl fmt::Display for RuleDefault {
    /// Python's `str(rule)`: `"name": "check_str"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\": \"{}\"", self.name, self.check_str)
    }
}
