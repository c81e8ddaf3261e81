//! paste-deploy style app loading (`api-paste.ini`).
//!
//! Two layers:
//!
//! * **Reading** ([`PasteConfig`]): the file is parsed with the semantics of
//!   PasteDeploy 3.1's `NicerConfigParser` (Python `configparser`, strict:
//!   duplicate sections/keys are errors, `%(name)s` interpolation against
//!   the section then `[DEFAULT]`, `%%` for `%`, case-sensitive keys,
//!   `here` and `__file__` defaults) and each section is resolved to a
//!   [`Context`] the way `ConfigLoader.get_context` does it: `[DEFAULT]`
//!   as `global_conf`, `set`/`get`, `use = other_section`,
//!   `use = egg:Dist#name` (through an [`EggRegistry`] of known entry
//!   points), `use = call:module:attr`, `use = config:file#name`,
//!   `paste.app_factory = module:attr` and the other `paste.*_factory`
//!   keys, `[composite:...]`, `[pipeline:...]`, `[filter:...]`,
//!   `[app:...]`, `[filter-app:...]` with `next`, and `filter-with`.
//!   [`PasteConfig::to_json`] gives the structure, [`describe()`] an
//!   operator-facing view.
//! * **Building** ([`Loader`]): factories are registered in code by the
//!   names the ini uses (`module:attr`, `egg:dist#name`), and
//!   [`Loader::load_app`] turns a section into an [`App`](crate::App):
//!   pipelines wrap the app in their filters (first filter outermost),
//!   composites get a [`Composer`] to load the apps they map. fjord's own
//!   middleware and Paste's urlmap are registered natively under the names
//!   real `api-paste.ini` files use (see [`native_factory_names`]).
//!
//! ```
//! use fjord_http::loader::{Loader, PasteConfig};
//! use fjord_http::{full, App, Response};
//! use std::convert::Infallible;
//!
//! let ini = "\
//! [composite:main]
//! use = egg:Paste#urlmap
//! /v1 = api
//!
//! [pipeline:api]
//! pipeline = request_id hello
//!
//! [filter:request_id]
//! paste.filter_factory = oslo_middleware:RequestId.factory
//!
//! [app:hello]
//! paste.app_factory = demo:hello
//! greeting = hi
//! ";
//! let config = PasteConfig::parse(ini, "/etc/demo/api-paste.ini")?;
//! let mut loader = Loader::new();
//! loader.register_app("demo:hello", |_global, local| {
//!     let text = local.get("greeting").unwrap_or("hello").to_owned();
//!     Ok(App::new(tower::service_fn(move |_req| {
//!         let text = text.clone();
//!         async move { Ok::<_, Infallible>(Response::new(full(text))) }
//!     })))
//! });
//! let app = loader.load_app(&config, "main")?;
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builder;
mod context;
mod describe;
mod egg;
mod error;
mod ini;
mod native;
mod urlmap;

use std::path::{Path, PathBuf};

pub use crate::factory::{
    Conf, FactoryError, Filter, GlobalConf, LocalConf, OriginalUri, ScriptName,
};
pub use builder::{
    AppFactory, Composer, CompositeFactory, FilterFactory, Loader, native_factory_names,
    pipeline_factory,
};
pub use context::{Context, Kind, ObjectRef, ObjectType, ResolveError};
pub use describe::{describe, describe_with};
pub use egg::{EggEntry, EggRegistry, normalize_dist};
pub use error::LoaderError;
pub use ini::{IniError, IniErrorKind};
pub use urlmap::{UrlMap, urlmap_factory};

use context::{PasteFile, Resolver};

/// A parsed `api-paste.ini`.
#[derive(Clone, Debug)]
pub struct PasteConfig {
    file: PasteFile,
}

impl PasteConfig {
    /// Reads and parses `path`; `here` is its absolute directory.
    ///
    /// # Errors
    /// [`LoaderError::Io`] if the file cannot be read (or is not UTF-8),
    /// [`LoaderError::Parse`] if configparser would reject it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, LoaderError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| LoaderError::Io {
            file: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| LoaderError::Io {
            file: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let here = abs
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Self::parse_with(
            &text,
            &path.display().to_string(),
            &here,
            &abs.display().to_string(),
        )
    }

