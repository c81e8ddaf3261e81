//! What paste factories receive and return, shared by the [`loader`]
//! (which calls factories) and the [`middleware`] (whose layers are built
//! by factories): [`Conf`] (`global_conf` / `local_conf`),
//! [`FactoryError`], [`Filter`], the request extensions url maps set
//! ([`ScriptName`], [`OriginalUri`]), and oslo.middleware's
//! `_conf_get` with oslo.config's value parsing
//! ([`fjord_config::parse`]). Neither `loader` nor `middleware` is imported
//! here, so the two do not import each other: the loader registers the
//! middleware's factories (`loader/native.rs`), the middleware only knows
//! this module. Public through [`crate::loader`]'s re-exports.
//!
//! [`loader`]: crate::loader
//! [`middleware`]: crate::middleware

mod conf;

use std::sync::Arc;

use crate::App;

pub use conf::{Conf, GlobalConf, LocalConf};

/// A filter: wraps an app into another app.
pub type Filter = Arc<dyn Fn(App) -> App + Send + Sync>;

/// An error returned by an app, filter or composite factory (a bad local
/// option, typically).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FactoryError {
    message: String,
}

impl FactoryError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        FactoryError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Request extension: the path prefix consumed by url maps so far (WSGI's
/// `SCRIPT_NAME`), e.g. `/v1`. The request's URI path is what is left
/// (`PATH_INFO`; `/` when nothing is left).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptName(pub String);

/// Request extension: the URI as the client sent it, before any url map
/// rewrote the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalUri(pub http::Uri);

/// `_conf_get`: local, then global.
pub(crate) fn conf_get<'a>(global: &'a Conf, local: &'a Conf, key: &str) -> Option<&'a str> {
    local.get(key).or_else(|| global.get(key))
}

/// oslo.config's boolean parsing ([`fjord_config::parse::bool`]:
/// `true/1/yes/on`, `false/0/no/off`).
pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, FactoryError> {
    fjord_config::parse::bool(value).ok_or_else(|| {
        FactoryError::new(format!(
            "option {key}: {:?} is not a boolean (true/false, yes/no, on/off, 1/0)",
            value.trim().to_ascii_lowercase()
        ))
    })
}

/// oslo.config's integer parsing ([`fjord_config::parse::int`]), >= 0.
pub(crate) fn parse_u64(key: &str, value: &str) -> Result<u64, FactoryError> {
    fjord_config::parse::int(value)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| {
            FactoryError::new(format!(
                "option {key}: {value:?} is not a non-negative integer"
            ))
        })
}

/// oslo.config's list parsing ([`fjord_config::parse::list`]):
/// comma-separated, items stripped, empty items dropped.
pub(crate) fn parse_list(value: &str) -> Vec<String> {
    fjord_config::parse::list(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_parsing() {
        assert!(parse_bool("x", "Yes").unwrap());
        assert!(!parse_bool("x", "0").unwrap());
        assert!(
            parse_bool("x", "maybe")
                .unwrap_err()
                .message()
                .contains("option x")
        );
        assert_eq!(parse_u64("n", " 12 ").unwrap(), 12);
        assert!(parse_u64("n", "-1").is_err());
        assert_eq!(parse_list("a, b,,c "), ["a", "b", "c"]);
    }
}
