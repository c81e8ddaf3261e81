//! Proxy headers (oslo.middleware `HTTPProxyToWSGI`).
//!
//! Only when `enable_proxy_headers_parsing` is on (default off): the first
//! element of an RFC 7239 `Forwarded` header, or else the
//! `X-Forwarded-Proto` / `X-Forwarded-Host` / `X-Forwarded-For` headers,
//! give the request's scheme, host and client address; `X-Forwarded-Prefix`
//! is prepended to the [`ScriptName`]. The result is stored as a
//! [`Forwarded`] extension; the URI's scheme and authority and the `Host`
//! header are rewritten when the values are valid.

use std::convert::Infallible;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};

use crate::factory::{Conf, FactoryError, ScriptName};
use crate::{Request, Response};

/// Request extension: what the proxy headers said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Forwarded {
    /// The client-facing scheme (`wsgi.url_scheme`).
    pub scheme: Option<String>,
    /// The client-facing host (`HTTP_HOST`).
    pub host: Option<String>,
    /// The client address (`REMOTE_ADDR`).
    pub client: Option<String>,
    /// `X-Forwarded-Prefix`.
    pub prefix: Option<String>,
}

/// Layer honouring proxy headers.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProxyHeadersLayer {
    enabled: bool,
}

impl ProxyHeadersLayer {
    /// A layer that parses proxy headers when `enabled` (oslo's
    /// `enable_proxy_headers_parsing`, default false).
    pub fn new(enabled: bool) -> Self {
        ProxyHeadersLayer { enabled }
    }

    /// From paste options: `enable_proxy_headers_parsing` (default false).
    ///
    /// # Errors
    /// A value that is not a boolean.
    pub fn from_conf(global: &Conf, local: &Conf) -> Result<Self, FactoryError> {
        let enabled = match super::conf_get(global, local, "enable_proxy_headers_parsing") {
            Some(v) => super::parse_bool("enable_proxy_headers_parsing", v)?,
            None => false,
        };
        Ok(Self::new(enabled))
    }
}

impl<S> tower::Layer<S> for ProxyHeadersLayer {
    type Service = ProxyHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProxyHeaders {
            inner,
            enabled: self.enabled,
        }
    }
}

/// The proxy headers service.
#[derive(Clone, Debug)]
pub struct ProxyHeaders<S> {
    inner: S,
    enabled: bool,
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

/// The proxy information of `req`.
fn parse(req: &Request) -> Forwarded {
    let mut out = Forwarded::default();
    if let Some(fwd) = header(req, "forwarded") {
        if let Some(first) = fwd.split(',').next() {
            for pair in first.split(';') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = unquote(v);
                if v.is_empty() {
                    continue;
                }
                match k.trim().to_ascii_lowercase().as_str() {
                    "proto" => out.scheme = Some(v.to_owned()),
                    "host" => out.host = Some(v.to_owned()),
                    "for" => out.client = Some(v.to_owned()),
                    _ => {}
                }
            }
        }
    } else {
        out.scheme = header(req, "x-forwarded-proto").map(str::to_owned);
        out.host = header(req, "x-forwarded-host").map(str::to_owned);
        out.client = header(req, "x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
    }
    out.prefix = header(req, "x-forwarded-prefix").map(str::to_owned);
    out
}

fn apply(req: &mut Request, fwd: &Forwarded) {
    if let Some(host) = &fwd.host
        && let Ok(v) = HeaderValue::from_str(host)
    {
        req.headers_mut().insert(http::header::HOST, v);
    }
    let mut parts = req.uri().clone().into_parts();
    let mut changed = false;
    if let Some(scheme) = fwd.scheme.as_deref().and_then(|s| s.parse().ok()) {
        parts.scheme = Some(scheme);
        changed = true;
    }
    let host = fwd
        .host
        .clone()
        .or_else(|| {
            req.headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if (changed || parts.authority.is_some() || fwd.host.is_some())
        && let Some(authority) = host.and_then(|h| h.parse().ok())
    {
        parts.authority = Some(authority);
        if parts.scheme.is_none() {
            parts.scheme = Some(http::uri::Scheme::HTTP);
        }
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }

    if let Some(prefix) = &fwd.prefix {
        let current = req
            .extensions()
            .get::<ScriptName>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        req.extensions_mut()
            .insert(ScriptName(format!("{prefix}{current}")));
    }
}

impl<S> tower::Service<Request> for ProxyHeaders<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if self.enabled {
            let fwd = parse(&req);
            apply(&mut req, &fwd);
            req.extensions_mut().insert(fwd);
        }
        self.inner.call(req)
    }
}
