//! [`ContextError`]: a context dictionary that cannot be read.

/// A context dictionary (`to_dict()` form, the RPC `_context_*` keys)
/// with a known key of the wrong JSON type.
///
/// oslo.context stores whatever it is given; fjord's fields are typed, so
/// `{"roles": "admin"}` or `{"is_admin": "yes"}` is refused with the key
/// named rather than guessed at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// `key` holds a value of another type than `expected`.
    #[error("request context key {key:?}: expected {expected}, got {got}")]
    WrongType {
        /// The context key.
        key: String,
        /// What the key must hold (`"a string or null"`, ...).
        expected: &'static str,
        /// The JSON type found.
        got: &'static str,
    },
}
