//! The embedded transport (M11): messaging across the processes of one host
//! with no server to install.
//!
//! `embedded:///path/to/socket` names a Unix socket. The first process that
//! needs the transport and finds nobody listening there takes an exclusive
//! lock on `<socket>.lock`, binds the socket and runs a small broker inside
//! its own runtime; every process (that one included) talks to the broker as
//! a client. The broker routes with the same RabbitMQ semantics as the
//! in-process [`super::FakeDriver`] (topic and fanout exchanges, shared
//! queues served round-robin, reply queues).
//!
//! When the process holding the broker exits, clients reconnect, one of them
//! becomes the broker, and every listener is declared again. Delivery is at
//! most once: messages in the old broker's queues are lost with it, and a
//! pending call then times out. This is a transport for one host —
//! development, demos, small installs; use RabbitMQ for anything more.
//!
//! Frames on the socket are a 4-byte big-endian length and a JSON document.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::{
    Acker, Destination, Driver, FakeDriver, IncomingMessage, ListenSpec, Listener, ListenerControl,
    OutgoingMessage,
};
use crate::error::{Error, ErrorKind, Result};

/// Largest frame accepted (a message body plus a little JSON).
const MAX_FRAME: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireSpec {
    Rpc {
        exchange: String,
        topic: String,
        server: String,
    },
    /// A reply queue; its name is chosen by the client so that it survives
    /// a broker change.
    Replies { queue: String },
    Notifications {
        exchange: String,
        keys: Vec<String>,
        pool: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Send {
        id: u64,
        dest: Destination,
        body: String,
        mandatory: bool,
    },
    Listen {
        id: u64,
        listener: u64,
        spec: WireSpec,
    },
    Stop {
        id: u64,
        listener: u64,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Reply {
    Done { id: u64, error: Option<WireError> },
    Deliver { listener: u64, body: String },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireError {
    Unroutable { what: String },
    Other { message: String },
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Unroutable { what } => Error::Unroutable(what),
            WireError::Other { message } => Error::connection(message),
        }
    }
}

impl From<&Error> for WireError {
    fn from(e: &Error) -> Self {
        match e {
            Error::Unroutable(what) => WireError::Unroutable { what: what.clone() },
            other => WireError::Other {
                message: other.to_string(),
            },
        }
    }
}

/// Appends one frame (length, then JSON) to `buf`.
fn encode_frame<T: Serialize>(buf: &mut Vec<u8>, v: &T) -> std::io::Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let len = serde_json::to_writer(&mut *buf, v)
        .map_err(std::io::Error::other)
        .and_then(|()| u32::try_from(buf.len() - start - 4).map_err(std::io::Error::other));
    match len {
        Ok(len) => {
            buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(e) => {
            // Nothing of a frame that cannot be sent stays in the stream.
            buf.truncate(start);
            Err(e)
        }
    }
}

/// Writes what `rx` yields until it closes or the socket fails: every
/// frame queued meanwhile goes out in the same write (one system call
/// per batch, not two per frame).
async fn write_frames<W: AsyncWriteExt + Unpin, T: Serialize>(
    w: &mut W,
    rx: &mut mpsc::Receiver<T>,
) {
    let mut buf = Vec::with_capacity(8192);
    while let Some(first) = rx.recv().await {
        buf.clear();
        let mut item = Some(first);
        while let Some(v) = item {
            if let Err(e) = encode_frame(&mut buf, &v) {
                tracing::warn!("embedded transport: cannot encode a frame: {e}");
            }
            item = if buf.len() < 1 << 20 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if w.write_all(&buf).await.is_err() {
            break;
        }
    }
}

/// A read half with a buffer: a frame's length and body usually come in
/// one read.
fn buffered<R: AsyncReadExt + Unpin>(r: R) -> tokio::io::BufReader<R> {
    tokio::io::BufReader::with_capacity(64 * 1024, r)
}

async fn read_frame<R: AsyncReadExt + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> std::io::Result<T> {
    let len = r.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "frame of {len} bytes is too large"
        )));
    }
    let mut data = vec![0u8; len];
    r.read_exact(&mut data).await?;
    serde_json::from_slice(&data).map_err(std::io::Error::other)
}

// ---------------------------------------------------------------- broker