    /// Parses `text` as the file at `path` (used in messages; `here` is its
    /// directory, `__file__` the path itself).
    ///
    /// # Errors
    /// [`LoaderError::Parse`] if configparser would reject the text.
    pub fn parse(text: &str, path: &str) -> Result<Self, LoaderError> {
        let here = Path::new(path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Self::parse_with(text, path, &here, path)
    }

    /// Parses `text` with explicit `here` and `__file__` defaults.
    ///
    /// # Errors
    /// [`LoaderError::Parse`] if configparser would reject the text.
    pub fn parse_with(text: &str, path: &str, here: &str, file: &str) -> Result<Self, LoaderError> {
        let initial: Conf = [("here", here), ("__file__", file)].into_iter().collect();
        let ini = ini::parse(text, path, &initial).map_err(|source| LoaderError::Parse {
            file: PathBuf::from(path),
            source,
        })?;
        Ok(PasteConfig {
            file: PasteFile {
                ini,
                path: PathBuf::from(path),
            },
        })
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// `parser.defaults()`: `here`, `__file__` and `[DEFAULT]`, interpolated.
    ///
    /// # Errors
    /// A [`ResolveError`] if a `[DEFAULT]` value fails to interpolate.
    pub fn defaults(&self) -> Result<Conf, ResolveError> {
        self.file
            .ini
            .interpolated_defaults()
            .map_err(|(class, message)| ResolveError { class, message })
    }

    /// Section names in file order (without `DEFAULT`).
    pub fn section_names(&self) -> Vec<String> {
        self.file.ini.section_names().map(str::to_owned).collect()
    }

    /// A section's own keys, raw (not interpolated).
    pub fn raw_section(&self, name: &str) -> Option<&Conf> {
        self.file.ini.section(name)
    }

    /// Resolves `name` (`None` = `main`) as PasteDeploy's
    /// `get_context(kind, name)` with the built-in [`EggRegistry`].
    ///
    /// # Errors
    /// The [`ResolveError`] PasteDeploy would raise.
    pub fn context(&self, kind: Kind, name: Option<&str>) -> Result<Context, ResolveError> {
        self.context_with(kind, name, &EggRegistry::default())
    }

    /// Like [`PasteConfig::context`] with a given egg registry.
    ///
    /// # Errors
    /// The [`ResolveError`] PasteDeploy would raise.
    pub fn context_with(
        &self,
        kind: Kind,
        name: Option<&str>,
        eggs: &EggRegistry,
    ) -> Result<Context, ResolveError> {
        Resolver::new(&self.file, eggs).get_context(kind, name, None)
    }

    /// The whole file in the corpus's JSON shape: `ok`, `defaults`,
    /// `raw_sections`, and `sections` (each with `prefix`, `name`,
    /// `object_type` and `context` or `error`).
    pub fn to_json(&self, eggs: &EggRegistry) -> serde_json::Value {
        let defaults = match self.defaults() {
            Ok(d) => d.to_json(),
            Err(e) => serde_json::json!({"error": {"class": e.class, "message": e.message}}),
        };
        let mut raw = serde_json::Map::new();
        let mut sections = serde_json::Map::new();
        for name in self.file.ini.section_names() {
            if let Some(s) = self.file.ini.section(name) {
                raw.insert(name.to_owned(), s.to_json());
            }
            sections.insert(name.to_owned(), self.section_json(name, eggs));
        }
        serde_json::json!({
            "ok": true,
            "defaults": defaults,
            "raw_sections": raw,
            "sections": sections,
        })
    }

    fn section_json(&self, section: &str, eggs: &EggRegistry) -> serde_json::Value {
        let (prefix, name) = match section.split_once(':') {
            Some((p, n)) => (p, Some(fjord_config::pyrepr::py_strip(n).to_owned())),
            None => (section, None),
        };
        let kind = Kind::of_prefix(prefix);
        let object_type = kind.map(|k| match k {
            Kind::App => "application",
            Kind::Filter => "filter",
            Kind::Server => "server",
        });
        let mut m = serde_json::Map::new();
        m.insert("prefix".into(), prefix.into());
        m.insert("name".into(), name.clone().into());
        m.insert("object_type".into(), object_type.into());
        if let Some(kind) = kind {
            match self.context_with(kind, name.as_deref(), eggs) {
                Ok(ctx) => m.insert("context".into(), ctx.to_json()),
                Err(e) => m.insert(
                    "error".into(),
                    serde_json::json!({"class": e.class, "message": e.message}),
                ),
            };
        }
        serde_json::Value::Object(m)
    }
}

impl LoaderError {
    /// The error in the corpus's JSON shape (`class`, `message`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            LoaderError::Parse { source, .. } => {
                serde_json::json!({"class": source.kind.class(), "message": source.message, "line": source.line})
            }
            LoaderError::Resolve { source, .. } => {
                serde_json::json!({"class": source.class, "message": source.message})
            }
            other => serde_json::json!({"class": "LoaderError", "message": other.to_string()}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "[DEFAULT]\nlog_name = main-log\nsecret = s\n\n[app:a]\npaste.app_factory = m:f\nget x = secret\nz = %(log_name)s\ny = 2\nset log_name = other\nlog_name = dropped\n\n[app:b]\nuse = a\nw = 1\ny = 3\n";

    #[test]
    fn local_and_global_conf_keep_pastes_order() {
        let config = PasteConfig::parse_with(INI, "p.ini", "/h", "/h/p.ini").unwrap();
        let a = config.context(Kind::App, Some("a")).unwrap();
        assert_eq!(a.local_conf.keys().collect::<Vec<_>>(), ["z", "y", "x"]);
        // configparser interpolates from the section first, then [DEFAULT].
        assert_eq!(a.local_conf.get("z"), Some("dropped"));
        assert_eq!(
            a.global_conf.iter().collect::<Vec<_>>(),
            [
                ("here", "/h"),
                ("__file__", "/h/p.ini"),
                ("log_name", "other"),
                ("secret", "s")
            ]
        );
        let b = config.context(Kind::App, Some("b")).unwrap();
        assert_eq!(b.sections, ["app:b", "app:a"]);
        assert_eq!(
            b.local_conf.keys().collect::<Vec<_>>(),
            ["z", "y", "x", "w"]
        );
        assert_eq!(b.local_conf.get("y"), Some("3"));
        assert_eq!(b.object, Some(ObjectRef::Factory { spec: "m:f".into() }));
    }

    #[test]
    fn missing_names_and_bad_schemes_are_lookup_errors() {
        let config = PasteConfig::parse(INI, "p.ini").unwrap();
        let e = config.context(Kind::Filter, Some("a")).unwrap_err();
        assert_eq!(e.class, "LookupError");
        assert_eq!(
            e.message,
            "No section 'a' (prefixed by 'filter') found in config p.ini"
        );
        let e = config.context(Kind::App, None).unwrap_err();
        assert!(e.message.starts_with("No section None"), "{}", e.message);
        let e = config.context(Kind::App, Some("egg:Nope#x")).unwrap_err();
        assert_eq!(e.class, "PackageNotFoundError");
    }
}
