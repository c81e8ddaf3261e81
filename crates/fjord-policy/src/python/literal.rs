//! `ast.literal_eval` of a generic check's kind, as far as policy rules
//! need it.
//!
//! oslo.policy first tries the kind as a Python literal (`'member'`,
//! `True`, `0x10`, `[1,2]`); a valid expression that is not a literal
//! (`project_id`, `user.id`, `a-b`) raises `ValueError`, which oslo.policy
//! catches to look the kind up in the credentials; a kind that is not
//! valid Python (`""`, `a[`, `'abc`) raises `SyntaxError`, which escapes.
//!
//! Limits: this is a tokenizer plus a small expression grammar, not
//! CPython's parser. Literals cover strings (with `r`/`u`/`b` prefixes
//! and the common escapes), integers (decimal, hex, octal, binary, `_`),
//! floats, `True`/`False`/`None`, lists, tuples, dicts, sets and a sign;
//! complex numbers and f-strings are treated as non-literals. The
//! expression check accepts names, attributes, calls, subscripts, unary
//! and binary operators; comprehensions, lambdas and conditional
//! expressions count as syntax errors.

use super::value::PyValue;

/// `Ok(Some(v))`: a literal; `Ok(None)`: valid Python but not a literal
/// (`ValueError`); `Err(msg)`: `SyntaxError`.
pub(crate) fn literal_eval(src: &str) -> Result<Option<PyValue>, String> {
    let src = src.trim_start_matches([' ', '\t']);
    let toks = tokenize(src)?;
    if toks.is_empty() {
        return Err("invalid syntax (<unknown>, line 0)".into());
    }
    check_brackets(&toks)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
    };
    if let Some(v) = p.literal()
        && p.pos == toks.len()
    {
        return Ok(Some(v));
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
    };
    if p.expr_list(false) && p.pos == toks.len() {
        Ok(None)
    } else {
        Err("invalid syntax (<unknown>, line 1)".into())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Num(Option<PyValue>),
    Str(PyValue),
    Op(&'static str),
}

const KEYWORDS: &[&str] = &[
    "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "lambda", "nonlocal", "pass",
    "raise", "return", "try", "while", "with", "yield",
];

const OPS: &[&str] = &[
    "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", ":=", "+", "-", "*", "/", "%", "@", "&",
    "|", "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", "=",
];

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let invalid = || "invalid syntax (<unknown>, line 1)".to_string();
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\x0c' {
            i += 1;
            continue;
        }
        // String literal, with an optional prefix.
        let mut j = i;
        while j < chars.len() && j - i < 2 && "rRuUbBfF".contains(chars[j]) {
            j += 1;
        }
        if j < chars.len() && (chars[j] == '\'' || chars[j] == '"') {
            let prefix: String = chars[i..j].iter().collect::<String>().to_lowercase();
            if matches!(
                prefix.as_str(),
                "" | "r" | "u" | "b" | "f" | "rb" | "br" | "fr" | "rf"
            ) {
                let (tok, next) = string(&chars, j, &prefix)?;
                out.push(tok);
                i = next;
                continue;
            }
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-')
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !chars[start..i].iter().any(|c| matches!(c, 'x' | 'X'))))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Num(Some(number(&text).ok_or_else(invalid)?)));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match OPS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                out.push(Tok::Op(op));
                i += op.chars().count();
            }
            None => return Err(invalid()),
        }
    }
    Ok(out)
}

fn number(text: &str) -> Option<PyValue> {
    let t = text.replace('_', "");
    if text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if lower.ends_with('j') {
        // Complex: valid, but not represented here.
        return if number(&text[..text.len() - 1]).is_some() {
            Some(PyValue::Str(format!("{}j", &text[..text.len() - 1])))
        } else {
            None
        };
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(d) = lower.strip_prefix(prefix) {
            return i128::from_str_radix(d, radix).ok().map(PyValue::Int);
        }
    }
    if lower.bytes().all(|b| b.is_ascii_digit()) {
        // Leading zeros are only allowed for zero itself.
        if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0') {
            return None;
        }
        return lower.parse().ok().map(PyValue::Int);
    }
    if lower
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
    {
        return lower.parse::<f64>().ok().map(PyValue::Float);
    }
    None
}

