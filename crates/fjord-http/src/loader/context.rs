//! Section resolution: what PasteDeploy's `ConfigLoader.get_context(type,
//! name)` builds for a section, without importing anything.
//!
//! Rules (PasteDeploy 3.1): a name is looked up among the sections with the
//! type's prefixes (`app`/`application`, `composite`/`composit`,
//! `pipeline`, `filter-app` for applications; `filter`; `server`); for a
//! missing name `main` (or the bare `[app]`) is used. `global_conf` starts
//! from the interpolated `[DEFAULT]` plus `here`/`__file__`; `set k = v`
//! overrides a global, `get k = g` copies global `g` into local `k`, and a
//! key also present in `[DEFAULT]` is left out of `local_conf`.
//! `filter-with` wraps an app in a filter; `use = other` merges with the
//! other section (its `local_conf` updated by this one's); `use =
//! egg:Dist#name` / `call:module:attr` / `config:file#name` load from
//! outside; otherwise exactly one `paste.*_factory = module:attr` key names
//! the factory.

use std::path::{Path, PathBuf};

use super::egg::EggRegistry;
use super::ini::Ini;
use crate::factory::Conf;
use fjord_config::pyrepr::{py_repr as repr, py_repr_list as repr_list, py_strip};

/// The kind of object asked for (PasteDeploy's `APP`, `FILTER`, `SERVER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// An application (`app`, `composite`, `pipeline`, `filter-app`).
    App,
    /// A filter (`filter`).
    Filter,
    /// A server (`server`).
    Server,
}

impl Kind {
    fn prefixes(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::App => &[
                &["app", "application"],
                &["composite", "composit"],
                &["pipeline"],
                &["filter-app"],
            ],
            Kind::Filter => &[&["filter"]],
            Kind::Server => &[&["server"]],
        }
    }

    fn egg_protocols(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::App => &[
                &["paste.app_factory"],
                &["paste.composite_factory"],
                &["paste.composit_factory"],
            ],
            Kind::Filter => &[&["paste.filter_factory", "paste.filter_app_factory"]],
            Kind::Server => &[&["paste.server_factory", "paste.server_runner"]],
        }
    }

    fn object_type(self) -> ObjectType {
        match self {
            Kind::App => ObjectType::Application,
            Kind::Filter => ObjectType::Filter,
            Kind::Server => ObjectType::Server,
        }
    }

    /// The kind a section prefix loads as (`None` for sections paste
    /// does not load, like swift's daemon sections).
    pub fn of_prefix(prefix: &str) -> Option<Kind> {
        match prefix {
            "app" | "application" | "composite" | "composit" | "pipeline" | "filter-app" => {
                Some(Kind::App)
            }
            "filter" => Some(Kind::Filter),
            "server" => Some(Kind::Server),
            _ => None,
        }
    }
}

/// What a context builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectType {
    /// An application from a factory.
    Application,
    /// A filter from a factory.
    Filter,
    /// A server.
    Server,
    /// `[pipeline:...]`: filters then an app.
    Pipeline,
    /// `[filter-app:...]`: a filter and `next`.
    FilterApp,
    /// An app with `filter-with`.
    FilteredWith,
}

impl ObjectType {
    /// PasteDeploy's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Application => "application",
            ObjectType::Filter => "filter",
            ObjectType::Server => "server",
            ObjectType::Pipeline => "pipeline",
            ObjectType::FilterApp => "filter_app",
            ObjectType::FilteredWith => "filtered_with",
        }
    }
}

/// Where a factory comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectRef {
    /// `paste.app_factory = module:attr` (and the other `paste.*` keys).
    Factory {
        /// `module:attr` as written.
        spec: String,
    },
    /// `use = call:module:attr`.
    Call {
        /// `module:attr`.
        spec: String,
    },
    /// `use = egg:Dist#name`, through the [`EggRegistry`].
    Egg {
        /// Distribution as written.
        dist: String,
        /// Entry point name.
        name: String,
        /// Entry point group.
        group: String,
        /// Entry point target `module:attr`.
        target: String,
    },
}

