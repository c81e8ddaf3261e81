//! The parsed form of a rule: a tree of checks.

use std::fmt;

/// One node of a parsed rule, as oslo.policy's `_checks` classes.
///
/// [`Display`](fmt::Display) prints exactly what Python's `str(check)`
/// prints: `@`, `!`, `kind:match`, `not X`, `(A and B and C)`,
/// `(A or B)`.
///
/// # Examples
///
/// ```
/// use fjord_policy::parse_rule;
///
/// let check = parse_rule("role:a or role:b AND not role:c").check;
/// assert_eq!(check.to_string(), "(role:a or (role:b and not role:c))");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// `@`: always allows (also an empty rule).
    True,
    /// `!`: always denies (also a rule that failed to parse).
    False,
    /// `not X`.
    Not(Box<Check>),
    /// `(A and B ...)`: every check allows.
    And(Vec<Check>),
    /// `(A or B ...)`: one check allows.
    Or(Vec<Check>),
    /// `role:<match>`: the `%`-formatted match is one of `creds["roles"]`,
    /// compared case-insensitively.
    Role(String),
    /// `rule:<name>`: the named rule allows.
    Rule(String),
    /// `http:<url>` / `https:<url>`: a remote check (not evaluated yet).
    Http {
        /// `http` or `https`.
        kind: String,
        /// The URL template.
        target: String,
    },
    /// `<kind>:<match>`: the `%`-formatted match equals the Python
    /// literal `kind`, or `str()` of the credentials value at the dotted
    /// path `kind`.
    Generic {
        /// Left of the first colon.
        kind: String,
        /// Right of the first colon.
        target: String,
    },
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::True => f.write_str("@"),
            Check::False => f.write_str("!"),
            Check::Not(c) => write!(f, "not {c}"),
            Check::And(cs) => join(f, cs, " and "),
            Check::Or(cs) => join(f, cs, " or "),
            Check::Role(m) => write!(f, "role:{m}"),
            Check::Rule(m) => write!(f, "rule:{m}"),
            Check::Http { kind, target } | Check::Generic { kind, target } => {
                write!(f, "{kind}:{target}")
            }
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, cs: &[Check], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, c) in cs.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{c}")?;
    }
    f.write_str(")")
}
