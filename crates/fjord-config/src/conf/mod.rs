//! [`ConfigOpts`]: the registry of declared options and their values from
//! every source, in oslo.config's precedence.
//!
//! Precedence, lowest first: declared defaults < config files (`--config-file`
//! in command-line order, later wins; `--config-dir` adds its `*.conf` files
//! in sorted order at its place in that order) < environment variables
//! `OS_<GROUP>__<OPTION>` < command-line flags.

mod cli;
mod registry;
pub(crate) mod resolve;
mod source;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

pub use source::{
    ConfigSource, EnvSource, Location, config_dir_files, default_config_dirs, env_var_name,
    expand_sources, find_config_sources, read_sources,
};

pub(crate) use registry::Registry;
use resolve::{CliValues, Resolved, Resolver};

use crate::error::Error;
use crate::ini::IniFile;
use crate::namespace::{Catalog, Namespace};
use crate::opt::{Opt, OptGroup};
use crate::value::{FromValue, Value};

/// One option whose value differs after a reload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Change {
    /// Group name (`DEFAULT` for the default group).
    pub group: String,
    /// Option name.
    pub name: String,
    /// The value before the reload.
    pub old: Option<Value>,
    /// The value in the files now.
    pub new: Option<Value>,
}

/// What a reload found: options changed in place, and changes to immutable
/// options that were ignored (they need a restart).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigChanges {
    applied: Vec<Change>,
    restart_required: Vec<Change>,
}

impl ConfigChanges {
    /// Mutable options whose new value is now in effect.
    pub fn applied(&self) -> &[Change] {
        &self.applied
    }

    /// Immutable options whose new value was ignored (needs a restart).
    pub fn restart_required(&self) -> &[Change] {
        &self.restart_required
    }

    /// The applied change of one option, if it changed.
    pub fn get(&self, group: &str, name: &str) -> Option<&Change> {
        let group = crate::ini::normalize_group_name(group);
        self.applied
            .iter()
            .find(|c| c.group == group && c.name == name)
    }

    /// Whether nothing changed at all.
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty() && self.restart_required.is_empty()
    }
}

/// An option written in a file that no registered option reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownOption {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The section as written.
    pub section: String,
    /// The key as written.
    pub key: String,
    /// Whether the whole group is unknown.
    pub unknown_group: bool,
}

/// A value read under an old (deprecated) name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeprecatedUse {
    /// Where it was read.
    pub location: Location,
    /// The old `[group] name`.
    pub old: (String, String),
    /// The current `[group] name`.
    pub new: (String, String),
}

type MutateHook = Arc<dyn Fn(&ConfigOpts, &ConfigChanges) + Send + Sync>;

#[derive(Debug, Default)]
struct State {
    sources: Vec<ConfigSource>,
    cli: CliValues,
    files: Vec<IniFile>,
    env: HashMap<String, String>,
    values: HashMap<(String, String), Resolved>,
    overrides: HashMap<(String, String), Value>,
    loaded: bool,
}

/// The registry of declared options and their loaded values (oslo's
/// `ConfigOpts`).
///
/// Register options, load once (from the command line or a list of
/// sources), then read typed values; [`ConfigOpts::reload`] re-reads the
/// files. Loading and reading are synchronous and never touch an async
/// runtime, so this is safe to use in a pre-fork master. It is `Send + Sync`:
/// share it with an `Arc` after loading.
///
/// ```
/// use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Opt};
///
/// let dir = std::env::temp_dir().join(format!("fjord-config-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let file = dir.join("demo.conf");
/// std::fs::write(&file, "[DEFAULT]\nworkers = 8\n[database]\nconnection = sqlite:///$state_path/db\n")?;
///
/// let mut conf = ConfigOpts::new("demo").env_source(EnvSource::Off);
/// conf.register("DEFAULT", &[
///     Opt::int("workers").min(1).default(1).help("Worker processes."),
///     Opt::str("state_path").default("/var/lib/demo"),
/// ])?;
/// conf.register("database", &[Opt::str("connection").secret()])?;
/// conf.load(vec![ConfigSource::File(file)])?;
///
/// assert_eq!(conf.get::<u32>("DEFAULT", "workers")?, 8);
/// assert_eq!(conf.get::<String>("database", "connection")?, "sqlite:////var/lib/demo/db");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConfigOpts {
    prog: String,
    project: Option<String>,
    version: Option<String>,
    about: Option<String>,
    default_config: Option<ConfigSource>,
    env_source: EnvSource,
    registry: Registry,
    namespaces: Catalog,
    state: RwLock<State>,
    hooks: Mutex<Vec<MutateHook>>,
}

