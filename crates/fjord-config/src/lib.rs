//! fjord-config: typed options with oslo.config semantics.
//!
//! The Rust counterpart of `oslo.config`, the way an OpenStack service reads
//! its `nova.conf`:
//!
//! - [`ini`]: oslo.config's own INI reader (repeated keys kept, continuation
//!   lines, `#`/`;` comments at line start only, oslo's exact error texts and
//!   line numbers). Held against real OpenStack files and what Python
//!   produced for them.
//! - [`Opt`] / [`OptGroup`] / [`Namespace`]: options declared once, typed
//!   (str, int with min/max, float, bool, list, dict, multi-valued, port, IP
//!   address, URI, choices), with default, help, required, secret, mutable
//!   and deprecated names.
//! - [`ConfigOpts`]: values from every source in oslo's precedence —
//!   defaults < `--config-file` (repeatable, later wins) / `--config-dir`
//!   (`*.conf` sorted) < environment `OS_<GROUP>__<OPTION>` < command line —
//!   with `$var` / `${group.var}` substitution, typed getters, `--help`,
//!   [`ConfigOpts::reload`] with mutate hooks and
//!   [`ConfigOpts::log_options`] with secrets masked.
//! - [`generator`]: the commented `*.conf.sample` and a Markdown reference;
//!   [`validate`] and [`dump`]: what the `fjord-config` tool prints.
//! - Each layer declares its own options next to its typed options struct
//!   (`fjord_service::LauncherOptions`, `fjord_http::server::ServerOptions`,
//!   ...); [`hostname`] is the default of `[DEFAULT] host`.
//! - [`parse`]: oslo.config's parsing of one boolean, integer or list,
//!   for crates that read option text outside a [`ConfigOpts`] (fjord-http's
//!   paste filters, fjord-messaging's transport URL query keys).
//! - [`pyrepr`]: Python's `str.strip` and `repr(str)`, so that error
//!   messages quote text as Python does: a deliberate public API for every
//!   reader of a Python-read format (this crate's INI reader, fjord-http's
//!   paste.deploy loader).
//!
//! Everything is synchronous and never touches an async runtime: it runs in
//! the pre-fork master. Bad input is an [`Error`] naming the file, section,
//! option and what was expected; [`Error::exit_code`] is 2 for it.
//!
//! # Example
//!
//! ```
//! use fjord_config::{ConfigOpts, Opt, OptGroup};
//!
//! let dir = std::env::temp_dir().join(format!("fjord-config-root-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let file = dir.join("demo.conf");
//! std::fs::write(&file, "[DEFAULT]\nworkers = 4\nnamespace = a\nnamespace = b\n\n[api]\nlisten_port = 8080\n")?;
//!
//! let mut conf = ConfigOpts::new("demo-api");
//! conf.register("DEFAULT", &[
//!     Opt::int("workers").min(1).default(1).cli().help("API worker processes."),
//!     Opt::multi_str("namespace"),
//!     Opt::bool("debug").default(false).mutable().cli(),
//! ])?;
//! conf.register(OptGroup::new("api").help("The HTTP API."), &[
//!     Opt::port("listen_port").default(8799),
//!     Opt::str("password").secret(),
//! ])?;
//!
//! // argv: the command line wins over the file.
//! conf.parse_args(["demo-api", "--config-file", file.to_str().unwrap(), "--workers", "2"])?;
//! assert_eq!(conf.get::<i64>("DEFAULT", "workers")?, 2);
//! assert_eq!(conf.get::<Vec<String>>("DEFAULT", "namespace")?, ["a", "b"]);
//! assert_eq!(conf.get::<u16>("api", "listen_port")?, 8080);
//! assert_eq!(conf.get::<Option<String>>("api", "password")?, None);
//!
//! // A bad value is one clear error, exit code 2.
//! std::fs::write(&file, "[api]\nlisten_port = http\n")?;
//! let err = conf.reload().unwrap_err();
//! assert_eq!(err.exit_code(), 2);
//! assert!(err.to_string().contains("listen_port"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

pub mod conf;
pub mod dump;
mod error;
pub mod generator;
mod host;
pub mod ini;
pub mod namespace;
pub mod opt;
pub mod parse;
pub mod pyrepr;
mod template;
pub mod validate;
mod value;

pub use conf::{
    Change, ConfigChanges, ConfigOpts, ConfigSource, DeprecatedUse, EnvSource, Location,
    UnknownOption,
};
pub use error::{BadValue, Error, Result, Substitution};
pub use host::hostname;
pub use namespace::{Catalog, NAMESPACES_FLAG, Namespace};
pub use opt::{DeprecatedName, Kind, Opt, OptGroup};
pub use value::{FromValue, Value};
