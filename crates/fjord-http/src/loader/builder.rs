//! [`Loader`]: factories registered by name, and building tower services
//! from resolved sections.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use super::PasteConfig;
use super::context::{Context, Kind, ObjectType, Resolver};
use super::egg::{EggRegistry, normalize_dist};
use super::error::LoaderError;
use crate::App;
use crate::factory::{Conf, FactoryError, Filter, GlobalConf, LocalConf};

/// Builds an app from `global_conf` and `local_conf`
/// (`paste.app_factory`).
pub type AppFactory =
    Arc<dyn Fn(&GlobalConf, &LocalConf) -> Result<App, FactoryError> + Send + Sync>;

/// Builds a filter from `global_conf` and `local_conf`
/// (`paste.filter_factory`, `paste.filter_app_factory`).
pub type FilterFactory =
    Arc<dyn Fn(&GlobalConf, &LocalConf) -> Result<Filter, FactoryError> + Send + Sync>;

/// Builds an app that dispatches to other apps of the same file, loaded
/// through the [`Composer`] (`paste.composite_factory`, e.g. urlmap).
pub type CompositeFactory = Arc<
    dyn Fn(&mut Composer<'_>, &GlobalConf, &LocalConf) -> Result<App, LoaderError> + Send + Sync,
>;

/// Registered factories and the egg registry; builds apps from a
/// [`PasteConfig`].
///
/// Factories are registered under the names the ini file uses:
/// `module:attr` (for `paste.app_factory = module:attr` and
/// `use = call:module:attr`; a `call:` prefix is accepted and ignored) or
/// `egg:Dist#name` (for `use = egg:Dist#name`; an egg reference is also
/// found under its entry point's `module:attr`).
#[derive(Clone)]
pub struct Loader {
    apps: HashMap<String, AppFactory>,
    filters: HashMap<String, FilterFactory>,
    composites: HashMap<String, CompositeFactory>,
    native: HashSet<String>,
    eggs: EggRegistry,
    middleware_conf: Arc<RwLock<Conf>>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut apps: Vec<_> = self.apps.keys().collect();
        apps.sort();
        let mut filters: Vec<_> = self.filters.keys().collect();
        filters.sort();
        let mut composites: Vec<_> = self.composites.keys().collect();
        composites.sort();
        f.debug_struct("Loader")
            .field("apps", &apps)
            .field("filters", &filters)
            .field("composites", &composites)
            .finish_non_exhaustive()
    }
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

/// The canonical registry key of a factory name.
pub(crate) fn canonical(name: &str) -> String {
    let name = name.trim();
    if let Some(rest) = name.strip_prefix("egg:") {
        let (dist, ep) = rest.split_once('#').unwrap_or((rest, "main"));
        return format!("egg:{}#{}", normalize_dist(dist), ep);
    }
    name.strip_prefix("call:").unwrap_or(name).to_owned()
}

/// Names fjord registers natively, as `(kind, name)` with kind `app`,
/// `filter` or `composite`.
pub fn native_factory_names() -> Vec<(&'static str, String)> {
    let loader = Loader::new();
    let mut out = Vec::new();
    for name in &loader.native {
        let kind = if loader.apps.contains_key(name) {
            "app"
        } else if loader.filters.contains_key(name) {
            "filter"
        } else {
            "composite"
        };
        out.push((kind, name.clone()));
    }
    out.sort();
    out
}

impl Loader {
    /// A loader with fjord's native factories registered: Paste's urlmap
    /// (`egg:Paste#urlmap`, `paste.urlmap:urlmap_factory`) and the
    /// oslo.middleware equivalents of [`crate::middleware`].
    pub fn new() -> Self {
        let mut loader = Loader::empty();
        loader.register_composite("egg:Paste#urlmap", super::urlmap::urlmap_factory);
        loader.register_composite("paste.urlmap:urlmap_factory", super::urlmap::urlmap_factory);
        let conf = loader.middleware_conf.clone();
        super::native::register_native(&mut loader, conf);
        loader.native = loader
            .apps
            .keys()
            .chain(loader.filters.keys())
            .chain(loader.composites.keys())
            .cloned()
            .collect();
        loader
    }

    /// A loader with nothing registered and the built-in egg registry.
    pub fn empty() -> Self {
        Loader {
            apps: HashMap::new(),
            filters: HashMap::new(),
            composites: HashMap::new(),
            native: HashSet::new(),
            eggs: EggRegistry::default(),
            middleware_conf: Arc::default(),
        }
    }

    /// The egg registry used for `use = egg:...` (default: built-in).
    pub fn eggs_mut(&mut self) -> &mut EggRegistry {
        &mut self.eggs
    }

    /// Sets an option for fjord's native middleware, as oslo.middleware
    /// reads it from the service's config file (`[oslo_middleware]
    /// enable_proxy_headers_parsing`, `max_request_body_size`, `[cors]
    /// allowed_origin`, ...): consulted after the filter section's own keys
    /// and the paste file's `[DEFAULT]`. Applies to apps loaded afterwards
    /// (also by clones of this loader, which share these options).
    pub fn set_middleware_option(&mut self, key: &str, value: &str) -> &mut Self {
        match self.middleware_conf.write() {
            Ok(mut c) => c.insert(key, value),
            Err(poisoned) => poisoned.into_inner().insert(key, value),
        }
        self
    }

    /// The egg registry.
    pub fn eggs(&self) -> &EggRegistry {
        &self.eggs
    }

    /// Registers an app factory under `name` (replacing any).
    pub fn register_app<F>(&mut self, name: &str, factory: F) -> &mut Self
    where
        F: Fn(&GlobalConf, &LocalConf) -> Result<App, FactoryError> + Send + Sync + 'static,
    {
        let key = canonical(name);
        self.native.remove(&key);
        self.apps.insert(key, Arc::new(factory));
        self
    }

    /// Registers a filter factory under `name` (replacing any).
    pub fn register_filter<F>(&mut self, name: &str, factory: F) -> &mut Self
    where
        F: Fn(&GlobalConf, &LocalConf) -> Result<Filter, FactoryError> + Send + Sync + 'static,
    {
        let key = canonical(name);
        self.native.remove(&key);
        self.filters.insert(key, Arc::new(factory));
        self
    }

    /// Registers a composite factory under `name` (replacing any).
    pub fn register_composite<F>(&mut self, name: &str, factory: F) -> &mut Self
    where
        F: Fn(&mut Composer<'_>, &GlobalConf, &LocalConf) -> Result<App, LoaderError>
            + Send
            + Sync
            + 'static,
    {
        let key = canonical(name);
        self.native.remove(&key);
        self.composites.insert(key, Arc::new(factory));
        self
    }

    /// Whether `name` is one of fjord's native factories (and was not
    /// replaced by the application).
    pub fn is_native(&self, name: &str) -> bool {
        self.native.contains(&canonical(name))
    }

    /// Whether any factory is registered under `name`.
    pub fn is_registered(&self, name: &str) -> bool {
        let key = canonical(name);
        self.apps.contains_key(&key)
            || self.filters.contains_key(&key)
            || self.composites.contains_key(&key)
    }

    /// Builds the app `name` (`main` for the default) of `config`.
    ///
    /// # Errors
    /// [`LoaderError::Resolve`] for a missing section or bad reference
    /// (including a `use` loop), [`LoaderError::UnknownFactory`] when a
    /// factory is not registered, [`LoaderError::Loop`] for composites
    /// that refer to each other, [`LoaderError::Factory`] when a factory
    /// fails.
    pub fn load_app(&self, config: &PasteConfig, name: &str) -> Result<App, LoaderError> {
        let mut stack = Vec::new();
        let mut composer = Composer {
            loader: self,
            config,
            global_conf: GlobalConf::new(),
            stack: &mut stack,
        };
        composer.load(name, false)
    }

    /// Reads `path` and builds its app `name`.
    ///
    /// # Errors
    /// As [`PasteConfig::from_file`] and [`Loader::load_app`].
    pub fn load_app_from_file(
        &self,
        path: impl AsRef<std::path::Path>,
        name: &str,
    ) -> Result<App, LoaderError> {
        let config = PasteConfig::from_file(path)?;
        self.load_app(&config, name)
    }

    /// Builds the filter `name` of `config`.
    ///
    /// # Errors
    /// As [`Loader::load_app`].
    pub fn load_filter(&self, config: &PasteConfig, name: &str) -> Result<Filter, LoaderError> {
        let mut stack = Vec::new();
        let mut composer = Composer {
            loader: self,
            config,
            global_conf: GlobalConf::new(),
            stack: &mut stack,
        };
        composer.get_filter(name)
    }

    fn unknown(&self, kind: &'static str, ctx: &Context, section: &str) -> LoaderError {
        LoaderError::UnknownFactory {
            kind,
            names: ctx
                .object
                .as_ref()
                .map(|o| o.lookup_names())
                .unwrap_or_default(),
            section: section.to_owned(),
            file: ctx.file.clone(),
        }
    }

    fn find<'m, T>(map: &'m HashMap<String, T>, ctx: &Context) -> Option<&'m T> {
        let names = ctx.object.as_ref()?.lookup_names();
        names.iter().find_map(|n| map.get(&canonical(n)))
    }
}

