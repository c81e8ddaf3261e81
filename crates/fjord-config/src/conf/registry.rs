//! The option registry: groups of options keyed by dest.

use indexmap::IndexMap;

use crate::error::Error;
use crate::opt::{DefaultSpec, Opt, OptGroup};

#[derive(Debug, Clone)]
pub(crate) struct GroupEntry {
    pub(crate) group: OptGroup,
    pub(crate) opts: IndexMap<String, Opt>,
}

/// Registered groups (`DEFAULT` included) in registration order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    pub(crate) groups: IndexMap<String, GroupEntry>,
}

impl Registry {
    pub(crate) fn register(&mut self, group: OptGroup, opts: &[Opt]) -> Result<(), Error> {
        // Check everything first so a failed registration changes nothing.
        let mut checked = Vec::with_capacity(opts.len());
        for opt in opts {
            let mut opt = opt.clone();
            if let DefaultSpec::Value(v) = &opt.default {
                // String defaults of string-like options may hold `$refs`:
                // they are checked after substitution, at load.
                let deferred = matches!(v, crate::Value::Str(s) if s.contains('$'));
                if !deferred {
                    let v = opt.check_value(v).map_err(|reason| Error::InvalidDefault {
                        group: group.name.clone(),
                        option: opt.name.clone(),
                        reason,
                    })?;
                    opt.default = DefaultSpec::Value(v);
                }
            }
            if let Some(existing) = self.find(&group.name, &opt.dest)
                && *existing != opt
            {
                return Err(Error::DuplicateOpt {
                    group: group.name.clone(),
                    option: opt.name.clone(),
                });
            }
            checked.push(opt);
        }
        let entry = self
            .groups
            .entry(group.name.clone())
            .or_insert_with(|| GroupEntry {
                group: group.clone(),
                opts: IndexMap::new(),
            });
        if entry.group.title.is_none() && entry.group.help.is_none() {
            entry.group.title = group.title;
            entry.group.help = group.help;
        }
        for opt in checked {
            entry.opts.insert(opt.dest.clone(), opt);
        }
        Ok(())
    }

    pub(crate) fn find(&self, group: &str, dest: &str) -> Option<&Opt> {
        self.groups.get(group)?.opts.get(dest)
    }

    /// Finds by name or dest (getters accept either spelling).
    pub(crate) fn find_by_name(&self, group: &str, name: &str) -> Option<&Opt> {
        let g = self.groups.get(&crate::ini::normalize_group_name(group))?;
        g.opts
            .get(name)
            .or_else(|| g.opts.get(&name.replace('-', "_")))
    }

    /// Whether `name` is a registered group other than `DEFAULT` (oslo's
    /// `conf._groups`).
    pub(crate) fn has_group(&self, name: &str) -> bool {
        name != "DEFAULT" && self.groups.contains_key(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OptGroup, &Opt)> {
        self.groups
            .values()
            .flat_map(|g| g.opts.values().map(move |o| (&g.group, o)))
    }
}
