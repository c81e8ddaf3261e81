//! Python's `fmt % target` for a check's match.

use serde_json::Value;

use super::value::{PyValue, ascii, float_repr};

/// Why `%`-formatting failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormatError {
    /// `KeyError`: a `%(key)s` not in the target (oslo.policy catches it).
    Key,
    /// `ValueError`.
    Value(String),
    /// `TypeError`.
    Type(String),
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

/// Python's `fmt % arg` where `arg` is the JSON target.
pub(crate) fn percent_format(fmt: &str, arg: &Value) -> Result<String, FormatError> {
    // Python treats anything with `__getitem__` that is not a tuple or a
    // str as the mapping: dicts, and lists too.
    let mapping = matches!(arg, Value::Object(_) | Value::Array(_));
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::with_capacity(fmt.len());
    let mut i = 0;
    let mut positional_used = false;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let incomplete = || FormatError::Value("incomplete format".into());
        let mut value: Option<PyValue> = None;
        if chars.get(i) == Some(&'(') {
            let mut depth = 1;
            let start = i + 1;
            i += 1;
            while i < chars.len() && depth > 0 {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            if depth > 0 {
                return Err(FormatError::Value("incomplete format key".into()));
            }
            let key: String = chars[start..i - 1].iter().collect();
            value = Some(lookup(arg, &key)?);
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'*') {
            return Err(FormatError::Type("* wants int".into()));
        }
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            spec.width = spec.width.saturating_mul(10).saturating_add(d as usize);
            i += 1;
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                return Err(FormatError::Type("* wants int".into()));
            }
            let mut p = 0usize;
            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize);
                i += 1;
            }
            spec.precision = Some(p);
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else {
            return Err(incomplete());
        };
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let value = match value {
            Some(v) => v,
            None => {
                if positional_used {
                    return Err(FormatError::Type(
                        "not enough arguments for format string".into(),
                    ));
                }
                positional_used = true;
                PyValue::from_json(arg)
            }
        };
        out.push_str(&convert(conv, &value, &spec, i - 1)?);
    }
    if !mapping && !positional_used {
        return Err(FormatError::Type(
            "not all arguments converted during string formatting".into(),
        ));
    }
    Ok(out)
}

fn lookup(arg: &Value, key: &str) -> Result<PyValue, FormatError> {
    match arg {
        Value::Object(o) => o.get(key).map(PyValue::from_json).ok_or(FormatError::Key),
        Value::Array(_) => Err(FormatError::Type(
            "list indices must be integers or slices, not str".into(),
        )),
        _ => Err(FormatError::Type("format requires a mapping".into())),
    }
}

