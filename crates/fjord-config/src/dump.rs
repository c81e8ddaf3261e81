//! What fjord reads from files, in the conventions of the
//! `openstack-configs` corpus (`fjord-config dump`).
//!
//! [`dump`] reads a stack of files like repeated `--config-file` and reports
//! `sections` (as written, every value in file order), `normalized` (by
//! oslo's group names) and `resolved`: what a lookup returns when every key
//! is registered as a string option in its group: `value` (last value wins,
//! `$var` substituted) and `values` (the multi-valued view, oldest file
//! first). A `[DEFAULT]` key named like a group is shadowed by the group
//! (marked `{"error": {"class": "GroupAttr", ...}}`).

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;

use crate::conf::Registry;
use crate::conf::resolve::{CliValues, ResolveError, Resolver, file_values};
use crate::error::Error;
use crate::ini::{IniFile, IniSection};
use crate::opt::{Opt, OptGroup};

/// Section -> key -> every value.
pub type SectionsView = IndexMap<String, IndexMap<String, Vec<String>>>;

/// One failure, as the corpus writes Python exceptions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorInfo {
    /// The Python exception class, e.g. `NoSuchOptError`.
    pub class: String,
    /// Its message.
    pub message: String,
}

/// A resolved value, `null`, or `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Lookup {
    /// The value (`null` when the option reads as unset).
    Value(Option<String>),
    /// The lookup raised.
    Error {
        /// What was raised.
        error: ErrorInfo,
    },
}

/// `value` and `values` of one key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedKey {
    /// The single-valued lookup.
    pub value: Lookup,
    /// The multi-valued lookup, each value substituted.
    pub values: Vec<Lookup>,
}

/// Sections and normalized view of one file of a stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerFile {
    /// The file as named.
    pub file: String,
    /// Sections as written.
    pub sections: SectionsView,
    /// Sections by normalized group name.
    pub normalized: SectionsView,
}

/// A file that could not be read, with the line when there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DumpError {
    /// The Python exception class oslo.config raises for it.
    pub class: String,
    /// The message (oslo's text, naming the file).
    pub message: String,
    /// The file.
    pub file: String,
    /// 1-based line, `null` when not about a line.
    pub line: Option<usize>,
}

/// The dump of a stack of files.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Dump {
    /// Every file was read.
    Ok {
        /// Always `true`.
        ok: bool,
        /// Sections as written, merged over the stack.
        sections: SectionsView,
        /// Normalized sections, merged over the stack.
        normalized: SectionsView,
        /// Lookups by normalized group and key.
        resolved: IndexMap<String, IndexMap<String, ResolvedKey>>,
        /// Each file's own view, when more than one file was read.
        #[serde(skip_serializing_if = "Option::is_none")]
        per_file: Option<Vec<PerFile>>,
    },
    /// A file could not be read.
    Failed {
        /// Always `false`.
        ok: bool,
        /// What failed.
        error: DumpError,
    },
}

impl Dump {
    /// Whether every file was read.
    pub fn is_ok(&self) -> bool {
        matches!(self, Dump::Ok { .. })
    }

    /// Pretty JSON, keys in file order.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"ok\": false, \"error\": {{\"message\": \"cannot serialize: {e}\"}}}}")
        })
    }
}

fn view(map: &IndexMap<String, IniSection>) -> SectionsView {
    map.iter()
        .map(|(s, keys)| {
            (
                s.clone(),
                keys.iter()
                    .map(|(k, vs)| (k.clone(), vs.iter().map(|v| v.text.clone()).collect()))
                    .collect(),
            )
        })
        .collect()
}

fn merge(into: &mut SectionsView, from: SectionsView) {
    for (s, keys) in from {
        let section = into.entry(s).or_default();
        for (k, mut vs) in keys {
            section.entry(k).or_default().append(&mut vs);
        }
    }
}

fn error_lookup(e: &ResolveError) -> Lookup {
    Lookup::Error {
        error: ErrorInfo {
            class: e.class().to_owned(),
            message: e.message(),
        },
    }
}

/// Dumps already parsed files (oldest first).
pub fn dump_files(files: &[IniFile]) -> Dump {
    let mut sections = SectionsView::new();
    let mut normalized = SectionsView::new();
    let mut registry = Registry::default();
    // Every key is a string option in its group (first spelling of a dest wins).
    let mut keys: IndexMap<String, Vec<String>> = IndexMap::new();
    for file in files {
        merge(&mut sections, view(file.sections()));
        merge(&mut normalized, view(file.normalized()));
        for (group, section) in file.normalized() {
            let entry = keys.entry(group.clone()).or_default();
            for key in section.keys() {
                if !entry.contains(key) {
                    entry.push(key.clone());
                }
            }
        }
    }
    for (group, ks) in &keys {
        let mut seen = std::collections::HashSet::new();
        let opts: Vec<Opt> = ks
            .iter()
            .map(|k| Opt::str(k))
            .filter(|o| seen.insert(o.dest_name().to_owned()))
            .collect();
        // Cannot fail: plain string options without defaults, unique dests.
        let _ = registry.register(OptGroup::new(group), &opts);
    }
    let env = HashMap::new();
    let cli = CliValues::new();
    let resolver = Resolver::new(&registry, files, &env, &cli);
    let mut resolved = IndexMap::new();
    for (group, ks) in &keys {
        let mut out = IndexMap::new();
        for key in ks {
            let dest = key.replace('-', "_");
            let value = if group == "DEFAULT" && registry.has_group(&dest) {
                Lookup::Error {
                    error: ErrorInfo {
                        class: "GroupAttr".to_owned(),
                        message: format!("conf.{dest} returns the [{dest}] group, not this option"),
                    },
                }
            } else {
                match resolver.resolve(group, &dest) {
                    Ok(r) => Lookup::Value(r.value.map(|v| v.to_conf_string())),
                    Err(e) => error_lookup(&e),
                }
            };
            let names = vec![(group.clone(), dest.clone())];
            let values = file_values(files, &names, true)
                .map(|hit| {
                    hit.texts
                        .iter()
                        .map(|(t, _)| match resolver.substitute(group, t) {
                            Ok(s) => Lookup::Value(Some(s)),
                            Err(e) => error_lookup(&e),
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.insert(key.clone(), ResolvedKey { value, values });
        }
        resolved.insert(group.clone(), out);
    }
    let per_file = (files.len() > 1).then(|| {
        files
            .iter()
            .map(|f| PerFile {
                file: f.path().to_owned(),
                sections: view(f.sections()),
                normalized: view(f.normalized()),
            })
            .collect()
    });
    Dump::Ok {
        ok: true,
        sections,
        normalized,
        resolved,
        per_file,
    }
}

/// Reads `paths` (oldest first) and dumps them; a file that cannot be read
/// gives [`Dump::Failed`].
pub fn dump(paths: &[&Path]) -> Dump {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        match IniFile::read(path) {
            Ok(f) => files.push(f),
            Err(e) => return failed(&Error::Parse(e), &path.display().to_string()),
        }
    }
    dump_files(&files)
}

/// The failed dump for a load error.
pub fn failed(error: &Error, file: &str) -> Dump {
    let (class, file, line) = match error {
        Error::Parse(p) => (p.python_class(), p.file().to_owned(), p.line()),
        Error::ConfigDir { path, .. } => ("ConfigDirNotFoundError", path.clone(), None),
        _ => ("Error", file.to_owned(), None),
    };
    Dump::Failed {
        ok: false,
        error: DumpError {
            class: class.to_owned(),
            message: error.to_string(),
            file,
            line,
        },
    }
}