fn section_of(ctx: &Context) -> String {
    ctx.sections.first().cloned().unwrap_or_else(|| {
        ctx.object
            .as_ref()
            .and_then(|o| o.lookup_names().into_iter().next())
            .unwrap_or_else(|| ctx.object_type.as_str().to_owned())
    })
}

/// Handed to composite factories: loads other apps and filters of the same
/// file with the composite's `global_conf` (PasteDeploy's `loader`
/// argument).
pub struct Composer<'a> {
    loader: &'a Loader,
    config: &'a PasteConfig,
    global_conf: GlobalConf,
    stack: &'a mut Vec<String>,
}

impl std::fmt::Debug for Composer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer")
            .field("file", &self.config.path())
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

impl Composer<'_> {
    /// The composite's `global_conf`.
    pub fn global_conf(&self) -> &GlobalConf {
        &self.global_conf
    }

    /// The composite section being built, if any.
    pub fn section(&self) -> Option<&str> {
        self.stack.last().map(String::as_str)
    }

    /// The file being loaded.
    pub fn config(&self) -> &PasteConfig {
        self.config
    }

    /// Builds the app `name` (`loader.get_app(name)`).
    ///
    /// # Errors
    /// As [`Loader::load_app`].
    pub fn get_app(&mut self, name: &str) -> Result<App, LoaderError> {
        self.load(name, true)
    }

    fn load(&mut self, name: &str, with_global: bool) -> Result<App, LoaderError> {
        let ctx = self.resolve(Kind::App, name, with_global)?;
        self.build_app(&ctx)
    }

    fn resolve(
        &mut self,
        kind: Kind,
        name: &str,
        with_global: bool,
    ) -> Result<Context, LoaderError> {
        let mut resolver = Resolver::new(&self.config.file, &self.loader.eggs);
        let global = with_global.then_some(&self.global_conf);
        resolver
            .get_context(kind, Some(name), global)
            .map_err(|source| LoaderError::Resolve {
                file: self.config.file.path.clone(),
                name: name.to_owned(),
                source,
            })
    }

    /// Builds the filter `name` (`loader.get_filter(name)`).
    ///
    /// # Errors
    /// As [`Loader::load_app`].
    pub fn get_filter(&mut self, name: &str) -> Result<Filter, LoaderError> {
        let ctx = self.resolve(Kind::Filter, name, true)?;
        self.build_filter(&ctx)
    }

    fn build_app(&mut self, ctx: &Context) -> Result<App, LoaderError> {
        let section = section_of(ctx);
        match ctx.object_type {
            ObjectType::Pipeline => {
                let inner = ctx.app.as_deref().ok_or_else(|| LoaderError::WrongType {
                    section: section.clone(),
                    found: "pipeline without app".into(),
                    wanted: "an application",
                    file: ctx.file.clone(),
                })?;
                let mut app = self.build_app(inner)?;
                for f in ctx.filters.iter().rev() {
                    let filter = self.build_filter(f)?;
                    app = filter(app);
                }
                Ok(app)
            }
            ObjectType::FilterApp | ObjectType::FilteredWith => {
                let (Some(f), Some(next)) = (ctx.filter.as_deref(), ctx.next.as_deref()) else {
                    return Err(LoaderError::WrongType {
                        section,
                        found: "filter without next".into(),
                        wanted: "an application",
                        file: ctx.file.clone(),
                    });
                };
                let filter = self.build_filter(f)?;
                let app = self.build_app(next)?;
                Ok(filter(app))
            }
            ObjectType::Application => match ctx.protocol.as_deref() {
                Some("paste.app_factory") => {
                    let factory = Loader::find(&self.loader.apps, ctx)
                        .ok_or_else(|| self.loader.unknown("app", ctx, &section))?;
                    factory(&ctx.global_conf, &ctx.local_conf).map_err(|source| {
                        LoaderError::Factory {
                            section,
                            file: ctx.file.clone(),
                            source,
                        }
                    })
                }
                Some("paste.composite_factory" | "paste.composit_factory") => {
                    let factory = Loader::find(&self.loader.composites, ctx)
                        .ok_or_else(|| self.loader.unknown("composite", ctx, &section))?
                        .clone();
                    if self.stack.contains(&section) {
                        let mut chain = self.stack.clone();
                        chain.push(section);
                        return Err(LoaderError::Loop {
                            chain,
                            file: ctx.file.clone(),
                        });
                    }
                    self.stack.push(section);
                    let mut inner = Composer {
                        loader: self.loader,
                        config: self.config,
                        global_conf: ctx.global_conf.clone(),
                        stack: &mut *self.stack,
                    };
                    let result = factory(&mut inner, &ctx.global_conf, &ctx.local_conf);
                    self.stack.pop();
                    result
                }
                other => Err(LoaderError::WrongType {
                    section,
                    found: other.unwrap_or("object without protocol").to_owned(),
                    wanted: "an application",
                    file: ctx.file.clone(),
                }),
            },
            other => Err(LoaderError::WrongType {
                section,
                found: other.as_str().to_owned(),
                wanted: "an application",
                file: ctx.file.clone(),
            }),
        }
    }

    fn build_filter(&mut self, ctx: &Context) -> Result<Filter, LoaderError> {
        let section = section_of(ctx);
        match (ctx.object_type, ctx.protocol.as_deref()) {
            (ObjectType::Filter, Some("paste.filter_factory" | "paste.filter_app_factory")) => {
                let factory = Loader::find(&self.loader.filters, ctx)
                    .ok_or_else(|| self.loader.unknown("filter", ctx, &section))?;
                factory(&ctx.global_conf, &ctx.local_conf).map_err(|source| LoaderError::Factory {
                    section,
                    file: ctx.file.clone(),
                    source,
                })
            }
            (t, p) => Err(LoaderError::WrongType {
                section,
                found: p.unwrap_or(t.as_str()).to_owned(),
                wanted: "a filter",
                file: ctx.file.clone(),
            }),
        }
    }
}

