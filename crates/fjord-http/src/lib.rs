//! fjord-http: the HTTP API service (oslo.service `WSGIService` + `wsgi.Server`
//! + paste.deploy + oslo.middleware, on hyper/tower/rustls). Work in progress.
#![forbid(unsafe_code)]

mod body;
pub mod loader;
pub mod middleware;
pub mod server;

pub use body::{App, Body, BoxError, Request, Response, boxed, empty, full};
