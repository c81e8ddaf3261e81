//! What oslo.policy logs or warns about while registering and loading
//! rules, as values a caller can read back.

use std::fmt;

/// The kind of a [`Notice`]: a log record's level or a Python warning's
/// category, as oslo.policy emits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeKind {
    /// `LOG.error(...)` (a rule that failed to parse).
    Error,
    /// `LOG.warning(...)` (undefined or cyclic rule references, redundant
    /// file rules).
    Warning,
    /// `warnings.warn(...)`: a `UserWarning` (deprecated rules in use).
    UserWarning,
    /// `warnings.warn(..., DeprecationWarning)` (a default registered the
    /// deprecated way).
    DeprecationWarning,
    /// `warnings.warn(..., FutureWarning)` (a description the sample
    /// generator will refuse one day).
    FutureWarning,
}

impl NoticeKind {
    /// The Python name: `ERROR` / `WARNING` for log levels,
    /// `UserWarning` / `DeprecationWarning` for warning categories.
    pub fn python_name(self) -> &'static str {
        match self {
            NoticeKind::Error => "ERROR",
            NoticeKind::Warning => "WARNING",
            NoticeKind::UserWarning => "UserWarning",
            NoticeKind::DeprecationWarning => "DeprecationWarning",
            NoticeKind::FutureWarning => "FutureWarning",
        }
    }

    /// Whether this is a Python warning (`warnings.warn`) rather than a
    /// log record.
    pub fn is_python_warning(self) -> bool {
        matches!(
            self,
            NoticeKind::UserWarning | NoticeKind::DeprecationWarning | NoticeKind::FutureWarning
        )
    }
}

/// One message oslo.policy would have logged at WARNING or above, or
/// emitted as a Python warning, with oslo.policy's exact text.
///
/// Every notice is also logged with `tracing` (target `fjord_policy`) as
/// it happens; [`Enforcer::capture_notices`](crate::Enforcer::capture_notices)
/// keeps them for the caller too.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notice {
    /// Log level or warning category.
    pub kind: NoticeKind,
    /// The message.
    pub message: String,
}

impl Notice {
    /// A notice of `kind` saying `message`.
    pub fn new(kind: NoticeKind, message: impl Into<String>) -> Self {
        Notice {
            kind,
            message: message.into(),
        }
    }

    /// Logs the notice with `tracing` at the matching level (Python
    /// warnings at WARN).
    pub(crate) fn log(&self) {
        match self.kind {
            NoticeKind::Error => tracing::error!(target: "fjord_policy", "{}", self.message),
            NoticeKind::Warning => tracing::warn!(target: "fjord_policy", "{}", self.message),
            kind => {
                tracing::warn!(target: "fjord_policy", "{}: {}", kind.python_name(), self.message)
            }
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.python_name(), self.message)
    }
}
