//! Evaluating rules against a target and credentials (oslo.policy's
//! `Enforcer`): registered defaults, policy files and directories reloaded
//! when they change, deprecated rules, scope types.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::check::Check;
use crate::default::RuleDefault;
use crate::error::PolicyError;
use crate::file::parse_with_text;
use crate::notice::{Notice, NoticeKind};
use crate::options::PolicyOptions;
use crate::python::format::{FormatError, percent_format};
use crate::python::literal::literal_eval;
use crate::python::value::{PyValue, truthy, type_name};
use crate::rules::{Rules, RulesReport};

/// How many `rule:` references may nest before evaluation gives up the
/// way Python does when it reaches its recursion limit (a reference
/// cycle): with `TypeError: unsupported callable`.
pub const MAX_RULE_DEPTH: usize = 128;

/// How deep evaluation may go in all (`not`, `and`, `or` and `rule:`
/// levels together) before it stops with `TypeError: maximum recursion
/// depth exceeded`, as Python stops at its recursion limit (there as a
/// `RecursionError`): evaluation stays within a small thread stack.
const MAX_NESTING: usize = 1000;

/// Loads and enforces rules, as oslo.policy 6's `Enforcer`.
///
/// Two ways to make one:
///
/// * [`Enforcer::new`] with fixed [`Rules`] (oslo's `use_conf=False` with
///   `set_rules`): nothing is read from disk.
/// * [`Enforcer::from_options`] / [`Enforcer::from_conf`]: the rules are
///   the registered defaults ([`Enforcer::register_default`]) overridden by
///   the `policy_file` and then by each file of each `policy_dirs`
///   directory (sorted by name, hidden files skipped). They are loaded on
///   the first `enforce` and re-read whenever a file's or directory's
///   modification time moves forward, as oslo.policy does on every
///   `enforce`; [`Enforcer::reload`] forces it.
///
/// `enforce` takes `&self`: one enforcer serves every request of a
/// process. Loading happens under a lock; evaluation works on a snapshot
/// of the rules, outside it. Like oslo.policy, every call looks at the
/// files' modification times (a `stat` of the policy file and a listing
/// of each policy directory: blocking, but microseconds on a local disk).
///
/// # Examples
///
/// ```
/// use fjord_policy::{Enforcer, Operation, PolicyError, PolicyOptions, RuleDefault};
/// use serde_json::json;
///
/// let dir = std::env::temp_dir().join(format!("fjord-policy-enforcer-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("policy.yaml"), "\"widget:delete\": \"role:admin or role:janitor\"\n").unwrap();
///
/// let mut opts = PolicyOptions::default();
/// opts.search_dirs.push(dir.clone());
/// let mut enforcer = Enforcer::from_options(opts);
/// enforcer.register_defaults([
///     RuleDefault::documented("widget:delete", "role:admin", "Delete a widget.",
///                             vec![Operation::new("DELETE", "/widgets/{id}")])
///         .with_scope_types(&["project"]),
/// ])?;
///
/// let janitor = json!({"roles": ["janitor"], "project_id": "p1"});
/// assert!(enforcer.enforce("widget:delete", &json!({}), &janitor)?);
/// enforcer.authorize("widget:delete", &json!({}), &janitor)?;
/// let err = enforcer.authorize("widget:list", &json!({}), &janitor).unwrap_err();
/// assert_eq!(err.to_string(), "Policy widget:list has not been registered");
///
/// // A system-scoped token is refused by a project-scoped rule.
/// let system = json!({"roles": ["admin"], "system_scope": "all"});
/// assert!(matches!(enforcer.require("widget:delete", &json!({}), &system),
///                  Err(PolicyError::InvalidScope { .. })));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), PolicyError>(())
/// ```
#[derive(Debug)]
pub struct Enforcer {
    options: PolicyOptions,
    registered: IndexMap<String, RuleDefault>,
    state: Mutex<State>,
    captured: Mutex<Option<Vec<Notice>>>,
    warned: Mutex<HashSet<String>>,
}

