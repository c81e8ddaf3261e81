//! A set of named rules (oslo.policy's `Rules`), with the default-rule
//! fallback.

use std::collections::HashMap;

use serde_json::Value;

use crate::check::Check;
use crate::error::PolicyError;
use crate::parser::{parse_rule, parse_rule_value};

/// The name of the rule used for undefined names: oslo.policy's
/// `[oslo_policy] policy_default_rule` default.
pub const DEFAULT_RULE: &str = "default";

/// Named, parsed rules in insertion order.
///
/// Looking up an undefined name falls back to the default rule (named
/// [`DEFAULT_RULE`] unless changed) when that rule exists, as
/// oslo.policy's `Rules.__missing__` does.
///
/// # Examples
///
/// ```
/// use fjord_policy::Rules;
///
/// let mut rules = Rules::new();
/// rules.insert_str("default", "role:admin");
/// rules.insert_str("admin_or_owner", "role:admin or project_id:%(project_id)s");
/// assert_eq!(rules.get("admin_or_owner").unwrap().to_string(),
///            "(role:admin or project_id:%(project_id)s)");
/// assert_eq!(rules.lookup("nope").unwrap().to_string(), "role:admin");
/// ```
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<(String, Check)>,
    index: HashMap<String, usize>,
    default_rule: Option<String>,
    errors: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            rules: Vec::new(),
            index: HashMap::new(),
            default_rule: Some(DEFAULT_RULE.to_owned()),
            errors: Vec::new(),
        }
    }
}

impl Rules {
    /// No rules; the default rule name is [`DEFAULT_RULE`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses every rule of a JSON object (name -> check string, legacy
    /// list, or `null`), as `Rules.from_dict` does.
    ///
    /// The rules take the order in which `serde_json` yields the keys:
    /// sorted, unless its `preserve_order` feature is on. That order only
    /// shows in [`Rules::iter`] and [`Rules::check_rules`]'s lists; use
    /// [`Rules::insert`] to keep a file's order.
    ///
    /// # Errors
    ///
    /// [`PolicyError::TypeError`] when `rules` is not an object, or when a
    /// rule is a value Python cannot parse (`true`, `5`).
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::Rules;
    /// use serde_json::json;
    ///
    /// let rules = Rules::from_json(&json!({"a": "@", "b": [["role:x"]]})).unwrap();
    /// assert_eq!(rules.len(), 2);
    /// ```
    pub fn from_json(rules: &Value) -> Result<Self, PolicyError> {
        let Value::Object(map) = rules else {
            return Err(PolicyError::TypeError(format!(
                "rules must be a mapping, not {}",
                crate::python::value::type_name(rules)
            )));
        };
        let mut out = Rules::new();
        for (name, rule) in map {
            let parsed = parse_rule_value(rule)?;
            out.errors.extend(parsed.errors);
            out.insert(name.clone(), parsed.check);
        }
        Ok(out)
    }

    /// Adds (or replaces) a parsed rule.
    pub fn insert(&mut self, name: impl Into<String>, check: Check) {
        let name = name.into();
        match self.index.get(&name) {
            Some(&i) => self.rules[i].1 = check,
            None => {
                self.index.insert(name.clone(), self.rules.len());
                self.rules.push((name, check));
            }
        }
    }

    /// Parses `rule` and adds it; a rule that fails to parse is added as
    /// `!` and its messages go to [`Rules::parse_errors`].
    pub fn insert_str(&mut self, name: impl Into<String>, rule: &str) {
        let parsed = parse_rule(rule);
        self.errors.extend(parsed.errors);
        self.insert(name, parsed.check);
    }

    /// Sets the name of the rule that stands in for undefined names
    /// (`None`: no fallback). Default is [`DEFAULT_RULE`].
    pub fn set_default_rule(&mut self, name: Option<String>) {
        self.default_rule = name;
    }

    /// The rule defined under exactly `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.index.get(name).map(|&i| &self.rules[i].1)
    }

    /// The rule under `name`, else the default rule when it is defined
    /// (`Rules.__missing__`).
    pub fn lookup(&self, name: &str) -> Option<&Check> {
        self.get(name)
            .or_else(|| self.default_rule.as_deref().and_then(|d| self.get(d)))
    }

    /// Whether a rule is defined under exactly `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Check)> {
        self.rules.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// What oslo.policy would have logged at ERROR while parsing these
    /// rules (`Failed to understand rule ...`), in order.
    pub fn parse_errors(&self) -> &[String] {
        &self.errors
    }

    /// oslo.policy's `Enforcer.check_rules()`: which rules reference an
    /// undefined rule, which are part of a reference cycle.
    ///
    /// Like oslo.policy, this walks `and`/`or` operands but not the
    /// operand of `not`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::Rules;
    ///
    /// let mut rules = Rules::new();
    /// rules.insert_str("a", "rule:b");
    /// rules.insert_str("b", "rule:a or rule:missing");
    /// let report = rules.check_rules();
    /// assert!(!report.is_ok());
    /// assert_eq!(report.undefined, ["b"]);
    /// assert_eq!(report.cyclic, ["a", "b"]);
    /// ```
    pub fn check_rules(&self) -> RulesReport {
        let mut report = RulesReport::default();
        for (name, check) in &self.rules {
            if self.undefined(check) {
                report.undefined.push(name.clone());
            }
            if self.cycle(check, &mut Vec::new()) {
                report.cyclic.push(name.clone());
            }
        }
        report
    }

    fn undefined(&self, check: &Check) -> bool {
        match check {
            Check::Rule(name) => !self.contains(name),
            Check::And(cs) | Check::Or(cs) => cs.iter().any(|c| self.undefined(c)),
            _ => false,
        }
    }

    fn cycle(&self, check: &Check, seen: &mut Vec<String>) -> bool {
        match check {
            Check::Rule(name) => {
                if seen.contains(name) {
                    return true;
                }
                seen.push(name.clone());
                self.get(name).is_some_and(|c| self.cycle(c, seen))
            }
            Check::And(cs) | Check::Or(cs) => cs.iter().any(|c| self.cycle(c, &mut seen.clone())),
            _ => false,
        }
    }
}

/// What [`Rules::check_rules`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RulesReport {
    /// Rules that reference an undefined rule, in rule order.
    pub undefined: Vec<String>,
    /// Rules that are part of a reference cycle, in rule order.
    pub cyclic: Vec<String>,
}

impl RulesReport {
    /// `true` when nothing is wrong (what oslo's `check_rules()` returns).
    pub fn is_ok(&self) -> bool {
        self.undefined.is_empty() && self.cyclic.is_empty()
    }

    /// The WARNING messages oslo.policy logs for this report.
    pub fn messages(&self) -> Vec<String> {
        let list = |names: &[String]| {
            let quoted: Vec<String> = names
                .iter()
                .map(|n| crate::python::value::str_repr(n))
                .collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut out = Vec::new();
        if !self.undefined.is_empty() {
            out.push(format!(
                "Policies {} reference a rule that is not defined.",
                list(&self.undefined)
            ));
        }
        if !self.cyclic.is_empty() {
            out.push(format!(
                "Policies {} are part of a cyclical reference.",
                list(&self.cyclic)
            ));
        }
        out
    }
}
