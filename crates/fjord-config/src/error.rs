//! The crate's error type.

use crate::conf::Location;
use crate::ini::ParseError;

/// Everything that can go wrong declaring, loading or reading options.
///
/// Every variant about a value names the file (or environment variable, or
/// command-line flag), the section, the option and what was expected. A
/// launcher exits with [`Error::exit_code`]: 2 for bad input (as oslo
/// services do), 0 for `--help` / `--version` output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file could not be read or parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A `--config-dir` could not be listed.
    #[error("Failed to read config directory {path}: {message}")]
    ConfigDir {
        /// The directory as given.
        path: String,
        /// The operating system's error text.
        message: String,
    },
    /// A value does not fit its option's type, bounds or choices.
    #[error("{0}")]
    BadValue(Box<BadValue>),
    /// A required option has no value from any source.
    #[error(
        "required option {option} in group [{group}] has no value (set it in a config file, with {env} or on the command line)"
    )]
    Required {
        /// Group name.
        group: String,
        /// Option name.
        option: String,
        /// The environment variable that would set it.
        env: String,
    },
    /// A `$reference` in a value cannot be substituted.
    #[error("{0}")]
    Substitution(Box<Substitution>),
    /// The option is not registered.
    #[error("no such option {option} in group [{group}]")]
    NoSuchOpt {
        /// Group name.
        group: String,
        /// Option name.
        option: String,
    },
    /// An option was registered twice with different definitions.
    #[error("duplicate option: {option} in group [{group}] is already registered differently")]
    DuplicateOpt {
        /// Group name.
        group: String,
        /// Option name.
        option: String,
    },
    /// A declared default does not fit the option.
    #[error("invalid default for option {option} in group [{group}]: {reason}")]
    InvalidDefault {
        /// Group name.
        group: String,
        /// Option name.
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// A typed getter asked for a type the option's value is not.
    #[error("option {option} in group [{group}]: expected {expected}")]
    Type {
        /// Group name.
        group: String,
        /// Option name.
        option: String,
        /// What the getter wanted and what the option is.
        expected: String,
    },
    /// Bad command-line usage (clap's message).
    #[error("{0}")]
    Usage(String),
    /// `--help` or `--version` was asked for, or the hidden
    /// `--fjord-config-namespaces` flag (see
    /// [`ConfigOpts::command`](crate::ConfigOpts::command)): print this and
    /// exit 0.
    #[error("{0}")]
    Help(String),
    /// A catalog's JSON (see [`Catalog::from_json`](crate::Catalog::from_json))
    /// could not be read.
    #[error("bad option catalog: {0}")]
    Catalog(String),
}

impl Error {
    /// The process exit code for this error: 0 for [`Error::Help`], 2 for
    /// everything else (bad input, as oslo.config services exit).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Help(_) => 0,
            _ => 2,
        }
    }

    /// Whether this is `--help` / `--version` output rather than a failure.
    pub fn is_help(&self) -> bool {
        matches!(self, Error::Help(_))
    }
}

/// A value that does not fit its option (see [`Error::BadValue`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid value {value} for option {option} in group [{group}] ({location}): expected {expected}: {reason}"
)]
#[non_exhaustive]
pub struct BadValue {
    /// Normalized group name (`DEFAULT` for the default group).
    pub group: String,
    /// Option name.
    pub option: String,
    /// Where the value came from (file and line, variable, flag).
    pub location: Location,
    /// The value as written, quoted (`'****'` for secrets).
    pub value: String,
    /// What the option accepts.
    pub expected: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A `$reference` that cannot be substituted (see [`Error::Substitution`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot substitute option {option} in group [{group}] ({location}): {message}")]
#[non_exhaustive]
pub struct Substitution {
    /// Group of the option whose value holds the reference.
    pub group: String,
    /// That option.
    pub option: String,
    /// Where its value came from.
    pub location: Location,
    /// oslo's exception class: `NoSuchOptError`, `RecursionError`,
    /// `TemplateSubstitutionError`.
    pub class: &'static str,
    /// oslo's message, e.g. `no such option nope in group [DEFAULT]`.
    pub message: String,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
