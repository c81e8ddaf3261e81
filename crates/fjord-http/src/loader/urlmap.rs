//! Paste's `urlmap`: dispatch on the longest matching path prefix (and
//! optional domain), with WSGI's `SCRIPT_NAME`/`PATH_INFO` split.
//!
//! A key ending in `/+` is nova's wildcard (its `urlmap_factory` is Paste's
//! plus this): `/v2/+` matches `/v2/anything` but not `/v2` or `/v2/`, and
//! consumes `/v2`. (nova's content-type/`Accept` version negotiation is not
//! done.)

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::ServiceExt;

use super::builder::Composer;
use super::error::LoaderError;
use crate::factory::{FactoryError, GlobalConf, LocalConf, OriginalUri, ScriptName};
use crate::{App, Request, Response};

#[derive(Clone)]
struct Route {
    domain: Option<String>,
    path: String,
    app: App,
}

/// A url map service (Paste's `URLMap`).
#[derive(Clone)]
pub struct UrlMap {
    routes: Vec<Route>,
    not_found: Option<App>,
}

impl std::fmt::Debug for UrlMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.routes.iter().map(|r| (&r.domain, &r.path)))
            .finish()
    }
}

fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Parses a urlmap key (`/path`, `domain host /path`, `domain h port 8080`,
/// `http://host/path`) into `(domain, path)`.
///
/// # Errors
/// A message when the key is not a path expression.
pub(crate) fn parse_key(key: &str) -> Result<(Option<String>, String), String> {
    let mut parts = key.split_whitespace();
    let (mut domain, mut port, mut path) = (None, None, None);
    while let Some(p) = parts.next() {
        match p {
            "domain" => domain = Some(parts.next().ok_or("'domain' needs a host")?.to_owned()),
            "port" => port = Some(parts.next().ok_or("'port' needs a number")?.to_owned()),
            p => {
                if path.is_some() {
                    return Err(format!("multiple path expressions in {key:?}"));
                }
                path = Some(p.to_owned());
            }
        }
    }
    if port.is_some() && domain.is_none() {
        return Err("if you give a port, you must also give a domain".into());
    }
    let mut path = path.unwrap_or_default();
    for scheme in ["http://", "https://"] {
        if let Some(rest) = path.strip_prefix(scheme) {
            let (host, p) = match rest.find('/') {
                Some(i) => (&rest[..i], rest[i..].to_owned()),
                None => (rest, String::new()),
            };
            domain = Some(host.to_owned());
            path = p;
        }
    }
    if !path.is_empty() && !path.starts_with('/') {
        return Err(format!(
            "URL fragments must start with / or http:// (you gave {key:?})"
        ));
    }
    let mut domain = domain.map(|d| d.to_ascii_lowercase());
    if let (Some(d), Some(p)) = (&mut domain, port) {
        d.push(':');
        d.push_str(&p);
    }
    let path = collapse_slashes(&path).trim_end_matches('/').to_owned();
    Ok((domain, path))
}

impl UrlMap {
    /// An empty map answering 404.
    pub fn new() -> Self {
        UrlMap {
            routes: Vec::new(),
            not_found: None,
        }
    }

    /// Adds `app` under `key` (`/path` or `domain host /path`).
    ///
    /// # Errors
    /// A [`FactoryError`] if `key` is not a path expression.
    pub fn route(mut self, key: &str, app: App) -> Result<Self, FactoryError> {
        let (domain, path) = parse_key(key).map_err(FactoryError::new)?;
        let mut routes = std::mem::take(&mut self.routes);
        routes.retain(|r| !(r.domain == domain && r.path == path));
        routes.push(Route { domain, path, app });
        // Longest domain first, then longest path (Paste's sort_apps).
        routes.sort_by(|a, b| {
            let da = a.domain.as_deref().map_or(0, str::len);
            let db = b.domain.as_deref().map_or(0, str::len);
            db.cmp(&da).then(b.path.len().cmp(&a.path.len()))
        });
        self.routes = routes;
        Ok(self)
    }

    /// The app answering when no route matches (default: 404).
    pub fn not_found(mut self, app: App) -> Self {
        self.not_found = Some(app);
        self
    }

    /// The map as an [`App`].
    pub fn into_app(self) -> App {
        App::new(self)
    }

    fn dispatch(&self, mut req: Request) -> (Option<App>, Request) {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let default_port = if req.uri().scheme_str() == Some("https") {
            "443"
        } else {
            "80"
        };
        let (host_only, host_port) = match host.split_once(':') {
            Some((h, p)) => (h.to_owned(), format!("{h}:{p}")),
            None => (host.clone(), format!("{host}:{default_port}")),
        };
        let path = req.uri().path().to_owned();
        for r in self.routes.iter() {
            if let Some(d) = &r.domain
                && *d != host_only
                && *d != host_port
            {
                continue;
            }
            // nova's wildcard: `/v2/+` matches `/v2/<something>` (not `/v2`
            // or `/v2/`) and consumes `/v2`.
            let prefix = match r.path.strip_suffix("/+") {
                Some(base) => {
                    if !(path.starts_with(&r.path[..r.path.len() - 1])
                        && path.len() >= r.path.len())
                    {
                        continue;
                    }
                    base
                }
                None => {
                    let matched = path == r.path
                        || (path.starts_with(&r.path) && path[r.path.len()..].starts_with('/'));
                    if !matched {
                        continue;
                    }
                    r.path.as_str()
                }
            };
            let rest = &path[prefix.len()..];
            if req.extensions().get::<OriginalUri>().is_none() {
                let original = req.uri().clone();
                req.extensions_mut().insert(OriginalUri(original));
            }
            let mut script = req
                .extensions()
                .get::<ScriptName>()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            script.push_str(prefix);
            req.extensions_mut().insert(ScriptName(script));
            let new_path = if rest.is_empty() { "/" } else { rest };
            let pq = match req.uri().query() {
                Some(q) => format!("{new_path}?{q}"),
                None => new_path.to_owned(),
            };
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = pq.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = http::Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
            return (Some(r.app.clone()), req);
        }
        (None, req)
    }
}

impl Default for UrlMap {
    fn default() -> Self {
        Self::new()
    }
}

impl tower::Service<Request> for UrlMap {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.dispatch(req) {
            (Some(app), req) => Box::pin(app.oneshot(req)),
            (None, req) => match self.not_found.clone() {
                Some(app) => Box::pin(app.oneshot(req)),
                None => Box::pin(async move {
                    let mut resp = Response::new(crate::full(format!(
                        "404 Not Found\n\nThe resource could not be found.\n\nNo application is mapped to {}\n",
                        req.uri().path()
                    )));
                    *resp.status_mut() = http::StatusCode::NOT_FOUND;
                    resp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    Ok(resp)
                }),
            },
        }
    }
}

