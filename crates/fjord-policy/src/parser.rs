//! oslo.policy's check-string parser (`oslo_policy._parser`), reduction
//! for reduction, quirks included.

use serde_json::Value;

use crate::check::Check;
use crate::python::value::{is_py_space, type_name};

/// A parsed rule and the diagnostics oslo.policy would have logged
/// (`ERROR Failed to understand rule ...`) while parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Parsed {
    /// The check tree; `!` when the rule failed to parse.
    pub check: Check,
    /// One message per failure, in the order oslo.policy logs them.
    pub errors: Vec<String>,
}

/// Parses a check string as oslo.policy 6 does.
///
/// Never fails: a rule that does not parse becomes `!` (deny) and the
/// failure is recorded in [`Parsed::errors`]; `""` is `@` (allow); a
/// single token without `:` becomes `!` by itself while the rest of the
/// rule still parses.
///
/// # Examples
///
/// ```
/// use fjord_policy::parse_rule;
///
/// assert_eq!(parse_rule("").check.to_string(), "@");
/// let bad = parse_rule("role:admin and");
/// assert_eq!(bad.check.to_string(), "!");
/// assert_eq!(bad.errors, ["Failed to understand rule role:admin and"]);
/// ```
pub fn parse_rule(rule: &str) -> Parsed {
    let mut errors = Vec::new();
    let check = parse_text(rule, &mut errors);
    Parsed { check, errors }
}

/// Parses a rule given as JSON, as `oslo_policy._parser.parse_rule` does
/// with what `json.loads`/`yaml.safe_load` produced: a string is a check
/// string, `null` allows, a list is the legacy list-of-lists syntax (outer
/// list `or`, inner lists `and`, items single checks).
///
/// # Errors
///
/// [`PolicyError::TypeError`](crate::PolicyError::TypeError) where Python
/// iterates something that is not iterable (`true`, `5`), as oslo.policy
/// does while loading rules.
///
/// # Examples
///
/// ```
/// use fjord_policy::parse_rule_value;
/// use serde_json::json;
///
/// let p = parse_rule_value(&json!([["role:a"], ["role:b", "role:c"]])).unwrap();
/// assert_eq!(p.check.to_string(), "(role:a or (role:b and role:c))");
/// ```
pub fn parse_rule_value(rule: &Value) -> Result<Parsed, crate::PolicyError> {
    let mut errors = Vec::new();
    let check = match rule {
        Value::String(s) => parse_text(s, &mut errors),
        other => parse_list(other, &mut errors)?,
    };
    Ok(Parsed { check, errors })
}

fn not_iterable(v: &Value) -> crate::PolicyError {
    crate::PolicyError::TypeError(format!("'{}' object is not iterable", type_name(v)))
}

fn parse_list(rule: &Value, errors: &mut Vec<String>) -> Result<Check, crate::PolicyError> {
    if !crate::python::value::truthy(rule) {
        return Ok(Check::True);
    }
    let outer = iter_items(rule)?;
    let mut or_list = Vec::new();
    for inner in &outer {
        if !crate::python::value::truthy(inner) {
            continue;
        }
        let items = match inner {
            Value::String(_) => vec![inner.clone()],
            other => iter_items(other)?,
        };
        let mut and_list: Vec<Check> = items
            .iter()
            .map(|r| match r {
                Value::String(s) => parse_check(s, errors),
                other => {
                    errors.push(format!(
                        "Failed to understand rule {}",
                        crate::python::value::PyValue::from_json(other).py_str()
                    ));
                    Check::False
                }
            })
            .collect();
        if and_list.len() == 1 {
            or_list.extend(and_list.pop());
        } else {
            or_list.push(Check::And(and_list));
        }
    }
    Ok(match or_list.len() {
        0 => Check::False,
        1 => or_list.pop().unwrap_or(Check::False),
        _ => Check::Or(or_list),
    })
}

/// What Python's `for x in value` yields, for the JSON shapes: a list's
/// items, a dict's keys, a string's characters.
fn iter_items(v: &Value) -> Result<Vec<Value>, crate::PolicyError> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        Value::Object(o) => Ok(o.keys().cloned().map(Value::String).collect()),
        Value::String(s) => Ok(s.chars().map(|c| Value::String(c.into())).collect()),
        other => Err(not_iterable(other)),
    }
}

