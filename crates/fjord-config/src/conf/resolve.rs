//! Resolving option values: source precedence, `$var` substitution with
//! oslo's lookup rules, type conversion.

use std::cell::RefCell;
use std::collections::HashMap;

use super::registry::Registry;
use super::source::{Location, env_var_name};
use crate::error::Error;
use crate::ini::IniFile;
use crate::opt::{DefaultSpec, Opt};
use crate::template::{Lookup, substitute};
use crate::value::Value;

/// Command-line values by (group, dest): each value with its flag.
pub(crate) type CliValues = HashMap<(String, String), Vec<(String, String)>>;

/// A resolved option value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) value: Option<Value>,
    pub(crate) location: Location,
    /// `(group, name)` when the value was read under a deprecated name.
    pub(crate) deprecated: Option<(String, String)>,
}

/// Why a lookup failed, as oslo raises it (propagates unchanged through
/// nested substitutions, like a Python exception).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResolveError {
    NoSuchOpt { group: String, name: String },
    Recursion,
    GroupAttr(String),
    Other(Box<Error>),
}

impl ResolveError {
    pub(crate) fn class(&self) -> &'static str {
        match self {
            ResolveError::NoSuchOpt { .. } => "NoSuchOptError",
            ResolveError::Recursion => "RecursionError",
            ResolveError::GroupAttr(_) => "TemplateSubstitutionError",
            ResolveError::Other(_) => "ConfigFileValueError",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            ResolveError::NoSuchOpt { group, name } => {
                format!("no such option {name} in group [{group}]")
            }
            ResolveError::Recursion => "maximum recursion depth exceeded".to_owned(),
            ResolveError::GroupAttr(key) => {
                format!("template substitution error: substituting group {key} not supported")
            }
            ResolveError::Other(e) => e.to_string(),
        }
    }

    /// Attaches the option whose value failed, for the caller.
    pub(crate) fn into_error(self, group: &str, option: &str, location: &Location) -> Error {
        match self {
            ResolveError::Other(e) => *e,
            other => Error::Substitution(Box::new(crate::error::Substitution {
                group: group.to_owned(),
                option: option.to_owned(),
                location: location.clone(),
                class: other.class(),
                message: other.message(),
            })),
        }
    }
}

/// Values found in the files for one option.
#[derive(Debug, Clone)]
pub(crate) struct FileHit {
    pub(crate) texts: Vec<(String, Location)>,
    pub(crate) deprecated: Option<(String, String)>,
}

fn location_of(file: &IniFile, v: &crate::ini::IniValue) -> Location {
    Location::File {
        path: file.path().to_owned(),
        line: v.line,
        section: v.section.clone(),
    }
}

/// oslo's `_get_file_value`: newest file first; single-valued options take
/// the last value of the newest file that has one, multi-valued ones every
/// value, oldest file first.
pub(crate) fn file_values(
    files: &[IniFile],
    names: &[(String, String)],
    multi: bool,
) -> Option<FileHit> {
    let mut acc: Vec<(String, Location)> = Vec::new();
    let mut deprecated = None;
    for file in files.iter().rev() {
        for (i, (group, name)) in names.iter().enumerate() {
            let Some(values) = file.normalized().get(group).and_then(|s| s.get(name)) else {
                continue;
            };
            if values.is_empty() {
                continue;
            }
            if i > 0 && deprecated.is_none() {
                deprecated = Some((group.clone(), name.clone()));
            }
            let texts: Vec<(String, Location)> = values
                .iter()
                .map(|v| (v.text.clone(), location_of(file, v)))
                .collect();
            if !multi {
                let last = texts.last().cloned().into_iter().collect();
                return Some(FileHit {
                    texts: last,
                    deprecated,
                });
            }
            let mut merged = texts;
            merged.append(&mut acc);
            acc = merged;
        }
    }
    if acc.is_empty() {
        None
    } else {
        Some(FileHit {
            texts: acc,
            deprecated,
        })
    }
}

/// The names an option is looked up under in files: its own, then old ones.
pub(crate) fn lookup_names(group: &str, opt: &Opt) -> Vec<(String, String)> {
    let mut names = vec![(group.to_owned(), opt.dest.clone())];
    for d in &opt.deprecated {
        let g = d.group.clone().unwrap_or_else(|| group.to_owned());
        let n = d
            .name
            .as_ref()
            .map_or_else(|| opt.dest.clone(), |n| n.replace('-', "_"));
        names.push((g, n));
    }
    names
}

/// Resolves options against one set of sources, with a cache and
/// recursion detection.
pub(crate) struct Resolver<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) files: &'a [IniFile],
    pub(crate) env: &'a HashMap<String, String>,
    pub(crate) cli: &'a CliValues,
    cache: RefCell<HashMap<(String, String), Resolved>>,
    stack: RefCell<Vec<(String, String)>>,
}

impl std::fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

