//! The diagnostics process: forked by the master like a worker (and
//! respawned if it dies), it serves the master's listening socket with
//! hyper on its own current-thread runtime, reading the shared board.
//!
//! | route | answer |
//! |---|---|
//! | `GET /metrics` | Prometheus text exposition 0.0.4 |
//! | `GET /status.json` | the same data for the status page |
//! | `GET /` | the status page (HTML, polls `/status.json`) |
//! | `GET /report` | the SIGUSR2 report, as text |
//!
//! Anything else is 404, any other method 405. Bounded: 64 connections at
//! once (more wait in the backlog), 16 KiB of request head, 5 s to send
//! it, 30 s per connection.
//!
//! The same process serves the operator console (see `console.rs`) when
//! `backdoor_port` or `backdoor_socket` is set, with or without the HTTP
//! endpoint.

use std::convert::Infallible;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::signal::unix::{SignalKind, signal};

use super::board::Board;
use super::render;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 64;
/// Bytes of a request head.
const MAX_HEAD: usize = 16 * 1024;

/// What the endpoint shows.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) board: &'static Board,
    /// The master's name (`LauncherOptions::name`).
    pub(crate) name: String,
    /// The services' names, in the master's order.
    pub(crate) services: Vec<String>,
}

/// Serves `listener` (the HTTP endpoint) and `console` until SIGTERM or
/// the master is gone (`death` becomes readable); returns the exit code.
pub(crate) fn run(
    listener: Option<std::net::TcpListener>,
    console: Option<(super::console::ConsoleListener, super::console::Console)>,
    death: OwnedFd,
    endpoint: Endpoint,
) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("diagnostics: cannot build a runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        if let Some((l, c)) = console {
            tokio::spawn(super::console::serve(l, Arc::new(c)));
        }
        match listener {
            Some(l) => serve(l, death, Arc::new(endpoint)).await,
            None => console_only(death).await,
        }
    })
}

/// Waits for SIGTERM or the master's death (the console's tasks serve).
async fn console_only(death: OwnedFd) -> i32 {
    let (Ok(mut term), Ok(death)) = (
        signal(SignalKind::terminate()),
        tokio::net::unix::pipe::Receiver::from_owned_fd(death),
    ) else {
        tracing::error!("diagnostics: cannot watch signals or the master");
        return 1;
    };
    tokio::select! {
        _ = term.recv() => 0,
        _ = death.readable() => 0,
    }
}

async fn serve(listener: std::net::TcpListener, death: OwnedFd, endpoint: Arc<Endpoint>) -> i32 {
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
    {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("diagnostics: cannot use the listening socket: {e}");
            return 1;
        }
    };
    let (Ok(mut term), Ok(death)) = (
        signal(SignalKind::terminate()),
        tokio::net::unix::pipe::Receiver::from_owned_fd(death),
    ) else {
        tracing::error!("diagnostics: cannot watch signals or the master");
        return 1;
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return 0,
            },
            _ = term.recv() => return 0,
            _ = death.readable() => return 0,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::debug!("diagnostics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = term.recv() => return 0,
            _ = death.readable() => return 0,
        };
        let endpoint = Arc::clone(&endpoint);
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let endpoint = Arc::clone(&endpoint);
                async move { Ok::<_, Infallible>(answer(&endpoint, &req)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}

/// The answer to one request.
pub(crate) fn answer(endpoint: &Endpoint, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    route(endpoint, req.method(), req.uri().path())
}

fn route(endpoint: &Endpoint, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let snap = || render::snapshot(endpoint.board, &endpoint.name, &endpoint.services);
    let (body, content_type) = match path {
        "/metrics" => (
            render::metrics(snap()),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        "/status.json" => (render::status(&snap()).to_string(), "application/json"),
        "/" => (super::page::PAGE.to_owned(), "text/html; charset=utf-8"),
        "/report" => (render::report(&snap()), "text/plain; charset=utf-8"),
        _ => {
            return plain(
                StatusCode::NOT_FOUND,
                "not found: try /, /metrics, /status.json or /report\n",
            );
        }
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
