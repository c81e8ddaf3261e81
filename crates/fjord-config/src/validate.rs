//! Checking config files against registered options
//! (`fjord-config validate`, like oslo-config-validator).

use std::collections::HashMap;
use std::fmt;

use crate::conf::ConfigOpts;
use crate::conf::resolve::{CliValues, Resolver, lookup_names};
use crate::ini::IniFile;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Severity {
    /// Something is wrong (unknown option, bad value, missing required option).
    Error,
    /// Worth fixing (a deprecated name).
    Warning,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// No registered option reads this key.
    UnknownOption,
    /// The value does not fit the option (or cannot be substituted).
    BadValue,
    /// The key is a deprecated name of an option.
    DeprecatedName,
    /// A required option has no value in the files.
    MissingRequired,
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: FindingKind,
    /// The file (empty for missing required options).
    pub file: String,
    /// 1-based line, when about a line.
    pub line: Option<usize>,
    /// The section as written (or the group).
    pub section: String,
    /// The key.
    pub option: String,
    /// A sentence describing it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        };
        match self.line {
            Some(line) => write!(f, "{}:{line}: {sev}: {}", self.file, self.message),
            None => write!(f, "{sev}: {}", self.message),
        }
    }
}

/// Checks every key of `files` (oldest first) against the options
/// registered in `conf`: unknown keys, values that do not parse (after
/// `$var` substitution), deprecated names, and required options with no
/// value. Findings are in file and line order.
pub fn validate(conf: &ConfigOpts, files: &[IniFile]) -> Vec<Finding> {
    let registry = conf.registry();
    let mut by_name: HashMap<(String, String), (String, &crate::Opt, bool)> = HashMap::new();
    for (group, opt) in registry.iter() {
        for (i, name) in lookup_names(group.name(), opt).into_iter().enumerate() {
            by_name
                .entry(name)
                .or_insert((group.name().to_owned(), opt, i > 0));
        }
    }
    let env = HashMap::new();
    let cli = CliValues::new();
    let resolver = Resolver::new(registry, files, &env, &cli);
    let mut findings = Vec::new();
    for file in files {
        for (group, keys) in file.normalized() {
            for (key, values) in keys {
                for v in values {
                    let base = |severity, kind, message: String| Finding {
                        severity,
                        kind,
                        file: file.path().to_owned(),
                        line: Some(v.line),
                        section: v.section.clone(),
                        option: key.clone(),
                        message,
                    };
                    let Some((opt_group, opt, deprecated)) =
                        by_name.get(&(group.clone(), key.clone()))
                    else {
                        findings.push(base(
                            Severity::Error,
                            FindingKind::UnknownOption,
                            format!("[{}] {key}: unknown option", v.section),
                        ));
                        continue;
                    };
                    if *deprecated {
                        findings.push(base(
                            Severity::Warning,
                            FindingKind::DeprecatedName,
                            format!(
                                "[{}] {key} is deprecated, use [{opt_group}] {}",
                                v.section, opt.name
                            ),
                        ));
                    }
                    let checked = resolver
                        .substitute(opt_group, &v.text)
                        .map_err(|e| e.message())
                        .and_then(|text| opt.parse_value(&text));
                    if let Err(reason) = checked {
                        let reason = if opt.is_secret() {
                            crate::conf::resolve::scrub(&reason, &[&v.text])
                        } else {
                            reason
                        };
                        let shown = if opt.is_secret() {
                            "'****'".to_owned()
                        } else {
                            crate::ini::py_repr(&v.text)
                        };
                        findings.push(base(
                            Severity::Error,
                            FindingKind::BadValue,
                            format!(
                                "[{}] {key} = {shown}: expected {}: {reason}",
                                v.section,
                                opt.expected()
                            ),
                        ));
                    }
                }
            }
        }
    }
    for (group, opt) in registry.iter() {
        if opt.is_required()
            && opt.default_value().is_none()
            && resolver.raw_texts(group.name(), opt).is_none()
        {
            findings.push(Finding {
                severity: Severity::Error,
                kind: FindingKind::MissingRequired,
                file: String::new(),
                line: None,
                section: group.name().to_owned(),
                option: opt.name().to_owned(),
                message: format!(
                    "required option [{}] {} has no value",
                    group.name(),
                    opt.name()
                ),
            });
        }
    }
    findings
}