/// Paste's `urlmap_factory` (registered as `egg:Paste#urlmap`): each
/// `local_conf` key is a path expression mapped to an app name;
/// `not_found_app` (local, else global) names the 404 app.
///
/// # Errors
/// A bad path key, or any error loading the mapped apps.
pub fn urlmap_factory(
    composer: &mut Composer<'_>,
    global_conf: &GlobalConf,
    local_conf: &LocalConf,
) -> Result<App, LoaderError> {
    let mut map = UrlMap::new();
    let mut local = local_conf.clone();
    let not_found = local
        .remove("not_found_app")
        .or_else(|| global_conf.get("not_found_app").map(str::to_owned));
    if let Some(name) = not_found.filter(|n| !n.is_empty()) {
        map = map.not_found(composer.get_app(&name)?);
    }
    for (key, app_name) in local.iter() {
        if let Err(msg) = parse_key(key) {
            return Err(LoaderError::Factory {
                section: composer.section().unwrap_or("urlmap").to_owned(),
                file: composer.config().path().to_owned(),
                source: FactoryError::new(msg),
            });
        }
        let app = composer.get_app(app_name)?;
        map = map.route(key, app).map_err(|source| LoaderError::Factory {
            section: composer.section().unwrap_or("urlmap").to_owned(),
            file: composer.config().path().to_owned(),
            source,
        })?;
    }
    Ok(map.into_app())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(parse_key("/").unwrap(), (None, String::new()));
        assert_eq!(parse_key("/v1/").unwrap(), (None, "/v1".into()));
        assert_eq!(
            parse_key("domain Example.com port 8080 /a//b").unwrap(),
            (Some("example.com:8080".into()), "/a/b".into())
        );
        assert!(parse_key("v1").is_err());
        assert!(parse_key("port 1 /x").is_err());
    }
}
