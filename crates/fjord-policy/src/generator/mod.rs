//! oslo.policy's generators: `oslopolicy-sample-generator` (every
//! registered default, commented, with its documentation) and
//! `oslopolicy-policy-generator` (the effective rules), byte for byte.

mod textwrap;

use crate::PolicyCatalog;
use crate::default::RuleDefault;
use crate::enforcer::Enforcer;
use crate::error::PolicyError;
use crate::notice::{Notice, NoticeKind};

/// How a sample is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SampleOptions {
    /// Descriptions, operations and scopes as comments, every rule
    /// commented out (`include_help`). Default: true.
    pub include_help: bool,
    /// Leave out the deprecation notes (`--exclude-deprecated`).
    /// Default: false.
    pub exclude_deprecated: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            include_help: true,
            exclude_deprecated: false,
        }
    }
}

/// A generated text and the warnings oslo.policy would have emitted while
/// generating it (a description with a literal block right after a
/// paragraph: `FutureWarning`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generated {
    /// The YAML text.
    pub text: String,
    /// The warnings, in order.
    pub warnings: Vec<Notice>,
}

/// `_format_help_text`: a description as `# ` comment lines, paragraphs
/// wrapped at 70 columns, indented lines (literal blocks) kept as they are.
fn help_text(description: Option<&str>, warnings: &mut Vec<Notice>) -> String {
    let Some(description) = description.filter(|d| !d.is_empty()) else {
        return "#".to_owned();
    };
    let mut out: Vec<String> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let wrap = |p: &[&str]| textwrap::wrap(&p.join(" "), 70, "# ");
    for line in py_strip(description).lines() {
        if line.trim().is_empty() {
            out.extend(wrap(&paragraph));
            out.push("#".into());
            paragraph.clear();
        } else if line.len() == line.trim_start().len() {
            paragraph.push(line.trim_end());
        } else {
            if !paragraph.is_empty() {
                warnings.push(Notice::new(
                    NoticeKind::FutureWarning,
                    format!(
                        "Invalid policy description: literal blocks must be preceded by a new \
                         line. This will raise an exception in a future version of \
                         oslo.policy:\n{description}"
                    ),
                ));
                out.extend(wrap(&paragraph));
                out.push("#".into());
                paragraph.clear();
            }
            out.push(format!("# {}", line.trim_end()));
        }
    }
    if !paragraph.is_empty() {
        out.extend(wrap(&paragraph));
    }
    out.join("\n")
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// `_format_rule_default_yaml(default, include_help, comment_rule=True,
/// add_deprecated_rules=not exclude_deprecated)`: one rule's text.
///
/// # Examples
///
/// ```
/// use fjord_policy::{RuleDefault, SampleOptions, format_rule_default};
///
/// let rule = RuleDefault::new("context_is_admin", "role:admin").with_description("Admins.");
/// assert_eq!(format_rule_default(&rule, SampleOptions::default()).text,
///            "# Admins.\n#\"context_is_admin\": \"role:admin\"\n\n");
/// ```
pub fn format_rule_default(default: &RuleDefault, options: SampleOptions) -> Generated {
    let mut warnings = Vec::new();
    let text = format_rule(default, options, &mut warnings);
    Generated { text, warnings }
}

fn format_rule(
    default: &RuleDefault,
    options: SampleOptions,
    warnings: &mut Vec<Notice>,
) -> String {
    let mut text = format!("\"{}\": \"{}\"\n", default.name(), default.check_str());
    if options.include_help {
        let mut op = String::new();
        for o in default.operations().unwrap_or_default() {
            if !o.method.is_empty() && !o.path.is_empty() {
                op.push_str(&format!("# {}  {}\n", o.method, o.path));
            }
        }
        let scope = match default.scope_types() {
            Some(s) => format!("# Intended scope(s): {}\n", s.join(", ")),
            None => String::new(),
        };
        text = format!("{op}{scope}#{text}\n");
        if default.description().is_some_and(|d| !d.is_empty()) {
            text = format!("{}\n{text}", help_text(default.description(), warnings));
        }
    }
    let add_deprecated = !options.exclude_deprecated;
    if add_deprecated && default.is_deprecated_for_removal() {
        text = format!(
            "# DEPRECATED\n# \"{}\" has been deprecated since {}.\n{}\n{text}",
            default.name(),
            default.deprecated_since().unwrap_or("None"),
            help_text(default.deprecated_reason(), warnings),
        );
    } else if add_deprecated && let Some(old) = default.deprecated_rule() {
        let pick = |a: Option<&str>, b: Option<&str>| -> Option<String> {
            a.filter(|s| !s.is_empty()).or(b).map(str::to_owned)
        };
        let reason = pick(old.deprecated_reason(), default.deprecated_reason());
        let since = pick(old.deprecated_since(), default.deprecated_since())
            .unwrap_or_else(|| "None".into());
        let deprecated_text = format!(
            "\"{}\":\"{}\" has been deprecated since {since} in favor of \"{}\":\"{}\".",
            old.name(),
            old.check_str(),
            default.name(),
            default.check_str()
        );
        text.push_str(&format!(
            "# DEPRECATED\n{}\n{}\n",
            help_text(Some(&deprecated_text), warnings),
            help_text(reason.as_deref(), warnings),
        ));
        if default.name() != old.name() {
            text.push_str(
                "# WARNING: A rule name change has been identified.\n\
                 #          This may be an artifact of new rules being\n\
                 #          included which require legacy fallback\n\
                 #          rules to ensure proper policy behavior.\n\
                 #          Alternatively, this may just be an alias.\n\
                 #          Please evaluate on a case by case basis\n\
                 #          keeping in mind the format for aliased\n\
                 #          rules is:\n\
                 #          \"old_rule_name\": \"new_rule_name\".\n",
            );
            text.push_str(&format!(
                "# \"{}\": \"rule:{}\"\n",
                old.name(),
                default.name()
            ));
        }
        text.push('\n');
    }
    text
}

/// `oslopolicy-sample-generator`: the rules of every namespace of
/// `catalog`, namespaces sorted by name, rules in registration order.
///
/// # Examples
///
/// ```
/// use fjord_policy::{Operation, PolicyCatalog, RuleDefault, SampleOptions, generate_sample};
///
/// let catalog = PolicyCatalog::new().with("demo", vec![
///     RuleDefault::documented("demo:services:list", "role:admin", "List the services.",
///                             vec![Operation::new("GET", "/v1/services")])
///         .with_scope_types(&["project"]),
/// ]);
/// assert_eq!(generate_sample(&catalog, SampleOptions::default()).text,
///            "# List the services.\n# GET  /v1/services\n# Intended scope(s): project\n\
///             #\"demo:services:list\": \"role:admin\"\n\n");
/// ```
pub fn generate_sample(catalog: &PolicyCatalog, options: SampleOptions) -> Generated {
    let mut names: Vec<&str> = catalog.names().collect();
    names.sort_unstable();
    let mut warnings = Vec::new();
    let mut text = String::new();
    for name in names {
        for default in catalog.get(name).unwrap_or_default() {
            text.push_str(&format_rule(default, options, &mut warnings));
        }
    }
    Generated { text, warnings }
}

/// `oslopolicy-policy-generator`: the effective policy of `enforcer` as
/// uncommented YAML, the rules read from files first (in file order, their
/// text as written), then the registered defaults they do not override.
///
/// # Errors
///
/// What loading the policy files fails with ([`Enforcer::load_rules`]).
pub fn generate_policy(
    enforcer: &Enforcer,
    exclude_deprecated: bool,
) -> Result<String, PolicyError> {
    enforcer.load_rules()?;
    let file_rules = enforcer.file_rule_texts();
    let mut out = String::new();
    let options = SampleOptions {
        include_help: false,
        exclude_deprecated,
    };
    let mut ignored = Vec::new();
    for (name, text) in &file_rules {
        out.push_str(&format_rule(
            &RuleDefault::new(name, text),
            options,
            &mut ignored,
        ));
    }
    for default in enforcer.registered() {
        if !file_rules.iter().any(|(n, _)| n == default.name()) {
            let plain = RuleDefault::new(default.name(), default.check_str());
            out.push_str(&format_rule(&plain, options, &mut ignored));
        }
    }
    Ok(out)
}
