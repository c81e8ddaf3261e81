//! Evaluating rules against a target and credentials (oslo.policy's
//! `Enforcer.enforce` over `_checks`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::check::Check;
use crate::error::PolicyError;
use crate::python::format::{FormatError, percent_format};
use crate::python::literal::literal_eval;
use crate::python::value::{PyValue, truthy, type_name};
use crate::rules::{Rules, RulesReport};

/// How many `rule:` references may nest before evaluation gives up the
/// way Python does when it reaches its recursion limit (a reference
/// cycle): with `TypeError: unsupported callable`.
pub const MAX_RULE_DEPTH: usize = 128;

/// Enforces named rules, as oslo.policy's `Enforcer` with rules set by
/// `set_rules()` (no policy files, no registered defaults yet).
///
/// # Examples
///
/// ```
/// use fjord_policy::{Enforcer, Rules};
/// use serde_json::json;
///
/// let rules = Rules::from_json(&json!({
///     "admin_or_owner": "role:admin or project_id:%(project_id)s",
/// })).unwrap();
/// let enforcer = Enforcer::new(rules);
/// let target = json!({"project_id": "p1"});
/// assert!(enforcer.enforce("admin_or_owner", &target, &json!({"project_id": "p1"})).unwrap());
/// assert!(!enforcer.enforce("admin_or_owner", &target, &json!({"roles": ["member"]})).unwrap());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Enforcer {
    rules: Rules,
}

