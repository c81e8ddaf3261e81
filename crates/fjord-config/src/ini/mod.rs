//! The INI reader, with oslo.config's own `iniparser` semantics.
//!
//! oslo.config does not use Python's `configparser`; it has a small line
//! parser of its own whose behaviour real deployments depend on. This module
//! reproduces it exactly:
//!
//! - a line starting with a space or tab is always a continuation of the
//!   previous value (joined with `\n`), even `  # text` or `  [section]`; a
//!   continuation right after a section header, a blank line or a comment is
//!   an error;
//! - `#` and `;` start comments only at the start of a line (no inline
//!   comments);
//! - the separator is whichever of `:` and `=` comes first;
//! - one pair of matching surrounding quotes is removed from the first line
//!   of a value;
//! - repeated sections merge and repeated keys accumulate (multi-valued
//!   options read every value, others the last one);
//! - section names are kept verbatim; the *normalized* view lower-cases every
//!   name except exactly `DEFAULT`.
//!
//! Errors carry oslo's exact message texts and line numbers.
//!
//! ```
//! use fjord_config::ini::IniFile;
//!
//! let ini = IniFile::parse_str("[DEFAULT]\nns = a\nns = b\n[Database]\nurl: x\n", "demo.conf")?;
//! let ns: Vec<&str> = ini.values("DEFAULT", "ns").map(|v| v.text.as_str()).collect();
//! assert_eq!(ns, ["a", "b"]);
//! assert!(ini.normalized().contains_key("database"));
//! # Ok::<(), fjord_config::ini::ParseError>(())
//! ```

use std::path::Path;

use indexmap::IndexMap;

pub(crate) use crate::pyrepr::py_repr;
use crate::pyrepr::{py_lstrip, py_rstrip, py_strip};

/// One value of a key, with the line of the key it was assigned at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniValue {
    /// The value, continuation lines joined with `\n`.
    pub text: String,
    /// The 1-based line number of the `key = value` line.
    pub line: usize,
    /// The section the value was written in, as written.
    pub section: String,
}

/// Keys of one section to every value in file order.
pub type IniSection = IndexMap<String, Vec<IniValue>>;

/// A parsed configuration file: sections as written and the normalized view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IniFile {
    path: String,
    sections: IndexMap<String, IniSection>,
    normalized: IndexMap<String, IniSection>,
}

/// What went wrong while reading a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line oslo.config's parser rejects.
    ///
    /// Displays as oslo's `ConfigFileParseError`:
    /// `Failed to parse F: at F:3, No ':' or '=' found in assignment: 'foo bar'`.
    #[error("Failed to parse {file}: at {file}:{line}, {msg}: {}", py_repr(.text))]
    Syntax {
        /// The file as it was named.
        file: String,
        /// 1-based line number (oslo's, see the module docs).
        line: usize,
        /// oslo's message, e.g. `Unexpected continuation line`.
        msg: String,
        /// The offending line (right-stripped), empty when oslo reports none.
        text: String,
    },
    /// The file is not valid UTF-8 (Python's `UnicodeDecodeError` text).
    #[error("{message}")]
    Decode {
        /// The file as it was named.
        file: String,
        /// e.g. `'utf-8' codec can't decode byte 0xe9 in position 20: invalid continuation byte`.
        message: String,
    },
    /// The file could not be read.
    #[error("Failed to read {file}: {message}")]
    Io {
        /// The file as it was named.
        file: String,
        /// The operating system's error text.
        message: String,
        /// The error kind, e.g. `NotFound` or `PermissionDenied`.
        kind: std::io::ErrorKind,
    },
}

impl ParseError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ParseError::Syntax { file, .. }
            | ParseError::Decode { file, .. }
            | ParseError::Io { file, .. } => file,
        }
    }

    /// The 1-based line number, for syntax errors.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::Syntax { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The Python exception class oslo.config raises for this error
    /// (`ConfigFileParseError`, `UnicodeDecodeError`, `ConfigFilesNotFoundError`, ...).
    pub fn python_class(&self) -> &'static str {
        match self {
            ParseError::Syntax { .. } => "ConfigFileParseError",
            ParseError::Decode { .. } => "UnicodeDecodeError",
            ParseError::Io { kind, .. } => match kind {
                std::io::ErrorKind::NotFound => "ConfigFilesNotFoundError",
                std::io::ErrorKind::PermissionDenied => "ConfigFilesPermissionDeniedError",
                _ => "OSError",
            },
        }
    }
}

