//! Healthcheck (oslo.middleware `Healthcheck`).
//!
//! As a filter, requests to the healthcheck path (default `/healthcheck`)
//! are answered by the middleware and everything else goes to the app; as
//! an app ([`healthcheck_app`]) every request is a healthcheck. The answer
//! is `200 OK` with body `OK`, or `503` with body `DISABLED BY FILE` while
//! the file named by `disable_by_file_path` exists (checked on every
//! request). `HEAD` gets the same status and headers without a body.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{BoxFuture, Either, Ready, ready};

use crate::factory::{Conf, FactoryError};
use crate::{App, Request, Response};

/// Healthcheck settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthcheckConfig {
    /// The path answered by the filter (default `/healthcheck`).
    pub path: String,
    /// While this file exists the check fails with 503 (default: none).
    pub disable_by_file_path: Option<PathBuf>,
}

impl Default for HealthcheckConfig {
    fn default() -> Self {
        HealthcheckConfig {
            path: "/healthcheck".into(),
            disable_by_file_path: None,
        }
    }
}

impl HealthcheckConfig {
    /// Sets the path (default `/healthcheck`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets the disable file (default none).
    pub fn disable_by_file_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.disable_by_file_path = Some(path.into());
        self
    }

    /// From paste options `path`, `disable_by_file_path` and `backends`
    /// (only `disable_by_file` is known; other backends are an error so
    /// that a check is never silently dropped).
    ///
    /// # Errors
    /// An unknown backend.
    pub fn from_conf(global: &Conf, local: &Conf) -> Result<Self, FactoryError> {
        let mut c = Self::default();
        if let Some(p) = super::conf_get(global, local, "path") {
            c.path = p.to_owned();
        }
        if let Some(b) = super::conf_get(global, local, "backends") {
            for backend in super::parse_list(b) {
                if backend != "disable_by_file" {
                    return Err(FactoryError::new(format!(
                        "option backends: unknown healthcheck backend {backend:?} (fjord knows disable_by_file)"
                    )));
                }
            }
        }
        if let Some(f) =
            super::conf_get(global, local, "disable_by_file_path").filter(|f| !f.trim().is_empty())
        {
            c.disable_by_file_path = Some(PathBuf::from(f.trim()));
        }
        Ok(c)
    }

    fn answer(&self, req: &Request) -> Response {
        let disabled = self
            .disable_by_file_path
            .as_ref()
            .is_some_and(|p| p.exists());
        let (status, text) = if disabled {
            (http::StatusCode::SERVICE_UNAVAILABLE, "DISABLED BY FILE")
        } else {
            (http::StatusCode::OK, "OK")
        };
        let body = if req.method() == http::Method::HEAD {
            crate::empty()
        } else {
            crate::full(text)
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(text.len()),
        );
        resp
    }
}

/// Layer answering healthchecks at the configured path.
#[derive(Clone, Debug, Default)]
pub struct HealthcheckLayer {
    config: Arc<HealthcheckConfig>,
}

impl HealthcheckLayer {
    /// A layer with `config`.
    pub fn new(config: HealthcheckConfig) -> Self {
        HealthcheckLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> tower::Layer<S> for HealthcheckLayer {
    type Service = Healthcheck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Healthcheck {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The healthcheck service.
#[derive(Clone, Debug)]
pub struct Healthcheck<S> {
    inner: S,
    config: Arc<HealthcheckConfig>,
}

impl<S> tower::Service<Request> for Healthcheck<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if req.uri().path() == self.config.path {
            Either::Left(ready(Ok(self.config.answer(&req))))
        } else {
            Either::Right(self.inner.call(req))
        }
    }
}

/// The healthcheck as an app (`Healthcheck.app_factory`): every request
/// is answered as a healthcheck.
pub fn healthcheck_app(config: HealthcheckConfig) -> App {
    let config = Arc::new(config);
    App::new(tower::service_fn(move |req: Request| {
        let config = config.clone();
        let fut: BoxFuture<'static, Result<Response, Infallible>> =
            Box::pin(async move { Ok(config.answer(&req)) });
        fut
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_options() {
        let d = HealthcheckConfig::default();
        assert_eq!(d.path, "/healthcheck");
        assert_eq!(d.disable_by_file_path, None);
        assert_eq!(
            HealthcheckConfig::from_conf(&Conf::new(), &Conf::new()).unwrap(),
            d
        );
        let local: Conf = [("path", "/hc"), ("disable_by_file_path", "/tmp/x")]
            .into_iter()
            .collect();
        let c = HealthcheckConfig::from_conf(&Conf::new(), &local).unwrap();
        assert_eq!(c, d.path("/hc").disable_by_file_path("/tmp/x"));
    }
}
