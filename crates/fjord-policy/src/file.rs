//! Reading a policy file as oslo.policy does: PyYAML's `safe_load` (YAML
//! 1.1 scalars, so JSON files read the same way), then one rule per key.
//!
//! The YAML events come from `yaml-rust2` (pure Rust, maintained, gives
//! the tags and scalar styles that PyYAML's resolver needs); the values
//! are resolved here with PyYAML's implicit resolvers: `yes`/`on`/`true`
//! are booleans, `~`/`null`/empty are null, an untagged `!` is null, a
//! duplicate key keeps its last value.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::PolicyError;
use crate::parser::{Parsed, parse_rule_value};
use crate::python::value::PyValue;

/// The rules of a policy file's text, in file order (a repeated name keeps
/// its last value at its first position, like a Python dict), each parsed.
///
/// `""`, `{}` and a file with only comments have no rules.
///
/// # Errors
///
/// As oslo.policy's loading: [`PolicyError::ValueError`] for text that is
/// not YAML (with the parser's message), [`PolicyError::AttributeError`]
/// when the top level is not a mapping, [`PolicyError::TypeError`] for a
/// rule that is a boolean or a number.
///
/// # Examples
///
/// ```
/// use fjord_policy::parse_policy_file;
///
/// let rules = parse_policy_file("\"a\": \"role:x or role:y\"\n\"b\":\n\"c\": '!'\n")?;
/// let shown: Vec<String> = rules.iter().map(|(n, p)| format!("{n}={}", p.check)).collect();
/// assert_eq!(shown, ["a=(role:x or role:y)", "b=@", "c=!"]);
/// assert!(parse_policy_file("a: yes\n").is_err());
/// # Ok::<(), fjord_policy::PolicyError>(())
/// ```
pub fn parse_policy_file(text: &str) -> Result<Vec<(String, Parsed)>, PolicyError> {
    Ok(parse_with_text(text)?
        .into_iter()
        .map(|(name, _, parsed)| (name, parsed))
        .collect())
}

/// [`parse_policy_file`] with each rule's value as Python's `str()` shows
/// it (the check string as written; `None` for an empty value).
pub(crate) fn parse_with_text(text: &str) -> Result<Vec<(String, String, Parsed)>, PolicyError> {
    let mut out = Vec::new();
    for (name, value) in load_mapping(text)? {
        let shown = PyValue::from_json(&value).py_str();
        out.push((name, shown, parse_rule_value(&value)?));
    }
    Ok(out)
}

/// `parse_file_contents`: the top-level mapping of a YAML/JSON text as
/// (key, value) pairs in order, duplicates resolved (last wins).
pub(crate) fn load_mapping(text: &str) -> Result<Vec<(String, Value)>, PolicyError> {
    let node = load_yaml(text)?;
    let node = match node {
        Some(n) if n.truthy() => n,
        _ => return Ok(Vec::new()),
    };
    match node {
        Node::Map(pairs) => Ok(pairs
            .into_iter()
            .map(|(k, v)| (k.py_key(), v.into_json()))
            .collect()),
        other => Err(PolicyError::AttributeError(format!(
            "'{}' object has no attribute 'items'",
            other.type_name()
        ))),
    }
}

/// A YAML node as PyYAML's `SafeConstructor` builds it.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// A YAML 1.1 timestamp (`datetime.date` / `datetime.datetime` in
    /// Python), kept as written.
    Timestamp(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn truthy(&self) -> bool {
        match self {
            Node::Null => false,
            Node::Bool(b) => *b,
            Node::Int(i) => *i != 0,
            Node::Float(f) => *f != 0.0,
            Node::Str(s) => !s.is_empty(),
            Node::Timestamp(_) => true,
            Node::Seq(s) => !s.is_empty(),
            Node::Map(m) => !m.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "NoneType",
            Node::Bool(_) => "bool",
            Node::Int(_) => "int",
            Node::Float(_) => "float",
            Node::Str(_) => "str",
            Node::Timestamp(_) => "datetime.date",
            Node::Seq(_) => "list",
            Node::Map(_) => "dict",
        }
    }

    /// The rule name a key stands for: Python's `str()` of it.
    fn py_key(&self) -> String {
        match self {
            Node::Str(s) | Node::Timestamp(s) => s.clone(),
            other => PyValue::from_json(&other.clone().into_json()).py_str(),
        }
    }

    fn into_json(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Int(i) => i64::try_from(i)
                .map(Value::from)
                .unwrap_or_else(|_| Number::from_f64(i as f64).map_or(Value::Null, Value::Number)),
            // JSON has no infinity or NaN; any other float is as good to
            // make a rule fail as Python's `float` does (not iterable).
            Node::Float(f) => Number::from_f64(f)
                .or_else(|| Number::from_f64(0.5))
                .map_or(Value::Null, Value::Number),
            // A date is not iterable in Python either: rules made of one
            // fail as a number does.
            Node::Timestamp(_) => Value::from(0.5),
            Node::Str(s) => Value::String(s),
            Node::Seq(items) => Value::Array(items.into_iter().map(Node::into_json).collect()),
            Node::Map(pairs) => {
                let mut m = Map::new();
                for (k, v) in pairs {
                    m.insert(k.py_key(), v.into_json());
                }
                Value::Object(m)
            }
        }
    }
}