impl Enforcer {
    /// An enforcer over `rules`.
    pub fn new(rules: Rules) -> Self {
        Enforcer { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Replaces the rules (oslo's `set_rules(rules, overwrite=True)`).
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// oslo's `check_rules()`; see [`Rules::check_rules`].
    pub fn check_rules(&self) -> RulesReport {
        self.rules.check_rules()
    }

    /// Whether `creds` may do `rule` on `target` (oslo's
    /// `enforce(rule, target, creds, do_raise=False)`).
    ///
    /// An undefined `rule` uses the default rule when it exists, else
    /// denies; no rules at all deny. A truthy `creds["system_scope"]` is
    /// copied into `creds["system"]` first, as oslo.policy does.
    ///
    /// # Errors
    ///
    /// Where oslo.policy raises: [`PolicyError::InvalidContextObject`] when
    /// `creds` is not an object, and the Python errors that escape from
    /// checks ([`PolicyError::ValueError`] / [`PolicyError::TypeError`] for
    /// a bad `%` format, [`PolicyError::SyntaxError`] for a kind that is not
    /// valid Python, [`PolicyError::TypeError`] for a dotted path walking
    /// into a non-object or a reference cycle,
    /// [`PolicyError::AttributeError`] for a non-string role).
    pub fn enforce(&self, rule: &str, target: &Value, creds: &Value) -> Result<bool, PolicyError> {
        let Value::Object(creds) = creds else {
            return Err(PolicyError::InvalidContextObject(format!(
                "Expected type oslo_context.context.RequestContext, dict, or the output of \
                 oslo_context.context.RequestContext.to_policy_values but got <class '{}'> instead",
                type_name(creds)
            )));
        };
        let creds = match creds.get("system_scope") {
            Some(scope) if truthy(scope) => {
                let mut c: Map<String, Value> = creds.clone();
                c.insert("system".into(), scope.clone());
                Cow::Owned(c)
            }
            _ => Cow::Borrowed(creds),
        };
        if self.rules.is_empty() {
            return Ok(false);
        }
        let Some(check) = self.rules.lookup(rule) else {
            return Ok(false);
        };
        Eval {
            rules: &self.rules,
            target,
            creds: &creds,
        }
        .check(check, 0)
    }

    /// Like [`Enforcer::enforce`] but a denial is an error (oslo's
    /// `do_raise=True`).
    ///
    /// # Errors
    ///
    /// [`PolicyError::PolicyNotAuthorized`] when the rule denies, and every
    /// error of [`Enforcer::enforce`].
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::{Enforcer, PolicyError, Rules};
    /// use serde_json::json;
    ///
    /// let mut rules = Rules::new();
    /// rules.insert_str("test", "!");
    /// let err = Enforcer::new(rules).authorize("test", &json!({}), &json!({})).unwrap_err();
    /// assert_eq!(err.to_string(), "test is disallowed by policy");
    /// ```
    pub fn authorize(&self, rule: &str, target: &Value, creds: &Value) -> Result<(), PolicyError> {
        if self.enforce(rule, target, creds)? {
            Ok(())
        } else {
            Err(PolicyError::PolicyNotAuthorized {
                rule: rule.to_owned(),
            })
        }
    }
}

struct Eval<'a> {
    rules: &'a Rules,
    target: &'a Value,
    creds: &'a Map<String, Value>,
}

impl Eval<'_> {
    fn check(&self, check: &Check, depth: usize) -> Result<bool, PolicyError> {
        match check {
            Check::True => Ok(true),
            Check::False => Ok(false),
            Check::Not(c) => Ok(!self.check(c, depth)?),
            Check::And(cs) => {
                for c in cs {
                    if !self.check(c, depth)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Check::Or(cs) => {
                for c in cs {
                    if self.check(c, depth)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Check::Rule(name) => {
                if depth >= MAX_RULE_DEPTH {
                    return Err(PolicyError::TypeError("unsupported callable".into()));
                }
                match self.rules.lookup(name) {
                    Some(c) => self.check(c, depth + 1),
                    None => Ok(false),
                }
            }
            Check::Role(m) => self.role(m),
            Check::Generic { kind, target } => self.generic(kind, target),
            Check::Http { kind, target } => Err(PolicyError::Unsupported {
                kind: kind.clone(),
                target: target.clone(),
            }),
        }
    }

    /// `self.match % target`; `None` for a missing key (the check is false).
    fn format(&self, m: &str) -> Result<Option<String>, PolicyError> {
        match percent_format(m, self.target) {
            Ok(s) => Ok(Some(s)),
            Err(FormatError::Key) => Ok(None),
            Err(FormatError::Value(msg)) => Err(PolicyError::ValueError(msg)),
            Err(FormatError::Type(msg)) => Err(PolicyError::TypeError(msg)),
        }
    }

    fn role(&self, m: &str) -> Result<bool, PolicyError> {
        let Some(m) = self.format(m)? else {
            return Ok(false);
        };
        let Some(roles) = self.creds.get("roles") else {
            return Ok(false);
        };
        let roles: Vec<String> = match roles {
            Value::Array(items) => items
                .iter()
                .map(|r| match r {
                    Value::String(s) => Ok(s.to_lowercase()),
                    other => Err(PolicyError::AttributeError(format!(
                        "'{}' object has no attribute 'lower'",
                        type_name(other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Value::String(s) => s.chars().map(|c| c.to_lowercase().collect()).collect(),
            Value::Object(o) => o.keys().map(|k| k.to_lowercase()).collect(),
            other => {
                return Err(PolicyError::TypeError(format!(
                    "'{}' object is not iterable",
                    type_name(other)
                )));
            }
        };
        Ok(roles.contains(&m.to_lowercase()))
    }

    fn generic(&self, kind: &str, m: &str) -> Result<bool, PolicyError> {
        let Some(m) = self.format(m)? else {
            return Ok(false);
        };
        match literal_eval(kind) {
            Ok(Some(v)) => return Ok(m == v.py_str()),
            Ok(None) => {}
            Err(msg) => return Err(PolicyError::SyntaxError(msg)),
        }
        let segments: Vec<&str> = kind.split('.').collect();
        find_in_object(self.creds, &segments, &m)
    }
}

/// `GenericCheck._find_in_dict` from the credentials mapping.
fn find_in_object(obj: &Map<String, Value>, path: &[&str], m: &str) -> Result<bool, PolicyError> {
    let Some((key, rest)) = path.split_first() else {
        return Ok(false);
    };
    match obj.get(*key) {
        None => Ok(false),
        Some(Value::Array(items)) => {
            for item in items {
                if find_in(item, rest, m)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some(v) => find_in(v, rest, m),
    }
}

fn find_in(value: &Value, path: &[&str], m: &str) -> Result<bool, PolicyError> {
    if path.is_empty() {
        return Ok(m == PyValue::from_json(value).py_str());
    }
    match value {
        Value::Object(o) => find_in_object(o, path, m),
        Value::String(_) => Err(PolicyError::TypeError(
            "string indices must be integers, not 'str'".into(),
        )),
        Value::Array(_) => Err(PolicyError::TypeError(
            "list indices must be integers or slices, not str".into(),
        )),
        other => Err(PolicyError::TypeError(format!(
            "'{}' object is not subscriptable",
            type_name(other)
        ))),
    }
}
