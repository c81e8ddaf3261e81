//! One connection: TLS handshake, protocol choice (HTTP/1 or HTTP/2),
//! timeouts, graceful drain and a clean close.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::access_log::LogFormat;
use super::io::ConnIo;
use super::request::Handler;
use super::stats::{Stats, inc};
use crate::body::App;
use crate::rt::clock::coarse_now;
use crate::rt::pool::Pool;
use crate::rt::signal::Signals;
use crate::rt::timeout::{self, ClientTimeouts, Watched};

/// The HTTP/2 connection preface a client with prior knowledge sends.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a closing HTTP/1 connection keeps reading (and discarding)
/// what the client still sends, so the response is not lost to a TCP
/// reset (nginx's lingering close).
const LINGER: Duration = Duration::from_secs(1);
/// At most this much is discarded while lingering.
const LINGER_MAX_BYTES: usize = 1 << 20;

/// How long a draining connection that holds part of a next request
/// waits for it before it is closed anyway.
const DRAIN_PARTIAL_GRACE: Duration = Duration::from_secs(5);

/// How long a draining HTTP/1 keep-alive connection with nothing in flight
/// stays open for a next request, which is then answered with
/// `Connection: close`. A client that sent its request just as the drain
/// began (one already on the wire) is answered instead of finding the
/// connection closed under it; a connection idle for this long is closed.
const DRAIN_IDLE_LINGER: Duration = Duration::from_secs(1);

/// hyper's default HTTP/1 read buffer limit; raised when the configured
/// line limits need more.
const HYPER_DEFAULT_MAX_BUF: usize = 8192 + 4096 * 100;

/// What every connection of one running server shares.
pub(crate) struct ServerCtx {
    pub(crate) stats: Arc<Stats>,
    pub(crate) log_format: Arc<LogFormat>,
    /// Requests in flight (`wsgi_default_pool_size`).
    pub(crate) pool: Pool,
    /// Open connections (`max_connections`), taken by the accept loop.
    pub(crate) conns: Pool,
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(crate) http2: bool,
    pub(crate) keep_alive: bool,
    pub(crate) client_socket_timeout: Option<Duration>,
    pub(crate) max_url_len: usize,
    pub(crate) max_header_line: usize,
    pub(crate) max_request_body_size: u64,
    /// Drain, force and shed events (see [`Signals`]).
    pub(crate) signals: Arc<Signals>,
    /// `client_socket_timeout` for the wait for a client's next request
    /// (`None`: no limit).
    pub(crate) client_timeouts: Option<Arc<ClientTimeouts<ConnState>>>,
}

impl std::fmt::Debug for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnState")
            .field("in_flight", &self.in_flight)
            .field("read_since_response", &self.read_since_response)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ServerCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCtx")
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http2)
            .finish_non_exhaustive()
    }
}

impl ServerCtx {
    fn max_buf(&self) -> usize {
        HYPER_DEFAULT_MAX_BUF.max(self.max_url_len + 4 * self.max_header_line)
    }
}

/// Per-connection state shared by the stream, the requests and the
/// connection task.
pub(crate) struct ConnState {
    /// The server the connection belongs to.
    pub(crate) ctx: Arc<ServerCtx>,
    /// Requests of this connection between head and end of response.
    pub(crate) in_flight: AtomicUsize,
    /// Bytes arrived since the last response ended (part of a next request).
    pub(crate) read_since_response: AtomicBool,
    /// Signalled when a request begins or ends, once `watching`.
    pub(crate) changed: Notify,
    /// The connection task waits on `changed` (it drains): only then do
    /// requests signal it (a notify costs a compare-and-swap per request).
    watching: AtomicBool,
    /// Set by the server's client timeouts when this connection's wait
    /// for its client is up.
    wait_expired: crate::rt::sync::atomic::AtomicBool,
    /// Since when the connection waits for its client, on the
    /// [`coarse_now`] clock: the end of its last response or its accept;
    /// on HTTP/2 also the last bytes it received (see
    /// [`ConnIo::stamp_reads`]).
    pub(crate) idle_since: AtomicU64,
}

impl ConnState {
    fn new(ctx: Arc<ServerCtx>) -> Self {
        ConnState {
            ctx,
            in_flight: AtomicUsize::new(0),
            read_since_response: AtomicBool::new(false),
            changed: Notify::new(),
            watching: AtomicBool::new(false),
            wait_expired: crate::rt::sync::atomic::AtomicBool::new(false),
            idle_since: AtomicU64::new(coarse_now()),
        }
    }
}

