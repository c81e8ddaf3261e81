//! Python-compatible text helpers: `str.isspace`, `str.strip` and `repr(str)`.
//!
//! oslo.config's reader (and configparser, and PasteDeploy) strip lines with
//! Python's notion of whitespace and quote offending text with `%r` in their
//! error messages; matching both keeps fjord's errors identical to the ones
//! operators already know.
//!
//! A public API on purpose, for every reader of a file format that Python
//! reads in OpenStack (this crate's INI reader, fjord-http's paste.deploy
//! loader, an application's own): one definition of Python's whitespace and
//! quoting, so that the same bad line gets the same message from every
//! layer. It covers exactly what those readers need (strip, `isspace`,
//! `repr` of a string and of a list of strings); it is not a general
//! Python-compatibility layer. The results are held against what CPython 3
//! prints (see the tests).
//!
//! ```
//! use fjord_config::pyrepr::{py_repr, py_repr_list, py_strip};
//!
//! let line = " \u{1c}key = value\t";
//! assert_eq!(py_strip(line), "key = value"); // U+001C is space to Python
//! assert_eq!(py_repr("it's"), "\"it's\"");
//! assert_eq!(py_repr("tab\there"), "'tab\\there'");
//! assert_eq!(py_repr_list(&["a", "b"]), "['a', 'b']");
//! ```

/// Python's `str.isspace` for one character.
///
/// Rust's `char::is_whitespace` (Unicode `White_Space`) plus the ASCII
/// information separators U+001C..=U+001F, which Python also treats as space.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.rstrip()`.
pub fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// Python's `str.lstrip()`.
pub fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(is_py_space)
}

/// Whether Python's `str.isprintable` holds for `c` (approximation without
/// the full Unicode category tables: controls, format characters, separators
/// other than the ASCII space, private use and non-characters are escaped).
fn is_py_printable(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if u < 0x20 || (0x7f..=0xa0).contains(&u) || u == 0xad {
        return false;
    }
    if c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f
        | 0xd800..=0xf8ff | 0xfeff | 0xfff0..=0xfffb | 0xfffe | 0xffff
        | 0xe0000..=0xe0fff | 0xf0000..=0x10ffff)
}

/// Python's `repr(str)`: single quotes unless the text contains `'` and no
/// `"`, backslash escapes for quotes, `\\`, `\t`, `\n`, `\r` and
/// non-printable characters.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_py_printable(c) => out.push(c),
            c => {
                let u = c as u32;
                if u <= 0xff {
                    out.push_str(&format!("\\x{u:02x}"));
                } else if u <= 0xffff {
                    out.push_str(&format!("\\u{u:04x}"));
                } else {
                    out.push_str(&format!("\\U{u:08x}"));
                }
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a list of strings: `['a', 'b']`.
pub fn py_repr_list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<String> = items.iter().map(|s| py_repr(s.as_ref())).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("foo bar"), "'foo bar'");
        assert_eq!(py_repr("\u{feff}[DEFAULT]"), "'\\ufeff[DEFAULT]'");
        assert_eq!(py_repr("\tindented = 1"), "'\\tindented = 1'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("caf\u{e9}"), "'caf\u{e9}'");
        assert_eq!(py_repr("\u{85}"), "'\\x85'");
        assert_eq!(py_repr("just some words\n"), "'just some words\\n'");
        assert_eq!(py_repr("\u{a0}x\u{1}"), "'\\xa0x\\x01'");
        assert_eq!(py_repr_list(&["a", "b"]), "['a', 'b']");
        assert_eq!(py_repr_list::<&str>(&[]), "[]");
    }

    #[test]
    fn strip_uses_python_whitespace() {
        assert_eq!(py_strip("\u{a0}x\u{3000}\u{1f}"), "x");
        assert_eq!(py_strip("\u{200b}z\u{200b}"), "\u{200b}z\u{200b}");
        assert_eq!(py_rstrip("a \u{2028}"), "a");
        assert_eq!(py_lstrip(" \ta "), "a ");
    }
}