/// Serves the broker on `listener` until the process ends.
async fn run_broker(listener: UnixListener, _lock: std::fs::File, hub: Arc<FakeDriver>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let hub = hub.clone();
                let (rd, wr) = stream.into_split();
                tokio::spawn(async move { serve_client(rd, wr, hub).await });
            }
            Err(e) => {
                tracing::warn!("embedded broker: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_client<R, W>(rd: R, mut wr: W, hub: Arc<FakeDriver>)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin + Send + 'static,
{
    let mut rd = buffered(rd);
    let (tx, mut rx) = mpsc::channel::<Reply>(1024);
    let writer = tokio::spawn(async move { write_frames(&mut wr, &mut rx).await });
    let mut listeners: HashMap<u64, Box<dyn ListenerControl>> = HashMap::new();
    loop {
        let req: Request = match read_frame(&mut rd).await {
            Ok(r) => r,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::UnexpectedEof {
                    tracing::debug!("embedded broker: client gone: {e}");
                }
                break;
            }
        };
        match req {
            Request::Send {
                id,
                dest,
                body,
                mandatory,
            } => {
                let mut msg = OutgoingMessage::new(body.into_bytes());
                msg.mandatory = mandatory;
                let r = hub.send(&dest, msg).await;
                let _ = tx
                    .send(Reply::Done {
                        id,
                        error: r.err().as_ref().map(WireError::from),
                    })
                    .await;
            }
            Request::Listen { id, listener, spec } => {
                let (spec, reply_queue) = match spec {
                    WireSpec::Rpc {
                        exchange,
                        topic,
                        server,
                    } => (
                        ListenSpec::Rpc {
                            exchange,
                            topic,
                            server,
                        },
                        None,
                    ),
                    WireSpec::Replies { queue } => (ListenSpec::Replies, Some(queue)),
                    WireSpec::Notifications {
                        exchange,
                        keys,
                        pool,
                    } => (
                        ListenSpec::Notifications {
                            exchange,
                            keys,
                            pool,
                        },
                        None,
                    ),
                };
                let result = match reply_queue {
                    // A queue of the client's choosing (it must survive a
                    // broker change); replies reach it by name.
                    Some(queue) => {
                        hub.listen(ListenSpec::Notifications {
                            exchange: String::new(),
                            keys: vec![queue],
                            pool: None,
                        })
                        .await
                    }
                    None => hub.listen(spec).await,
                };
                let error = match result {
                    Ok(l) => {
                        let mut receiver = l.receiver;
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            while let Some(m) = receiver.recv().await {
                                m.acker.ack().await;
                                let body = String::from_utf8_lossy(&m.body).into_owned();
                                if tx.send(Reply::Deliver { listener, body }).await.is_err() {
                                    break;
                                }
                            }
                        });
                        if let Some(old) = listeners.insert(listener, l.control) {
                            old.stop().await;
                        }
                        None
                    }
                    Err(e) => Some(WireError::from(&e)),
                };
                let _ = tx.send(Reply::Done { id, error }).await;
            }
            Request::Stop { id, listener } => {
                if let Some(c) = listeners.remove(&listener) {
                    c.stop().await;
                }
                let _ = tx.send(Reply::Done { id, error: None }).await;
            }
        }
    }
    for (_, c) in listeners {
        c.stop().await;
    }
    writer.abort();
}

// ---------------------------------------------------------------- client

type Pending = HashMap<u64, oneshot::Sender<Result<()>>>;

#[derive(Debug)]
struct ListenerEntry {
    spec: WireSpec,
    tx: mpsc::Sender<IncomingMessage>,
    /// Declared on a connection: declared again after a reconnect.
    active: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    listeners: Mutex<HashMap<u64, ListenerEntry>>,
    next: AtomicU64,
}

impl Shared {
    fn id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The client side of the embedded transport. See the module docs.
pub struct EmbeddedDriver {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    shared: Arc<Shared>,
    conn: tokio::sync::Mutex<Option<Conn>>,
    watchdog: std::sync::Once,
}

impl fmt::Debug for EmbeddedDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedDriver")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").field("path", &self.path).finish()
    }
}

impl EmbeddedDriver {
    /// A driver for the broker socket at `path`. Connects lazily, so it can
    /// be built before fork and without a runtime.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        EmbeddedDriver {
            inner: Arc::new(Inner {
                path: path.into(),
                shared: Arc::new(Shared::default()),
                conn: tokio::sync::Mutex::new(None),
                watchdog: std::sync::Once::new(),
            }),
        }
    }

    /// The broker socket path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

impl Inner {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ListenerEntry>> {
        self.shared
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The live connection's request channel, connecting (and becoming the
    /// broker if nobody is) when needed.
    async fn connection(&self) -> Result<Conn> {
        let mut conn = self.conn.lock().await;
        if let Some(c) = conn.as_ref()
            && c.alive.load(Ordering::SeqCst)
        {
            return Ok(c.clone());
        }
        let c = match connect_or_become_broker(&self.path).await? {
            BrokerStream::Unix(stream) => {
                let (rd, wr) = stream.into_split();
                start_connection(rd, wr, self.shared.clone())
            }
            BrokerStream::Local(stream) => {
                let (rd, wr) = tokio::io::split(stream);
                start_connection(rd, wr, self.shared.clone())
            }
        };
        let tx = c.tx.clone();
        // Declare again what was listened to on a previous connection.
        let relisten: Vec<(u64, WireSpec)> = self
            .listeners()
            .iter()
            .filter(|(_, v)| v.active)
            .map(|(k, v)| (*k, v.spec.clone()))
            .collect();
        for (listener, spec) in relisten {
            let id = self.shared.id();
            let (done_tx, done_rx) = oneshot::channel();
            self.pending().insert(id, done_tx);
            let _ = tx.send(Request::Listen { id, listener, spec }).await;
            match tokio::time::timeout(Duration::from_secs(10), done_rx).await {
                Ok(Ok(Ok(()))) => {
                    tracing::info!("embedded transport: listener {listener} declared again")
                }
                _ => tracing::warn!(
                    "embedded transport: could not declare listener {listener} again"
                ),
            }
        }
        *conn = Some(c.clone());
        Ok(c)
    }