impl ConnState {
    pub(crate) fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.signal();
    }

    pub(crate) fn end(&self) {
        self.idle_since.store(coarse_now(), Ordering::Release);
        self.read_since_response.store(false, Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.signal();
    }

    fn signal(&self) {
        // SeqCst with `watch`: either the task sees the new count when it
        // starts watching, or this sees it watching (and the notify is
        // kept for it if it is not waiting yet).
        if self.watching.load(Ordering::SeqCst) {
            self.changed.notify_one();
        }
    }

    /// From now on, requests beginning or ending signal `changed`. Call
    /// before looking at the state the signal is for.
    fn watch(&self) {
        self.watching.store(true, Ordering::SeqCst);
    }

    /// No request in flight and nothing of a next one received.
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
            && !self.read_since_response.load(Ordering::Acquire)
    }

    /// A request is in flight: hyper is busy, and its graceful shutdown
    /// only turns keep-alive off.
    fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }
}

impl Watched for ConnState {
    fn deadline(&self, limit_ns: u64) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(
            self.idle_since
                .load(Ordering::Acquire)
                .saturating_add(limit_ns),
        )
    }

    fn expired_flag(&self) -> &crate::rt::sync::atomic::AtomicBool {
        &self.wait_expired
    }
}

async fn with_timeout<F: Future>(limit: Option<Duration>, f: F) -> Option<F::Output> {
    match limit {
        Some(d) => tokio::time::timeout(d, f).await.ok(),
        None => Some(f.await),
    }
}

/// Runs `f` unless a forced stop comes first (`None` then). For the
/// stages before and after HTTP: while serving HTTP, the connection's own
/// loop watches the signals (one wait polled per wake, not two).
async fn unless_forced<F: Future>(signals: &Signals, f: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        r = f => Some(r),
        () = signals.forced() => None,
    }
}

/// Serves one accepted connection until it closes, or at once when the
/// server is forced to stop.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, ctx: Arc<ServerCtx>, app: App) {
    let conn = Arc::new(ConnState::new(ctx.clone()));
    let timeout = ctx.client_socket_timeout;
    let mut io = ConnIo::new(stream, conn.clone(), timeout);
    if let Some(acceptor) = ctx.tls.clone() {
        // Boxed: a plain connection's future does not carry the TLS state.
        Box::pin(serve_tls(io, acceptor, peer, ctx, app, conn)).await;
        return;
    }
    let h2 = if ctx.http2 {
        let sniffed = unless_forced(&ctx.signals, with_timeout(timeout, sniff_h2(&mut io))).await;
        match sniffed {
            // Closed by a forced stop.
            None => return,
            Some(Some(Ok(h2))) => h2,
            Some(Some(Err(e))) => {
                tracing::debug!(client = %peer, "connection closed before a request: {e}");
                return;
            }
            Some(None) => {
                tracing::info!(client = %peer, "client sent nothing within client_socket_timeout");
                return;
            }
        }
    } else {
        false
    };
    if h2 {
        io.stamp_reads();
    }
    serve_protocol(io, h2, app, peer, ctx, conn).await;
}

