//! Small apps and helpers for the loader and middleware tests.
#![allow(dead_code)]

use std::convert::Infallible;

use bytes::Bytes;
use fjord_http::{App, Request, Response, full};
use futures_util::FutureExt;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// An app answering `200` with body `<name> <path>` and headers
/// `x-app: name`, `x-script-name` (the url map's consumed prefix) and
/// `x-request-id` (from the request id middleware) when known.
pub(crate) fn named(name: &'static str) -> App {
    App::new(tower::service_fn(move |req: Request| async move {
        let mut resp = Response::new(full(format!("{name} {}", req.uri().path())));
        resp.headers_mut().insert("x-app", name.parse().unwrap());
        if let Some(s) = req.extensions().get::<fjord_http::loader::ScriptName>() {
            resp.headers_mut()
                .insert("x-script-name", s.0.parse().unwrap());
        }
        if let Some(id) = req.extensions().get::<fjord_http::middleware::RequestId>() {
            resp.headers_mut()
                .insert("x-request-id", id.0.parse().unwrap());
        }
        Ok::<_, Infallible>(resp)
    }))
}

/// An app reading the whole request body and answering its length, or
/// `400` with the read error.
pub(crate) fn body_reader() -> App {
    App::new(tower::service_fn(|req: Request| async move {
        match req.into_body().collect().await {
            Ok(b) => Ok::<_, Infallible>(Response::new(full(b.to_bytes().len().to_string()))),
            Err(e) => {
                let mut resp = Response::new(full(format!("read error: {e}")));
                *resp.status_mut() = http::StatusCode::BAD_REQUEST;
                Ok(resp)
            }
        }
    }))
}

/// A filter adding `value` to the `x-trace` response header (so the order
/// of filters is visible: outermost last).
pub(crate) fn tracer(value: String) -> fjord_http::loader::Filter {
    std::sync::Arc::new(move |app: App| {
        let value = value.clone();
        App::new(tower::service_fn(move |req: Request| {
            let value = value.clone();
            app.clone().oneshot(req).map(move |result| {
                let mut resp = result?;
                let prev = resp
                    .headers()
                    .get("x-trace")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| format!("{v},"))
                    .unwrap_or_default();
                resp.headers_mut()
                    .insert("x-trace", format!("{prev}{value}").parse().unwrap());
                Ok::<_, Infallible>(resp)
            })
        }))
    })
}

/// A request to `uri` with `method` and an empty body.
pub(crate) fn request(method: &str, uri: &str) -> Request {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .body(fjord_http::empty())
        .unwrap()
}

/// Sends `req` through `app`; returns the response and its body.
pub(crate) async fn send(app: &App, req: Request) -> (http::response::Parts, Bytes) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (parts, bytes)
}

/// A header as text ("" when absent).
pub(crate) fn header<'a>(parts: &'a http::response::Parts, name: &str) -> &'a str {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
