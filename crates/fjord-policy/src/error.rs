//! The errors of rule evaluation, named after the Python exceptions
//! oslo.policy raises (or lets escape) in the same situation.

/// What went wrong while enforcing a rule.
///
/// Each variant names the Python exception class oslo.policy 6 raises in
/// the same situation ([`PolicyError::python_class`]). The messages of
/// oslo.policy's own exceptions ([`PolicyError::PolicyNotAuthorized`],
/// [`PolicyError::InvalidScope`], [`PolicyError::PolicyNotRegistered`],
/// [`PolicyError::DuplicatePolicyError`], [`PolicyError::InvalidRuleDefault`],
/// [`PolicyError::InvalidContextObject`]) are exactly oslo.policy's; the
/// messages of the Python built-ins follow CPython's wording where it is
/// cheap to and are informative only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The rule denied the request and the caller asked for an error
    /// (oslo's `do_raise=True`).
    #[error("{rule} is disallowed by policy")]
    PolicyNotAuthorized {
        /// The name of the enforced rule.
        rule: String,
    },
    /// The credentials are not a mapping.
    #[error("Invalid context object: {0}.")]
    InvalidContextObject(String),
    /// Python `TypeError`: a bad `%` conversion for the value, walking a
    /// dotted credentials path into a non-mapping, a rule recursing without
    /// end (`unsupported callable`).
    #[error("{0}")]
    TypeError(String),
    /// Python `ValueError`: a malformed `%` format in a check's match.
    #[error("{0}")]
    ValueError(String),
    /// Python `SyntaxError`: a generic check kind that is not a valid
    /// Python expression (`ast.literal_eval` raised it).
    #[error("{0}")]
    SyntaxError(String),
    /// Python `AttributeError`: a role in the credentials that is not a
    /// string.
    #[error("{0}")]
    AttributeError(String),
    /// The request's token scope is not one of the enforced rule's
    /// `scope_types` (raised instead of a denial when the caller asked for
    /// an error).
    #[error("{rule} requires a scope of {}, request was made with {token_scope} scope.", py_list(.scope_types))]
    InvalidScope {
        /// The registered rule as Python prints it: `"name": "check_str"`.
        rule: String,
        /// The rule's `scope_types`.
        scope_types: Vec<String>,
        /// `system`, `domain` or `project`.
        token_scope: String,
    },
    /// [`Enforcer::authorize`](crate::Enforcer::authorize) of a rule no
    /// default was registered for.
    #[error("Policy {0} has not been registered")]
    PolicyNotRegistered(String),
    /// A second default registered under the same name.
    #[error("Policy {0} is already registered")]
    DuplicatePolicyError(String),
    /// A [`RuleDefault`](crate::RuleDefault) built wrong (a documented
    /// default without description or operations).
    #[error("Invalid policy rule default: {0}.")]
    InvalidRuleDefault(String),
    /// A policy file or directory that cannot be read (Python's `OSError`).
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the OS said.
        message: String,
    },
    /// A check kind fjord does not evaluate (yet): `http:` / `https:`.
    #[error("{kind} checks are not supported: {kind}:{target}")]
    Unsupported {
        /// The check kind (`http`, `https`).
        kind: String,
        /// The check's match (a URL template).
        target: String,
    },
}

impl PolicyError {
    /// The Python class name oslo.policy would raise (`PolicyNotAuthorized`,
    /// `TypeError`, ...). [`PolicyError::Unsupported`] has no Python
    /// counterpart and answers `NotImplementedError`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::PolicyError;
    ///
    /// let e = PolicyError::PolicyNotAuthorized { rule: "test".into() };
    /// assert_eq!(e.python_class(), "PolicyNotAuthorized");
    /// assert_eq!(e.to_string(), "test is disallowed by policy");
    /// ```
    pub fn python_class(&self) -> &'static str {
        match self {
            PolicyError::PolicyNotAuthorized { .. } => "PolicyNotAuthorized",
            PolicyError::InvalidContextObject(_) => "InvalidContextObject",
            PolicyError::TypeError(_) => "TypeError",
            PolicyError::ValueError(_) => "ValueError",
            PolicyError::SyntaxError(_) => "SyntaxError",
            PolicyError::AttributeError(_) => "AttributeError",
            PolicyError::Unsupported { .. } => "NotImplementedError",
            PolicyError::InvalidScope { .. } => "InvalidScope",
            PolicyError::PolicyNotRegistered(_) => "PolicyNotRegistered",
            PolicyError::DuplicatePolicyError(_) => "DuplicatePolicyError",
            PolicyError::InvalidRuleDefault(_) => "InvalidRuleDefault",
            PolicyError::Io { .. } => "OSError",
        }
    }
}

/// Python's `repr()` of a list of strings: `['system', 'project']`.
pub(crate) fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| crate::python::value::str_repr(i))
        .collect();
    format!("[{}]", quoted.join(", "))
}