impl ObjectRef {
    /// The names a factory for this object may be registered under, most
    /// specific first (`egg:dist#name`, then the `module:attr` target).
    pub fn lookup_names(&self) -> Vec<String> {
        match self {
            ObjectRef::Factory { spec } | ObjectRef::Call { spec } => vec![spec.clone()],
            ObjectRef::Egg {
                dist, name, target, ..
            } => vec![
                format!("egg:{}#{}", super::egg::normalize_dist(dist), name),
                target.clone(),
            ],
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            ObjectRef::Factory { spec } => {
                let (module, attr) = match spec.split_once(':') {
                    Some((m, a)) => (m.to_owned(), serde_json::Value::from(a)),
                    None => (spec.clone(), serde_json::Value::Null),
                };
                serde_json::json!({"kind": "factory", "spec": spec, "module": module, "attr": attr})
            }
            ObjectRef::Call { spec } => serde_json::json!({"kind": "call", "spec": spec}),
            ObjectRef::Egg {
                dist,
                name,
                group,
                target,
            } => serde_json::json!({
                "kind": "egg",
                "spec": format!("{dist}#{name}"),
                "group": group,
                "entry_point": target,
            }),
        }
    }
}

/// What a section resolves to (PasteDeploy's `LoaderContext`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// What it builds.
    pub object_type: ObjectType,
    /// The paste protocol (`paste.app_factory`, ...), if any.
    pub protocol: Option<String>,
    /// The factory reference, for factory-built objects.
    pub object: Option<ObjectRef>,
    /// Sections visited to resolve it, outer first.
    pub sections: Vec<String>,
    /// `global_conf` handed to the factory.
    pub global_conf: Conf,
    /// `local_conf` handed to the factory.
    pub local_conf: Conf,
    /// Pipeline: the app.
    pub app: Option<Box<Context>>,
    /// Pipeline: the filters, outermost first.
    pub filters: Vec<Context>,
    /// filter-app / filter-with: the filter.
    pub filter: Option<Box<Context>>,
    /// filter-app / filter-with: the wrapped app.
    pub next: Option<Box<Context>>,
    /// The file the context was resolved in.
    pub file: PathBuf,
}

impl Context {
    fn new(
        object_type: ObjectType,
        protocol: Option<&str>,
        object: Option<ObjectRef>,
        global_conf: Conf,
        local_conf: Conf,
        file: &Path,
    ) -> Self {
        Context {
            object_type,
            protocol: protocol.map(str::to_owned),
            object,
            sections: Vec::new(),
            global_conf,
            local_conf,
            app: None,
            filters: Vec::new(),
            filter: None,
            next: None,
            file: file.to_owned(),
        }
    }

    /// The context in the corpus's JSON shape (`object_type`, `protocol`,
    /// `object`, `entry_point_name`, `sections`, `global_conf`,
    /// `local_conf`, `app`+`filters` or `filter`+`next`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("object_type".into(), self.object_type.as_str().into());
        m.insert("protocol".into(), self.protocol.clone().into());
        m.insert(
            "object".into(),
            self.object
                .as_ref()
                .map_or(serde_json::Value::Null, ObjectRef::to_json),
        );
        if let Some(ObjectRef::Egg { name, .. }) = &self.object {
            m.insert("entry_point_name".into(), name.clone().into());
        }
        m.insert("sections".into(), self.sections.clone().into());
        m.insert("global_conf".into(), self.global_conf.to_json());
        m.insert("local_conf".into(), self.local_conf.to_json());
        if self.object_type == ObjectType::Pipeline {
            if let Some(app) = &self.app {
                m.insert("app".into(), app.to_json());
            }
            m.insert(
                "filters".into(),
                self.filters
                    .iter()
                    .map(Context::to_json)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if let Some(f) = &self.filter {
            m.insert("filter".into(), f.to_json());
        }
        if let Some(n) = &self.next {
            m.insert("next".into(), n.to_json());
        }
        serde_json::Value::Object(m)
    }
}

/// A resolution failure, with the Python exception class PasteDeploy
/// raises (`LookupError`, `KeyError`, `InterpolationSyntaxError`, ...) and
/// its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct ResolveError {
    /// Python exception class name (`RecursionError` for a `use` loop).
    pub class: String,
    /// The message.
    pub message: String,
}