/// Deeper than this, a chain of references is reported as recursion too.
const MAX_DEPTH: usize = 200;

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        registry: &'a Registry,
        files: &'a [IniFile],
        env: &'a HashMap<String, String>,
        cli: &'a CliValues,
    ) -> Self {
        Resolver {
            registry,
            files,
            env,
            cli,
            cache: RefCell::new(HashMap::new()),
            stack: RefCell::new(Vec::new()),
        }
    }

    /// The value of option `dest` in `group` (normalized names).
    pub(crate) fn resolve(&self, group: &str, dest: &str) -> Result<Resolved, ResolveError> {
        let key = (group.to_owned(), dest.to_owned());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let Some(opt) = self.registry.find(group, dest) else {
            return Err(ResolveError::NoSuchOpt {
                group: group.to_owned(),
                name: dest.to_owned(),
            });
        };
        {
            let mut stack = self.stack.borrow_mut();
            if stack.contains(&key) || stack.len() >= MAX_DEPTH {
                return Err(ResolveError::Recursion);
            }
            stack.push(key.clone());
        }
        let result = self.compute(group, opt);
        self.stack.borrow_mut().pop();
        let resolved = result?;
        self.cache.borrow_mut().insert(key, resolved.clone());
        Ok(resolved)
    }

    /// The raw texts for `opt` by precedence: CLI > environment > files.
    pub(crate) fn raw_texts(&self, group: &str, opt: &Opt) -> Option<FileHit> {
        if let Some(values) = self.cli.get(&(group.to_owned(), opt.dest.clone()))
            && !values.is_empty()
        {
            let texts: Vec<(String, Location)> = values
                .iter()
                .map(|(v, flag)| (v.clone(), Location::Cli { flag: flag.clone() }))
                .collect();
            let texts = if opt.multi {
                texts
            } else {
                texts.last().cloned().into_iter().collect()
            };
            return Some(FileHit {
                texts,
                deprecated: None,
            });
        }
        let var = env_var_name(group, &opt.dest);
        if let Some(v) = self.env.get(&var) {
            return Some(FileHit {
                texts: vec![(v.clone(), Location::Env { var })],
                deprecated: None,
            });
        }
        file_values(self.files, &lookup_names(group, opt), opt.multi)
    }

    fn convert(
        &self,
        group: &str,
        opt: &Opt,
        text: &str,
        loc: &Location,
    ) -> Result<Value, ResolveError> {
        let substituted = self.substitute(group, text)?;
        opt.parse_value(&substituted).map_err(|reason| {
            let reason = if opt.secret {
                scrub(&reason, &[text, &substituted])
            } else {
                reason
            };
            ResolveError::Other(Box::new(Error::BadValue(Box::new(
                crate::error::BadValue {
                    group: group.to_owned(),
                    option: opt.name.clone(),
                    location: loc.clone(),
                    value: if opt.secret {
                        "'****'".to_owned()
                    } else {
                        crate::ini::py_repr(text)
                    },
                    expected: opt.expected(),
                    reason,
                },
            ))))
        })
    }

    fn compute(&self, group: &str, opt: &Opt) -> Result<Resolved, ResolveError> {
        if let Some(hit) = self.raw_texts(group, opt) {
            let location = hit.texts.last().map_or(Location::Unset, |(_, l)| l.clone());
            let value = if opt.multi {
                let mut items = Vec::with_capacity(hit.texts.len());
                for (text, loc) in &hit.texts {
                    items.push(self.convert(group, opt, text, loc)?);
                }
                Value::List(items)
            } else {
                let (text, loc) = &hit.texts[hit.texts.len() - 1];
                self.convert(group, opt, text, loc)?
            };
            return Ok(Resolved {
                value: Some(value),
                location,
                deprecated: hit.deprecated,
            });
        }
        let value = match &opt.default {
            DefaultSpec::None => None,
            DefaultSpec::Value(Value::Str(s)) => {
                let substituted = self.substitute(group, s)?;
                Some(
                    opt.check_value(&Value::Str(substituted))
                        .map_err(|reason| {
                            ResolveError::Other(Box::new(Error::InvalidDefault {
                                group: group.to_owned(),
                                option: opt.name.clone(),
                                reason,
                            }))
                        })?,
                )
            }
            DefaultSpec::Value(v) => Some(v.clone()),
        };
        Ok(Resolved {
            location: if value.is_some() {
                Location::Default
            } else {
                Location::Unset
            },
            value,
            deprecated: None,
        })
    }

    /// oslo's `StrSubWrapper.__getitem__` without the fallback.
    fn get_for_template(&self, group: &str, name: &str) -> Result<Option<Value>, ResolveError> {
        if group == "DEFAULT" && self.registry.has_group(name) {
            return Err(ResolveError::GroupAttr(name.to_owned()));
        }
        self.resolve(group, name).map(|r| r.value)
    }

    /// Substitutes `$refs` in `text`, a value of an option in `group`.
    pub(crate) fn substitute(&self, group: &str, text: &str) -> Result<String, ResolveError> {
        substitute(text, |key| {
            let first = match key.split_once('.') {
                Some((g, name)) => {
                    if !self.registry.has_group(g) {
                        // oslo's NoSuchGroupError is a KeyError: kept as written.
                        return Lookup::Keep;
                    }
                    self.get_for_template(g, name)
                }
                None => self.get_for_template(group, key),
            };
            let result = match first {
                Err(ResolveError::NoSuchOpt { .. }) => self.get_for_template("DEFAULT", key),
                other => other,
            };
            match result {
                Ok(v) => Lookup::Value(v.map(|v| v.py_str()).unwrap_or_default()),
                Err(e) => Lookup::Fail(e),
            }
        })
    }
}

/// `reason` with every non-empty secret in `secrets` replaced by `****`.
pub(crate) fn scrub(reason: &str, secrets: &[&str]) -> String {
    let mut out = reason.to_owned();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s, "****");
        }
    }
    out
}