fn pad(body: String, sign: &str, spec: &Spec, numeric: bool) -> String {
    let len = body.chars().count() + sign.chars().count();
    if len >= spec.width {
        return format!("{sign}{body}");
    }
    let fill = spec.width - len;
    if spec.left {
        format!("{sign}{body}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        format!("{sign}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{body}", " ".repeat(fill))
    }
}

fn sign_of(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn convert(conv: char, v: &PyValue, spec: &Spec, index: usize) -> Result<String, FormatError> {
    match conv {
        's' | 'r' | 'a' => {
            let mut s = match conv {
                's' => v.py_str(),
                'r' => v.repr(),
                _ => ascii(&v.repr()),
            };
            if let Some(p) = spec.precision {
                s = s.chars().take(p).collect();
            }
            Ok(pad(s, "", spec, false))
        }
        'd' | 'i' | 'u' => {
            let n = match v {
                PyValue::Int(n) => *n,
                PyValue::Bool(b) => i128::from(*b),
                PyValue::Float(f) if f.is_finite() => f.trunc() as i128,
                PyValue::Float(_) => {
                    return Err(FormatError::Value(
                        "cannot convert float infinity or NaN to integer".into(),
                    ));
                }
                other => {
                    return Err(FormatError::Type(format!(
                        "%{conv} format: a real number is required, not {}",
                        other.type_name()
                    )));
                }
            };
            let mut digits = n.unsigned_abs().to_string();
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            Ok(pad(digits, sign_of(n < 0, spec), spec, true))
        }
        'x' | 'X' | 'o' => {
            let n = match v {
                PyValue::Int(n) => *n,
                PyValue::Bool(b) => i128::from(*b),
                other => {
                    return Err(FormatError::Type(format!(
                        "%{conv} format: an integer is required, not {}",
                        other.type_name()
                    )));
                }
            };
            let a = n.unsigned_abs();
            let (mut digits, prefix) = match conv {
                'x' => (format!("{a:x}"), "0x"),
                'X' => (format!("{a:X}"), "0X"),
                _ => (format!("{a:o}"), "0o"),
            };
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let sign = format!(
                "{}{}",
                sign_of(n < 0, spec),
                if spec.alt { prefix } else { "" }
            );
            Ok(pad(digits, &sign, spec, true))
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = match v {
                PyValue::Int(n) => *n as f64,
                PyValue::Bool(b) => f64::from(u8::from(*b)),
                PyValue::Float(f) => *f,
                other => {
                    return Err(FormatError::Type(format!(
                        "must be real number, not {}",
                        other.type_name()
                    )));
                }
            };
            let p = spec.precision.unwrap_or(6);
            let body = format_float(f.abs(), conv, p, spec.alt);
            Ok(pad(
                body,
                sign_of(f.is_sign_negative() && f != 0.0, spec),
                spec,
                true,
            ))
        }
        'c' => match v {
            PyValue::Int(n) => u32::try_from(*n)
                .ok()
                .and_then(char::from_u32)
                .map(|c| pad(c.to_string(), "", spec, false))
                .ok_or_else(|| FormatError::Value("%c arg not in range(0x110000)".into())),
            PyValue::Str(s) if s.chars().count() == 1 => Ok(pad(s.clone(), "", spec, false)),
            _ => Err(FormatError::Type(
                "%c requires an int or a unicode character".into(),
            )),
        },
        other => Err(FormatError::Value(format!(
            "unsupported format character '{other}' (0x{:x}) at index {index}",
            other as u32
        ))),
    }
}

fn exp_form(f: f64, p: usize, upper: bool) -> String {
    let s = format!("{f:.p$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    let out = format!("{m}e{sign}{:02}", e.abs());
    if upper { out.to_uppercase() } else { out }
}

fn format_float(f: f64, conv: char, p: usize, alt: bool) -> String {
    if !f.is_finite() {
        let s = float_repr(f);
        return if conv.is_uppercase() {
            s.to_uppercase()
        } else {
            s
        };
    }
    match conv {
        'f' | 'F' => format!("{f:.p$}"),
        'e' | 'E' => exp_form(f, p, conv == 'E'),
        _ => {
            let p = p.max(1);
            let sci = format!("{f:.prec$e}", prec = p - 1);
            let x: i32 = sci
                .split_once('e')
                .and_then(|(_, e)| e.parse().ok())
                .unwrap_or(0);
            let s = if x >= -4 && x < p as i32 {
                let prec = (p as i32 - 1 - x).max(0) as usize;
                format!("{f:.prec$}")
            } else {
                exp_form(f, p - 1, conv == 'G')
            };
            if alt {
                return s;
            }
            // Strip trailing zeros of the fraction (and a bare point).
            let (num, exp) = match s.find(['e', 'E']) {
                Some(k) => (&s[..k], &s[k..]),
                None => (s.as_str(), ""),
            };
            let num = if num.contains('.') {
                num.trim_end_matches('0').trim_end_matches('.')
            } else {
                num
            };
            format!("{num}{exp}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_like_python() {
        let t = json!({"a": "x", "n": 5, "f": 1.5, "l": ["p", 1], "none": null});
        let ok = |f: &str| percent_format(f, &t).unwrap();
        assert_eq!(ok("%(a)s-%(n)s"), "x-5");
        assert_eq!(ok("%(l)s %(none)s"), "['p', 1] None");
        assert_eq!(ok("%(n)05d|%(f).2f|%(a)r|%%"), "00005|1.50|'x'|%");
        assert_eq!(ok("%(f)g %(n)x %(n)#o"), "1.5 5 0o5");
        assert_eq!(ok("plain"), "plain");
        assert_eq!(percent_format("%(b)s", &t), Err(FormatError::Key));
        assert_eq!(
            percent_format("50%", &t),
            Err(FormatError::Value("incomplete format".into()))
        );
        assert!(matches!(
            percent_format("%(a)d", &t),
            Err(FormatError::Type(_))
        ));
        assert!(matches!(
            percent_format("%(a)q", &t),
            Err(FormatError::Value(_))
        ));
    }
}
