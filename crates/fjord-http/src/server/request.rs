//! One request (H3, H5, H7): the server's own limits, the per-worker pool,
//! the request body limit, and the access log line when the response is
//! done.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{StatusCode, Version};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use tower::Service as _;

use super::access_log::{ACCESS_LOG_TARGET, Entry};
use super::conn::{ConnState, ServerCtx};
use super::stats::{dec, inc};
use crate::body::{App, Body, BoxError};
use crate::rt::stall::StallTimer;

/// The error a request body yields to the app once it grows past
/// `max_request_body_size`; the server then answers 413 whatever the app
/// returned.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("request body is larger than max_request_body_size ({limit} bytes)")]
pub struct BodyTooLarge {
    /// The limit in bytes.
    pub limit: u64,
}

/// The hyper service of one connection.
pub(crate) struct Handler {
    pub(crate) ctx: Arc<ServerCtx>,
    /// The connection's own clone of the app. hyper calls the handler
    /// from the connection's task only (`&self`, never shared between
    /// threads), hence a `RefCell`, borrowed only inside `call`.
    pub(crate) app: RefCell<App>,
    pub(crate) conn: Arc<ConnState>,
    pub(crate) peer: SocketAddr,
    pub(crate) http1: bool,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler").field("peer", &self.peer).finish()
    }
}

impl hyper::service::Service<http::Request<Incoming>> for Handler {
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = HandlerFuture;

    fn call(&self, req: http::Request<Incoming>) -> HandlerFuture {
        let mut guard = Guard::new(&self.conn, self.peer, &req);
        if let Some(resp) = check_limits(&self.ctx, &req) {
            inc(&self.ctx.stats.rejected);
            tracing::info!(
                client = %self.peer.ip(), status = resp.status().as_u16(),
                "rejected {} {}: over a server limit", req.method(), target(req.uri()),
            );
            return HandlerFuture {
                http1: self.http1,
                tripped: None,
                state: State::Answered(Some(Box::new(finish(resp, guard, self.http1, true)))),
            };
        }
        let (parts, body) = req.into_parts();
        // Most requests (GET, DELETE, HEAD) have no body: the app gets an
        // empty one, which costs no allocation, and nothing to watch.
        let (body, tripped) = if body.is_end_stream() {
            (Body::default(), None)
        } else {
            let tripped = Arc::new(AtomicBool::new(false));
            let body = RequestBody {
                inner: body,
                seen: 0,
                limit: self.ctx.max_request_body_size,
                tripped: tripped.clone(),
                stall: self.ctx.client_socket_timeout,
                timer: StallTimer::default(),
            };
            (crate::body::boxed(body), Some(tripped))
        };
        let req = http::Request::from_parts(parts, body);
        let mut app = self.app.borrow_mut();
        // The usual case: a free slot and a ready app. The app is called
        // here, and the future only drives what it returned.
        let app = if self.ctx.pool.try_acquire() {
            guard.slot = true;
            let mut cx = Context::from_waker(Waker::noop());
            match app.poll_ready(&mut cx) {
                Poll::Ready(Ok(())) => {
                    return HandlerFuture {
                        http1: self.http1,
                        tripped,
                        state: State::Call {
                            guard,
                            call: app.call(req),
                        },
                    };
                }
                Poll::Ready(Err(never)) => match never {},
                // Not ready (a concurrency limit, a buffer): this app may
                // hold a place in its queue now, so it goes on in the
                // future, polled with a real waker; the connection keeps
                // a fresh clone.
                Poll::Pending => {
                    let fresh = app.clone();
                    std::mem::replace(&mut *app, fresh)
                }
            }
        } else {
            // The pool is full: a clone waits for a slot in the future,
            // then for the app to be ready.
            app.clone()
        };
        HandlerFuture {
            http1: self.http1,
            tripped,
            state: State::Slot(Box::new(Slot {
                guard,
                app,
                req,
                wait: None,
            })),
        }
    }
}