/// oslo's group-name normalization: exactly `DEFAULT` stays, every other name
/// is lower-cased.
pub fn normalize_group_name(name: &str) -> String {
    if name == "DEFAULT" {
        name.to_owned()
    } else {
        name.to_lowercase()
    }
}

/// Python's text-mode line iteration: `\r\n`, `\r` and `\n` end lines.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                i += 1;
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

struct Parser<'a> {
    file: &'a str,
    lineno: usize,
    section: Option<String>,
    out: IniFile,
}

impl Parser<'_> {
    fn error(&self, msg: &str, text: &str) -> ParseError {
        ParseError::Syntax {
            file: self.file.to_owned(),
            line: self.lineno,
            msg: msg.to_owned(),
            text: text.to_owned(),
        }
    }

    fn assignment(
        &mut self,
        key: String,
        value: Vec<String>,
        line: usize,
    ) -> Result<(), ParseError> {
        let Some(section) = self.section.clone() else {
            return Err(self.error("Section must be started before assignment", ""));
        };
        let value = IniValue {
            text: value.join("\n"),
            line,
            section: section.clone(),
        };
        self.out
            .normalized
            .entry(normalize_group_name(&section))
            .or_default()
            .entry(key.clone())
            .or_default()
            .push(value.clone());
        self.out
            .sections
            .entry(section)
            .or_default()
            .entry(key)
            .or_default()
            .push(value);
        Ok(())
    }

    fn new_section(&mut self, name: &str) {
        self.section = Some(name.to_owned());
        self.out.sections.entry(name.to_owned()).or_default();
        self.out
            .normalized
            .entry(normalize_group_name(name))
            .or_default();
    }

    fn split_key_value(&self, line: &str) -> Result<(String, String), ParseError> {
        let colon = line.find(':');
        let equal = line.find('=');
        let at = match (colon, equal) {
            (None, None) => return Err(self.error("No ':' or '=' found in assignment", line)),
            (Some(c), Some(e)) => c.min(e),
            (Some(c), None) => c,
            (None, Some(e)) => e,
        };
        let key = py_strip(&line[..at]);
        let mut value = py_strip(&line[at + 1..]);
        let mut chars = value.chars();
        if let (Some(first), Some(last)) = (chars.next(), value.chars().next_back())
            && first == last
            && (first == '"' || first == '\'')
        {
            // Python `value[1:-1]`: a lone quote gives an empty string.
            value = if value.len() == 1 {
                ""
            } else {
                &value[1..value.len() - 1]
            };
        }
        Ok((key.to_owned(), value.to_owned()))
    }

    fn parse(mut self, text: &str) -> Result<IniFile, ParseError> {
        let mut key: Option<(String, usize)> = None;
        let mut value: Vec<String> = Vec::new();
        for raw in split_lines(text) {
            self.lineno += 1;
            let line = py_rstrip(raw);
            if line.is_empty() {
                if let Some((k, l)) = key.take() {
                    self.assignment(k, std::mem::take(&mut value), l)?;
                }
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if key.is_none() {
                    return Err(self.error("Unexpected continuation line", line));
                }
                value.push(py_lstrip(line).to_owned());
                continue;
            }
            if let Some((k, l)) = key.take() {
                self.assignment(k, std::mem::take(&mut value), l)?;
            }
            if line.starts_with('[') {
                if !line.ends_with(']') {
                    return Err(self.error("Invalid section (must end with ])", line));
                }
                if line.chars().count() <= 2 {
                    return Err(self.error("Empty section name", line));
                }
                let name = &line[1..line.len() - 1];
                self.new_section(name);
            } else if line.starts_with(['#', ';']) {
                // A comment.
            } else {
                let (k, v) = self.split_key_value(line)?;
                if k.is_empty() {
                    return Err(self.error("Key cannot be empty", line));
                }
                key = Some((k, self.lineno));
                value = vec![v];
            }
        }
        if let Some((k, l)) = key.take() {
            self.assignment(k, value, l)?;
        }
        Ok(self.out)
    }
}