/// `yaml.safe_load`: the single document of `text` (`None` when empty).
fn load_yaml(text: &str) -> Result<Option<Node>, PolicyError> {
    prescan(text).map_err(PolicyError::ValueError)?;
    check_stream_start(text).map_err(PolicyError::ValueError)?;
    let mut builder = Builder {
        src: text.chars().collect(),
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, true)
        .map_err(|e| PolicyError::ValueError(e.to_string()))?;
    if let Some(err) = builder.error {
        return Err(PolicyError::ValueError(err));
    }
    match builder.docs.len() {
        0 => Ok(None),
        1 => Ok(builder.docs.pop()),
        _ => Err(PolicyError::ValueError(
            "expected a single document in the stream, but found another document".into(),
        )),
    }
}

/// PyYAML's parser does not accept a document end marker (`...`) before
/// any document; yaml-rust2 skips it.
fn check_stream_start(text: &str) -> Result<(), String> {
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.trim_start_matches(' '))
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l)
            if l.starts_with("...")
                && l[3..].chars().next().is_none_or(|c| c == ' ' || c == '\t') =>
        {
            Err("expected the node content, but found '<document end>'".into())
        }
        _ => Ok(()),
    }
}

/// What PyYAML refuses and yaml-rust2 accepts, found by a scan of the text
/// that skips quoted scalars, comments and block scalars (`|`, `>`):
///
/// * PyYAML's scanner skips only spaces between tokens: a tab where a
///   token may start (indentation, after `:` or `,`, after a plain scalar)
///   is "found character '\t' that cannot start any token";
/// * an anchor (`&name`) defined twice is a "duplicate anchor".
fn prescan(text: &str) -> Result<(), String> {
    let mut block_indent: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut anchors = std::collections::HashSet::new();
    for (n, line) in text.split('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = block_indent {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_indent = None;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 1;
                        } else {
                            quote = None;
                        }
                    }
                }
                Some(_) => {
                    if c == '\\' {
                        i += 1;
                    } else if c == '"' {
                        quote = None;
                    }
                }
                None => match c {
                    '\t' => {
                        return Err(format!(
                            "while scanning for the next token\nfound character '\\t' that \
                             cannot start any token\n  line {}, column {}",
                            n + 1,
                            i + 1
                        ));
                    }
                    '#' if i == 0 || chars[i - 1] == ' ' => break,
                    '"' | '\'' if i == 0 || " [{,:-?".contains(chars[i - 1]) => quote = Some(c),
                    '&' if i == 0 || " [{,".contains(chars[i - 1]) => {
                        let name: String = chars[i + 1..]
                            .iter()
                            .take_while(|c| !" \t,[]{}".contains(**c))
                            .collect();
                        if !anchors.insert(name.clone()) {
                            return Err(format!(
                                "found duplicate anchor {name:?}\n  line {}, column {}",
                                n + 1,
                                i + 1
                            ));
                        }
                    }
                    '|' | '>' if i == 0 || chars[i - 1] == ' ' => {
                        let rest: String = chars[i + 1..].iter().collect();
                        let rest = rest.split(" #").next().unwrap_or("").trim_end_matches(' ');
                        if rest.chars().all(|c| "+-0123456789".contains(c)) {
                            block_indent = Some(indent);
                            break;
                        }
                    }
                    _ => {}
                },
            }
            i += 1;
        }
    }
    Ok(())
}

/// How deep collections may nest. Python gives up much earlier than
/// this on such a file (its recursion limit, while parsing the rule); the
/// limit keeps building and dropping the tree off deep native recursion.
const MAX_DEPTH: usize = 256;

#[derive(Default)]
struct Builder {
    /// The text, by character (yaml-rust2's marks count characters).
    src: Vec<char>,
    docs: Vec<Node>,
    stack: Vec<(Node, Option<Node>, usize)>,
    anchors: HashMap<usize, Node>,
    error: Option<String>,
}