async fn serve_tls(
    io: ConnIo<TcpStream>,
    acceptor: tokio_rustls::TlsAcceptor,
    peer: SocketAddr,
    ctx: Arc<ServerCtx>,
    app: App,
    conn: Arc<ConnState>,
) {
    let timeout = ctx.client_socket_timeout;
    let handshake = unless_forced(&ctx.signals, with_timeout(timeout, acceptor.accept(io))).await;
    let mut tls = match handshake {
        // Closed by a forced stop.
        None => return,
        Some(Some(Ok(tls))) => tls,
        Some(Some(Err(e))) => {
            tracing::info!(client = %peer, "TLS handshake failed: {e}");
            return;
        }
        Some(None) => {
            tracing::info!(client = %peer, "TLS handshake timed out");
            return;
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    if h2 {
        tls.get_mut().0.stamp_reads();
    }
    serve_protocol(tls, h2, app, peer, ctx, conn).await;
}

/// Serves HTTP/2 or HTTP/1 on `io` until the connection ends.
async fn serve_protocol<I>(
    io: I,
    h2: bool,
    app: App,
    peer: SocketAddr,
    ctx: Arc<ServerCtx>,
    conn: Arc<ConnState>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handler = Handler {
        ctx: ctx.clone(),
        app: std::cell::RefCell::new(app),
        conn: conn.clone(),
        peer,
        http1: !h2,
    };
    if h2 {
        // Boxed: an HTTP/1 connection's future does not carry HTTP/2's state.
        Box::pin(serve_h2(io, handler, &ctx, &conn, peer)).await;
    } else {
        serve_h1(io, handler, &ctx, &conn, peer).await;
    }
}

/// Reads until the bytes differ from the HTTP/2 preface or match it all;
/// the bytes read are replayed to the protocol that is chosen.
async fn sniff_h2(io: &mut ConnIo<TcpStream>) -> std::io::Result<bool> {
    let mut buf = [0u8; 24];
    let mut len = 0;
    let h2 = loop {
        let n = io.get_mut().read(&mut buf[len..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        len += n;
        if buf[..len] != H2_PREFACE[..len] {
            break false;
        }
        if len == H2_PREFACE.len() {
            break true;
        }
    };
    io.set_prefix(Bytes::copy_from_slice(&buf[..len]));
    Ok(h2)
}

async fn serve_h1<I>(
    io: I,
    handler: Handler,
    ctx: &ServerCtx,
    conn: &Arc<ConnState>,
    peer: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(ctx.keep_alive)
        // A client may shut down its sending side and wait for the answer.
        .half_close(true)
        // client_socket_timeout for a request head is our own lazy timer
        // below: hyper's arms and frees a timer on every request.
        .header_read_timeout(None)
        .max_buf_size(ctx.max_buf());
    let mut c = builder.serve_connection(TokioIo::new(io), handler);
    let mut seen = ctx.signals.state().before_stop();
    let mut draining = false;
    let mut shutdown = false;
    // While draining with no request in flight: the wait for a next request
    // (DRAIN_IDLE_LINGER), then for the rest of a partly received one
    // (DRAIN_PARTIAL_GRACE).
    let grace = tokio::time::sleep(DRAIN_PARTIAL_GRACE);
    tokio::pin!(grace);
    let mut grace_armed = false;
    let mut partial_grace = false;
    // The time to receive a request head (client_socket_timeout) counts
    // from the end of the previous response or from the accept; the
    // server's one alarm wakes the connection when it is up.
    let mut head = ctx.client_timeouts.as_ref().map(|t| t.register(conn));
    // Closed by us while idle: nothing unread, no need to linger.
    let mut closed_idle = false;
    let mut timed_out = false;
    loop {
        // Fixed order (the connection first): no random start per poll.
        tokio::select! {
            biased;
            r = poll_fn(|cx| c.poll_without_shutdown(cx)) => {
                if let Err(e) = r {
                    log_conn_error(peer, &e);
                }
                break;
            }
            now = ctx.signals.changed(seen) => {
                let before = std::mem::replace(&mut seen, now);
                if now.forced() {
                    // Closed now, requests in flight included.
                    return;
                }
                if now.draining() && !draining {
                    // Responses made from now on carry `Connection: close`
                    // (see `request::finish`), and hyper closes after them.
                    // Until one does, the connection stays open: a next
                    // request may already be on the wire.
                    draining = true;
                    conn.watch();
                    grace_armed = drain_wait(conn, &mut grace, &mut partial_grace);
                } else if now.shed_since(before) && !shutdown && conn.is_idle() {
                    inc(&ctx.stats.idle_closed);
                    closed_idle = true;
                    std::pin::Pin::new(&mut c).graceful_shutdown();
                    shutdown = true;
                }
            }
            _ = conn.changed.notified(), if draining && !shutdown => {
                grace_armed = drain_wait(conn, &mut grace, &mut partial_grace);
            }
            _ = &mut grace, if grace_armed && !shutdown => {
                if !partial_grace && !conn.is_idle() && !conn.is_busy() {
                    // Part of a request arrived at the end of the linger.
                    partial_grace = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + DRAIN_PARTIAL_GRACE);
                    continue;
                }
                closed_idle = conn.is_idle();
                std::pin::Pin::new(&mut c).graceful_shutdown();
                shutdown = true;
            }
            limit = timeout::expired(head.as_mut()), if head.is_some() => {
                tracing::info!(
                    client = %peer,
                    "client_socket_timeout: no request head within {limit:?}; connection closed",
                );
                timed_out = true;
                break;
            }
        }
    }
    let mut io = c.into_parts().io.into_inner();
    if timed_out || (closed_idle && conn.is_idle()) {
        let _ = unless_forced(&ctx.signals, with_timeout(Some(LINGER), io.shutdown())).await;
    } else {
        let _ = unless_forced(&ctx.signals, linger(&mut io)).await;
    }
}

/// While a connection drains: how long it waits for its client from now.
/// Nothing while a request is in flight (its response closes the
/// connection, or the connection is idle again when it ends);
/// [`DRAIN_IDLE_LINGER`] when idle; [`DRAIN_PARTIAL_GRACE`] when part of
/// a next request has arrived. Returns whether `grace` is armed.
fn drain_wait(
    conn: &ConnState,
    grace: &mut std::pin::Pin<&mut tokio::time::Sleep>,
    partial_grace: &mut bool,
) -> bool {
    if conn.is_busy() {
        return false;
    }
    *partial_grace = !conn.is_idle();
    let wait = if *partial_grace {
        DRAIN_PARTIAL_GRACE
    } else {
        DRAIN_IDLE_LINGER
    };
    grace.as_mut().reset(tokio::time::Instant::now() + wait);
    true
}

/// Closes our side, then reads and discards until the client closes (or
/// [`LINGER`] passes), so a response sent before unread input is not
/// destroyed by a TCP reset.
async fn linger<I: AsyncRead + AsyncWrite + Unpin>(io: &mut I) {
    let _ = tokio::time::timeout(LINGER, async {
        if io.shutdown().await.is_err() {
            return;
        }
        // On the heap: the connection's future stays small.
        let mut buf = vec![0u8; 4096];
        let mut total = 0;
        while let Ok(n) = io.read(&mut buf).await {
            total += n;
            if n == 0 || total > LINGER_MAX_BYTES {
                break;
            }
        }
    })
    .await;
}

async fn serve_h2<I>(
    io: I,
    handler: Handler,
    ctx: &ServerCtx,
    conn: &Arc<ConnState>,
    peer: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(ctx.max_buf()).unwrap_or(u32::MAX));
    let c = builder.serve_connection(TokioIo::new(io), handler);
    tokio::pin!(c);
    let mut seen = ctx.signals.state().before_stop();
    let mut draining = false;
    // client_socket_timeout: no stream in flight and nothing received for
    // that long. The server's one alarm wakes the connection; it is then
    // sent GOAWAY, and closed if it has not ended within LINGER.
    let mut wait = ctx.client_timeouts.as_ref().map(|t| t.register(conn));
    let closing = tokio::time::sleep(LINGER);
    tokio::pin!(closing);
    let mut timed_out = false;
    loop {
        tokio::select! {
            biased;
            r = c.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("HTTP/2 connection ended: {e}");
                }
                break;
            }
            limit = timeout::expired(wait.as_mut()), if wait.is_some() && !timed_out => {
                tracing::info!(
                    client = %peer,
                    "client_socket_timeout: HTTP/2 connection idle for {limit:?}; closing it",
                );
                timed_out = true;
                closing.as_mut().reset(tokio::time::Instant::now() + LINGER);
                if !draining {
                    draining = true;
                    c.as_mut().graceful_shutdown();
                }
            }
            () = &mut closing, if timed_out => break,
            now = ctx.signals.changed(seen) => {
                let before = std::mem::replace(&mut seen, now);
                if now.forced() {
                    // Closed now, streams in flight included.
                    return;
                }
                if draining {
                    continue;
                }
                if now.draining() {
                    draining = true;
                    c.as_mut().graceful_shutdown();
                } else if now.shed_since(before) && conn.in_flight.load(Ordering::Acquire) == 0 {
                    inc(&ctx.stats.idle_closed);
                    draining = true;
                    c.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

fn log_conn_error(peer: SocketAddr, e: &hyper::Error) {
    if e.is_parse() || e.is_parse_too_large() {
        tracing::info!(client = %peer, "bad request: {e}; answered 4xx and closed");
    } else if e.is_timeout() {
        tracing::info!(client = %peer, "client_socket_timeout: {e}; connection closed");
    } else {
        tracing::debug!(client = %peer, "connection error: {e}");
    }
}