/// Python's `UnicodeDecodeError` text for `bytes`, which fail at `err`.
fn decode_error_message(bytes: &[u8], err: &std::str::Utf8Error, base: usize) -> String {
    let pos = err.valid_up_to();
    let byte = bytes[pos];
    match err.error_len() {
        None => {
            let end = bytes.len() - 1;
            if end > pos {
                format!(
                    "'utf-8' codec can't decode bytes in position {}-{}: unexpected end of data",
                    pos - base,
                    end - base
                )
            } else {
                format!(
                    "'utf-8' codec can't decode byte 0x{byte:02x} in position {}: unexpected end of data",
                    pos - base
                )
            }
        }
        Some(_) => {
            let reason = if (0x80..=0xc1).contains(&byte) || byte >= 0xf5 {
                "invalid start byte"
            } else {
                "invalid continuation byte"
            };
            format!(
                "'utf-8' codec can't decode byte 0x{byte:02x} in position {}: {reason}",
                pos - base
            )
        }
    }
}

/// Python's text reader decodes in chunks of this many bytes.
const PY_CHUNK: usize = 8192;

impl IniFile {
    /// Parses `text`; `file` names it in errors.
    ///
    /// # Errors
    ///
    /// [`ParseError::Syntax`] with oslo's message and line number.
    pub fn parse_str(text: &str, file: &str) -> Result<IniFile, ParseError> {
        let parser = Parser {
            file,
            lineno: 0,
            section: None,
            out: IniFile {
                path: file.to_owned(),
                ..IniFile::default()
            },
        };
        parser.parse(text)
    }

    /// Parses raw bytes, decoding them as UTF-8 the way Python does.
    ///
    /// # Errors
    ///
    /// [`ParseError::Decode`] for invalid UTF-8 (unless a syntax error comes
    /// earlier in the file, as Python reads lazily), [`ParseError::Syntax`].
    pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<IniFile, ParseError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => IniFile::parse_str(text, file),
            Err(err) => {
                // Python decodes 8 KiB at a time and parses the lines before
                // the failing chunk first: report a syntax error there first.
                let chunk_start = err.valid_up_to() / PY_CHUNK * PY_CHUNK;
                if chunk_start > 0 {
                    let before = &bytes[..chunk_start];
                    if let Some(nl) = before.iter().rposition(|b| *b == b'\n')
                        && let Ok(text) = std::str::from_utf8(&bytes[..=nl])
                        && let Err(e @ ParseError::Syntax { .. }) = IniFile::parse_str(text, file)
                    {
                        return Err(e);
                    }
                }
                Err(ParseError::Decode {
                    file: file.to_owned(),
                    message: decode_error_message(bytes, &err, chunk_start),
                })
            }
        }
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Io`] if it cannot be read, else as [`IniFile::parse_bytes`].
    pub fn read(path: &Path) -> Result<IniFile, ParseError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ParseError::Io {
            file: name.clone(),
            message: e.to_string(),
            kind: e.kind(),
        })?;
        IniFile::parse_bytes(&bytes, &name)
    }

    /// The file name this was parsed from (as given).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sections as written (repeated sections merged), in file order.
    pub fn sections(&self) -> &IndexMap<String, IniSection> {
        &self.sections
    }

    /// Sections by normalized group name (see [`normalize_group_name`]).
    pub fn normalized(&self) -> &IndexMap<String, IniSection> {
        &self.normalized
    }

    /// Every value of `key` in the normalized group `group`, in file order.
    pub fn values<'a>(&'a self, group: &str, key: &str) -> impl Iterator<Item = &'a IniValue> + 'a {
        self.normalized
            .get(&normalize_group_name(group))
            .and_then(|s| s.get(key))
            .into_iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_and_repeats() {
        let ini = IniFile::parse_str("[DEFAULT]\na = 1\n  two\nb = x\nb = y\n", "f").unwrap();
        let d = &ini.sections()["DEFAULT"];
        assert_eq!(d["a"][0].text, "1\ntwo");
        assert_eq!(d["a"][0].line, 2);
        assert_eq!(d["b"].len(), 2);
    }

    #[test]
    fn errors_have_oslo_text() {
        let e = IniFile::parse_str("[DEFAULT]\nfoo bar\n", "x.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to parse x.conf: at x.conf:2, No ':' or '=' found in assignment: 'foo bar'"
        );
        let e = IniFile::parse_str("# c\nfoo = 1\n[DEFAULT]\n", "x.conf").unwrap_err();
        assert_eq!(e.line(), Some(3));
    }

    #[test]
    fn decode_error_text() {
        let e = IniFile::parse_bytes(b"[DEFAULT]\nname = caf\xe9\n", "x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'utf-8' codec can't decode byte 0xe9 in position 20: invalid continuation byte"
        );
    }
}