impl Builder {
    fn at(&self, index: usize) -> Option<char> {
        self.src.get(index).copied()
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((Node::Seq(items), _, _)) => items.push(node),
            Some((Node::Map(pairs), pending, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Some(slot) = pairs.iter_mut().find(|(k, _)| *k == key) {
                        slot.1 = node;
                    } else {
                        pairs.push((key, node));
                    }
                }
            },
            Some(_) => {}
        }
    }

    fn fail(&mut self, message: String, mark: Marker) {
        if self.error.is_none() {
            self.error = Some(format!(
                "{message} at line {} column {}",
                mark.line(),
                mark.col() + 1
            ));
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            // A plain scalar cannot start with an indicator PyYAML has no
            // token for there (`|`/`>` inside flow collections, or followed
            // by text; `@`, backquote and `%` anywhere); yaml-rust2 reads
            // some of these as text.
            Event::Scalar(_, TScalarStyle::Plain, ..)
                if matches!(self.at(mark.index()), Some('|' | '>' | '@' | '`' | '%')) =>
            {
                let c = self.at(mark.index()).unwrap_or(' ');
                self.fail(
                    format!("found character {c:?} that cannot start any token"),
                    mark,
                );
            }
            // In a flow collection PyYAML reads `!,` or `!]` as one tag
            // (`,` and `]` are URI characters), which it cannot construct;
            // yaml-rust2 ends the tag there.
            Event::Scalar(ref value, _, _, Some(ref tag))
                if is_bang(tag)
                    && value.is_empty()
                    && matches!(self.at(mark.index()), Some(',' | ']' | '}'))
                    && mark.index() > 0
                    && self.at(mark.index() - 1) == Some('!') =>
            {
                self.fail("expected ' ' after a tag".into(), mark);
            }
            Event::Scalar(value, style, anchor, tag) => {
                match resolve(&value, style, tag.as_ref()) {
                    Ok(node) => self.push_value(node, anchor),
                    Err(msg) => self.fail(msg, mark),
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(
                    format!("collections nested deeper than {MAX_DEPTH} levels"),
                    mark,
                );
            }
            Event::SequenceStart(anchor, tag) => {
                if let Some(t) = tag.filter(|t| !is_tag(t, "seq") && !is_bang(t)) {
                    return self.fail(unknown_tag(&t), mark);
                }
                self.stack.push((Node::Seq(Vec::new()), None, anchor));
            }
            Event::MappingStart(anchor, tag) => {
                if let Some(t) = tag.filter(|t| !is_tag(t, "map") && !is_bang(t)) {
                    return self.fail(unknown_tag(&t), mark);
                }
                self.stack.push((Node::Map(Vec::new()), None, anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _, anchor)) = self.stack.pop() {
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_value(node, 0),
                None => self.fail("found undefined alias".into(), mark),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

fn is_tag(t: &Tag, suffix: &str) -> bool {
    (t.handle == "!!" && t.suffix == suffix)
        || (t.handle.is_empty() && t.suffix == format!("tag:yaml.org,2002:{suffix}"))
        || (t.handle == "tag:yaml.org,2002:" && t.suffix == suffix)
}

/// The non-specific tag `!` (yaml-rust2 reports it as an empty handle
/// with the suffix `!`).
fn is_bang(t: &Tag) -> bool {
    t.handle.is_empty() && t.suffix == "!"
}

fn unknown_tag(t: &Tag) -> String {
    format!(
        "could not determine a constructor for the tag '{}{}'",
        t.handle, t.suffix
    )
}

/// PyYAML's resolver and `SafeConstructor` for one scalar.
fn resolve(value: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Node, String> {
    if let Some(t) = tag {
        if is_bang(t) {
            // A non-specific `!` tag: the value is a string; alone (no
            // content) it is the empty scalar, which loads as null.
            return Ok(if value.is_empty() {
                Node::Null
            } else {
                Node::Str(value.to_owned())
            });
        }
        return if is_tag(t, "str") {
            Ok(Node::Str(value.to_owned()))
        } else if is_tag(t, "null") {
            Ok(Node::Null)
        } else if is_tag(t, "bool") {
            bool_value(value)
                .map(Node::Bool)
                .ok_or_else(|| format!("invalid boolean {value:?}"))
        } else if is_tag(t, "int") {
            int_value(value)
                .map(Node::Int)
                .ok_or_else(|| format!("invalid int {value:?}"))
        } else if is_tag(t, "float") {
            float_value(value)
                .map(Node::Float)
                .ok_or_else(|| format!("invalid float {value:?}"))
        } else {
            Err(unknown_tag(t))
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Node::Str(value.to_owned()));
    }
    if matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Node::Null);
    }
    if let Some(b) = bool_value(value) {
        return Ok(Node::Bool(b));
    }
    if let Some(i) = int_value(value) {
        return Ok(Node::Int(i));
    }
    if let Some(f) = float_value(value) {
        return Ok(Node::Float(f));
    }
    if is_timestamp(value) {
        return Ok(Node::Timestamp(value.to_owned()));
    }
    Ok(Node::Str(value.to_owned()))
}

fn bool_value(v: &str) -> Option<bool> {
    match v {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn split_sign(v: &str) -> (i128, &str) {
    match v.as_bytes().first() {
        Some(b'-') => (-1, &v[1..]),
        Some(b'+') => (1, &v[1..]),
        _ => (1, v),
    }
}

/// PyYAML's int: `0b..`, `0x..`, `0..` (octal), decimal, base 60
/// (`1:30`), `_` separators.
fn int_value(v: &str) -> Option<i128> {
    let (sign, body) = split_sign(v);
    let digits = |s: &str, radix: u32| -> Option<i128> {
        let clean: String = s.chars().filter(|c| *c != '_').collect();
        if clean.is_empty() || !s.chars().all(|c| c == '_' || c.is_digit(radix)) {
            return None;
        }
        i128::from_str_radix(&clean, radix).ok()
    };
    let n = if let Some(b) = body.strip_prefix("0b") {
        digits(b, 2)?
    } else if let Some(x) = body.strip_prefix("0x") {
        digits(x, 16)?
    } else if body == "0" {
        0
    } else if let Some(o) = body.strip_prefix('0') {
        digits(o, 8)?
    } else if body.contains(':') {
        let mut parts = body.split(':');
        let first = parts.next()?;
        if !first.starts_with(|c: char| ('1'..='9').contains(&c)) {
            return None;
        }
        let mut n = digits(first, 10)?;
        for p in parts {
            if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let d: i128 = p.parse().ok()?;
            if d > 59 {
                return None;
            }
            n = n * 60 + d;
        }
        n
    } else {
        if !body.starts_with(|c: char| ('1'..='9').contains(&c)) {
            return None;
        }
        digits(body, 10)?
    };
    Some(sign * n)
}

/// PyYAML's float: `1.5`, `.5`, `1.`, `1.5e+3` (signed exponent only),
/// `.inf`, `.nan`, base 60 with a fraction.
fn float_value(v: &str) -> Option<f64> {
    match v {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let (sign, body) = split_sign(v);
    if body.contains(':') {
        // base 60: [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
        let (whole, frac) = body.split_once('.')?;
        let mut parts = whole.split(':');
        let first = parts.next()?;
        if first.is_empty() || !first.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return None;
        }
        let mut n: f64 = first.replace('_', "").parse().ok()?;
        for p in parts {
            let d: f64 = p.parse().ok()?;
            if p.is_empty() || p.len() > 2 || d > 59.0 {
                return None;
            }
            n = n * 60.0 + d;
        }
        let f: f64 = format!("0.{}", frac.replace('_', "")).parse().ok()?;
        return Some(sign as f64 * (n + f));
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let ok_int =
        int_part.is_empty() && !frac.is_empty() && frac.starts_with(|c: char| c.is_ascii_digit())
            || (!int_part.is_empty()
                && int_part.starts_with(|c: char| c.is_ascii_digit())
                && int_part.chars().all(|c| c.is_ascii_digit() || c == '_'));
    if !ok_int || !frac.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    if int_part.is_empty() && v.starts_with(['-', '+']) {
        return None;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let text = format!(
        "{}{}.{}{}",
        if sign < 0 { "-" } else { "" },
        if int_part.is_empty() { "0" } else { int_part },
        if frac.is_empty() { "0" } else { frac },
        exp.map(|e| format!("e{e}")).unwrap_or_default()
    )
    .replace('_', "");
    text.parse().ok()
}

/// PyYAML's timestamp: `2002-12-14`, or a date with a time.
fn is_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if b.len() < 8 || !digits(&b[..4]) || b[4] != b'-' {
        return false;
    }
    let rest = &v[5..];
    let mut parts = rest.splitn(2, '-');
    let (Some(month), Some(tail)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !(1..=2).contains(&month.len()) || !digits(month.as_bytes()) {
        return false;
    }
    let day_len = tail.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&day_len) {
        return false;
    }
    let after = &tail[day_len..];
    if after.is_empty() {
        // The date-only form needs two-digit month and day.
        return month.len() == 2 && day_len == 2;
    }
    after.starts_with(['T', 't', ' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<(String, Value)>, PolicyError> {
        load_mapping(text)
    }

    #[test]
    fn yaml_1_1_scalars() {
        assert_eq!(
            resolve("yes", TScalarStyle::Plain, None),
            Ok(Node::Bool(true))
        );
        assert_eq!(
            resolve("Off", TScalarStyle::Plain, None),
            Ok(Node::Bool(false))
        );
        assert_eq!(
            resolve("0x1f", TScalarStyle::Plain, None),
            Ok(Node::Int(31))
        );
        assert_eq!(resolve("017", TScalarStyle::Plain, None), Ok(Node::Int(15)));
        assert_eq!(
            resolve("1:30", TScalarStyle::Plain, None),
            Ok(Node::Int(90))
        );
        assert_eq!(
            resolve("1_000", TScalarStyle::Plain, None),
            Ok(Node::Int(1000))
        );
        assert_eq!(
            resolve("1.5", TScalarStyle::Plain, None),
            Ok(Node::Float(1.5))
        );
        assert_eq!(
            resolve("1e5", TScalarStyle::Plain, None),
            Ok(Node::Str("1e5".into()))
        );
        assert_eq!(
            resolve("1.0e+5", TScalarStyle::Plain, None),
            Ok(Node::Float(1e5))
        );
        assert_eq!(
            resolve(".5", TScalarStyle::Plain, None),
            Ok(Node::Float(0.5))
        );
        assert_eq!(resolve("~", TScalarStyle::Plain, None), Ok(Node::Null));
        assert_eq!(
            resolve("2002-12-14", TScalarStyle::Plain, None),
            Ok(Node::Timestamp("2002-12-14".into()))
        );
        assert_eq!(
            resolve("yes", TScalarStyle::DoubleQuoted, None),
            Ok(Node::Str("yes".into()))
        );
        assert_eq!(
            resolve("role:a", TScalarStyle::Plain, None),
            Ok(Node::Str("role:a".into()))
        );
        assert_eq!(
            resolve(".", TScalarStyle::Plain, None),
            Ok(Node::Str(".".into()))
        );
        assert_eq!(
            resolve("-", TScalarStyle::Plain, None),
            Ok(Node::Str("-".into()))
        );
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(load(&deep), Err(PolicyError::ValueError(_))));
        let ok = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(load(&ok).is_ok());
    }

    #[test]
    fn documents_and_shapes() {
        assert_eq!(load(""), Ok(vec![]));
        assert_eq!(load("# only a comment\n"), Ok(vec![]));
        assert_eq!(load("[]"), Ok(vec![]));
        assert_eq!(
            load("a: 1\na: 2\nb: x\n"),
            Ok(vec![
                ("a".into(), Value::from(2)),
                ("b".into(), Value::from("x"))
            ])
        );
        assert_eq!(load("a: !\n"), Ok(vec![("a".into(), Value::Null)]));
        assert_eq!(
            load("- a\n"),
            Err(PolicyError::AttributeError(
                "'list' object has no attribute 'items'".into()
            ))
        );
        assert!(matches!(load("a: [x\n"), Err(PolicyError::ValueError(_))));
        assert!(matches!(
            load("{\n\t\"a\": \"@\"\n}\n"),
            Err(PolicyError::ValueError(_))
        ));
        assert!(matches!(
            load("a:\t\"@\"\n"),
            Err(PolicyError::ValueError(_))
        ));
        assert_eq!(
            load("a: \"x\ty\" # c\tc\n"),
            Ok(vec![("a".into(), Value::from("x\ty"))])
        );
        assert_eq!(
            load("a: |\n  x\ty\nb: z\n"),
            Ok(vec![
                ("a".into(), Value::from("x\ty\n")),
                ("b".into(), Value::from("z"))
            ])
        );
        assert!(matches!(
            load("a: !foo x\n"),
            Err(PolicyError::ValueError(_))
        ));
        assert!(matches!(
            load("a: 1\n---\nb: 2\n"),
            Err(PolicyError::ValueError(_))
        ));
        assert_eq!(
            load("x: &r role:a\ny: *r\n"),
            Ok(vec![
                ("x".into(), Value::from("role:a")),
                ("y".into(), Value::from("role:a"))
            ])
        );
    }
}
