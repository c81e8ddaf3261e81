//! CORS (oslo.middleware `CORS`, oslo.middleware 8 semantics).
//!
//! * Simple requests (any method but `OPTIONS`) from an allowed origin get
//!   `Vary: Origin` (appended to an existing `Vary`),
//!   `Access-Control-Allow-Origin`, `Access-Control-Allow-Credentials:
//!   true` when credentials are allowed, and `Access-Control-Expose-Headers`.
//! * `OPTIONS` requests go to the app first; a non-2xx answer is replaced
//!   by an empty `200`. Then, for an allowed origin with an
//!   `Access-Control-Request-Method` in `allow_methods` and every
//!   `Access-Control-Request-Headers` entry in `allow_headers` or the simple
//!   headers (case-insensitive), the preflight headers are added:
//!   `Vary: Origin`, `Access-Control-Allow-Origin`,
//!   `Access-Control-Allow-Credentials`, `Access-Control-Max-Age` (when not
//!   0), `Access-Control-Allow-Methods` (the requested method) and
//!   `Access-Control-Allow-Headers` (the requested headers).
//! * A response that already carries `Access-Control-Allow-Origin` is left
//!   alone. An origin not in `allowed_origin` gets nothing, unless `*` is
//!   allowed, in which case `*` is answered.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::factory::{Conf, FactoryError};
use crate::{Request, Response};

const SIMPLE_HEADERS: &[&str] = &[
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
];

/// CORS settings (oslo's `[cors]` options).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorsConfig {
    /// Allowed origins, `scheme://host[:port]` or `*` (default: none, so
    /// nothing is added).
    pub allowed_origin: Vec<String>,
    /// Whether credentials are allowed (default true).
    pub allow_credentials: bool,
    /// Headers exposed to the caller (default none).
    pub expose_headers: Vec<String>,
    /// Preflight cache age in seconds, 0 for none (default 3600).
    pub max_age: u64,
    /// Methods allowed in preflights (default OPTIONS, GET, HEAD, POST,
    /// PUT, DELETE, TRACE, PATCH).
    pub allow_methods: Vec<String>,
    /// Headers allowed in preflights besides the simple headers (default
    /// none).
    pub allow_headers: Vec<String>,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origin: Vec::new(),
            allow_credentials: true,
            expose_headers: Vec::new(),
            max_age: 3600,
            allow_methods: [
                "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "PATCH",
            ]
            .map(String::from)
            .to_vec(),
            allow_headers: Vec::new(),
        }
    }
}