fn string(chars: &[char], start: usize, prefix: &str) -> Result<(Tok, usize), String> {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let raw = prefix.contains('r');
    let mut i = start + if triple { 3 } else { 1 };
    let mut s = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(if triple {
                "unterminated triple-quoted string literal (detected at line 1) (<unknown>, line 1)"
                    .into()
            } else {
                "unterminated string literal (detected at line 1) (<unknown>, line 1)".into()
            });
        };
        if c == q && (!triple || (chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q))) {
            i += if triple { 3 } else { 1 };
            break;
        }
        if c == '\n' && !triple {
            return Err(
                "unterminated string literal (detected at line 1) (<unknown>, line 1)".into(),
            );
        }
        if c == '\\' && !raw {
            let Some(&n) = chars.get(i + 1) else {
                i += 1;
                continue;
            };
            i += 2;
            match n {
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                '0' => s.push('\0'),
                'a' => s.push('\x07'),
                'b' => s.push('\x08'),
                'f' => s.push('\x0c'),
                'v' => s.push('\x0b'),
                '\\' | '\'' | '"' => s.push(n),
                '\n' => {}
                'x' | 'u' | 'U' => {
                    let len = match n {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.iter().skip(i).take(len).collect();
                    let ch = (hex.len() == len)
                        .then(|| u32::from_str_radix(&hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32)
                        .ok_or("(unicode error) truncated escape (<unknown>, line 1)")?;
                    s.push(ch);
                    i += len;
                }
                other => {
                    s.push('\\');
                    s.push(other);
                }
            }
            continue;
        }
        if raw && c == '\\' && chars.get(i + 1).is_some() {
            s.push(c);
            s.push(chars[i + 1]);
            i += 2;
            continue;
        }
        s.push(c);
        i += 1;
    }
    let tok = if prefix.contains('f') {
        Tok::Num(None)
    } else if prefix.contains('b') {
        Tok::Str(PyValue::Bytes(s.chars().map(|c| c as u32 as u8).collect()))
    } else {
        Tok::Str(PyValue::Str(s))
    };
    Ok((tok, i))
}

