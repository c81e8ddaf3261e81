//! An operator-facing description of a paste file (for
//! `fjord-config paste --paste-config F`).

use std::path::Path;

use serde_json::{Map, Value, json};

use super::PasteConfig;
use super::builder::Loader;
use super::context::{Context, Kind, ObjectType};

/// Describes the paste file at `path` with fjord's native factories only
/// (see [`describe_with`]).
pub fn describe(path: impl AsRef<Path>) -> Value {
    describe_with(path, &Loader::new())
}

/// Describes the paste file at `path` as `loader` would load it.
///
/// The result is one JSON object: `file`, `ok`; on a read/parse error
/// `error` (`class`, `message`, `line`); otherwise `defaults` and
/// `sections`, a list in file order of objects with `section`, `type`
/// (the prefix), `name`, `object_type`, `raw` (the keys as written) and
/// either `error` or `context`: what the section resolves to (object
/// type, protocol, factory reference, visited sections, `global_conf`,
/// `local_conf`, nested `app`/`filters`/`filter`/`next`), where each
/// factory-built object carries `factory` = `{kind, names, provider}`
/// with provider `fjord` (native), `application` (registered in code) or
/// `missing` (the application must register one of `names`), pipelines
/// carry `chain` = `{filters, app}` and url-map composites `urlmap`.
/// `factories` sums up every factory the file needs.
pub fn describe_with(path: impl AsRef<Path>, loader: &Loader) -> Value {
    let path = path.as_ref();
    let file = path.display().to_string();
    match PasteConfig::from_file(path) {
        Ok(config) => describe_config(&config, loader),
        Err(e) => json!({"file": file, "ok": false, "error": e.to_json()}),
    }
}

/// Describes an already parsed file (see [`describe_with`]).
pub(crate) fn describe_config(config: &PasteConfig, loader: &Loader) -> Value {
    let mut factories: Vec<(String, Value, Vec<String>)> = Vec::new();
    let mut sections = Vec::new();
    for name in config.section_names() {
        let (prefix, short) = match name.split_once(':') {
            Some((p, n)) => (p.to_owned(), Some(n.trim().to_owned())),
            None => (name.clone(), None),
        };
        let mut m = Map::new();
        m.insert("section".into(), name.clone().into());
        m.insert("type".into(), prefix.clone().into());
        m.insert("name".into(), short.clone().into());
        let kind = Kind::of_prefix(&prefix);
        m.insert(
            "object_type".into(),
            kind.map(|k| match k {
                Kind::App => "application",
                Kind::Filter => "filter",
                Kind::Server => "server",
            })
            .into(),
        );
        if let Some(raw) = config.raw_section(&name) {
            m.insert("raw".into(), raw.to_json());
        }
        match kind {
            None => {
                m.insert(
                    "note".into(),
                    "not a paste section (ignored by the loader)".into(),
                );
            }
            Some(kind) => match config.context_with(kind, short.as_deref(), loader.eggs()) {
                Ok(ctx) => {
                    let v = annotate(&ctx, loader, &mut |fname, info| match factories
                        .iter_mut()
                        .find(|(n, _, _)| *n == fname)
                    {
                        Some((_, _, users)) => {
                            if !users.contains(&name) {
                                users.push(name.clone());
                            }
                        }
                        None => factories.push((fname, info, vec![name.clone()])),
                    });
                    m.insert("context".into(), v);
                }
                Err(e) => {
                    m.insert(
                        "error".into(),
                        json!({"class": e.class, "message": e.message}),
                    );
                }
            },
        }
        sections.push(Value::Object(m));
    }
    let defaults = match config.defaults() {
        Ok(d) => d.to_json(),
        Err(e) => json!({"error": {"class": e.class, "message": e.message}}),
    };
    let factories: Vec<Value> = factories
        .into_iter()
        .map(|(name, mut info, users)| {
            if let Value::Object(m) = &mut info {
                m.insert("name".into(), name.into());
                m.insert("used_by".into(), users.into());
            }
            info
        })
        .collect();
    json!({
        "file": config.path().display().to_string(),
        "ok": true,
        "defaults": defaults,
        "sections": sections,
        "factories": factories,
    })
}

fn factory_kind(ctx: &Context) -> &'static str {
    match ctx.protocol.as_deref() {
        Some("paste.app_factory") => "app",
        Some("paste.composite_factory" | "paste.composit_factory") => "composite",
        Some("paste.filter_factory" | "paste.filter_app_factory") => "filter",
        Some("paste.server_factory" | "paste.server_runner") => "server",
        _ => "unknown",
    }
}

fn annotate(ctx: &Context, loader: &Loader, seen: &mut dyn FnMut(String, Value)) -> Value {
    let mut v = ctx.to_json();
    let Value::Object(m) = &mut v else {
        return v;
    };
    if let Some(obj) = &ctx.object {
        let names = obj.lookup_names();
        let kind = factory_kind(ctx);
        let provider = if kind == "server" {
            "not used (fjord runs its own server)"
        } else if names.iter().any(|n| loader.is_native(n)) {
            "fjord"
        } else if names.iter().any(|n| loader.is_registered(n)) {
            "application"
        } else {
            "missing"
        };
        let info = json!({"kind": kind, "names": names, "provider": provider});
        if let Some(first) = names.first() {
            seen(first.clone(), info.clone());
        }
        m.insert("factory".into(), info);
        if kind == "composite" && names.iter().any(|n| n.contains("urlmap")) {
            m.insert("urlmap".into(), ctx.local_conf.to_json());
        }
    }
    if ctx.object_type == ObjectType::Pipeline {
        let filters: Vec<Value> = ctx
            .filters
            .iter()
            .map(|f| f.sections.first().cloned().map_or(Value::Null, Value::from))
            .collect();
        let app = ctx
            .app
            .as_ref()
            .and_then(|a| a.sections.first().cloned())
            .map_or(Value::Null, Value::from);
        m.insert("chain".into(), json!({"filters": filters, "app": app}));
        if let Some(a) = &ctx.app {
            m.insert("app".into(), annotate(a, loader, seen));
        }
        let fs: Vec<Value> = ctx
            .filters
            .iter()
            .map(|f| annotate(f, loader, seen))
            .collect();
        m.insert("filters".into(), fs.into());
    }
    if let Some(f) = &ctx.filter {
        m.insert("filter".into(), annotate(f, loader, seen));
    }
    if let Some(n) = &ctx.next {
        m.insert("next".into(), annotate(n, loader, seen));
    }
    v
}