/// A request waiting for a pool slot or for the app.
struct Slot {
    guard: Guard,
    app: App,
    req: crate::Request,
    wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

/// The future of one request: a pool slot, the app's call, then the
/// response wrapped for accounting. Written out rather than boxed (hyper
/// names the type): no allocation, and the request is not moved into one.
pub(crate) struct HandlerFuture {
    http1: bool,
    /// Set by the request body when it grew over the limit.
    tripped: Option<Arc<AtomicBool>>,
    state: State,
}

enum State {
    /// Waiting for a pool slot, then for the app to be ready. Boxed: the
    /// usual request skips this state, and hyper moves the future around.
    Slot(Box<Slot>),
    /// The app is answering.
    Call {
        guard: Guard,
        call: <App as tower::Service<crate::Request>>::Future,
    },
    /// Answered by the server itself (boxed: rare, and large).
    Answered(Option<Box<http::Response<ResponseBody>>>),
    Done,
}

impl Future for HandlerFuture {
    type Output = Result<http::Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Slot(slot) => {
                    let Slot {
                        guard, app, wait, ..
                    } = &mut **slot;
                    if !guard.slot {
                        match wait {
                            None if guard.conn.ctx.pool.try_acquire() => guard.slot = true,
                            None => {
                                inc(&guard.conn.ctx.stats.pool_waits);
                                fjord_service::diagnostics::http_pool_wait();
                                let ctx = guard.conn.ctx.clone();
                                *wait = Some(Box::pin(async move { ctx.pool.acquire().await }));
                                continue;
                            }
                            Some(w) => {
                                std::task::ready!(w.as_mut().poll(cx));
                                // The slot is ours from here: the guard gives it back.
                                guard.slot = true;
                                *wait = None;
                            }
                        }
                    }
                    if let Err(never) = std::task::ready!(app.poll_ready(cx)) {
                        match never {}
                    }
                    let State::Slot(slot) = std::mem::replace(&mut this.state, State::Done) else {
                        unreachable!("matched above")
                    };
                    let Slot {
                        guard,
                        mut app,
                        req,
                        ..
                    } = *slot;
                    this.state = State::Call {
                        guard,
                        call: app.call(req),
                    };
                }
                State::Call { call, .. } => {
                    let resp = match std::task::ready!(call.as_mut().poll(cx)) {
                        Ok(resp) => resp,
                        Err(never) => match never {},
                    };
                    let State::Call { guard, .. } = std::mem::replace(&mut this.state, State::Done)
                    else {
                        unreachable!("matched above")
                    };
                    if this
                        .tripped
                        .as_ref()
                        .is_some_and(|t| t.load(Ordering::Acquire))
                    {
                        inc(&guard.conn.ctx.stats.rejected);
                        let resp = error_response(StatusCode::PAYLOAD_TOO_LARGE);
                        return Poll::Ready(Ok(finish(resp, guard, this.http1, true)));
                    }
                    return Poll::Ready(Ok(finish(resp, guard, this.http1, false)));
                }
                State::Answered(resp) => {
                    let resp = resp.take().expect("HandlerFuture polled after completion");
                    this.state = State::Done;
                    return Poll::Ready(Ok(*resp));
                }
                State::Done => panic!("HandlerFuture polled after completion"),
            }
        }
    }
}

/// 414 for a long request line, 431 for a long header line, 413 for a
/// declared body over the limit.
fn check_limits(ctx: &ServerCtx, req: &http::Request<Incoming>) -> Option<http::Response<Body>> {
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.uri().path().len(), |pq| pq.as_str().len());
    // "METHOD SP target SP HTTP/1.1"
    let line = req.method().as_str().len() + 1 + target + 1 + 8;
    if line > ctx.max_url_len {
        return Some(error_response(StatusCode::URI_TOO_LONG));
    }
    let too_long = req
        .headers()
        .iter()
        .any(|(name, value)| name.as_str().len() + 2 + value.len() > ctx.max_header_line);
    if too_long {
        return Some(error_response(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    }
    if ctx.max_request_body_size > 0 {
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > ctx.max_request_body_size) {
            return Some(error_response(StatusCode::PAYLOAD_TOO_LARGE));
        }
    }
    None
}

