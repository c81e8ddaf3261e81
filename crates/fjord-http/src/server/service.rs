//! `HttpService` (oslo.service's `WSGIService` + `wsgi.Server`): bound in
//! the master, started in each worker.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::access_log::LogFormat;
use super::conn::{self, ServerCtx};
use super::error::Error;
use super::options::ServerOptions;
use super::stats::{Phase, Stats, StatsSnapshot, dec, inc};
use super::{socket, tls};
use crate::body::App;
use crate::rt::pool::Pool;
use crate::rt::signal::Signals;
use crate::rt::timeout::ClientTimeouts;

type AppFactory = Arc<dyn Fn() -> App + Send + Sync>;

/// Pause after an accept error that is not about one connection (for
/// example too many open files), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// An HTTP API service: a listening socket bound at construction and a
/// hyper server started by [`fjord_service::Service::start`] in each
/// worker.
///
/// Cloning is cheap and clones share everything (socket, state, stats).
///
/// # Examples
///
/// ```no_run
/// use fjord_http::server::{HttpService, ServerOptions};
/// use fjord_http::{App, full};
/// use std::convert::Infallible;
///
/// let app = App::new(tower::service_fn(|_req: fjord_http::Request| async {
///     Ok::<_, Infallible>(http::Response::new(full("Hello, World!")))
/// }));
/// let service = HttpService::bind(ServerOptions::new("hello").listen("127.0.0.1").port(0), app)?;
/// println!("listening on {}", service.url());
/// // hand `service` to a fjord_service launcher
/// # Ok::<(), fjord_http::server::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpService {
    inner: Arc<Inner>,
}

struct Inner {
    options: ServerOptions,
    /// The listening socket; `None` once closed for good
    /// (`close_listeners`).
    listener: Mutex<Option<std::net::TcpListener>>,
    /// Each worker listens on a socket of its own (`reuse_port`, unless
    /// the socket was inherited).
    reuse_port: bool,
    local_addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    log_format: Arc<LogFormat>,
    make_app: AppFactory,
    stats: Arc<Stats>,
    phase: watch::Sender<Phase>,
    run: Mutex<Option<Run>>,
}

#[derive(Clone)]
struct Run {
    signals: Arc<Signals>,
    tracker: TaskTracker,
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService")
            .field("name", &self.inner.options.name)
            .field("local_addr", &self.inner.local_addr)
            .field("tls", &self.inner.tls.is_some())
            .field("phase", &*self.inner.phase.borrow())
            .finish_non_exhaustive()
    }
}

impl HttpService {
    /// Validates `options`, loads TLS files and binds the listening socket;
    /// every worker serves `app` (cloned).
    ///
    /// Synchronous and runtime-free: call it in the master, before the
    /// launcher forks.
    ///
    /// # Errors
    ///
    /// An invalid option (pool size 0, bad `wsgi_log_format`, bad
    /// `[ssl]` version or ciphers), an unreadable or invalid TLS file
    /// (named), a host that does not resolve, an address still in use
    /// after `bind_timeout`, or any other bind failure.
    pub fn bind(options: ServerOptions, app: App) -> Result<Self, Error> {
        let app = Mutex::new(app);
        Self::bind_with(options, move || {
            app.lock().unwrap_or_else(PoisonError::into_inner).clone()
        })
    }

