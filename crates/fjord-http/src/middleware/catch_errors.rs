//! Catch errors (oslo.middleware `CatchErrors`).
//!
//! A panic in the inner service (while calling it or while its future
//! runs), or an error it returns, becomes a `500` with a generic JSON body
//! that reveals nothing about the failure:
//! `{"error": {"code": 500, "title": "Internal Server Error", "message":
//! "The server has either erred or is incapable of performing the
//! requested operation."}}`. The details (panic message or error, method,
//! path, headers with `X-Auth-Token`-like values masked) go to the log at
//! error level. The worker keeps serving.

use std::convert::Infallible;
use std::fmt::Display;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::{Request, Response};

const BODY: &str = r#"{"error": {"code": 500, "title": "Internal Server Error", "message": "The server has either erred or is incapable of performing the requested operation."}}"#;

/// Layer turning panics and errors into a generic 500.
#[derive(Clone, Copy, Debug, Default)]
pub struct CatchErrorsLayer;

impl CatchErrorsLayer {
    /// The layer.
    pub fn new() -> Self {
        CatchErrorsLayer
    }
}

impl<S> tower::Layer<S> for CatchErrorsLayer {
    type Service = CatchErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchErrors { inner }
    }
}

/// The catch-errors service: wraps any service whose error displays, and
/// never fails.
#[derive(Clone, Debug)]
pub struct CatchErrors<S> {
    inner: S,
}

fn internal_error() -> Response {
    let mut resp = Response::new(crate::full(BODY));
    *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// The request line and headers for the log, with token values masked.
fn describe(req: &Request) -> String {
    let mut out = format!("{} {} {:?}", req.method(), req.uri(), req.version());
    for (name, value) in req.headers() {
        let n = name.as_str();
        let masked = n.contains("token") || n == "authorization" || n.contains("password");
        let v = if masked {
            "*****".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        out.push_str(&format!("\n{n}: {v}"));
    }
    out
}

impl<S> tower::Service<Request> for CatchErrors<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Display + Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // An inner service that fails readiness is answered per request.
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let request = describe(&req);
        let inner = &mut self.inner;
        let called = std::panic::catch_unwind(AssertUnwindSafe(move || inner.call(req)));
        let fut = match called {
            Ok(fut) => fut,
            Err(panic) => {
                tracing::error!(
                    panic = %panic_message(panic.as_ref()),
                    "An error occurred during processing the request: {request}"
                );
                return Box::pin(async { Ok(internal_error()) });
            }
        };
        Box::pin(AssertUnwindSafe(fut).catch_unwind().map(move |outcome| {
            match outcome {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(err)) => {
                    tracing::error!(error = %err, "An error occurred during processing the request: {request}");
                    Ok(internal_error())
                }
                Err(panic) => {
                    tracing::error!(
                        panic = %panic_message(panic.as_ref()),
                        "An error occurred during processing the request: {request}"
                    );
                    Ok(internal_error())
                }
            }
        }))
    }
}