#[derive(Debug)]
struct State {
    use_conf: bool,
    rules: Arc<Rules>,
    /// The rules read from files, by name, with their text (`file_rules`).
    file_rules: IndexMap<String, (String, Check)>,
    policy_path: Option<PathBuf>,
    /// File path -> (modification time, text) (`_file_cache`).
    file_cache: HashMap<PathBuf, (SystemTime, String)>,
    /// Directory path -> newest modification time seen (`_policy_dir_mtimes`).
    dir_mtimes: HashMap<PathBuf, SystemTime>,
    need_check_rule: bool,
}

impl Default for Enforcer {
    fn default() -> Self {
        Enforcer::new(Rules::new())
    }
}

impl Enforcer {
    /// An enforcer over fixed `rules`: no files, no registered defaults
    /// are loaded (oslo's `Enforcer(conf, use_conf=False)` + `set_rules`).
    pub fn new(rules: Rules) -> Self {
        let mut e = Enforcer::with_state(PolicyOptions::default(), false);
        e.set_rules(rules);
        e
    }

    /// An enforcer that loads the registered defaults and the policy files
    /// named by `options` (oslo's `Enforcer(conf)`).
    pub fn from_options(options: PolicyOptions) -> Self {
        Enforcer::with_state(options, true)
    }

    /// [`Enforcer::from_options`] with the `[oslo_policy]` options of
    /// `conf` (see [`PolicyOptions::from_conf`]; register them first with
    /// [`register_opts`](crate::register_opts)).
    ///
    /// # Errors
    ///
    /// As [`PolicyOptions::from_conf`].
    pub fn from_conf(conf: &fjord_config::ConfigOpts) -> Result<Self, PolicyError> {
        Ok(Enforcer::from_options(PolicyOptions::from_conf(conf)?))
    }

