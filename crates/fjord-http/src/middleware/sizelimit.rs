//! Request body size limit (oslo.middleware `RequestBodySizeLimiter`).
//!
//! A `Content-Length` over `max_request_body_size` (default 114688) is
//! answered `413` before the app sees the request. A body without a
//! length (chunked) is counted as the app reads it: past the limit the
//! app's read fails with [`BodyTooLarge`] and whatever the app answers is
//! replaced by `413`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::factory::{Conf, FactoryError};
use crate::{Body, BoxError, Request, Response};

pub use crate::server::DEFAULT_MAX_REQUEST_BODY_SIZE;

/// The error a limited body yields once it exceeds the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Request is too large. Larger than max_request_body_size ({limit}).")]
pub struct BodyTooLarge {
    /// The limit in bytes.
    pub limit: u64,
}

/// Layer limiting request bodies.
#[derive(Clone, Copy, Debug)]
pub struct SizeLimitLayer {
    max: u64,
}

impl Default for SizeLimitLayer {
    fn default() -> Self {
        SizeLimitLayer {
            max: DEFAULT_MAX_REQUEST_BODY_SIZE,
        }
    }
}

impl SizeLimitLayer {
    /// A layer with limit `max` bytes.
    pub fn new(max: u64) -> Self {
        SizeLimitLayer { max }
    }

    /// From paste options: `max_request_body_size` (default 114688).
    ///
    /// # Errors
    /// A value that is not a non-negative integer.
    pub fn from_conf(global: &Conf, local: &Conf) -> Result<Self, FactoryError> {
        match super::conf_get(global, local, "max_request_body_size") {
            Some(v) => Ok(Self::new(super::parse_u64("max_request_body_size", v)?)),
            None => Ok(Self::default()),
        }
    }
}

impl<S> tower::Layer<S> for SizeLimitLayer {
    type Service = SizeLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SizeLimit {
            inner,
            max: self.max,
        }
    }
}

/// The size limit service.
#[derive(Clone, Debug)]
pub struct SizeLimit<S> {
    inner: S,
    max: u64,
}

fn too_large(limit: u64) -> Response {
    let text = format!(
        "413 Request Entity Too Large\n\nRequest is too large. Larger than max_request_body_size ({limit}).\n"
    );
    let mut resp = Response::new(crate::full(text));
    *resp.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp
}

struct Limited {
    inner: Body,
    seen: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl HttpBody for Limited {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.exceeded.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(Box::new(BodyTooLarge { limit: self.limit }))));
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.limit {
                        this.exceeded.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge {
                            limit: this.limit,
                        }))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<S> tower::Service<Request> for SizeLimit<S>
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
        let max = self.max;
        let length = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(len) = length
            && len > max
        {
            tracing::info!(
                content_length = len,
                max_request_body_size = max,
                "request body too large"
            );
            return Box::pin(async move { Ok(too_large(max)) });
        }
        let exceeded = Arc::new(AtomicBool::new(false));
        let (parts, body) = req.into_parts();
        let req = if length.is_none() {
            let limited = Limited {
                inner: body,
                seen: 0,
                limit: max,
                exceeded: exceeded.clone(),
            };
            Request::from_parts(parts, crate::boxed(limited))
        } else {
            Request::from_parts(parts, body)
        };
        let fut = self.inner.call(req);
        Box::pin(fut.map(move |result| {
            let resp = result?;
            if exceeded.load(Ordering::Relaxed) {
                tracing::info!(
                    max_request_body_size = max,
                    "streamed request body too large"
                );
                return Ok(too_large(max));
            }
            Ok(resp)
        }))
    }
}
