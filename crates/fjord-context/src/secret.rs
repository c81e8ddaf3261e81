//! [`Secret`]: a string that is never printed.

use std::fmt;

/// A secret string (a Keystone token): `Debug` and `Display` print `***`,
/// never the value; [`Secret::expose`] is the one way to read it.
///
/// # Examples
///
/// ```
/// use fjord_context::Secret;
/// let token = Secret::new("gAAAAAB-token");
/// assert_eq!(format!("{token} {token:?}"), "*** Secret(***)");
/// assert_eq!(token.expose(), "gAAAAAB-token");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the code that must send it (a request header,
    /// the RPC context). Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is the empty string (Python reads `""` as false:
    /// no token).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