    fn with_state(options: PolicyOptions, use_conf: bool) -> Self {
        let mut rules = Rules::new();
        rules.set_default_rule(options.policy_default_rule.clone());
        Enforcer {
            options,
            registered: IndexMap::new(),
            state: Mutex::new(State {
                use_conf,
                rules: Arc::new(rules),
                file_rules: IndexMap::new(),
                policy_path: None,
                file_cache: HashMap::new(),
                dir_mtimes: HashMap::new(),
                need_check_rule: true,
            }),
            captured: Mutex::new(None),
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// The options this enforcer reads files by.
    pub fn options(&self) -> &PolicyOptions {
        &self.options
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The rules as loaded so far (empty until the first `enforce` or
    /// [`Enforcer::load_rules`] when files are used).
    pub fn rules(&self) -> Arc<Rules> {
        self.lock().rules.clone()
    }

    /// Replaces the rules and stops reading files (oslo's
    /// `set_rules(rules, overwrite=True, use_conf=False)`).
    pub fn set_rules(&mut self, mut rules: Rules) {
        rules.set_default_rule(self.options.policy_default_rule.clone());
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        st.use_conf = false;
        st.need_check_rule = true;
        st.rules = Arc::new(rules);
    }

    /// oslo's `check_rules()` on the current rules; see
    /// [`Rules::check_rules`].
    pub fn check_rules(&self) -> RulesReport {
        self.lock().rules.check_rules()
    }

    /// Keeps every [`Notice`] from now on (they are logged either way) for
    /// [`Enforcer::take_notices`]; `false` stops keeping them.
    pub fn capture_notices(&self, on: bool) {
        let mut c = self.captured.lock().unwrap_or_else(PoisonError::into_inner);
        match (on, c.is_some()) {
            (true, false) => *c = Some(Vec::new()),
            (false, _) => *c = None,
            _ => {}
        }
    }

    /// The notices kept since the last call (see
    /// [`Enforcer::capture_notices`]).
    pub fn take_notices(&self) -> Vec<Notice> {
        self.captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn notice(&self, n: Notice) {
        // Python shows a given warning once (the default warnings filter);
        // log records every time.
        let first = !n.kind.is_python_warning()
            || self
                .warned
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(n.message.clone());
        if first {
            n.log();
        }
        if let Some(c) = self
            .captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            c.push(n);
        }
    }

    /// Registers a rule default (oslo's `register_default`): rules must be
    /// registered to be [`Enforcer::authorize`]d, to get their scope
    /// checked and to appear in samples.
    ///
    /// # Errors
    ///
    /// [`PolicyError::DuplicatePolicyError`] for a name registered before,
    /// and what [`RuleDefault::validate`] rejects. Its
    /// `DeprecationWarning`s become notices.
    pub fn register_default(&mut self, default: RuleDefault) -> Result<(), PolicyError> {
        for n in default.validate()? {
            self.notice(n);
        }
        if self.registered.contains_key(default.name()) {
            return Err(PolicyError::DuplicatePolicyError(default.name().to_owned()));
        }
        self.registered.insert(default.name().to_owned(), default);
        Ok(())
    }

    /// [`Enforcer::register_default`] for each, stopping at the first error.
    ///
    /// # Errors
    ///
    /// As [`Enforcer::register_default`].
    pub fn register_defaults(
        &mut self,
        defaults: impl IntoIterator<Item = RuleDefault>,
    ) -> Result<(), PolicyError> {
        for d in defaults {
            self.register_default(d)?;
        }
        Ok(())
    }

    /// The rules read from the policy files as loaded so far, in file
    /// order, with their text as written (Python's `str()` of the value:
    /// `None` for an empty one).
    pub fn file_rule_texts(&self) -> Vec<(String, String)> {
        self.lock()
            .file_rules
            .iter()
            .map(|(n, (t, _))| (n.clone(), t.clone()))
            .collect()
    }

    /// The registered defaults, in registration order.
    pub fn registered(&self) -> impl Iterator<Item = &RuleDefault> {
        self.registered.values()
    }

    /// Loads the rules if a file changed (what every `enforce` does
    /// first; oslo's `load_rules()`).
    ///
    /// # Errors
    ///
    /// A policy file that cannot be read or parsed
    /// ([`PolicyError::ValueError`] for bad YAML, [`PolicyError::TypeError`]
    /// for a boolean or number rule, [`PolicyError::AttributeError`] for a
    /// top level that is not a mapping, [`PolicyError::Io`]), or a
    /// `policy_dirs` entry that is not a directory
    /// ([`PolicyError::ValueError`]).
    pub fn load_rules(&self) -> Result<(), PolicyError> {
        let mut st = self.lock();
        self.load(&mut st, false)
    }

    /// Re-reads every policy file now, changed or not (oslo's
    /// `load_rules(force_reload=True)`); also turns file loading back on
    /// after [`Enforcer::set_rules`].
    ///
    /// # Errors
    ///
    /// As [`Enforcer::load_rules`].
    pub fn reload(&self) -> Result<(), PolicyError> {
        let mut st = self.lock();
        self.load(&mut st, true)
    }

    fn empty_rules(&self) -> Rules {
        let mut r = Rules::new();
        r.set_default_rule(self.options.policy_default_rule.clone());
        r
    }

    fn load(&self, st: &mut State, force: bool) -> Result<(), PolicyError> {
        if force {
            st.use_conf = true;
        }
        if !st.use_conf {
            return Ok(());
        }
        if st.policy_path.is_none() {
            st.policy_path = self.options.find_file(&self.options.policy_file);
        }
        let mut changed = false;
        if let Some(path) = st.policy_path.clone() {
            changed = self.load_file(st, &path, force, true)?;
        }
        let mut force_dirs = force || changed;
        let mut existing = Vec::new();
        for dir in &self.options.policy_dirs {
            let Some(abs) = self.options.find_file(dir) else {
                continue;
            };
            if directory_updated(&mut st.dir_mtimes, &abs)? {
                force_dirs = true;
            }
            existing.push(abs);
        }
        if force_dirs && !existing.is_empty() {
            match st.policy_path.clone() {
                Some(path) => {
                    if !changed {
                        self.load_file(st, &path, true, true)?;
                    }
                }
                None => {
                    st.rules = Arc::new(self.empty_rules());
                    st.file_rules.clear();
                }
            }
            for dir in &existing {
                for file in dir_files(dir)? {
                    self.load_file(st, &file, true, false)?;
                }
            }
        }
        for default in self.registered.values() {
            if default.is_deprecated_for_removal() && st.file_rules.contains_key(default.name()) {
                self.notice(Notice::new(
                    NoticeKind::UserWarning,
                    format!(
                        "Policy \"{}\":\"{}\" was deprecated for removal in {}. Reason: {}. \
                         Its value may be silently ignored in the future.",
                        default.name(),
                        default.check_str(),
                        py_opt(default.deprecated_since()),
                        py_opt(default.deprecated_reason()),
                    ),
                ));
            }
            if st.rules.contains(default.name()) {
                continue;
            }
            let check = if default.deprecated_rule().is_some() {
                self.deprecated_check(st, default)
            } else {
                default.check().clone()
            };
            Arc::make_mut(&mut st.rules).insert(default.name(), check);
        }
        if st.need_check_rule {
            for m in st.rules.check_rules().messages() {
                self.notice(Notice::new(NoticeKind::Warning, m));
            }
            st.need_check_rule = false;
        }
        Ok(())
    }

    /// `_load_policy_file`: whether the rules were (re)set from `path`.
    fn load_file(
        &self,
        st: &mut State,
        path: &Path,
        force: bool,
        overwrite: bool,
    ) -> Result<bool, PolicyError> {
        if force {
            st.file_cache.remove(path);
        }
        let (reloaded, data) = match std::fs::metadata(path).and_then(|m| m.modified()) {
            Err(e) => {
                self.notice(Notice::new(
                    NoticeKind::Error,
                    format!("Config file not found {}: {}", path.display(), strerror(&e)),
                ));
                (true, String::new())
            }
            Ok(mtime) => match st.file_cache.get(path) {
                Some((cached, data)) if mtime <= *cached => (false, data.clone()),
                _ => {
                    let data = std::fs::read_to_string(path).map_err(|e| PolicyError::Io {
                        path: path.display().to_string(),
                        message: strerror(&e),
                    })?;
                    st.file_cache
                        .insert(path.to_path_buf(), (mtime, data.clone()));
                    (true, data)
                }
            },
        };
        if !reloaded && !st.rules.is_empty() {
            return Ok(false);
        }
        let parsed = parse_with_text(&data)?;
        let mut rules = if overwrite {
            self.empty_rules()
        } else {
            (*st.rules).clone()
        };
        for (name, _, p) in &parsed {
            for e in &p.errors {
                self.notice(Notice::new(NoticeKind::Error, e.clone()));
            }
            rules.insert(name.clone(), p.check.clone());
        }
        st.rules = Arc::new(rules);
        st.need_check_rule = true;
        // _record_file_rules
        if overwrite {
            st.file_rules.clear();
        }
        let mut redundant = Vec::new();
        for (name, text, p) in parsed {
            if let Some(reg) = self.registered.get(&name)
                && reg.check().to_string() == p.check.to_string()
            {
                redundant.push(name.clone());
            }
            st.file_rules.insert(name, (text, p.check));
        }
        if !redundant.is_empty() {
            self.notice(Notice::new(
                NoticeKind::Warning,
                format!(
                    "Policy Rules {} specified in policy files are the same as the defaults \
                     provided by the service. You can remove these rules from policy files which \
                     will make maintenance easier. You can detect these redundant rules by \
                     ``oslopolicy-list-redundant`` tool also.",
                    crate::error::py_list(&redundant)
                ),
            ));
        }
        Ok(true)
    }

    /// `_handle_deprecated_rule`: the check a default with a deprecated
    /// rule takes when the files do not override it.
    fn deprecated_check(&self, st: &State, default: &RuleDefault) -> Check {
        let Some(old) = default.deprecated_rule() else {
            return default.check().clone();
        };
        let or_else = |a: Option<&str>, b: Option<&str>| -> String {
            match a.filter(|s| !s.is_empty()) {
                Some(s) => s.to_owned(),
                None => py_opt(b),
            }
        };
        let reason = or_else(old.deprecated_reason(), default.deprecated_reason());
        let since = or_else(old.deprecated_since(), default.deprecated_since());
        let message = format!(
            "Policy \"{}\":\"{}\" was deprecated in {since} in favor of \"{}\":\"{}\". \
             Reason: {reason}. Either ensure your deployment is ready for the new default or \
             copy/paste the deprecated policy into your policy file and maintain it manually.",
            old.name(),
            old.check_str(),
            default.name(),
            default.check_str(),
        );
        if old.name() != default.name()
            && let Some((_, file_check)) = st.file_rules.get(old.name())
        {
            self.notice(Notice::new(NoticeKind::UserWarning, message.clone()));
            if file_check != old.check()
                && file_check.to_string() != format!("rule:{}", default.name())
                && !st.file_rules.contains_key(default.name())
            {
                return file_check.clone();
            }
        }
        if !self.options.enforce_new_defaults
            && old.check_str() != default.check_str()
            && !st.file_rules.contains_key(default.name())
        {
            self.notice(Notice::new(NoticeKind::UserWarning, message));
            return Check::Or(vec![default.check().clone(), old.check().clone()]);
        }
        default.check().clone()
    }

    /// Whether `creds` may do `rule` on `target` (oslo's
    /// `enforce(rule, target, creds, do_raise=False)`).
    ///
    /// Loads the rules first when files changed. An undefined `rule` uses
    /// the default rule when it exists, else denies; no rules at all deny.
    /// A truthy `creds["system_scope"]` is copied into `creds["system"]`
    /// first, as oslo.policy does. For a registered rule with
    /// `scope_types`, a token whose scope (`system` if `creds["system"]`,
    /// else `domain` if `creds["domain_id"]`, else `project`) is not one
    /// of them is denied without evaluating the rule.
    ///
    /// # Errors
    ///
    /// Where oslo.policy raises: the loading errors of
    /// [`Enforcer::load_rules`], [`PolicyError::InvalidContextObject`] when
    /// `creds` is not an object, and the Python errors that escape from
    /// checks ([`PolicyError::ValueError`] / [`PolicyError::TypeError`] for
    /// a bad `%` format, [`PolicyError::SyntaxError`] for a kind that is not
    /// valid Python, [`PolicyError::TypeError`] for a dotted path walking
    /// into a non-object or a reference cycle,
    /// [`PolicyError::AttributeError`] for a non-string role).
    pub fn enforce(&self, rule: &str, target: &Value, creds: &Value) -> Result<bool, PolicyError> {
        self.run(rule, target, creds, false)
    }

    /// Like [`Enforcer::enforce`] but a denial is an error (oslo's
    /// `enforce(..., do_raise=True)`).
    ///
    /// # Errors
    ///
    /// [`PolicyError::PolicyNotAuthorized`] when the rule denies,
    /// [`PolicyError::InvalidScope`] when the token's scope is not one of
    /// the registered rule's `scope_types`, and every error of
    /// [`Enforcer::enforce`].
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::{Enforcer, PolicyError, Rules};
    /// use serde_json::json;
    ///
    /// let mut rules = Rules::new();
    /// rules.insert_str("test", "!");
    /// let err = Enforcer::new(rules).require("test", &json!({}), &json!({})).unwrap_err();
    /// assert_eq!(err.to_string(), "test is disallowed by policy");
    /// ```
    pub fn require(&self, rule: &str, target: &Value, creds: &Value) -> Result<(), PolicyError> {
        if self.run(rule, target, creds, true)? {
            Ok(())
        } else {
            Err(PolicyError::PolicyNotAuthorized {
                rule: rule.to_owned(),
            })
        }
    }

    /// [`Enforcer::enforce`] of a registered rule (oslo's
    /// `authorize(rule, target, creds, do_raise=False)`).
    ///
    /// # Errors
    ///
    /// [`PolicyError::PolicyNotRegistered`] when no default was registered
    /// under `rule`, and every error of [`Enforcer::enforce`].
    pub fn is_authorized(
        &self,
        rule: &str,
        target: &Value,
        creds: &Value,
    ) -> Result<bool, PolicyError> {
        if !self.registered.contains_key(rule) {
            return Err(PolicyError::PolicyNotRegistered(rule.to_owned()));
        }
        self.enforce(rule, target, creds)
    }

    /// [`Enforcer::require`] of a registered rule (oslo's
    /// `authorize(rule, target, creds, do_raise=True)`): what an API calls
    /// before acting. A [`PolicyError::PolicyNotAuthorized`] or
    /// [`PolicyError::InvalidScope`] becomes a 403
    /// ([`forbidden_body`](crate::forbidden_body)).
    ///
    /// # Errors
    ///
    /// [`PolicyError::PolicyNotRegistered`] when no default was registered
    /// under `rule`, and every error of [`Enforcer::require`].
    pub fn authorize(&self, rule: &str, target: &Value, creds: &Value) -> Result<(), PolicyError> {
        if !self.registered.contains_key(rule) {
            return Err(PolicyError::PolicyNotRegistered(rule.to_owned()));
        }
        self.require(rule, target, creds)
    }

    fn run(
        &self,
        rule: &str,
        target: &Value,
        creds: &Value,
        do_raise: bool,
    ) -> Result<bool, PolicyError> {
        let rules = {
            let mut st = self.lock();
            self.load(&mut st, false)?;
            st.rules.clone()
        };
        let Value::Object(creds) = creds else {
            return Err(PolicyError::InvalidContextObject(format!(
                "Expected type oslo_context.context.RequestContext, dict, or the output of \
                 oslo_context.context.RequestContext.to_policy_values but got <class '{}'> instead",
                type_name(creds)
            )));
        };
        let creds = match creds.get("system_scope") {
            Some(scope) if truthy(scope) => {
                let mut c: Map<String, Value> = creds.clone();
                c.insert("system".into(), scope.clone());
                Cow::Owned(c)
            }
            _ => Cow::Borrowed(creds),
        };
        if rules.is_empty() {
            return Ok(false);
        }
        let Some(check) = rules.lookup(rule) else {
            return Ok(false);
        };
        if let Some(registered) = self.registered.get(rule)
            && !scope_allowed(&creds, registered, do_raise)?
        {
            return Ok(false);
        }
        Eval {
            rules: &rules,
            target,
            creds: &creds,
        }
        .check(check, 0, 0)
    }
}

/// The token scope oslo.policy derives from policy credentials.
///
/// `system` if `creds["system"]` is truthy, else `domain` if
/// `creds["domain_id"]` is truthy, else `project`. (`enforce` copies a
/// truthy `system_scope` into `system` first.)
pub fn token_scope(creds: &Map<String, Value>) -> &'static str {
    if creds.get("system").is_some_and(truthy) {
        "system"
    } else if creds.get("domain_id").is_some_and(truthy) {
        "domain"
    } else {
        "project"
    }
}

/// `_enforce_scope`.
fn scope_allowed(
    creds: &Map<String, Value>,
    rule: &RuleDefault,
    do_raise: bool,
) -> Result<bool, PolicyError> {
    let Some(scopes) = rule.scope_types().filter(|s| !s.is_empty()) else {
        return Ok(true);
    };
    let scope = token_scope(creds);
    if scopes.iter().any(|s| s == scope) {
        return Ok(true);
    }
    if do_raise {
        return Err(PolicyError::InvalidScope {
            rule: rule.to_string(),
            scope_types: scopes.to_vec(),
            token_scope: scope.to_owned(),
        });
    }
    Ok(false)
}

/// Python's f-string of an optional string: `None` when absent.
fn py_opt(s: Option<&str>) -> String {
    s.unwrap_or("None").to_owned()
}

/// Python's `err.strerror`: the OS message without Rust's ` (os error N)`.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// `_is_directory_updated`: whether the newest modification time of `dir`
/// and its entries moved past the one recorded.
fn directory_updated(
    cache: &mut HashMap<PathBuf, SystemTime>,
    dir: &Path,
) -> Result<bool, PolicyError> {
    let io = |e: std::io::Error| PolicyError::Io {
        path: dir.display().to_string(),
        message: strerror(&e),
    };
    let mut newest = SystemTime::UNIX_EPOCH;
    if dir.exists() {
        if !dir.is_dir() {
            return Err(PolicyError::ValueError(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        newest = std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .map_err(io)?;
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if let Ok(t) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(t);
            }
        }
    }
    let seen = cache
        .entry(dir.to_path_buf())
        .or_insert(SystemTime::UNIX_EPOCH);
    if newest > *seen {
        *seen = newest;
        return Ok(true);
    }
    Ok(false)
}

/// `_walk_through_policy_directory`: the regular files of `dir` (not its
/// subdirectories), sorted by name, hidden ones skipped.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    if !dir.is_dir() {
        return Err(PolicyError::ValueError(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let io = |e: std::io::Error| PolicyError::Io {
        path: dir.display().to_string(),
        message: strerror(&e),
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

struct Eval<'a> {
    rules: &'a Rules,
    target: &'a Value,
    creds: &'a Map<String, Value>,
}

impl Eval<'_> {
    /// Evaluates `check`; `depth` counts `rule:` hops, `nest` every level.
    fn check(&self, check: &Check, depth: usize, nest: usize) -> Result<bool, PolicyError> {
        if nest >= MAX_NESTING {
            return Err(PolicyError::TypeError(
                "maximum recursion depth exceeded".into(),
            ));
        }
        let nest = nest + 1;
        match check {
            Check::True => Ok(true),
            Check::False => Ok(false),
            Check::Not(c) => Ok(!self.check(c, depth, nest)?),
            Check::And(cs) => {
                for c in cs {
                    if !self.check(c, depth, nest)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Check::Or(cs) => {
                for c in cs {
                    if self.check(c, depth, nest)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Check::Rule(name) => {
                if depth >= MAX_RULE_DEPTH {
                    return Err(PolicyError::TypeError("unsupported callable".into()));
                }
                match self.rules.lookup(name) {
                    Some(c) => self.check(c, depth + 1, nest),
                    None => Ok(false),
                }
            }
            Check::Role(m) => self.role(m),
            Check::Generic { kind, target } => self.generic(kind, target),
            Check::Http { kind, target } => Err(PolicyError::Unsupported {
                kind: kind.clone(),
                target: target.clone(),
            }),
        }
    }

    /// `self.match % target`; `None` for a missing key (the check is false).
    fn format(&self, m: &str) -> Result<Option<String>, PolicyError> {
        match percent_format(m, self.target) {
            Ok(s) => Ok(Some(s)),
            Err(FormatError::Key) => Ok(None),
            Err(FormatError::Value(msg)) => Err(PolicyError::ValueError(msg)),
            Err(FormatError::Type(msg)) => Err(PolicyError::TypeError(msg)),
        }
    }

    fn role(&self, m: &str) -> Result<bool, PolicyError> {
        let Some(m) = self.format(m)? else {
            return Ok(false);
        };
        let Some(roles) = self.creds.get("roles") else {
            return Ok(false);
        };
        let roles: Vec<String> = match roles {
            Value::Array(items) => items
                .iter()
                .map(|r| match r {
                    Value::String(s) => Ok(s.to_lowercase()),
                    other => Err(PolicyError::AttributeError(format!(
                        "'{}' object has no attribute 'lower'",
                        type_name(other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Value::String(s) => s.chars().map(|c| c.to_lowercase().collect()).collect(),
            Value::Object(o) => o.keys().map(|k| k.to_lowercase()).collect(),
            other => {
                return Err(PolicyError::TypeError(format!(
                    "'{}' object is not iterable",
                    type_name(other)
                )));
            }
        };
        Ok(roles.contains(&m.to_lowercase()))
    }

    fn generic(&self, kind: &str, m: &str) -> Result<bool, PolicyError> {
        let Some(m) = self.format(m)? else {
            return Ok(false);
        };
        match literal_eval(kind) {
            Ok(Some(v)) => return Ok(m == v.py_str()),
            Ok(None) => {}
            Err(msg) => return Err(PolicyError::SyntaxError(msg)),
        }
        let segments: Vec<&str> = kind.split('.').collect();
        find_in_object(self.creds, &segments, &m)
    }
}

/// `GenericCheck._find_in_dict` from the credentials mapping.
fn find_in_object(obj: &Map<String, Value>, path: &[&str], m: &str) -> Result<bool, PolicyError> {
    let Some((key, rest)) = path.split_first() else {
        return Ok(false);
    };
    match obj.get(*key) {
        None => Ok(false),
        Some(Value::Array(items)) => {
            for item in items {
                if find_in(item, rest, m)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some(v) => find_in(v, rest, m),
    }
}

fn find_in(value: &Value, path: &[&str], m: &str) -> Result<bool, PolicyError> {
    if path.is_empty() {
        return Ok(m == PyValue::from_json(value).py_str());
    }
    match value {
        Value::Object(o) => find_in_object(o, path, m),
        Value::String(_) => Err(PolicyError::TypeError(
            "string indices must be integers, not 'str'".into(),
        )),
        Value::Array(_) => Err(PolicyError::TypeError(
            "list indices must be integers or slices, not str".into(),
        )),
        other => Err(PolicyError::TypeError(format!(
            "'{}' object is not subscriptable",
            type_name(other)
        ))),
    }
}