    /// Like [`HttpService::bind`], but the app is made by `make_app` in
    /// each worker at each start (after fork), for apps that must not be
    /// built in the master.
    ///
    /// # Errors
    ///
    /// As [`HttpService::bind`].
    pub fn bind_with<F>(options: ServerOptions, make_app: F) -> Result<Self, Error>
    where
        F: Fn() -> App + Send + Sync + 'static,
    {
        validate(&options)?;
        let log_format = Arc::new(LogFormat::parse(&options.wsgi_log_format)?);
        let tls = if options.use_ssl {
            Some(tls::server_config(&options.ssl, options.http2)?)
        } else {
            None
        };
        let (listener, inherited) = socket::bind(&options)?;
        if inherited && options.reuse_port {
            tracing::warn!(
                api = %options.name,
                "reuse_port ignored: the workers share the inherited socket"
            );
        }
        let reuse_port = options.reuse_port && !inherited;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: socket::resolve(&options.listen, options.port)
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], options.port))),
            source,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(
            api = %options.name,
            "{} listening on {scheme}://{local_addr}",
            options.name
        );
        let (phase, _) = watch::channel(Phase::Idle);
        Ok(HttpService {
            inner: Arc::new(Inner {
                options,
                listener: Mutex::new(Some(listener)),
                reuse_port,
                local_addr,
                tls,
                log_format,
                make_app: Arc::new(make_app),
                stats: Arc::new(Stats::default()),
                phase,
                run: Mutex::new(None),
            }),
        })
    }

    /// The address the socket is bound to, with the real port when the
    /// options asked for port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.inner.local_addr.port()
    }

    /// `http://addr:port` or `https://addr:port`.
    pub fn url(&self) -> String {
        let scheme = if self.inner.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.inner.local_addr)
    }

    /// The options the service was built with.
    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    /// The counters of this process's server.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The lifecycle phase in this process, as a watch channel.
    pub fn phase(&self) -> watch::Receiver<Phase> {
        self.inner.phase.subscribe()
    }

    fn lock_run(&self) -> std::sync::MutexGuard<'_, Option<Run>> {
        self.inner
            .run
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn start_inner(&self) -> Result<(), Error> {
        let mut run = self.lock_run();
        if run.is_some() {
            return Err(Error::AlreadyStarted(self.inner.options.name.clone()));
        }
        let addr = self.inner.local_addr;
        let listener_err = |source| Error::Listener { addr, source };
        let std_listener = {
            let shared = self
                .inner
                .listener
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let shared = shared.as_ref().ok_or(Error::ListenerClosed(addr))?;
            if self.inner.reuse_port {
                socket::bind_worker(addr, &self.inner.options).map_err(listener_err)?
            } else {
                shared.try_clone().map_err(listener_err)?
            }
        };
        std_listener.set_nonblocking(true).map_err(listener_err)?;
        let listener = TcpListener::from_std(std_listener).map_err(listener_err)?;

        let o = &self.inner.options;
        let client_socket_timeout =
            (!o.client_socket_timeout.is_zero()).then_some(o.client_socket_timeout);
        let client_timeouts = client_socket_timeout
            .map(ClientTimeouts::new)
            .transpose()
            .map_err(Error::Timer)?;
        let signals = Arc::new(Signals::default());
        let ctx = Arc::new(ServerCtx {
            stats: self.inner.stats.clone(),
            log_format: self.inner.log_format.clone(),
            pool: Pool::new(o.wsgi_default_pool_size),
            conns: Pool::new(o.max_connections),
            tls: self.inner.tls.clone().map(tokio_rustls::TlsAcceptor::from),
            http2: o.http2,
            keep_alive: o.wsgi_keep_alive,
            client_socket_timeout,
            max_url_len: o.max_url_len,
            max_header_line: o.max_header_line,
            max_request_body_size: o.max_request_body_size,
            signals: signals.clone(),
            client_timeouts: client_timeouts.clone(),
        });
        let r = Run {
            signals,
            tracker: TaskTracker::new(),
        };
        let app = (self.inner.make_app)();
        fjord_service::diagnostics::http_pool_size(o.wsgi_default_pool_size as u64);
        r.tracker.spawn(accept_loop(listener, ctx, app, r.clone()));
        if let Some(timeouts) = client_timeouts {
            // Not tracked: it serves the connections until the last one
            // has ended.
            let tracker = r.tracker.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = timeouts.run() => {}
                    () = tracker.wait() => {}
                }
            });
        }
        *run = Some(r);
        self.inner.phase.send_replace(Phase::Running);
        tracing::info!(api = %o.name, pid = std::process::id(), "serving on {}", self.url());
        Ok(())
    }
}

fn validate(o: &ServerOptions) -> Result<(), Error> {
    let check = |ok: bool, option: &'static str, message: &str| {
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidOption {
                option,
                message: message.to_owned(),
            })
        }
    };
    check(
        o.wsgi_default_pool_size > 0,
        "wsgi_default_pool_size",
        "must be at least 1",
    )?;
    check(
        o.max_connections > 0,
        "max_connections",
        "must be at least 1",
    )?;
    check(o.max_url_len > 0, "max_url_len", "must be at least 1")?;
    check(
        o.max_header_line > 0,
        "max_header_line",
        "must be at least 1",
    )?;
    check(o.backlog > 0, "backlog", "must be at least 1")?;
    Ok(())
}

