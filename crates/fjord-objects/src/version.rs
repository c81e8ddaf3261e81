//! Object versions: `"X.Y"` or `"X.Y.Z"`, compared as integer tuples
//! (oslo.utils `versionutils.convert_version_to_tuple`).

use std::cmp::Ordering;
use std::fmt;

use crate::error::{ErrorKind, ObjectError};

/// A parsed object version. Equality and order are those of Python's
/// version tuples: `1.10 > 1.9`, and `1.2 < 1.2.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    parts: Vec<u64>,
}

impl Version {
    /// Parses `"X.Y"` / `"X.Y.Z"`; an `a|alpha|b|beta|rc<n>` suffix on the
    /// last part is dropped, as oslo.utils does.
    ///
    /// # Errors
    ///
    /// A part that is not a number.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_objects::Version;
    /// assert!(Version::parse("1.10")? > Version::parse("1.9")?);
    /// assert_eq!(Version::parse("2.0rc1")?.to_string(), "2.0");
    /// # Ok::<(), fjord_objects::ObjectError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Version, ObjectError> {
        let bad = || {
            ObjectError::new(
                ErrorKind::BadVersion,
                format!("Invalid version string {text:?}: expected X.Y or X.Y.Z"),
            )
        };
        if text.is_empty() {
            return Err(bad());
        }
        let pieces: Vec<&str> = text.split('.').collect();
        let last = pieces.len() - 1;
        let mut parts = Vec::with_capacity(pieces.len());
        for (i, piece) in pieces.iter().enumerate() {
            let mut digits = *piece;
            if i == last {
                for suffix in ["alpha", "beta", "rc", "a", "b"] {
                    if let Some(pos) = digits.find(suffix) {
                        let (head, tail) = digits.split_at(pos);
                        let tail = &tail[suffix.len()..];
                        if !head.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
                            digits = head;
                            break;
                        }
                    }
                }
            }
            if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            parts.push(digits.parse::<u64>().map_err(|_| bad())?);
        }
        Ok(Version { parts })
    }
    /// The major version.
    pub fn major(&self) -> u64 {
        self.parts[0]
    }
    /// The parts, `[X, Y]` or `[X, Y, Z]`.
    pub fn parts(&self) -> &[u64] {
        &self.parts
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