/// A composite factory in the style of OpenStack's `pipeline_factory`
/// (karbor, cinder, manila, nova's `pipeline_factory_v21`): the composite's
/// `local_conf` maps auth strategies to pipelines (`noauth = a b app`,
/// `keystone = ...`); the pipeline under `key` is built, its last name the
/// app and the others filters, first outermost.
///
/// ```
/// # let mut loader = fjord_http::loader::Loader::new();
/// loader.register_composite(
///     "karbor.api.middleware.auth:pipeline_factory",
///     fjord_http::loader::pipeline_factory("noauth"),
/// );
/// ```
pub fn pipeline_factory(
    key: impl Into<String>,
) -> impl Fn(&mut Composer<'_>, &GlobalConf, &LocalConf) -> Result<App, LoaderError>
+ Send
+ Sync
+ 'static {
    let key = key.into();
    move |composer, _global, local| {
        let spec = local.get(&key).ok_or_else(|| LoaderError::Factory {
            section: composer.stack.last().cloned().unwrap_or_default(),
            file: composer.config.path().to_owned(),
            source: FactoryError::new(format!(
                "no pipeline for {key:?} (keys: {})",
                local.keys().collect::<Vec<_>>().join(", ")
            )),
        })?;
        let names: Vec<&str> = spec.split_whitespace().collect();
        let Some((app_name, filters)) = names.split_last() else {
            return Err(LoaderError::Factory {
                section: composer.stack.last().cloned().unwrap_or_default(),
                file: composer.config.path().to_owned(),
                source: FactoryError::new(format!("empty pipeline for {key:?}")),
            });
        };
        let mut built = Vec::new();
        for f in filters {
            built.push(composer.get_filter(f)?);
        }
        let mut app = composer.get_app(app_name)?;
        for f in built.iter().rev() {
            app = f(app);
        }
        Ok(app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(
            canonical("egg:oslo.middleware#request_id"),
            "egg:oslo-middleware#request_id"
        );
        assert_eq!(canonical("call:a.b:c"), "a.b:c");
        assert_eq!(canonical("egg:Paste"), "egg:paste#main");
    }
}
