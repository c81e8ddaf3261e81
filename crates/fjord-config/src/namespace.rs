//! Namespaces: named lists of option groups, for the sample generator and
//! `fjord-config validate` (oslo's `oslo.config.opts` entry points).

use indexmap::IndexMap;

use crate::opt::{Opt, OptGroup};

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
#[derive(Debug, Clone, PartialEq)]
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
}
