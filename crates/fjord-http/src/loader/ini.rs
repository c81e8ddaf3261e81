//! The ini reader PasteDeploy uses: Python's `configparser.ConfigParser`
//! (strict, `%`-interpolation, case-sensitive keys as PasteDeploy's
//! `NicerConfigParser` sets them).
//!
//! Supported exactly as configparser does it: `[section]` headers (text up
//! to the last `]`, anything after it ignored), `key = value` and
//! `key: value` (the first `=` or `:` separates), full-line `#` and `;`
//! comments (also indented ones, which never continue a value), no inline
//! comments, indented continuation lines (blank lines inside a continued
//! value are kept, trailing ones dropped), `[DEFAULT]`, and the errors
//! `DuplicateSectionError`, `DuplicateOptionError`,
//! `MissingSectionHeaderError` and `ParsingError` with Python's messages.

use crate::factory::Conf;
use fjord_config::pyrepr::{py_repr as repr, py_rstrip, py_strip};

/// configparser's error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IniErrorKind {
    /// A section appears twice.
    DuplicateSection,
    /// A key appears twice in one section.
    DuplicateOption,
    /// An assignment before any `[section]`.
    MissingSectionHeader,
    /// Lines that are neither header, assignment, comment nor continuation.
    Parsing,
}

impl IniErrorKind {
    /// The Python exception class name.
    pub fn class(self) -> &'static str {
        match self {
            IniErrorKind::DuplicateSection => "DuplicateSectionError",
            IniErrorKind::DuplicateOption => "DuplicateOptionError",
            IniErrorKind::MissingSectionHeader => "MissingSectionHeaderError",
            IniErrorKind::Parsing => "ParsingError",
        }
    }
}

/// A file configparser cannot read, with Python's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IniError {
    /// Which configparser error this is.
    pub kind: IniErrorKind,
    /// Python's `str()` of the exception (it names the file).
    pub message: String,
    /// 1-based line of the (first) offending line.
    pub line: usize,
}

/// A parsed file: `[DEFAULT]` and the sections, raw (not interpolated).
#[derive(Clone, Debug, Default)]
pub(crate) struct Ini {
    /// Path as handed in; used in messages.
    pub path: String,
    /// Raw defaults: the constructor defaults (`here`, `__file__`) then
    /// `[DEFAULT]`'s keys.
    pub defaults: Conf,
    /// Sections in file order.
    pub sections: Vec<(String, Conf)>,
}

/// Splits like Python's universal newlines; each line keeps a `\n` if it
/// had a terminator.
fn lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                cur.push('\n');
                out.push(std::mem::take(&mut cur));
            }
            '\n' => {
                cur.push('\n');
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

enum Target {
    Defaults,
    Section(usize),
}

type RawSection = Vec<(String, Vec<String>)>;

fn find_opt<'a>(sect: &'a mut RawSection, key: &str) -> Option<&'a mut Vec<String>> {
    sect.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn set_opt(sect: &mut RawSection, key: String, value: String) {
    match find_opt(sect, &key) {
        Some(v) => *v = vec![value],
        None => sect.push((key, vec![value])),
    }
}

