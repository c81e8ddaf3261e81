//! Loader errors.

use std::path::PathBuf;

use super::context::ResolveError;
use super::ini::IniError;
use crate::factory::FactoryError;

/// Why an app could not be loaded from a paste file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoaderError {
    /// The file could not be read.
    #[error("cannot read paste config {}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// configparser would reject the file.
    #[error("cannot parse paste config {}: {source}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parse error, with Python's message and line.
        source: IniError,
    },
    /// A name did not resolve (missing section, bad `use`, unknown egg, a
    /// `use` loop, ...).
    #[error("cannot resolve {name:?} in paste config {}: {source}", file.display())]
    Resolve {
        /// The file.
        file: PathBuf,
        /// The name asked for.
        name: String,
        /// PasteDeploy's error.
        source: ResolveError,
    },
    /// No factory is registered under any of the names the section uses.
    #[error(
        "no {kind} factory registered as {} (section [{section}] in {}); register it with Loader::register_{kind}",
        names.join(" or "), file.display()
    )]
    UnknownFactory {
        /// `app`, `filter` or `composite`.
        kind: &'static str,
        /// The names looked up.
        names: Vec<String>,
        /// The section that uses it.
        section: String,
        /// The file.
        file: PathBuf,
    },
    /// The section resolves to something that cannot be built where it is
    /// used (a filter as an app, a server, an unknown protocol).
    #[error("section [{section}] in {} is a {found}, expected {wanted}", file.display())]
    WrongType {
        /// The section.
        section: String,
        /// What it is (`filter`, `server`, a protocol name).
        found: String,
        /// What was needed.
        wanted: &'static str,
        /// The file.
        file: PathBuf,
    },
    /// A factory returned an error.
    #[error("factory for section [{section}] in {} failed: {source}", file.display())]
    Factory {
        /// The section.
        section: String,
        /// The file.
        file: PathBuf,
        /// The factory's error.
        source: FactoryError,
    },
    /// Composite apps refer to each other in a loop.
    #[error("loop while building apps: {} (in {})", chain.join(" -> "), file.display())]
    Loop {
        /// The sections involved, in order.
        chain: Vec<String>,
        /// The file.
        file: PathBuf,
    },
}