fn parse_check(rule: &str, errors: &mut Vec<String>) -> Check {
    match rule {
        "!" => return Check::False,
        "@" => return Check::True,
        _ => {}
    }
    let Some((kind, target)) = rule.split_once(':') else {
        errors.push(format!("Failed to understand rule {rule}"));
        return Check::False;
    };
    let target = target.to_owned();
    match kind {
        "rule" => Check::Rule(target),
        "role" => Check::Role(target),
        "http" | "https" => Check::Http {
            kind: kind.to_owned(),
            target,
        },
        _ => Check::Generic {
            kind: kind.to_owned(),
            target,
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Str,
    Check,
    AndExpr,
    OrExpr,
}

fn tokenize(rule: &str, errors: &mut Vec<String>) -> Vec<(Tok, Option<Check>)> {
    let mut out = Vec::new();
    for tok in rule.split(is_py_space).filter(|t| !t.is_empty()) {
        let clean = tok.trim_start_matches('(');
        for _ in 0..(tok.len() - clean.len()) {
            out.push((Tok::LParen, None));
        }
        if clean.is_empty() {
            continue;
        }
        let tok = clean;
        let clean = tok.trim_end_matches(')');
        let trail = tok.len() - clean.len();
        match clean.to_lowercase().as_str() {
            "and" => out.push((Tok::And, None)),
            "or" => out.push((Tok::Or, None)),
            "not" => out.push((Tok::Not, None)),
            _ if !clean.is_empty() => {
                let quoted = tok.chars().count() >= 2
                    && ((tok.starts_with('"') && tok.ends_with('"'))
                        || (tok.starts_with('\'') && tok.ends_with('\'')));
                if quoted {
                    out.push((Tok::Str, None));
                } else {
                    out.push((Tok::Check, Some(parse_check(clean, errors))));
                }
            }
            _ => {}
        }
        for _ in 0..trail {
            out.push((Tok::RParen, None));
        }
    }
    out
}

fn parse_text(rule: &str, errors: &mut Vec<String>) -> Check {
    if rule.is_empty() {
        return Check::True;
    }
    let tokens = tokenize(rule, errors);
    if nesting_bound(&tokens) > MAX_PARSE_NESTING {
        errors.push(format!("Failed to understand rule {rule}"));
        return Check::False;
    }
    let mut stack: Vec<(Tok, Option<Check>)> = Vec::new();
    for item in tokens {
        stack.push(item);
        reduce(&mut stack);
    }
    if let [(Tok::Check | Tok::AndExpr | Tok::OrExpr, check)] = stack.as_mut_slice()
        && let Some(check) = check.take()
    {
        return check;
    }
    errors.push(format!("Failed to understand rule {rule}"));
    Check::False
}

/// How deep a parsed rule may nest (`not` and parentheses). oslo.policy
/// parses deeper rules but cannot print or evaluate them (Python's
/// recursion limit); here they are refused like any rule that does not
/// parse (`!`), so that no tree is deep enough to exhaust a stack.
const MAX_PARSE_NESTING: usize = 500;

/// An upper bound of the depth of the tree `tokens` reduce to: every
/// `not` plus the deepest parenthesis.
fn nesting_bound(tokens: &[(Tok, Option<Check>)]) -> usize {
    let (mut nots, mut open, mut deepest) = (0usize, 0usize, 0usize);
    for (t, _) in tokens {
        match t {
            Tok::Not => nots += 1,
            Tok::LParen => {
                open += 1;
                deepest = deepest.max(open);
            }
            Tok::RParen => open = open.saturating_sub(1),
            _ => {}
        }
    }
    nots + deepest
}

/// `ParseState.reduce`: applies the first reduction matching the top of
/// the stack, until none does.
fn reduce(stack: &mut Vec<(Tok, Option<Check>)>) {
    loop {
        let n = stack.len();
        let kinds: Vec<Tok> = stack[n.saturating_sub(3)..].iter().map(|t| t.0).collect();
        use Tok::*;
        let three = kinds.len() == 3;
        if three
            && kinds[0] == LParen
            && matches!(kinds[1], Check | AndExpr | OrExpr)
            && kinds[2] == RParen
        {
            stack.pop();
            let (_, c) = pop(stack);
            stack.pop();
            stack.push((Check, Some(c)));
            continue;
        }
        if three
            && kinds[1] == And
            && kinds[2] == Check
            && matches!(kinds[0], Check | OrExpr | AndExpr)
        {
            let (_, right) = pop(stack);
            stack.pop();
            let (kind, left) = pop(stack);
            let (tok, c) = match (kind, left) {
                (Check, l) => (AndExpr, crate::check::Check::And(vec![l, right])),
                (AndExpr, crate::check::Check::And(mut v)) => {
                    v.push(right);
                    (AndExpr, crate::check::Check::And(v))
                }
                (_, crate::check::Check::Or(mut v)) => {
                    // `_mix_or_and_expr`: "and" binds tighter, so it takes
                    // the last operand of the "or" (extending it when it is
                    // already an "and", even a parenthesised one).
                    let last = v.pop();
                    let and = match last {
                        Some(crate::check::Check::And(mut a)) => {
                            a.push(right);
                            crate::check::Check::And(a)
                        }
                        Some(other) => crate::check::Check::And(vec![other, right]),
                        None => crate::check::Check::And(vec![right]),
                    };
                    v.push(and);
                    (OrExpr, crate::check::Check::Or(v))
                }
                (_, other) => (AndExpr, crate::check::Check::And(vec![other, right])),
            };
            stack.push((tok, Some(c)));
            continue;
        }
        if three
            && kinds[1] == Or
            && kinds[2] == Check
            && matches!(kinds[0], Check | OrExpr | AndExpr)
        {
            let (_, right) = pop(stack);
            stack.pop();
            let (kind, left) = pop(stack);
            let c = match (kind, left) {
                (OrExpr, crate::check::Check::Or(mut v)) => {
                    v.push(right);
                    crate::check::Check::Or(v)
                }
                (_, l) => crate::check::Check::Or(vec![l, right]),
            };
            stack.push((OrExpr, Some(c)));
            continue;
        }
        if n >= 2 && stack[n - 2].0 == Not && stack[n - 1].0 == Check {
            let (_, c) = pop(stack);
            stack.pop();
            stack.push((Check, Some(crate::check::Check::Not(Box::new(c)))));
            continue;
        }
        break;
    }
}

fn pop(stack: &mut Vec<(Tok, Option<Check>)>) -> (Tok, Check) {
    match stack.pop() {
        Some((t, c)) => (t, c.unwrap_or(Check::False)),
        None => (Tok::Check, Check::False),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(v: Value) -> Result<String, String> {
        parse_rule_value(&v)
            .map(|p| p.check.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn list_syntax_follows_python_iteration() {
        assert_eq!(list(json!(null)), Ok("@".into()));
        assert_eq!(list(json!(false)), Ok("@".into()));
        assert_eq!(
            list(json!({"role:a": 1, "role:b": 2})),
            Ok("(role:a or role:b)".into())
        );
        assert_eq!(
            list(json!([{"role:a": 1, "role:b": 2}])),
            Ok("(role:a and role:b)".into())
        );
        assert_eq!(list(json!([[5]])), Ok("!".into()));
        assert_eq!(
            list(json!(true)),
            Err("'bool' object is not iterable".into())
        );
        assert_eq!(
            list(json!([[], 3])),
            Err("'int' object is not iterable".into())
        );
    }

    #[test]
    fn deep_rules_are_refused_not_overflowed() {
        let deep = format!("{}role:a", "not ".repeat(100_000));
        let p = parse_rule(&deep);
        assert_eq!(p.check, Check::False);
        assert_eq!(p.errors.len(), 1);
        let parens = format!("{}role:a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(parse_rule(&parens).check, Check::False);
        let fine = format!("{}role:a", "not ".repeat(400));
        assert_eq!(fine.len(), parse_rule(&fine).check.to_string().len());
    }

    #[test]
    fn text_quirks() {
        let s = |r: &str| parse_rule(r).check.to_string();
        assert_eq!(s("(role:a)or(role:b)"), "role:a)or(role:b");
        assert_eq!(
            s("role:a or (role:b and role:c) and role:d"),
            "(role:a or (role:b and role:c and role:d))"
        );
        assert_eq!(s("a\u{1f}or role:b"), "(! or role:b)");
        assert_eq!(
            parse_rule("admin or role:x").errors,
            ["Failed to understand rule admin"]
        );
    }
}