/// Parses `text` as configparser would, with `initial_defaults` (PasteDeploy
/// passes `here` and `__file__`) and `path` for messages.
pub(crate) fn parse(text: &str, path: &str, initial_defaults: &Conf) -> Result<Ini, IniError> {
    let mut defaults: RawSection = initial_defaults
        .iter()
        .map(|(k, v)| (k.to_owned(), vec![v.to_owned()]))
        .collect();
    let mut sections: Vec<(String, RawSection)> = Vec::new();
    let mut added_sections: Vec<String> = Vec::new();
    let mut added_options: std::collections::HashSet<(String, String)> = Default::default();
    let mut cursect: Option<Target> = None;
    let mut sectname = String::new();
    let mut optname: Option<String> = None;
    let mut indent_level = 0usize;
    let mut errors: Vec<(usize, String)> = Vec::new();
    let prepr = repr(path);

    for (idx, line) in lines(text).iter().enumerate() {
        let lineno = idx + 1;
        let stripped = py_strip(line);
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if is_comment { "" } else { stripped };
        if value.is_empty() {
            if let (false, Some(target), Some(name)) = (is_comment, &cursect, &optname)
                && !name.is_empty()
            {
                let sect = match target {
                    Target::Defaults => &mut defaults,
                    Target::Section(i) => &mut sections[*i].1,
                };
                if let Some(v) = find_opt(sect, name) {
                    v.push(String::new());
                }
            }
            continue;
        }
        let cur_indent = line
            .chars()
            .position(|c| !fjord_config::pyrepr::is_py_space(c))
            .unwrap_or(0);
        let continuation = cursect.is_some()
            && optname.as_deref().is_some_and(|n| !n.is_empty())
            && cur_indent > indent_level;
        if continuation {
            if let (Some(target), Some(name)) = (&cursect, &optname) {
                let sect = match target {
                    Target::Defaults => &mut defaults,
                    Target::Section(i) => &mut sections[*i].1,
                };
                if let Some(v) = find_opt(sect, name) {
                    v.push(value.to_owned());
                }
            }
            continue;
        }
        indent_level = cur_indent;
        if let Some(header) = section_header(value) {
            sectname = header.to_owned();
            if let Some(i) = sections.iter().position(|(n, _)| *n == sectname) {
                if added_sections.contains(&sectname) {
                    return Err(IniError {
                        kind: IniErrorKind::DuplicateSection,
                        message: format!(
                            "While reading from {prepr} [line {lineno:2}]: section {} already exists",
                            repr(&sectname)
                        ),
                        line: lineno,
                    });
                }
                cursect = Some(Target::Section(i));
            } else if sectname == "DEFAULT" {
                cursect = Some(Target::Defaults);
            } else {
                sections.push((sectname.clone(), Vec::new()));
                added_sections.push(sectname.clone());
                cursect = Some(Target::Section(sections.len() - 1));
            }
            optname = None;
            continue;
        }
        let Some(target) = &cursect else {
            return Err(IniError {
                kind: IniErrorKind::MissingSectionHeader,
                message: format!(
                    "File contains no section headers.\nfile: {prepr}, line: {lineno}\n{}",
                    repr(line)
                ),
                line: lineno,
            });
        };
        match split_option(value) {
            Some((name, val)) => {
                if name.is_empty() {
                    errors.push((lineno, line.clone()));
                }
                let name = name.to_owned();
                if !added_options.insert((sectname.clone(), name.clone())) {
                    return Err(IniError {
                        kind: IniErrorKind::DuplicateOption,
                        message: format!(
                            "While reading from {prepr} [line {lineno:2}]: option {} in section {} already exists",
                            repr(&name),
                            repr(&sectname)
                        ),
                        line: lineno,
                    });
                }
                let sect = match target {
                    Target::Defaults => &mut defaults,
                    Target::Section(i) => &mut sections[*i].1,
                };
                set_opt(sect, name.clone(), py_strip(val).to_owned());
                optname = Some(name);
            }
            None => errors.push((lineno, line.clone())),
        }
    }

    if let Some((first_line, _)) = errors.first() {
        let mut message = format!("Source contains parsing errors: {prepr}");
        for (lineno, line) in &errors {
            message.push_str(&format!("\n\t[line {lineno:2}]: {}", repr(line)));
        }
        return Err(IniError {
            kind: IniErrorKind::Parsing,
            message,
            line: *first_line,
        });
    }
    let join = |sect: RawSection| -> Conf {
        sect.into_iter()
            .map(|(k, v)| (k, py_rstrip(&v.join("\n")).to_owned()))
            .collect()
    };
    Ok(Ini {
        path: path.to_owned(),
        defaults: join(defaults),
        sections: sections.into_iter().map(|(n, s)| (n, join(s))).collect(),
    })
}

/// `\[(?P<header>.+)\]` matched at the start: the header runs to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    if end == 0 {
        return None;
    }
    Some(&rest[..end])
}

/// `(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$`: the first `=` or `:`.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let pos = value.find(['=', ':'])?;
    Some((py_rstrip(&value[..pos]), &value[pos + 1..]))
}

impl Ini {
    /// The raw section, if present.
    pub(crate) fn section(&self, name: &str) -> Option<&Conf> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// Section names in file order.
    pub(crate) fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|(n, _)| n.as_str())
    }

    /// `parser.options(section)`: the section's keys then the defaults' keys.
    pub(crate) fn options(&self, section: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .section(section)
            .map(|s| s.keys().map(str::to_owned).collect())
            .unwrap_or_default();
        for k in self.defaults.keys() {
            if !out.iter().any(|o| o == k) {
                out.push(k.to_owned());
            }
        }
        out
    }

    /// `parser.get(section, option)` with `%`-interpolation; errors carry
    /// Python's exception class and message (wrapped by NicerConfigParser).
    pub(crate) fn get(&self, section: &str, option: &str) -> Result<String, (String, String)> {
        let sect = if section == "DEFAULT" {
            None
        } else {
            self.section(section)
        };
        let lookup = |k: &str| -> Option<&str> {
            sect.and_then(|s| s.get(k)).or_else(|| self.defaults.get(k))
        };
        let raw = lookup(option).unwrap_or_default();
        let mut out = String::new();
        interpolate(&lookup, option, section, raw, raw, &mut out, 1).map_err(|(class, msg)| {
            (
                class.to_owned(),
                format!("Error in file {}: {msg}", self.path),
            )
        })?;
        Ok(out)
    }

    /// NicerConfigParser's `defaults()`: each default interpolated.
    pub(crate) fn interpolated_defaults(&self) -> Result<Conf, (String, String)> {
        let mut out = Conf::new();
        for (k, v) in self.defaults.iter() {
            let got = self.get("DEFAULT", k)?;
            out.insert(k, if got.is_empty() { v.to_owned() } else { got });
        }
        Ok(out)
    }
}