impl ResolveError {
    fn lookup(message: String) -> Self {
        ResolveError {
            class: "LookupError".into(),
            message,
        }
    }
}

/// One parsed paste file with its `here` / `__file__` defaults.
#[derive(Clone, Debug)]
pub(crate) struct PasteFile {
    pub ini: Ini,
    pub path: PathBuf,
}

/// Resolves contexts within a file (and the files it references through
/// `config:`), detecting `use` loops.
pub(crate) struct Resolver<'a> {
    pub file: &'a PasteFile,
    pub eggs: &'a EggRegistry,
    /// Sections being resolved, as `file#section`.
    pub stack: Vec<String>,
    /// How deep `config:` references go.
    pub depth: usize,
}

fn is_absolute_name(name: &str) -> bool {
    match name.find(':') {
        Some(i) if i > 0 => name[..i].chars().all(|c| c.is_ascii_alphabetic()),
        _ => false,
    }
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(file: &'a PasteFile, eggs: &'a EggRegistry) -> Self {
        Resolver {
            file,
            eggs,
            stack: Vec::new(),
            depth: 0,
        }
    }

    fn filename(&self) -> &str {
        &self.file.ini.path
    }

    /// `ConfigLoader.find_config_section`.
    pub(crate) fn find_section(
        &self,
        kind: Kind,
        name: Option<&str>,
    ) -> Result<String, ResolveError> {
        let mut possible: Vec<String> = Vec::new();
        let sections: Vec<&str> = self.file.ini.section_names().collect();
        for options in kind.prefixes() {
            for prefix in options.iter() {
                let mut found = Vec::new();
                let wanted = match name {
                    None => {
                        if sections.contains(prefix) {
                            found.push((*prefix).to_owned());
                        }
                        "main"
                    }
                    Some(n) => n,
                };
                for s in &sections {
                    if let Some(rest) = s.strip_prefix(prefix).and_then(|r| r.strip_prefix(':'))
                        && py_strip(rest) == wanted
                    {
                        found.push((*s).to_owned());
                    }
                }
                if !found.is_empty() {
                    possible.extend(found);
                    break;
                }
            }
        }
        let prefixes = kind
            .prefixes()
            .iter()
            .flat_map(|o| o.iter())
            .map(|p| repr(p))
            .collect::<Vec<_>>()
            .join(" or ");
        let shown = name.map_or_else(|| "None".to_owned(), repr);
        match possible.len() {
            0 => Err(ResolveError::lookup(format!(
                "No section {shown} (prefixed by {prefixes}) found in config {}",
                self.filename()
            ))),
            1 => Ok(possible.remove(0)),
            _ => Err(ResolveError::lookup(format!(
                "Ambiguous section names {} for section {shown} (prefixed by {prefixes}) found in config {}",
                repr_list(&possible),
                self.filename()
            ))),
        }
    }

    /// `ConfigLoader.get_context(kind, name, global_conf)`.
    pub(crate) fn get_context(
        &mut self,
        kind: Kind,
        name: Option<&str>,
        global_conf: Option<&Conf>,
    ) -> Result<Context, ResolveError> {
        if let Some(n) = name
            && is_absolute_name(n)
        {
            return self.load_uri(kind, n, global_conf);
        }
        let section = self.find_section(kind, name)?;
        let key = format!("{}#{}", self.file.path.display(), section);
        if self.stack.contains(&key) {
            let mut chain: Vec<String> = self.stack.clone();
            chain.push(key);
            return Err(ResolveError {
                class: "RecursionError".into(),
                message: format!(
                    "loop in section references: {} (in config {})",
                    chain.join(" -> "),
                    self.filename()
                ),
            });
        }
        self.stack.push(key);
        let result = self.section_context(kind, &section, global_conf);
        self.stack.pop();
        let mut ctx = result?;
        ctx.sections.insert(0, section);
        Ok(ctx)
    }

    fn section_context(
        &mut self,
        kind: Kind,
        section: &str,
        global_conf: Option<&Conf>,
    ) -> Result<Context, ResolveError> {
        let ini = &self.file.ini;
        let err = |(class, message): (String, String)| ResolveError { class, message };
        let defaults = ini.interpolated_defaults().map_err(err)?;
        let mut global = defaults.clone();
        if let Some(g) = global_conf {
            global.update(g);
        }
        let mut local = Conf::new();
        let mut additions = Conf::new();
        let mut gets: Vec<(String, String)> = Vec::new();
        for option in ini.options(section) {
            if let Some(name) = option.strip_prefix("set ") {
                let v = ini.get(section, &option).map_err(err)?;
                let name = py_strip(name);
                additions.insert(name, v.clone());
                global.insert(name, v);
            } else if let Some(name) = option.strip_prefix("get ") {
                let v = ini.get(section, &option).map_err(err)?;
                gets.push((py_strip(name).to_owned(), v));
            } else {
                if defaults.contains_key(&option) {
                    continue;
                }
                let v = ini.get(section, &option).map_err(err)?;
                local.insert(option, v);
            }
        }
        for (local_var, glob_var) in gets {
            let v = global.get(&glob_var).ok_or_else(|| ResolveError {
                class: "KeyError".into(),
                message: repr(&glob_var),
            })?;
            local.insert(local_var, v.to_owned());
        }
        let filter_with = if matches!(kind, Kind::App | Kind::Filter) {
            local.remove("filter-with")
        } else {
            None
        };
        local.remove("require");
        let ctx = if section.starts_with("filter-app:") {
            self.filter_app_context(section, global.clone(), local.clone(), &additions)?
        } else if section.starts_with("pipeline:") {
            self.pipeline_context(section, global.clone(), local.clone())?
        } else if local.contains_key("use") {
            self.context_from_use(kind, &mut local, &global, &additions, section)?
        } else {
            self.context_from_explicit(kind, &mut local, &global, section)?
        };
        if let Some(fw) = filter_with {
            let mut wrapped = Context::new(
                ObjectType::FilteredWith,
                None,
                None,
                global.clone(),
                local,
                &self.file.path,
            );
            wrapped.filter = Some(Box::new(self.get_context(
                Kind::Filter,
                Some(&fw),
                Some(&global),
            )?));
            wrapped.next = Some(Box::new(ctx));
            return Ok(wrapped);
        }
        Ok(ctx)
    }

    fn context_from_use(
        &mut self,
        kind: Kind,
        local: &mut Conf,
        global: &Conf,
        additions: &Conf,
        section: &str,
    ) -> Result<Context, ResolveError> {
        let use_ = local.remove("use").unwrap_or_default();
        let mut ctx = self.get_context(kind, Some(&use_), Some(global))?;
        ctx.global_conf.update(additions);
        ctx.local_conf.update(local);
        if let Some(f) = global.get("__file__") {
            ctx.global_conf.insert("__file__", f);
        }
        if ctx.protocol.is_none() {
            let prefix = section.split(':').next().unwrap_or(section);
            ctx.protocol = Some(match prefix {
                "application" | "app" => "paste.app_factory".to_owned(),
                "composit" | "composite" => "paste.composit_factory".to_owned(),
                other => format!("paste.{other}_factory"),
            });
        }
        Ok(ctx)
    }

    fn context_from_explicit(
        &mut self,
        kind: Kind,
        local: &mut Conf,
        global: &Conf,
        section: &str,
    ) -> Result<Context, ResolveError> {
        let mut possible: Vec<(String, String)> = Vec::new();
        for options in kind.egg_protocols() {
            for protocol in options.iter() {
                if let Some(v) = local.get(protocol) {
                    possible.push(((*protocol).to_owned(), v.to_owned()));
                    break;
                }
            }
        }
        if possible.len() > 1 {
            let shown: Vec<String> = possible
                .iter()
                .map(|(p, v)| format!("({}, {})", repr(p), repr(v)))
                .collect();
            return Err(ResolveError::lookup(format!(
                "Multiple protocols given in section {}: [{}]",
                repr(section),
                shown.join(", ")
            )));
        }
        let Some((protocol, spec)) = possible.pop() else {
            return Err(ResolveError::lookup(format!(
                "No loader given in section {}",
                repr(section)
            )));
        };
        local.remove(&protocol);
        Ok(Context::new(
            kind.object_type(),
            Some(&protocol),
            Some(ObjectRef::Factory { spec }),
            global.clone(),
            local.clone(),
            &self.file.path,
        ))
    }

    fn pipeline_context(
        &mut self,
        section: &str,
        global: Conf,
        mut local: Conf,
    ) -> Result<Context, ResolveError> {
        let Some(pipeline) = local.remove("pipeline") else {
            return Err(ResolveError::lookup(format!(
                "The [{section}] section in {} is missing a 'pipeline' setting",
                self.filename()
            )));
        };
        if !local.is_empty() {
            return Err(ResolveError::lookup(format!(
                "The [{section}] pipeline section in {} has extra (disallowed) settings: {}",
                self.filename(),
                local.keys().collect::<Vec<_>>().join(", ")
            )));
        }
        let names: Vec<&str> = pipeline
            .split(fjord_config::pyrepr::is_py_space)
            .filter(|s| !s.is_empty())
            .collect();
        let Some((app_name, filter_names)) = names.split_last() else {
            return Err(ResolveError {
                class: "IndexError".into(),
                message: "list index out of range".into(),
            });
        };
        let mut ctx = Context::new(
            ObjectType::Pipeline,
            None,
            None,
            global.clone(),
            local,
            &self.file.path,
        );
        ctx.app = Some(Box::new(self.get_context(
            Kind::App,
            Some(app_name),
            Some(&global),
        )?));
        for f in filter_names {
            let fc = self.get_context(Kind::Filter, Some(f), Some(&global))?;
            ctx.filters.push(fc);
        }
        Ok(ctx)
    }

    fn filter_app_context(
        &mut self,
        section: &str,
        global: Conf,
        mut local: Conf,
        additions: &Conf,
    ) -> Result<Context, ResolveError> {
        let Some(next) = local.remove("next") else {
            return Err(ResolveError::lookup(format!(
                "The [{section}] section in {} is missing a 'next' setting",
                self.filename()
            )));
        };
        let next_ctx = self.get_context(Kind::App, Some(&next), Some(&global))?;
        let filter = if local.contains_key("use") {
            self.context_from_use(Kind::Filter, &mut local, &global, additions, section)?
        } else {
            self.context_from_explicit(Kind::Filter, &mut local, &global, section)?
        };
        let mut ctx = Context::new(
            ObjectType::FilterApp,
            None,
            None,
            global,
            local,
            &self.file.path,
        );
        ctx.filter = Some(Box::new(filter));
        ctx.next = Some(Box::new(next_ctx));
        Ok(ctx)
    }

    /// `loadcontext(kind, uri)` for `egg:`, `call:` and `config:` names.
    fn load_uri(
        &mut self,
        kind: Kind,
        uri: &str,
        global_conf: Option<&Conf>,
    ) -> Result<Context, ResolveError> {
        let (uri, name) = match uri.split_once('#') {
            Some((u, n)) => (u, n),
            None => (uri, "main"),
        };
        let Some((scheme, path)) = uri.split_once(':') else {
            return Err(ResolveError::lookup(format!(
                "URI has no scheme: {}",
                repr(uri)
            )));
        };
        let global = global_conf.cloned().unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "egg" => self.load_egg(kind, path, name, global),
            "call" => {
                if !path.contains(':') {
                    return Err(ResolveError::lookup(
                        "'call' URI scheme requires ':' in spec".into(),
                    ));
                }
                Ok(Context::new(
                    kind.object_type(),
                    None,
                    Some(ObjectRef::Call {
                        spec: path.to_owned(),
                    }),
                    global,
                    Conf::new(),
                    &self.file.path,
                ))
            }
            "config" => self.load_config(kind, path, name, global),
            other => Err(ResolveError::lookup(format!(
                "URI scheme not known: {} (from config, egg, call)",
                repr(other)
            ))),
        }
    }

    fn load_egg(
        &mut self,
        kind: Kind,
        dist: &str,
        name: &str,
        global: Conf,
    ) -> Result<Context, ResolveError> {
        if !self.eggs.has_dist(dist) {
            return Err(ResolveError {
                class: "PackageNotFoundError".into(),
                message: format!("No package metadata was found for {dist}"),
            });
        }
        let mut possible = Vec::new();
        for options in kind.egg_protocols() {
            for group in options.iter() {
                if let Some(e) = self.eggs.find(dist, group, name) {
                    possible.push(e.clone());
                    break;
                }
            }
        }
        let all: Vec<&str> = kind
            .egg_protocols()
            .iter()
            .flat_map(|o| o.iter().copied())
            .collect();
        if possible.is_empty() {
            return Err(ResolveError::lookup(format!(
                "Entry point {} not found in egg {} (protocols: {}; entry_points: )",
                repr(name),
                repr(dist),
                all.join(", ")
            )));
        }
        if possible.len() > 1 {
            let last = kind
                .egg_protocols()
                .last()
                .map(|o| o.join(", "))
                .unwrap_or_default();
            return Err(ResolveError::lookup(format!(
                "Ambiguous entry points for {} in egg {} (protocols: {last})",
                repr(name),
                repr(dist)
            )));
        }
        let e = possible.remove(0);
        Ok(Context::new(
            kind.object_type(),
            Some(&e.group),
            Some(ObjectRef::Egg {
                dist: dist.to_owned(),
                name: name.to_owned(),
                group: e.group.clone(),
                target: e.target.clone(),
            }),
            global,
            Conf::new(),
            &self.file.path,
        ))
    }

    fn load_config(
        &mut self,
        kind: Kind,
        path: &str,
        name: &str,
        global: Conf,
    ) -> Result<Context, ResolveError> {
        if self.depth >= 16 {
            return Err(ResolveError {
                class: "RecursionError".into(),
                message: format!("config: references nested too deep at {}", self.filename()),
            });
        }
        let path = path.replace('\\', "/");
        let full = if Path::new(&path).is_absolute() {
            PathBuf::from(&path)
        } else {
            self.file
                .path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&path)
        };
        let mut other = super::PasteConfig::from_file(&full).map_err(|e| ResolveError {
            class: "OSError".into(),
            message: e.to_string(),
        })?;
        // loader.update_defaults(global_conf, overwrite=False)
        for (k, v) in global.iter() {
            if !other.file.ini.defaults.contains_key(k) {
                other.file.ini.defaults.insert(k, v);
            }
        }
        let mut sub = Resolver {
            file: &other.file,
            eggs: self.eggs,
            stack: self.stack.clone(),
            depth: self.depth + 1,
        };
        sub.get_context(kind, Some(name), Some(&global))
    }
}
