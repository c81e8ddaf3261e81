//! Request ids (oslo.middleware `RequestId`).
//!
//! Every request gets a fresh id `req-<uuid4>`, stored as a [`RequestId`]
//! request extension, recorded in a `request` tracing span around the
//! inner service (field `request_id`, and `global_request_id` when
//! present), and echoed in the `x-openstack-request-id` response header
//! (and any compat headers) unless the app already set it. An incoming
//! `X-OpenStack-Request-ID` that has the `req-<uuid>` form is kept as the
//! [`GlobalRequestId`] (it never replaces the local id).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::{HeaderName, HeaderValue};
use tracing::Instrument;

use crate::factory::{Conf, FactoryError};
use crate::{Request, Response};

/// The response header carrying the request id.
pub const HEADER: &str = "x-openstack-request-id";

/// Request extension: this request's id, `req-<uuid4>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// A fresh `req-<uuid4>`.
    pub fn generate() -> Self {
        RequestId(format!("req-{}", uuid::Uuid::new_v4()))
    }
}

/// Request extension: the caller's `X-OpenStack-Request-ID`, when it is a
/// well-formed `req-<uuid>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalRequestId(pub String);

/// Whether `s` is `req-` followed by a lower-case hyphenated uuid.
fn is_request_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("req-") else {
        return false;
    };
    let groups: Vec<&str> = rest.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// Layer adding request ids.
#[derive(Clone, Debug, Default)]
pub struct RequestIdLayer {
    compat_headers: Vec<HeaderName>,
}

impl RequestIdLayer {
    /// A layer echoing the id in `x-openstack-request-id` only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also echo the id in `header` (like nova's `x-compute-request-id`);
    /// default: none.
    pub fn compat_header(mut self, header: HeaderName) -> Self {
        self.compat_headers.push(header);
        self
    }

    /// From paste options: `compat_headers` (comma or space separated
    /// header names; a fjord extension, oslo sets them in subclasses).
    ///
    /// # Errors
    /// An invalid header name.
    pub fn from_conf(global: &Conf, local: &Conf) -> Result<Self, FactoryError> {
        let mut layer = Self::new();
        if let Some(v) = super::conf_get(global, local, "compat_headers") {
            for name in v.split([',', ' ', '\t', '\n']).filter(|s| !s.is_empty()) {
                let h = HeaderName::try_from(name).map_err(|_| {
                    FactoryError::new(format!(
                        "option compat_headers: {name:?} is not a header name"
                    ))
                })?;
                layer = layer.compat_header(h);
            }
        }
        Ok(layer)
    }
}

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService {
            inner,
            compat: self.compat_headers.clone().into(),
        }
    }
}

/// The request id service.
#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
    compat: Arc<[HeaderName]>,
}

impl<S> tower::Service<Request> for RequestIdService<S>
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

    fn call(&mut self, mut req: Request) -> Self::Future {
        let global = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_request_id(v))
            .map(str::to_owned);
        let id = RequestId::generate();
        let span = match &global {
            Some(g) => tracing::info_span!("request", request_id = %id.0, global_request_id = %g),
            None => tracing::info_span!("request", request_id = %id.0),
        };
        if let Some(g) = global {
            req.extensions_mut().insert(GlobalRequestId(g));
        }
        req.extensions_mut().insert(id.clone());
        let compat = self.compat.clone();
        let fut = self.inner.call(req);
        Box::pin(
            fut.map(move |result| {
                let mut resp = result?;
                if let Ok(value) = HeaderValue::from_str(&id.0) {
                    let headers = resp.headers_mut();
                    let main = HeaderName::from_static(HEADER);
                    for name in std::iter::once(&main).chain(compat.iter()) {
                        if !headers.contains_key(name) {
                            headers.insert(name.clone(), value.clone());
                        }
                    }
                }
                Ok(resp)
            })
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_format() {
        let id = RequestId::generate();
        assert!(is_request_id(&id.0), "{}", id.0);
        assert!(!is_request_id("req-1234"));
        assert!(!is_request_id("req-A0000000-0000-0000-0000-000000000000"));
    }
}