impl CorsConfig {
    /// Adds an allowed origin (default none).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origin.push(origin.into());
        self
    }

    /// Sets `allow_credentials` (default true).
    pub fn allow_credentials(mut self, yes: bool) -> Self {
        self.allow_credentials = yes;
        self
    }

    /// Sets `expose_headers` (default none).
    pub fn expose_headers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        headers: I,
    ) -> Self {
        self.expose_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `max_age` seconds (default 3600).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = seconds;
        self
    }

    /// Sets `allow_methods` (default OPTIONS, GET, HEAD, POST, PUT,
    /// DELETE, TRACE, PATCH).
    pub fn allow_methods<I: IntoIterator<Item = S>, S: Into<String>>(mut self, methods: I) -> Self {
        self.allow_methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `allow_headers` (default none).
    pub fn allow_headers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, headers: I) -> Self {
        self.allow_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// From paste options (`allowed_origin`, `allow_credentials`,
    /// `expose_headers`, `max_age`, `allow_methods`, `allow_headers`; lists
    /// comma-separated). Like oslo, `allowed_origin` or
    /// `oslo_config_project` must be given; fjord does not read the
    /// project's config files for `oslo_config_project`, so such a filter
    /// only does what its paste options say.
    ///
    /// # Errors
    /// Neither `allowed_origin` nor `oslo_config_project`, or a bad value.
    pub fn from_conf(global: &Conf, local: &Conf) -> Result<Self, FactoryError> {
        if !local.contains_key("allowed_origin") && !local.contains_key("oslo_config_project") {
            return Err(FactoryError::new(
                "allowed_origin or oslo_config_project is required",
            ));
        }
        let get = |k| super::conf_get(global, local, k);
        let mut c = Self::default();
        if let Some(v) = get("allowed_origin") {
            c.allowed_origin = super::parse_list(v);
        }
        if let Some(v) = get("allow_credentials") {
            c.allow_credentials = super::parse_bool("allow_credentials", v)?;
        }
        if let Some(v) = get("expose_headers") {
            c.expose_headers = super::parse_list(v);
        }
        if let Some(v) = get("max_age") {
            c.max_age = super::parse_u64("max_age", v)?;
        }
        if let Some(v) = get("allow_methods") {
            c.allow_methods = super::parse_list(v);
        }
        if let Some(v) = get("allow_headers") {
            c.allow_headers = super::parse_list(v);
        }
        Ok(c)
    }

    /// The origin to answer for `origin`: itself, `*`, or none.
    fn origin_for(&self, origin: &str) -> Option<String> {
        if self.allowed_origin.iter().any(|o| o == origin) {
            Some(origin.to_owned())
        } else if self.allowed_origin.iter().any(|o| o == "*") {
            Some("*".to_owned())
        } else {
            tracing::debug!(origin, "CORS request from origin not permitted");
            None
        }
    }

    fn simple(&self, origin: Option<&str>, headers: &mut HeaderMap) {
        let Some(origin) = origin.and_then(|o| self.origin_for(o)) else {
            return;
        };
        let vary = match headers
            .get(http::header::VARY)
            .and_then(|v| v.to_str().ok())
        {
            Some(v) => format!("{v},Origin"),
            None => "Origin".to_owned(),
        };
        set(headers, http::header::VARY, &vary);
        set(headers, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        if self.allow_credentials {
            set(
                headers,
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
        }
        if !self.expose_headers.is_empty() {
            set(
                headers,
                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.expose_headers.join(","),
            );
        }
    }

    fn preflight(&self, req: &RequestInfo, headers: &mut HeaderMap) {
        let Some(origin) = req.origin.as_deref().and_then(|o| self.origin_for(o)) else {
            return;
        };
        let Some(method) = &req.method else {
            tracing::debug!("CORS request does not contain Access-Control-Request-Method header");
            return;
        };
        if !self.allow_methods.iter().any(|m| m == method) {
            tracing::debug!(method, "CORS request method not permitted");
            return;
        }
        let permitted: Vec<String> = self
            .allow_headers
            .iter()
            .map(String::as_str)
            .chain(SIMPLE_HEADERS.iter().copied())
            .map(str::to_uppercase)
            .collect();
        if let Some(bad) = req
            .headers
            .iter()
            .find(|h| !permitted.contains(&h.to_uppercase()))
        {
            tracing::debug!(header = %bad, "CORS request header not permitted");
            return;
        }
        set(headers, http::header::VARY, "Origin");
        set(headers, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        if self.allow_credentials {
            set(
                headers,
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
        }
        if self.max_age > 0 {
            set(
                headers,
                http::header::ACCESS_CONTROL_MAX_AGE,
                &self.max_age.to_string(),
            );
        }
        set(headers, http::header::ACCESS_CONTROL_ALLOW_METHODS, method);
        if !req.headers.is_empty() {
            set(
                headers,
                http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                &req.headers.join(","),
            );
        }
    }
}

fn set(headers: &mut HeaderMap, name: http::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

struct RequestInfo {
    origin: Option<String>,
    method: Option<String>,
    headers: Vec<String>,
}

fn text(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Layer adding CORS headers.
#[derive(Clone, Debug, Default)]
pub struct CorsLayer {
    config: Arc<CorsConfig>,
}

impl CorsLayer {
    /// A layer with `config`.
    pub fn new(config: CorsConfig) -> Self {
        CorsLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> tower::Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cors {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The CORS service.
#[derive(Clone, Debug)]
pub struct Cors<S> {
    inner: S,
    config: Arc<CorsConfig>,
}

impl<S> tower::Service<Request> for Cors<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let info = RequestInfo {
            origin: text(&req, "origin"),
            method: text(&req, "access-control-request-method"),
            headers: text(&req, "access-control-request-headers")
                .map(|v| super::parse_list(&v))
                .unwrap_or_default(),
        };
        let is_options = req.method() == Method::OPTIONS;
        let config = self.config.clone();
        let fut = self.inner.call(req);
        Box::pin(fut.map(move |result| {
            let mut resp = result?;
            if resp
                .headers()
                .contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            {
                return Ok(resp);
            }
            if is_options {
                if !resp.status().is_success() {
                    resp = Response::new(crate::empty());
                    *resp.status_mut() = StatusCode::OK;
                }
                config.preflight(&info, resp.headers_mut());
            } else {
                config.simple(info.origin.as_deref(), resp.headers_mut());
            }
            Ok(resp)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_oslos() {
        let c = CorsConfig::default();
        assert!(c.allowed_origin.is_empty());
        assert!(c.allow_credentials);
        assert!(c.expose_headers.is_empty());
        assert_eq!(c.max_age, 3600);
        assert_eq!(
            c.allow_methods,
            [
                "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "PATCH"
            ]
        );
        assert!(c.allow_headers.is_empty());
        let local: Conf = [("oslo_config_project", "nova")].into_iter().collect();
        assert_eq!(CorsConfig::from_conf(&Conf::new(), &local).unwrap(), c);
    }
}
