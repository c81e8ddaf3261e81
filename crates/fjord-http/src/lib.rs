//! fjord-http: the HTTP API service of fjord — oslo.service's
//! `WSGIService` + `wsgi.Server` + eventlet.wsgi, paste.deploy and
//! oslo.middleware, on hyper 1, tower and rustls.
//!
//! ```text
//! master:  HttpService::bind(options, app)   socket bound, TLS files loaded (no runtime)
//! launcher forks workers
//! worker:  Service::start()                  accept loop -> connection tasks -> app
//!          Service::stop(graceful) / wait() / reset()
//! ```
//!
//! * [`server`]: the listening socket, connections, limits, TLS, access
//!   log and [`server::HttpService`] (H1–H7, H9, H10).
//! * [`loader`]: apps loaded by name from a paste-deploy style ini (H8).
//! * [`middleware`]: oslo.middleware counterparts as tower layers (H11).
//! * `rt` (private): the server's runtime primitives (request pool,
//!   server-wide signals, one alarm for the client timeouts, coarse
//!   clock), each measured against the tokio primitive it replaces.
//!
//! An app is any tower service from [`Request`] to [`Response`] with an
//! infallible error, boxed as [`App`].
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use fjord_http::server::{HttpService, ServerOptions};
//!
//! let app = fjord_http::App::new(tower::service_fn(|_req: fjord_http::Request| async {
//!     Ok::<_, Infallible>(http::Response::new(fjord_http::full("Hello, World!")))
//! }));
//! let options = ServerOptions::new("hello").listen("127.0.0.1").port(0);
//! let service = HttpService::bind(options, app)?;
//! println!("listening on {}", service.url());
//! // then: fjord_service::launch(service, Some(2), Default::default())
//! # Ok::<(), fjord_http::server::Error>(())
//! ```
// One `unsafe` block, allowed where it is (the client timeouts'
// `timerfd` registered with tokio, rt/alarm.rs).
#![deny(unsafe_code)]

mod body;
mod factory;
pub mod loader;
pub mod middleware;
mod rt;
pub mod server;

pub use body::{App, Body, BoxError, Request, Response, boxed, empty, full};
pub use server::{HttpService, ServerOptions, SslOptions};