/// A short plain-text error response the server makes itself.
pub(crate) fn error_response(status: StatusCode) -> http::Response<Body> {
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let mut resp = http::Response::new(crate::body::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp
}

fn finish(
    resp: http::Response<Body>,
    mut guard: Guard,
    http1: bool,
    close: bool,
) -> http::Response<ResponseBody> {
    let (mut parts, body) = resp.into_parts();
    if http1 && (close || guard.conn.ctx.signals.state().draining()) {
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    guard.status = Some(parts.status.as_u16());
    http::Response::from_parts(parts, ResponseBody { inner: body, guard })
}

/// Accounts for one request from its head to the end of its response:
/// in-flight counters, the pool slot, and the access log line on drop.
///
/// Kept small: hyper moves the response body (which holds it) around.
struct Guard {
    /// The connection, and through it the server.
    conn: Arc<ConnState>,
    status: Option<u16>,
    bytes: u64,
    /// Holds a slot of the worker's pool.
    slot: bool,
    /// What the access log line needs, when the access log is on.
    access: Option<Box<AccessInfo>>,
    /// The request in flight, counted when it ends, when this worker
    /// records diagnostics (`fjord_service::diagnostics`).
    metric: Option<fjord_service::diagnostics::HttpRequest>,
}

/// The request as the access log line shows it.
struct AccessInfo {
    peer: SocketAddr,
    method: http::Method,
    /// The request target (a cheap clone: no copy of the text).
    uri: http::Uri,
    version: Version,
    start: Instant,
}

/// Path and query, as the request line had them.
fn target(uri: &http::Uri) -> &str {
    uri.path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str())
}

impl Guard {
    fn new(conn: &Arc<ConnState>, peer: SocketAddr, req: &http::Request<Incoming>) -> Self {
        let ctx = &conn.ctx;
        conn.begin();
        inc(&ctx.stats.requests);
        inc(&ctx.stats.in_flight);
        let logged = tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO);
        // One clock read serves both.
        let start = (logged || fjord_service::diagnostics::recording()).then(Instant::now);
        // Shown by the report (method and path, no query) until the guard
        // drops.
        let metric = start.and_then(|start| {
            fjord_service::diagnostics::http_start(req.method().as_str(), req.uri().path(), start)
        });
        let access = start.filter(|_| logged).map(|start| {
            Box::new(AccessInfo {
                peer,
                method: req.method().clone(),
                uri: req.uri().clone(),
                version: req.version(),
                start,
            })
        });
        Guard {
            conn: conn.clone(),
            status: None,
            bytes: 0,
            slot: false,
            access,
            metric,
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.slot {
            self.conn.ctx.pool.release();
        }
        let logged = self.status.is_some() && self.access.is_some();
        // One clock read serves both.
        let end = (logged || self.metric.is_some()).then(Instant::now);
        if let (Some(status), Some(a), Some(end)) = (self.status, &self.access, end) {
            let version = match a.version {
                Version::HTTP_09 => "HTTP/0.9",
                Version::HTTP_10 => "HTTP/1.0",
                Version::HTTP_11 => "HTTP/1.1",
                Version::HTTP_2 => "HTTP/2.0",
                _ => "HTTP/3.0",
            };
            let line = self.conn.ctx.log_format.format(&Entry {
                client_ip: a.peer.ip(),
                method: a.method.as_str(),
                path: target(&a.uri),
                version,
                status,
                body_length: self.bytes,
                wall: end.saturating_duration_since(a.start),
            });
            tracing::info!(target: ACCESS_LOG_TARGET, "{line}");
        }
        dec(&self.conn.ctx.stats.in_flight);
        if let (Some(metric), Some(end)) = (self.metric.take(), end) {
            // No status: the connection ended before the response.
            metric.finish(self.status.unwrap_or(499), end);
        }
        self.conn.end();
        // Toward `max_requests` (worker recycling).
        fjord_service::launcher::recycle::served();
    }
}

/// The response body as hyper sends it: counts bytes for the access log
/// and keeps the request's accounting alive until the body is done.
pub(crate) struct ResponseBody {
    inner: Body,
    guard: Guard,
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &r {
            self.guard.bytes += frame.data_ref().map_or(0, |d| d.len() as u64);
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body as the app sees it: limited to
/// `max_request_body_size` and failing when the client stalls for
/// `client_socket_timeout`.
struct RequestBody {
    inner: Incoming,
    seen: u64,
    limit: u64,
    tripped: Arc<AtomicBool>,
    stall: Option<std::time::Duration>,
    timer: StallTimer,
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.tripped.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(BodyTooLarge { limit: this.limit }.into())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.timer.disarm();
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.limit > 0 && this.seen > this.limit {
                        this.tripped.store(true, Ordering::Release);
                        return Poll::Ready(Some(Err(BodyTooLarge { limit: this.limit }.into())));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let timer = &mut this.timer;
                if this
                    .stall
                    .is_some_and(|limit| timer.poll_expired(limit, cx))
                {
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "client_socket_timeout: client stopped sending the request body",
                    )
                    .into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