/// Accepts while the pool has a free slot and the connection bound
/// allows, until a stop.
async fn accept_loop(listener: TcpListener, ctx: Arc<ServerCtx>, app: App, run: Run) {
    let signals = run.signals.clone();
    let drain = || signals.drained();
    loop {
        // H3: with every slot busy, leave new connections in the backlog
        // for another worker (eventlet's pool.spawn blocks the same way).
        if ctx.pool.is_full() {
            tokio::select! {
                () = ctx.pool.has_room() => {}
                _ = drain() => break,
            }
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            // The pool filled up while we waited: check again, so the
            // connection stays in the backlog for another worker.
            () = ctx.pool.filled() => continue,
            _ = drain() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::Interrupted
                ) {
                    tracing::error!("accept failed: {e}; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                        _ = drain() => break,
                    }
                }
                continue;
            }
        };
        // At the connection bound with a client waiting: idle keep-alive
        // connections close to make room for it (nginx does the same when
        // its connections run out), and it is served once one has.
        let mut last = false;
        let counted = if ctx.conns.try_acquire() {
            true
        } else {
            ctx.signals.shed();
            tokio::select! {
                () = ctx.conns.acquire() => true,
                // A stop began meanwhile: this client is still answered
                // (once, with `Connection: close`), then accepting ends.
                _ = drain() => {
                    last = true;
                    false
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let app = app.clone();
        run.tracker.spawn(async move {
            // Given back however the task ends, a panic included.
            let _open = Open::new(ctx.clone(), counted);
            // Ends at once on a forced stop, in whatever stage it is.
            conn::serve(stream, peer, ctx, app).await;
        });
        // One connection per turn (nginx's `multi_accept off`): serve
        // what is ready before accepting again, so a burst of connections
        // is shared with the other workers instead of taken by the first
        // one awake.
        if last {
            break;
        }
        tokio::task::yield_now().await;
    }
    // Connections already in the backlog are taken and answered (with
    // `Connection: close`): when the last copy of the socket closes, the
    // kernel resets whatever is still queued.
    sweep_backlog(listener, &ctx, &app, &run);
    // The listener (this process's copy of the socket) closes here; the
    // service keeps the original for a restart unless `close_listeners`
    // closed it.
    run.tracker.close();
}

/// Accepts, without waiting, every connection queued on `listener` and
/// serves it (the server is draining: each is answered once).
fn sweep_backlog(listener: TcpListener, ctx: &Arc<ServerCtx>, app: &App, run: &Run) {
    if run.signals.state().forced() {
        return;
    }
    let Ok(listener) = listener.into_std() else {
        return;
    };
    while let Ok((stream, peer)) = listener.accept() {
        let Ok(stream) = stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream))
        else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let app = app.clone();
        run.tracker.spawn(async move {
            let _open = Open::new(ctx.clone(), false);
            conn::serve(stream, peer, ctx, app).await;
        });
    }
}

/// One open connection: counted from accept until its task ends, when it
/// also gives back its place under `max_connections` (when it took one:
/// `counted`).
struct Open {
    ctx: Arc<ServerCtx>,
    counted: bool,
}

impl Open {
    fn new(ctx: Arc<ServerCtx>, counted: bool) -> Self {
        inc(&ctx.stats.connections_accepted);
        inc(&ctx.stats.active_connections);
        fjord_service::diagnostics::http_connection(true);
        Open { ctx, counted }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        dec(&self.ctx.stats.active_connections);
        fjord_service::diagnostics::http_connection(false);
        if self.counted {
            self.ctx.conns.release();
        }
    }
}

#[fjord_service::async_trait]
impl fjord_service::Service for HttpService {
    fn name(&self) -> &str {
        &self.inner.options.name
    }

    /// Starts accepting on the inherited socket in this process's runtime.
    async fn start(&self) -> fjord_service::Result<()> {
        self.start_inner().map_err(Into::into)
    }

    /// Stops accepting. Graceful: requests in flight finish (their
    /// responses carry `Connection: close`), idle keep-alive connections
    /// close, a connection holding part of a next request gets it answered;
    /// returns when every connection is closed. Not graceful: connections
    /// are dropped.
    async fn stop(&self, graceful: bool) {
        let Some(run) = self.lock_run().clone() else {
            return;
        };
        if graceful {
            self.inner.phase.send_if_modified(|p| {
                let change = *p == Phase::Running;
                if change {
                    *p = Phase::Draining;
                }
                change
            });
        }
        if graceful {
            run.signals.drain();
        } else {
            run.signals.force();
        }
        run.tracker.close();
        run.tracker.wait().await;
        self.inner.phase.send_replace(Phase::Stopped);
        tracing::info!(api = %self.inner.options.name, "stopped");
    }

    async fn wait(&self) {
        let Some(run) = self.lock_run().clone() else {
            return;
        };
        run.tracker.wait().await;
    }

    /// Forgets the stopped server so `start` can run again; the listening
    /// socket stays open (connections wait in its backlog meanwhile).
    /// Closes this process's copy of the listening socket; `start` fails
    /// from then on. A running accept loop holds its own copy until it
    /// stops.
    fn close_listeners(&self) {
        drop(
            self.inner
                .listener
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }

    /// An API: stopped before the services its requests call.
    fn stops_first(&self) -> bool {
        true
    }

    /// The listening socket, named after the API. None with `reuse_port`:
    /// a new master binds the address itself (SO_REUSEPORT lets it).
    fn listeners(&self) -> Vec<(String, std::os::fd::RawFd)> {
        use std::os::fd::AsRawFd;
        if self.inner.reuse_port {
            return Vec::new();
        }
        self.inner
            .listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|l| (self.inner.options.name.clone(), l.as_raw_fd()))
            .into_iter()
            .collect()
    }

    async fn reset(&self) -> fjord_service::Result<()> {
        let run = self.lock_run().take();
        if let Some(run) = run {
            run.signals.force();
            run.tracker.close();
            run.tracker.wait().await;
        }
        self.inner.phase.send_replace(Phase::Idle);
        Ok(())
    }
}