const MAX_INTERPOLATION_DEPTH: usize = 10;

fn interpolate<'a>(
    lookup: &dyn Fn(&str) -> Option<&'a str>,
    option: &str,
    section: &str,
    rawval: &str,
    value: &str,
    out: &mut String,
    depth: usize,
) -> Result<(), (&'static str, String)> {
    if depth > MAX_INTERPOLATION_DEPTH {
        return Err((
            "InterpolationDepthError",
            format!(
                "Recursion limit exceeded in value substitution: option {} in section {} contains an interpolation key which cannot be substituted in {} steps. Raw value: {}",
                repr(option),
                repr(section),
                MAX_INTERPOLATION_DEPTH,
                repr(rawval)
            ),
        ));
    }
    let mut rest = value;
    while !rest.is_empty() {
        let Some(p) = rest.find('%') else {
            out.push_str(rest);
            return Ok(());
        };
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let next = rest[1..].chars().next();
        match next {
            Some('%') => {
                out.push('%');
                rest = &rest[2..];
            }
            Some('(') => {
                // %\(([^)]+)\)s
                let inner = &rest[2..];
                let close = inner.find(')');
                let ok = close.filter(|&c| c > 0 && inner[c + 1..].starts_with('s'));
                let Some(c) = ok else {
                    return Err((
                        "InterpolationSyntaxError",
                        format!("bad interpolation variable reference {}", repr(rest)),
                    ));
                };
                let var = &inner[..c];
                rest = &inner[c + 2..];
                let Some(v) = lookup(var) else {
                    return Err((
                        "InterpolationMissingOptionError",
                        format!(
                            "Bad value substitution: option {} in section {} contains an interpolation key {} which is not a valid option name. Raw value: {}",
                            repr(option),
                            repr(section),
                            repr(var),
                            repr(rawval)
                        ),
                    ));
                };
                if v.contains('%') {
                    interpolate(lookup, option, section, rawval, v, out, depth + 1)?;
                } else {
                    out.push_str(v);
                }
            }
            _ => {
                return Err((
                    "InterpolationSyntaxError",
                    format!("'%' must be followed by '%' or '(', found: {}", repr(rest)),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Ini, IniError> {
        parse(text, "f.ini", &Conf::new())
    }

    #[test]
    fn continuation_comments_and_blank_lines() {
        let ini = p("[a]\nk = first\n  second\n\n  third\n  # c\n\nx: y = z\n").unwrap();
        let s = ini.section("a").unwrap();
        assert_eq!(s.get("k"), Some("first\nsecond\n\nthird"));
        assert_eq!(s.get("x"), Some("y = z"));
    }

    #[test]
    fn errors_have_python_messages() {
        let e = p("[a]\nk=1\n[a]\n").unwrap_err();
        assert_eq!(e.kind, IniErrorKind::DuplicateSection);
        assert_eq!(
            e.message,
            "While reading from 'f.ini' [line  3]: section 'a' already exists"
        );
        let e = p("[a]\n= v\nfoo\n").unwrap_err();
        assert_eq!(e.kind, IniErrorKind::Parsing);
        assert_eq!(
            e.message,
            "Source contains parsing errors: 'f.ini'\n\t[line  2]: '= v\\n'\n\t[line  3]: 'foo\\n'"
        );
    }

    #[test]
    fn interpolation() {
        let ini =
            p("[DEFAULT]\na = 1\n[s]\nb = %(a)s-%(c)s %%\nc = %(a)s\nd = %(nope)s\ne = %(e)s\n")
                .unwrap();
        assert_eq!(ini.get("s", "b").unwrap(), "1-1 %");
        let (class, _) = ini.get("s", "d").unwrap_err();
        assert_eq!(class, "InterpolationMissingOptionError");
        let (class, _) = ini.get("s", "e").unwrap_err();
        assert_eq!(class, "InterpolationDepthError");
    }
}