fn check_brackets(toks: &[Tok]) -> Result<(), String> {
    let mut stack = Vec::new();
    for t in toks {
        match t {
            Tok::Op(o @ ("(" | "[" | "{")) => stack.push(*o),
            Tok::Op(c @ (")" | "]" | "}")) => {
                let open = match *c {
                    ")" => "(",
                    "]" => "[",
                    _ => "{",
                };
                match stack.pop() {
                    Some(o) if o == open => {}
                    Some(o) => {
                        return Err(format!(
                            "closing parenthesis '{c}' does not match opening parenthesis '{o}' (<unknown>, line 1)"
                        ));
                    }
                    None => return Err(format!("unmatched '{c}' (<unknown>, line 1)")),
                }
            }
            _ => {}
        }
    }
    match stack.pop() {
        Some(o) => Err(format!("'{o}' was never closed (<unknown>, line 1)")),
        None => Ok(()),
    }
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self, n: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(x)) if x == n) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A literal as `ast.literal_eval` accepts it, or `None`.
    fn literal(&mut self) -> Option<PyValue> {
        let negative = if self.eat("-") {
            Some(true)
        } else if self.eat("+") {
            Some(false)
        } else {
            None
        };
        if let Some(neg) = negative {
            return match self.literal()? {
                PyValue::Int(n) => Some(PyValue::Int(if neg { -n } else { n })),
                PyValue::Float(f) => Some(PyValue::Float(if neg { -f } else { f })),
                PyValue::Bool(b) => Some(PyValue::Int(if neg {
                    -i128::from(b)
                } else {
                    i128::from(b)
                })),
                _ => None,
            };
        }
        match self.peek()?.clone() {
            Tok::Num(v) => {
                self.pos += 1;
                v
            }
            Tok::Str(first) => {
                self.pos += 1;
                let mut acc = first;
                while let Some(Tok::Str(next)) = self.peek().cloned() {
                    self.pos += 1;
                    acc = match (acc, next) {
                        (PyValue::Str(a), PyValue::Str(b)) => PyValue::Str(a + &b),
                        (PyValue::Bytes(mut a), PyValue::Bytes(b)) => {
                            a.extend(b);
                            PyValue::Bytes(a)
                        }
                        _ => return None,
                    };
                }
                Some(acc)
            }
            Tok::Name(n) => {
                self.pos += 1;
                match n.as_str() {
                    "True" => Some(PyValue::Bool(true)),
                    "False" => Some(PyValue::Bool(false)),
                    "None" => Some(PyValue::None),
                    "set" if self.eat("(") && self.eat(")") => Some(PyValue::Set(Vec::new())),
                    _ => None,
                }
            }
            Tok::Op("[") => {
                self.pos += 1;
                self.items("]").map(|(v, _)| PyValue::List(v))
            }
            Tok::Op("(") => {
                self.pos += 1;
                let (v, comma) = self.items(")")?;
                if v.len() == 1 && !comma {
                    v.into_iter().next()
                } else {
                    Some(PyValue::Tuple(v))
                }
            }
            Tok::Op("{") => {
                self.pos += 1;
                if self.eat("}") {
                    return Some(PyValue::Dict(Vec::new()));
                }
                let first = self.literal()?;
                if self.eat(":") {
                    let mut pairs = vec![(first, self.literal()?)];
                    while self.eat(",") {
                        if self.eat("}") {
                            return Some(PyValue::Dict(pairs));
                        }
                        let k = self.literal()?;
                        if !self.eat(":") {
                            return None;
                        }
                        pairs.push((k, self.literal()?));
                    }
                    self.eat("}").then_some(PyValue::Dict(pairs))
                } else {
                    let mut items = vec![first];
                    while self.eat(",") {
                        if self.eat("}") {
                            return Some(PyValue::Set(items));
                        }
                        items.push(self.literal()?);
                    }
                    self.eat("}").then_some(PyValue::Set(items))
                }
            }
            _ => None,
        }
    }

    /// Literals separated by commas up to `close`; whether a comma was seen.
    fn items(&mut self, close: &str) -> Option<(Vec<PyValue>, bool)> {
        let mut v = Vec::new();
        let mut comma = false;
        loop {
            if self.eat(close) {
                return Some((v, comma));
            }
            v.push(self.literal()?);
            if self.eat(",") {
                comma = true;
            } else {
                return self.eat(close).then_some((v, comma));
            }
        }
    }

    /// `expr (sep expr)* [sep]`, where `sep` is `,` (and `:`/`=` inside
    /// brackets); whether it parsed.
    fn expr_list(&mut self, in_brackets: bool) -> bool {
        if !self.expr() {
            return false;
        }
        loop {
            let sep = self.eat(",") || (in_brackets && (self.eat(":") || self.eat("=")));
            if !sep {
                return true;
            }
            if matches!(self.peek(), None | Some(Tok::Op(")" | "]" | "}"))) {
                return true;
            }
            if !self.expr() {
                return false;
            }
        }
    }

    fn expr(&mut self) -> bool {
        if !self.unary() {
            return false;
        }
        loop {
            let binary = match self.peek() {
                Some(Tok::Op(o)) => matches!(
                    *o,
                    "**" | "//"
                        | "<<"
                        | ">>"
                        | "<="
                        | ">="
                        | "=="
                        | "!="
                        | "+"
                        | "-"
                        | "*"
                        | "/"
                        | "%"
                        | "@"
                        | "&"
                        | "|"
                        | "^"
                        | "<"
                        | ">"
                ),
                Some(Tok::Name(n)) => matches!(n.as_str(), "and" | "or" | "in" | "is" | "not"),
                _ => false,
            };
            if !binary {
                return true;
            }
            if self.name("not") {
                if !self.name("in") {
                    return false;
                }
            } else if self.name("is") {
                self.name("not");
            } else {
                self.pos += 1;
            }
            if !self.unary() {
                return false;
            }
        }
    }

    fn unary(&mut self) -> bool {
        if self.eat("-") || self.eat("+") || self.eat("~") || self.name("not") {
            return self.unary();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> bool {
        if !self.primary() {
            return false;
        }
        loop {
            if self.eat(".") {
                match self.peek() {
                    Some(Tok::Name(n)) if !is_keyword(n) => self.pos += 1,
                    _ => return false,
                }
            } else if self.eat("(") {
                if !(self.eat(")") || (self.expr_list(true) && self.eat(")"))) {
                    return false;
                }
            } else if self.eat("[") {
                if !(self.expr_list(true) && self.eat("]")) {
                    return false;
                }
            } else {
                return true;
            }
        }
    }

    fn primary(&mut self) -> bool {
        match self.peek().cloned() {
            Some(Tok::Name(n)) => {
                if is_keyword(&n) || matches!(n.as_str(), "and" | "or" | "in" | "is" | "not") {
                    return false;
                }
                self.pos += 1;
                true
            }
            Some(Tok::Num(_)) => {
                self.pos += 1;
                true
            }
            Some(Tok::Str(_)) => {
                while matches!(self.peek(), Some(Tok::Str(_))) {
                    self.pos += 1;
                }
                true
            }
            Some(Tok::Op(open @ ("(" | "[" | "{"))) => {
                self.pos += 1;
                let close = match open {
                    "(" => ")",
                    "[" => "]",
                    _ => "}",
                };
                self.eat(close) || (self.expr_list(true) && self.eat(close))
            }
            _ => false,
        }
    }
}

fn is_keyword(n: &str) -> bool {
    KEYWORDS.contains(&n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(src: &str) -> Result<Option<String>, String> {
        literal_eval(src).map(|v| v.map(|v| v.py_str()))
    }

    #[test]
    fn literals() {
        assert_eq!(s("'member'"), Ok(Some("member".into())));
        assert_eq!(s("\"a\\tb\""), Ok(Some("a\tb".into())));
        assert_eq!(s("True"), Ok(Some("True".into())));
        assert_eq!(s("0x10"), Ok(Some("16".into())));
        assert_eq!(s("1.0"), Ok(Some("1.0".into())));
        assert_eq!(s("-5"), Ok(Some("-5".into())));
        assert_eq!(s("[1,'a']"), Ok(Some("[1, 'a']".into())));
        assert_eq!(s("(1,)"), Ok(Some("(1,)".into())));
        assert_eq!(s("{'a':1}"), Ok(Some("{'a': 1}".into())));
    }

    #[test]
    fn non_literals_and_syntax_errors() {
        for ok in ["project_id", "user.id", "a-b", "1-2", "f(x)", "a[1]"] {
            assert_eq!(s(ok), Ok(None), "{ok}");
        }
        for bad in [
            "", "foo[", "'abc", "a.1", "1abc", "a$", "if", "a b", "@x", "a-",
        ] {
            assert!(s(bad).is_err(), "{bad}");
        }
    }
}
