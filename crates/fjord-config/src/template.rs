//! `$var` substitution with the semantics of Python's `string.Template`
//! (`safe_substitute`) as oslo.config configures it.
//!
//! - `$$` gives `$` (oslo also turns `\$` into `$$` first);
//! - `$name` and `${name}` where a name is `[_a-z][._a-z0-9]*`, matched
//!   case-insensitively, and may name another group: `${database.connection}`;
//! - a `$` that starts none of these is kept as is (`cost $5`, `${x`);
//! - a name the lookup does not know ([`Lookup::Keep`]) is kept as written.

/// What a lookup decided for one name.
#[derive(Debug)]
pub(crate) enum Lookup<E> {
    /// Substitute this text.
    Value(String),
    /// Keep the reference as written (Python's `KeyError` in `safe_substitute`).
    Keep,
    /// Stop with an error.
    Fail(E),
}

fn is_id_start(c: char) -> bool {
    c == '_'
        || c.is_ascii_alphabetic()
        || matches!(c, '\u{17f}' | '\u{212a}' | '\u{130}' | '\u{131}')
}

fn is_id_char(c: char) -> bool {
    is_id_start(c) || c == '.' || c.is_ascii_digit()
}

/// Length in bytes of the identifier at the start of `s`, if any.
fn id_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if !is_id_start(first) {
        return None;
    }
    let end = chars
        .find(|(_, c)| !is_id_char(*c))
        .map_or(s.len(), |(i, _)| i);
    Some(end)
}

/// Substitutes every reference in `text` through `lookup`.
///
/// # Errors
///
/// The first [`Lookup::Fail`] the lookup returns.
pub(crate) fn substitute<E>(
    text: &str,
    mut lookup: impl FnMut(&str) -> Lookup<E>,
) -> Result<String, E> {
    let replaced;
    let text = if text.contains("\\$") {
        replaced = text.replace("\\$", "$$");
        replaced.as_str()
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        if let Some(n) = id_len(after) {
            let name = &after[..n];
            match lookup(name) {
                Lookup::Value(v) => out.push_str(&v),
                Lookup::Keep => {
                    out.push('$');
                    out.push_str(name);
                }
                Lookup::Fail(e) => return Err(e),
            }
            rest = &after[n..];
            continue;
        }
        if let Some(inner) = after.strip_prefix('{')
            && let Some(n) = id_len(inner)
            && inner[n..].starts_with('}')
        {
            let name = &inner[..n];
            match lookup(name) {
                Lookup::Value(v) => out.push_str(&v),
                Lookup::Keep => {
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
                Lookup::Fail(e) => return Err(e),
            }
            rest = &inner[n + 1..];
            continue;
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str) -> Result<String, String> {
        substitute(text, |name| match name {
            "a" => Lookup::Value("A".into()),
            "g.x" => Lookup::Value("GX".into()),
            "keep" => Lookup::Keep,
            other => Lookup::Fail(other.to_owned()),
        })
    }

    #[test]
    fn template_rules() {
        assert_eq!(sub("$a/${a}/${g.x}/$g.x").unwrap(), "A/A/GX/GX");
        assert_eq!(sub("$$a \\$a").unwrap(), "$a $a");
        assert_eq!(
            sub("cost $5 and $ and ${a").unwrap(),
            "cost $5 and $ and ${a"
        );
        assert_eq!(sub("$keep ${keep}").unwrap(), "$keep ${keep}");
        assert_eq!(sub("x $nope").unwrap_err(), "nope");
        assert_eq!(sub("$A").unwrap_err(), "A");
        assert_eq!(sub("$a-b").unwrap(), "A-b");
    }
}
