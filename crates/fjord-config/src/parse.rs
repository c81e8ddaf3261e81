//! oslo.config's parsing of single values, for crates that read option
//! text outside a [`ConfigOpts`](crate::ConfigOpts) (paste.deploy filter
//! options, transport URL query keys), so that every fjord crate accepts
//! the same spellings as the registered options do.
//!
//! ```
//! use fjord_config::parse;
//!
//! assert_eq!(parse::bool(" Yes "), Some(true));
//! assert_eq!(parse::bool("off"), Some(false));
//! assert_eq!(parse::bool("maybe"), None);
//! assert_eq!(parse::int("1_024"), Some(1024));
//! assert_eq!(parse::list(" a, ,b "), ["a", "b"]);
//! ```

/// The spellings of true (any case, surrounding blanks ignored).
pub const TRUE_VALUES: [&str; 4] = ["true", "1", "on", "yes"];
/// The spellings of false (any case, surrounding blanks ignored).
pub const FALSE_VALUES: [&str; 4] = ["false", "0", "off", "no"];

/// oslo.config's `types.Boolean`: `true/1/on/yes` or `false/0/off/no`, in
/// any case, surrounding blanks ignored; `None` for anything else.
pub fn bool(text: &str) -> Option<bool> {
    let lower = text.trim().to_lowercase();
    if TRUE_VALUES.contains(&lower.as_str()) {
        Some(true)
    } else if FALSE_VALUES.contains(&lower.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// oslo.config's `types.Integer` (Python's `int()`): a signed decimal
/// integer, surrounding blanks ignored, `_` between digits allowed; `None`
/// for anything else. Bounds are the caller's.
pub fn int(text: &str) -> Option<i64> {
    text.trim().replace('_', "").parse().ok()
}

/// oslo.config's `types.List` of strings as paste options use it:
/// comma-separated, items stripped, empty items dropped.
pub fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_spelling() {
        for t in ["true", "TRUE", "1", "on", "Yes", " yes\n"] {
            assert_eq!(super::bool(t), Some(true), "{t:?}");
        }
        for f in ["false", "False", "0", "OFF", "no"] {
            assert_eq!(super::bool(f), Some(false), "{f:?}");
        }
        for bad in ["", "y", "2", "truee"] {
            assert_eq!(super::bool(bad), None, "{bad:?}");
        }
        assert_eq!(super::int(" -5 "), Some(-5));
        assert_eq!(super::int("5x"), None);
    }
}