    /// Sends a request (built with a fresh id) and waits for its answer,
    /// reconnecting on a broken connection up to `retry` times (`None`:
    /// until it works).
    async fn request(&self, make: impl Fn(u64) -> Request, retry: Option<u32>) -> Result<()> {
        let mut attempt = 0u32;
        loop {
            let outcome = match self.connection().await {
                Ok(conn) => {
                    let id = self.shared.id();
                    let (done_tx, done_rx) = oneshot::channel();
                    self.pending().insert(id, done_tx);
                    // Checked after inserting: the reader marks the
                    // connection dead before failing what is pending.
                    if !conn.alive.load(Ordering::SeqCst) || conn.tx.send(make(id)).await.is_err() {
                        self.pending().remove(&id);
                        Err(Error::connection("embedded broker connection closed"))
                    } else {
                        match done_rx.await {
                            Ok(r) => r,
                            Err(_) => Err(Error::connection("embedded broker connection closed")),
                        }
                    }
                }
                Err(e) => Err(e),
            };
            match outcome {
                Err(e)
                    if e.kind() == ErrorKind::Connection && retry.is_none_or(|r| attempt < r) =>
                {
                    attempt += 1;
                    let delay = Duration::from_millis((50 * u64::from(attempt)).min(1000));
                    tracing::debug!("embedded transport: {e}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    /// Reconnects in the background when the broker goes away while
    /// listeners exist, so that a server that only listens resumes by itself.
    fn spawn_watchdog(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        self.watchdog.call_once(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let Some(inner) = me.upgrade() else { return };
                    if inner.listeners().is_empty() {
                        continue;
                    }
                    if let Err(e) = inner.connection().await {
                        tracing::warn!("embedded transport: {e}");
                    }
                }
            });
        });
    }
}

/// A connection to the broker.
enum BrokerStream {
    /// Its socket.
    Unix(UnixStream),
    /// In the process that runs the broker: an in-memory pipe to it, so the
    /// messages of this process's own services skip the socket (a call
    /// between a client and a server of that process, or either end of a
    /// call with another process, makes two socket hops fewer).
    Local(tokio::io::DuplexStream),
}

/// Buffer of the in-memory pipe to a local broker.
const LOCAL_PIPE: usize = 256 * 1024;

/// Connects to the broker at `path`, or becomes it.
async fn connect_or_become_broker(path: &Path) -> Result<BrokerStream> {
    let mut delay = Duration::from_millis(10);
    for _ in 0..100 {
        match UnixStream::connect(path).await {
            Ok(s) => return Ok(BrokerStream::Unix(s)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                if let Some(listener) = try_become_broker(path)? {
                    tracing::info!(
                        "embedded transport: this process (pid {}) runs the broker on {}",
                        std::process::id(),
                        path.display()
                    );
                    let (listener, lock) = listener;
                    let hub = Arc::new(FakeDriver::new());
                    tokio::spawn(run_broker(listener, lock, hub.clone()));
                    let (ours, broker_side) = tokio::io::duplex(LOCAL_PIPE);
                    let (rd, wr) = tokio::io::split(broker_side);
                    tokio::spawn(async move { serve_client(rd, wr, hub).await });
                    return Ok(BrokerStream::Local(ours));
                }
            }
            Err(e) => {
                return Err(Error::io(
                    format!("embedded broker socket {}", path.display()),
                    e,
                ));
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
    Err(Error::connection(format!(
        "no embedded broker on {} and none could be started",
        path.display()
    )))
}

/// Takes the broker lock and binds the socket, or returns `None` when
/// another process holds the lock (it is becoming the broker).
fn try_become_broker(path: &Path) -> Result<Option<(UnixListener, std::fs::File)>> {
    let io = |what: &str, e: std::io::Error| {
        Error::io(format!("embedded broker {what} {}", path.display()), e)
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create the directory of", e))?;
    }
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io("cannot open the lock of", e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(io("cannot lock", e)),
    }
    // We hold the lock: a socket file left there is stale.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).map_err(|e| io("cannot bind", e))?;
    Ok(Some((listener, lock)))
}

/// One connection to the broker.
#[derive(Debug, Clone)]
struct Conn {
    tx: mpsc::Sender<Request>,
    alive: Arc<std::sync::atomic::AtomicBool>,
}

/// Spawns the reader and writer tasks of one connection.
fn start_connection<R, W>(rd: R, mut wr: W, shared: Arc<Shared>) -> Conn
where
    R: AsyncReadExt + Unpin + Send + 'static,
    W: AsyncWriteExt + Unpin + Send + 'static,
{
    let mut rd = buffered(rd);
    let (tx, mut rx) = mpsc::channel::<Request>(1024);
    let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = tokio::spawn(async move { write_frames(&mut wr, &mut rx).await });
    let reader_alive = alive.clone();
    tokio::spawn(async move {
        loop {
            let reply: Reply = match read_frame(&mut rd).await {
                Ok(r) => r,
                Err(_) => break,
            };
            match reply {
                Reply::Done { id, error } => {
                    let waiter = shared
                        .pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    if let Some(w) = waiter {
                        let _ = w.send(error.map_or(Ok(()), |e| Err(e.into())));
                    }
                }
                Reply::Deliver { listener, body } => {
                    let sender = shared
                        .listeners
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&listener)
                        .map(|l| l.tx.clone());
                    if let Some(sender) = sender {
                        let _ = sender
                            .send(IncomingMessage {
                                content_type: Some("application/json".into()),
                                compressed: false,
                                body: body.into_bytes(),
                                acker: Acker::none(),
                            })
                            .await;
                    }
                }
            }
        }
        tracing::warn!("embedded transport: connection to the broker lost");
        reader_alive.store(false, Ordering::SeqCst);
        writer.abort();
        let pending: Pending =
            std::mem::take(&mut *shared.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for (_, w) in pending {
            let _ = w.send(Err(Error::connection("embedded broker connection lost")));
        }
        // Listeners keep their channels; the next use (or the watchdog)
        // reconnects and declares them again.
    });
    Conn { tx, alive }
}

#[derive(Debug)]
struct EmbeddedControl {
    inner: Arc<Inner>,
    listener: u64,
}

#[async_trait]
impl ListenerControl for EmbeddedControl {
    async fn stop(&self) {
        let known = self.inner.listeners().remove(&self.listener).is_some();
        if known {
            let listener = self.listener;
            let _ = self
                .inner
                .request(|id| Request::Stop { id, listener }, Some(0))
                .await;
        }
    }
}

#[async_trait]
impl Driver for EmbeddedDriver {
    async fn send(&self, dest: &Destination, message: OutgoingMessage) -> Result<()> {
        let body = String::from_utf8(message.body)
            .map_err(|_| Error::encode("the embedded transport carries UTF-8 JSON bodies"))?;
        let dest = dest.clone();
        let mandatory = message.mandatory;
        self.inner
            .request(
                |id| Request::Send {
                    id,
                    dest: dest.clone(),
                    body: body.clone(),
                    mandatory,
                },
                message.retry,
            )
            .await
    }

    async fn listen(&self, spec: ListenSpec) -> Result<Listener> {
        let (wire, address) = match spec {
            ListenSpec::Rpc {
                exchange,
                topic,
                server,
            } => (
                WireSpec::Rpc {
                    exchange,
                    topic,
                    server,
                },
                None,
            ),
            ListenSpec::Replies => {
                let queue = format!("reply_{}", uuid::Uuid::new_v4().simple());
                (
                    WireSpec::Replies {
                        queue: queue.clone(),
                    },
                    Some(queue),
                )
            }
            ListenSpec::Notifications {
                exchange,
                keys,
                pool,
            } => (
                WireSpec::Notifications {
                    exchange,
                    keys,
                    pool,
                },
                None,
            ),
        };
        let listener = self.inner.shared.id();
        let (tx, receiver) = mpsc::channel(1024);
        self.inner.listeners().insert(
            listener,
            ListenerEntry {
                spec: wire.clone(),
                tx,
                active: false,
            },
        );
        let r = self
            .inner
            .request(
                |id| Request::Listen {
                    id,
                    listener,
                    spec: wire.clone(),
                },
                Some(20),
            )
            .await;
        if let Err(e) = r {
            self.inner.listeners().remove(&listener);
            return Err(e);
        }
        if let Some(entry) = self.inner.listeners().get_mut(&listener) {
            entry.active = true;
        }
        self.inner.spawn_watchdog();
        Ok(Listener {
            address,
            receiver,
            control: Box::new(EmbeddedControl {
                inner: self.inner.clone(),
                listener,
            }),
        })
    }

    async fn close(&self) {
        self.inner.listeners().clear();
        *self.inner.conn.lock().await = None;
    }
}