impl fmt::Debug for ConfigOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigOpts")
            .field("prog", &self.prog)
            .field("groups", &self.registry.groups.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ConfigOpts {
    /// An empty registry for program `prog` (used in `--help`).
    pub fn new(prog: &str) -> Self {
        ConfigOpts {
            prog: prog.to_owned(),
            project: None,
            version: None,
            about: None,
            default_config: None,
            env_source: EnvSource::Process,
            registry: Registry::default(),
            namespaces: Catalog::new(),
            state: RwLock::new(State::default()),
            hooks: Mutex::new(Vec::new()),
        }
    }

    /// The project name (oslo's `project`): when the command line names no
    /// `--config-file` or `--config-dir`, [`ConfigOpts::parse_args`] reads
    /// the first `<project>.conf` and `<prog>.conf` (and `.conf.d`
    /// directories) found in `~/.<project>/`, `~/`, `/etc/<project>/`,
    /// `/etc/`. Default: no project, no default files.
    pub fn project(mut self, project: &str) -> Self {
        self.project = Some(project.to_owned());
        self
    }

    /// The version `--version` prints. Default: no `--version` flag.
    pub fn version(mut self, version: &str) -> Self {
        self.version = Some(version.to_owned());
        self
    }

    /// The description `--help` prints. Default: none.
    pub fn about(mut self, about: &str) -> Self {
        self.about = Some(about.to_owned());
        self
    }

    /// A built-in configuration, read as the only config file when the
    /// command line names no `--config-file` or `--config-dir` and no
    /// default file is found (see [`ConfigOpts::project`]): an application
    /// that runs out of the box on its own sample file. `name` stands for
    /// the file in locations and logs. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Opt};
    ///
    /// let mut conf = ConfigOpts::new("demo")
    ///     .env_source(EnvSource::Off)
    ///     .default_config("<built-in demo.conf>", "[DEFAULT]\nport = 8799\n");
    /// conf.register("DEFAULT", &[Opt::port("port").default(80).cli()])?;
    /// conf.parse_args(["demo"])?;
    /// assert_eq!(conf.get::<u16>("DEFAULT", "port")?, 8799);
    /// assert!(matches!(conf.sources()[0], ConfigSource::Text { .. }));
    /// conf.parse_args(["demo", "--port", "9000"])?;
    /// assert_eq!(conf.get::<u16>("DEFAULT", "port")?, 9000);
    /// # Ok::<(), fjord_config::Error>(())
    /// ```
    pub fn default_config(mut self, name: &str, text: &str) -> Self {
        self.default_config = Some(ConfigSource::Text {
            name: name.to_owned(),
            text: text.to_owned(),
        });
        self
    }

    /// Whether the values come from the built-in configuration of
    /// [`ConfigOpts::default_config`] (no config file was given or found).
    pub fn uses_default_config(&self) -> bool {
        self.default_config.is_some()
            && self.read_state().sources.first() == self.default_config.as_ref()
    }

    /// Where `OS_<GROUP>__<OPTION>` variables are read from.
    /// Default: [`EnvSource::Process`].
    pub fn env_source(mut self, env: EnvSource) -> Self {
        self.env_source = env;
        self
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The program name.
    pub fn prog(&self) -> &str {
        &self.prog
    }

    /// Declares `opts` in `group` (`"DEFAULT"` or a group name or an
    /// [`OptGroup`]). Registering the same option again is a no-op.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateOpt`] if an option with the same dest is already
    /// registered differently; [`Error::InvalidDefault`] if a default does
    /// not fit its option. Nothing is registered then.
    pub fn register(&mut self, group: impl Into<OptGroup>, opts: &[Opt]) -> Result<(), Error> {
        self.registry.register(group.into(), opts)
    }

    /// Declares every group of a [`Namespace`].
    ///
    /// # Errors
    ///
    /// As [`ConfigOpts::register`].
    pub fn register_namespace(&mut self, namespace: &Namespace) -> Result<(), Error> {
        for (group, opts) in namespace.groups() {
            self.registry.register(group.clone(), opts)?;
        }
        self.namespaces.add(namespace.clone());
        Ok(())
    }

    /// The namespaces registered with [`register_namespace`](Self::register_namespace),
    /// in registration order: what this program prints for the hidden
    /// [`NAMESPACES_FLAG`](crate::NAMESPACES_FLAG) (options registered
    /// one by one with [`register`](Self::register) are not in it).
    pub fn namespaces(&self) -> &Catalog {
        &self.namespaces
    }

    /// Every registered option with its group, in registration order.
    pub fn options(&self) -> impl Iterator<Item = (&OptGroup, &Opt)> {
        self.registry.iter()
    }

    /// The registered option `name` in `group`, if any.
    pub fn option(&self, group: &str, name: &str) -> Option<&Opt> {
        self.registry.find_by_name(group, name)
    }

    /// Loads values from `sources` (no command line), the environment and
    /// defaults, checking every option.
    ///
    /// # Errors
    ///
    /// The first unreadable or malformed file, bad value, failed
    /// substitution or missing required option. Nothing is changed then.
    pub fn load(&mut self, sources: Vec<ConfigSource>) -> Result<(), Error> {
        self.load_with_cli(sources, CliValues::new())
    }

    fn load_with_cli(&mut self, sources: Vec<ConfigSource>, cli: CliValues) -> Result<(), Error> {
        let files = read_sources(&sources)?;
        let env = self.env_source.snapshot();
        let values = self.build(&files, &env, &cli)?;
        self.warn_about_files(&files, &values);
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let overrides = std::mem::take(&mut state.overrides);
        *state = State {
            sources,
            cli,
            files,
            env,
            values,
            overrides,
            loaded: true,
        };
        Ok(())
    }

    fn build(
        &self,
        files: &[IniFile],
        env: &HashMap<String, String>,
        cli: &CliValues,
    ) -> Result<HashMap<(String, String), Resolved>, Error> {
        let resolver = Resolver::new(&self.registry, files, env, cli);
        let mut values = HashMap::new();
        for (group, opt) in self.registry.iter() {
            let resolved = resolver.resolve(&group.name, &opt.dest).map_err(|e| {
                let loc = resolver
                    .raw_texts(&group.name, opt)
                    .and_then(|h| h.texts.last().map(|(_, l)| l.clone()))
                    .unwrap_or(Location::Default);
                e.into_error(&group.name, &opt.name, &loc)
            })?;
            if opt.required && resolved.value.is_none() {
                return Err(Error::Required {
                    group: group.name.clone(),
                    option: opt.name.clone(),
                    env: env_var_name(&group.name, &opt.dest),
                });
            }
            values.insert((group.name.clone(), opt.dest.clone()), resolved);
        }
        Ok(values)
    }

    fn warn_about_files(&self, files: &[IniFile], values: &HashMap<(String, String), Resolved>) {
        let mut unknown_groups: Vec<(String, String)> = Vec::new();
        for unknown in self.unknown_in(files) {
            if unknown.unknown_group {
                let key = (unknown.file.clone(), unknown.section.clone());
                if !unknown_groups.contains(&key) {
                    tracing::warn!(
                        file = %unknown.file, line = unknown.line,
                        "group [{}] is not registered: its options are ignored", unknown.section
                    );
                    unknown_groups.push(key);
                }
            } else {
                tracing::warn!(
                    file = %unknown.file, line = unknown.line,
                    "unknown option {} in group [{}] is ignored", unknown.key, unknown.section
                );
            }
        }
        for ((group, dest), r) in values {
            if let Some((og, on)) = &r.deprecated {
                tracing::warn!(
                    "Deprecated: option \"{on}\" from group \"{og}\" ({}) is deprecated; use option \"{dest}\" from group \"{group}\"",
                    r.location
                );
            }
        }
    }

    /// Keys in `files` that no registered option reads (oslo ignores them;
    /// fjord warns at load and `fjord-config validate` reports them).
    pub fn unknown_in(&self, files: &[IniFile]) -> Vec<UnknownOption> {
        let mut known: HashSet<(String, String)> = HashSet::new();
        for (group, opt) in self.registry.iter() {
            for name in resolve::lookup_names(&group.name, opt) {
                known.insert(name);
            }
        }
        let known_groups: HashSet<&String> = known.iter().map(|(g, _)| g).collect();
        let mut out = Vec::new();
        for file in files {
            for (group, keys) in file.normalized() {
                for (key, values) in keys {
                    if known.contains(&(group.clone(), key.clone())) {
                        continue;
                    }
                    for v in values {
                        out.push(UnknownOption {
                            file: file.path().to_owned(),
                            line: v.line,
                            section: v.section.clone(),
                            key: key.clone(),
                            unknown_group: !known_groups.contains(group),
                        });
                    }
                }
            }
        }
        out
    }

    /// Values read under deprecated names in the loaded files.
    pub fn deprecated_uses(&self) -> Vec<DeprecatedUse> {
        let state = self.read_state();
        let mut out = Vec::new();
        for (group, opt) in self.registry.iter() {
            if let Some(r) = state.values.get(&(group.name.clone(), opt.dest.clone()))
                && let Some(old) = &r.deprecated
            {
                out.push(DeprecatedUse {
                    location: r.location.clone(),
                    old: old.clone(),
                    new: (group.name.clone(), opt.name.clone()),
                });
            }
        }
        out
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, group: &str, name: &str) -> Result<(&Opt, String), Error> {
        let group_n = crate::ini::normalize_group_name(group);
        let opt = self
            .registry
            .find_by_name(&group_n, name)
            .ok_or_else(|| Error::NoSuchOpt {
                group: group_n.clone(),
                option: name.to_owned(),
            })?;
        Ok((opt, group_n))
    }

    /// The value of option `name` in `group`, `None` if it has none.
    /// Before a load, the declared default.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if it is not registered.
    pub fn value(&self, group: &str, name: &str) -> Result<Option<Value>, Error> {
        let (opt, group_n) = self.lookup(group, name)?;
        let state = self.read_state();
        let key = (group_n, opt.dest.clone());
        if let Some(v) = state.overrides.get(&key) {
            return Ok(Some(v.clone()));
        }
        match state.values.get(&key) {
            Some(r) => Ok(r.value.clone()),
            None => Ok(opt.default_value().cloned()),
        }
    }

    /// Where the value of `name` in `group` came from.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if it is not registered.
    pub fn location(&self, group: &str, name: &str) -> Result<Location, Error> {
        let (opt, group_n) = self.lookup(group, name)?;
        let state = self.read_state();
        let key = (group_n, opt.dest.clone());
        if state.overrides.contains_key(&key) {
            return Ok(Location::Override);
        }
        Ok(state
            .values
            .get(&key)
            .map_or(Location::Default, |r| r.location.clone()))
    }

    /// The typed value of option `name` in `group`: `String`, integers,
    /// `f64`, `bool`, `IpAddr`, `Duration`, `Vec<T>`, `IndexMap<String,
    /// String>`, [`Value`], or `Option<T>` for options that may be unset.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if it is not registered, [`Error::Type`] if the
    /// value is not a `T` (or is unset and `T` is not an `Option`).
    pub fn get<T: FromValue>(&self, group: &str, name: &str) -> Result<T, Error> {
        let value = self.value(group, name)?;
        T::from_value(value.as_ref()).map_err(|expected| Error::Type {
            group: crate::ini::normalize_group_name(group),
            option: name.to_owned(),
            expected,
        })
    }

    /// Forces the value of `name` in `group`, over every source and across
    /// reloads, until [`ConfigOpts::clear_override`] (oslo's `set_override`,
    /// mostly for tests). A string is parsed as if written in a file.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if not registered, [`Error::BadValue`] if the
    /// value does not fit the option.
    pub fn set_override(
        &self,
        group: &str,
        name: &str,
        value: impl Into<Value>,
    ) -> Result<(), Error> {
        let (opt, group_n) = self.lookup(group, name)?;
        let value = value.into();
        let checked = opt.check_value(&value).map_err(|reason| {
            Error::BadValue(Box::new(crate::error::BadValue {
                group: group_n.clone(),
                option: opt.name.clone(),
                location: Location::Override,
                value: if opt.secret {
                    "'****'".to_owned()
                } else {
                    crate::ini::py_repr(&value.to_conf_string())
                },
                expected: opt.expected(),
                reason,
            }))
        })?;
        let key = (group_n, opt.dest.clone());
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .overrides
            .insert(key, checked);
        Ok(())
    }

    /// Removes an override set with [`ConfigOpts::set_override`].
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if not registered.
    pub fn clear_override(&self, group: &str, name: &str) -> Result<(), Error> {
        let (opt, group_n) = self.lookup(group, name)?;
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .overrides
            .remove(&(group_n, opt.dest.clone()));
        Ok(())
    }

    /// The files read at the last (re)load, in load order.
    pub fn config_files(&self) -> Vec<String> {
        self.read_state()
            .files
            .iter()
            .map(|f| f.path().to_owned())
            .collect()
    }

    /// The sources given at load (`--config-file`/`--config-dir`, in order).
    pub fn sources(&self) -> Vec<ConfigSource> {
        self.read_state().sources.clone()
    }

    /// Whether values have been loaded.
    pub fn is_loaded(&self) -> bool {
        self.read_state().loaded
    }

    /// Registers a hook called after [`ConfigOpts::reload`] with this
    /// `ConfigOpts` (already holding the new values) and the mutable options
    /// that changed (oslo's `register_mutate_hook`); only called when
    /// something changed.
    pub fn on_mutate(&self, hook: impl Fn(&ConfigOpts, &ConfigChanges) + Send + Sync + 'static) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(hook));
    }

    /// Re-reads the config files (SIGHUP, oslo's `mutate_config_files`):
    /// mutable options take their new values in place and the mutate hooks
    /// are called with what changed; changes to immutable options are
    /// logged as needing a restart and ignored. Command-line values stay.
    ///
    /// # Errors
    ///
    /// If a file cannot be read or a value is bad, the error is returned and
    /// every option keeps its current value.
    pub fn reload(&self) -> Result<ConfigChanges, Error> {
        self.reload_inner(false)
    }

    /// Re-reads the config files and applies every change, mutable or not
    /// (oslo's `reload_config_files`, for `restart_method = reload` where the
    /// services restart anyway). Hooks are called with every change.
    ///
    /// # Errors
    ///
    /// As [`ConfigOpts::reload`].
    pub fn reload_all(&self) -> Result<ConfigChanges, Error> {
        self.reload_inner(true)
    }

    fn reload_inner(&self, all: bool) -> Result<ConfigChanges, Error> {
        let (sources, cli) = {
            let state = self.read_state();
            (state.sources.clone(), state.cli.clone())
        };
        let result = (|| {
            let files = read_sources(&sources)?;
            let env = self.env_source.snapshot();
            let values = self.build(&files, &env, &cli)?;
            Ok::<_, Error>((files, env, values))
        })();
        let (files, env, mut values) = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("config reload failed, keeping the current values: {e}");
                return Err(e);
            }
        };
        self.warn_about_files(&files, &values);
        let mut changes = ConfigChanges::default();
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            for (group, opt) in self.registry.iter() {
                let key = (group.name.clone(), opt.dest.clone());
                let old = state.values.get(&key).and_then(|r| r.value.clone());
                let Some(new) = values.get(&key) else {
                    continue;
                };
                if old == new.value {
                    continue;
                }
                let change = Change {
                    group: group.name.clone(),
                    name: opt.name.clone(),
                    old: old.clone(),
                    new: new.value.clone(),
                };
                if opt.mutable || all {
                    tracing::info!(
                        "option {}.{} changed from [{}] to [{}]",
                        group.name,
                        opt.name,
                        masked(opt, old.as_ref()),
                        masked(opt, new.value.as_ref())
                    );
                    changes.applied.push(change);
                } else {
                    tracing::warn!(
                        "Ignoring change to immutable option {}.{}: a restart is needed to apply it",
                        group.name,
                        opt.name
                    );
                    changes.restart_required.push(change);
                    if let Some(prev) = state.values.get(&key) {
                        values.insert(key, prev.clone());
                    }
                }
            }
            state.files = files;
            state.env = env;
            state.values = values;
            state.loaded = true;
        }
        if !changes.applied.is_empty() {
            let hooks: Vec<MutateHook> = self
                .hooks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for hook in hooks {
                hook(self, &changes);
            }
        }
        Ok(changes)
    }

    /// Every option value as oslo's `log_opt_values` writes it, secrets as
    /// `****`: a header naming the sources, then `name = value` for
    /// `[DEFAULT]` and `group.name = value` for the others, sorted.
    pub fn option_lines(&self) -> Vec<String> {
        let state = self.read_state();
        let mut lines = vec![
            "*".repeat(80),
            "Configuration options gathered from:".to_owned(),
            format!(
                "command line args: [{}]",
                state
                    .cli
                    .values()
                    .flatten()
                    .map(|(_, f)| f.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "config files: [{}]",
                state
                    .files
                    .iter()
                    .map(|f| f.path().to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "=".repeat(80),
        ];
        let mut groups: Vec<&String> = self.registry.groups.keys().collect();
        groups.sort_by_key(|g| (g.as_str() != "DEFAULT", g.as_str()));
        for g in groups {
            let entry = &self.registry.groups[g];
            let mut opts: Vec<&Opt> = entry.opts.values().collect();
            opts.sort_by(|a, b| a.name.cmp(&b.name));
            for opt in opts {
                let key = (g.clone(), opt.dest.clone());
                let value = state
                    .overrides
                    .get(&key)
                    .cloned()
                    .or_else(|| state.values.get(&key).and_then(|r| r.value.clone()))
                    .or_else(|| opt.default_value().cloned());
                let shown = masked(opt, value.as_ref());
                if g == "DEFAULT" {
                    lines.push(format!("{} = {shown}", opt.name));
                } else {
                    lines.push(format!("{g}.{} = {shown}", opt.name));
                }
            }
        }
        lines.push("*".repeat(80));
        lines
    }

    /// Logs [`ConfigOpts::option_lines`] at INFO, once per call (the
    /// launcher calls it at start when `log_options` is true).
    pub fn log_options(&self) {
        for line in self.option_lines() {
            tracing::info!("{line}");
        }
    }
}

/// The value as logged: `****` for secrets that are set, `None` when unset.
fn masked(opt: &Opt, value: Option<&Value>) -> String {
    match value {
        None => "None".to_owned(),
        Some(_) if opt.secret => "****".to_owned(),
        Some(v) => v.to_conf_string(),
    }
}
