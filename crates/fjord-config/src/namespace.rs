//! Namespaces: named lists of option groups, for the sample generator and
//! `fjord-config validate` (oslo's `oslo.config.opts` entry points).
//!
//! A program tells tools which namespaces it has: every namespace it
//! registers with [`ConfigOpts::register_namespace`](crate::ConfigOpts::register_namespace)
//! is kept in its [`ConfigOpts::namespaces`](crate::ConfigOpts::namespaces)
//! catalog, and a program built on [`ConfigOpts::parse_args`](crate::ConfigOpts::parse_args)
//! prints that catalog as JSON ([`Catalog::to_json`]) and exits 0 when run
//! with the hidden flag [`NAMESPACES_FLAG`] (`--fjord-config-namespaces`);
//! `fjord-config generate|validate --from-binary PATH` reads it back with
//! [`Catalog::from_json`]. This is what oslo does with `oslo.config.opts`
//! entry points, without a plugin registry: the binary is the entry point.

use indexmap::IndexMap;

use crate::error::Error;
use crate::opt::{Opt, OptGroup};

/// The hidden command-line flag on which a program built on
/// [`ConfigOpts::parse_args`](crate::ConfigOpts::parse_args) prints the
/// JSON of its [`ConfigOpts::namespaces`](crate::ConfigOpts::namespaces)
/// (as an [`Error::Help`] text) instead of running.
pub const NAMESPACES_FLAG: &str = "--fjord-config-namespaces";

/// The version of the JSON [`Catalog::to_json`] writes.
const CATALOG_FORMAT: u32 = 1;

/// A named set of option groups, e.g. `fjord.launcher`.
///
/// ```
/// use fjord_config::{Namespace, Opt};
///
/// let ns = Namespace::new("demo")
///     .group("DEFAULT", vec![Opt::int("workers").min(1).default(2)])
///     .group("api", vec![Opt::port("listen_port").default(8799)]);
/// assert_eq!(ns.groups().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    name: String,
    groups: Vec<(OptGroup, Vec<Opt>)>,
}

impl Namespace {
    /// An empty namespace.
    pub fn new(name: &str) -> Self {
        Namespace {
            name: name.to_owned(),
            groups: Vec::new(),
        }
    }

    /// Adds `opts` to `group` (appended if the group is already there).
    pub fn group(mut self, group: impl Into<OptGroup>, opts: Vec<Opt>) -> Self {
        let group = group.into();
        if let Some((_, existing)) = self.groups.iter_mut().find(|(g, _)| g.name == group.name) {
            existing.extend(opts);
        } else {
            self.groups.push((group, opts));
        }
        self
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its groups with their options, in declaration order.
    pub fn groups(&self) -> &[(OptGroup, Vec<Opt>)] {
        &self.groups
    }
}

/// Namespaces by name: what `--namespace N` can name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    namespaces: IndexMap<String, Namespace>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Adds (or replaces) a namespace.
    pub fn with(mut self, namespace: Namespace) -> Self {
        self.add(namespace);
        self
    }

    /// Adds (or replaces) a namespace.
    pub fn add(&mut self, namespace: Namespace) {
        self.namespaces
            .insert(namespace.name().to_owned(), namespace);
    }

    /// The namespace called `name`.
    pub fn get(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    /// Every namespace name, in the order added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }

    /// Every namespace, in the order added.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values()
    }

    /// Adds every namespace of `other` (replacing those of the same name).
    pub fn extend(&mut self, other: Catalog) {
        for (_, ns) in other.namespaces {
            self.add(ns);
        }
    }

    /// The catalog as JSON: `{"format": 1, "namespaces": [...]}`, every
    /// option with all its declaration (type, default, help, bounds,
    /// choices, flags, deprecated names), so that
    /// [`from_json`](Self::from_json) gives back an equal catalog.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_config::{Catalog, Namespace, Opt};
    ///
    /// let catalog = Catalog::new().with(
    ///     Namespace::new("demo").group("DEFAULT", vec![Opt::int("workers").min(1).default(2)]),
    /// );
    /// let json = catalog.to_json();
    /// assert_eq!(Catalog::from_json(&json)?, catalog);
    /// # Ok::<(), fjord_config::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let doc = CatalogDoc {
            format: CATALOG_FORMAT,
            namespaces: self.namespaces.values().cloned().collect(),
        };
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Reads what [`to_json`](Self::to_json) wrote.
    ///
    /// # Errors
    ///
    /// [`Error::Catalog`] for text that is not such JSON, or of another
    /// format version.
    pub fn from_json(text: &str) -> Result<Catalog, Error> {
        let doc: CatalogDoc =
            serde_json::from_str(text).map_err(|e| Error::Catalog(e.to_string()))?;
        if doc.format != CATALOG_FORMAT {
            return Err(Error::Catalog(format!(
                "format {} (this fjord-config reads format {CATALOG_FORMAT})",
                doc.format
            )));
        }
        let mut catalog = Catalog::new();
        for ns in doc.namespaces {
            catalog.add(ns);
        }
        Ok(catalog)
    }
}

/// The JSON shape of a [`Catalog`].
#[derive(serde::Serialize, serde::Deserialize)]
struct CatalogDoc {
    format: u32,
    namespaces: Vec<Namespace>,
}
