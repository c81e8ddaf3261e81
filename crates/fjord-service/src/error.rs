//! The error type of this crate.

use std::fmt;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in broad strokes. See [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or option has a value the launcher cannot use
    /// (for example `workers = 0`).
    InvalidInput,
    /// A service failed to start.
    Start,
    /// A service failed to stop or reset.
    Stop,
    /// The operating system refused something (fork, pipe, signal handler).
    Os,
    /// Workers kept failing at start and the master gave up.
    StartLoop,
    /// The reload hook failed (for example a config file became invalid).
    Reload,
    /// Anything else.
    Other,
}

/// The error of fjord-service: a kind, a message with context, and
/// optionally the underlying cause.
///
/// # Examples
///
/// ```
/// use fjord_service::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::InvalidInput, "workers must be at least 1, got 0");
/// assert_eq!(e.kind(), ErrorKind::InvalidInput);
/// assert_eq!(e.to_string(), "workers must be at least 1, got 0");
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Source>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of `kind` with a message and an underlying cause, whose text
    /// is appended to the message when displayed.
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Source>,
    ) -> Self {
        Error {
            kind,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A start failure caused by `source` (what [`crate::Service::start`]
    /// implementations usually return).
    pub fn start(source: impl Into<Source>) -> Self {
        let source = source.into();
        Error {
            kind: ErrorKind::Start,
            message: source.to_string(),
            source: Some(source),
        }
    }

    pub(crate) fn os(what: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::with_source(ErrorKind::Os, what, std::io::Error::from(errno))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            let s = source.to_string();
            if s != self.message {
                write!(f, ": {s}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
