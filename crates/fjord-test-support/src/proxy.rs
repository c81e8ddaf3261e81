//! A loopback TCP proxy for fault tests: it forwards `127.0.0.1:<port>` to an
//! upstream address and can stop forwarding without closing anything (a
//! silent peer: the connections stay open, no byte passes either way, as
//! when a broker hangs or a network drops packets), resume, switch its
//! upstream, or close every forwarded connection at once.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use fjord_test_support::proxy::Proxy;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! // An echo server upstream.
//! let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let upstream = echo.local_addr().unwrap();
//! tokio::spawn(async move {
//!     while let Ok((mut s, _)) = echo.accept().await {
//!         tokio::spawn(async move {
//!             let (mut r, mut w) = s.split();
//!             let _ = tokio::io::copy(&mut r, &mut w).await;
//!         });
//!     }
//! });
//! let proxy = Proxy::start(upstream).await.unwrap();
//! let mut c = tokio::net::TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
//! c.write_all(b"hi").await.unwrap();
//! let mut buf = [0u8; 2];
//! c.read_exact(&mut buf).await.unwrap();
//! assert_eq!(&buf, b"hi");
//! assert_eq!(proxy.connections(), 1);
//! # });
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

struct Inner {
    upstream: Mutex<SocketAddr>,
    /// `true` while forwarding is paused.
    paused: watch::Sender<bool>,
    /// Bumped by [`Proxy::close_all`]: connections of an older epoch end.
    epoch: watch::Sender<u64>,
    /// Forwarded connections open now.
    open: AtomicUsize,
    /// Connections accepted since the start.
    accepted: AtomicUsize,
}

/// A running proxy; dropping it closes the listener and every connection.
pub struct Proxy {
    port: u16,
    inner: Arc<Inner>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("port", &self.port)
            .field("upstream", &self.upstream())
            .field("paused", &*self.inner.paused.borrow())
            .field("connections", &self.connections())
            .finish()
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to
    /// `upstream`. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// When the listening socket cannot be bound.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        Self::start_on(0, upstream).await
    }

    /// As [`Proxy::start`], on 127.0.0.1:`port` (0: a free one).
    ///
    /// # Errors
    ///
    /// When the listening socket cannot be bound.
    pub async fn start_on(port: u16, upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let inner = Arc::new(Inner {
            upstream: Mutex::new(upstream),
            paused: watch::Sender::new(false),
            epoch: watch::Sender::new(0),
            open: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
        });
        let i = inner.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                i.accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(i.clone(), client));
            }
        });
        Ok(Proxy {
            port,
            inner,
            accept,
        })
    }

    /// The loopback port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where new connections go.
    pub fn upstream(&self) -> SocketAddr {
        *self
            .inner
            .upstream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Sends new connections to `upstream` (open ones stay where they are).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self
            .inner
            .upstream
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = upstream;
    }

    /// Stops forwarding without closing: open connections stay open and
    /// pass nothing either way; new ones are accepted and held (not
    /// connected upstream) until [`Proxy::resume`].
    pub fn pause(&self) {
        self.inner.paused.send_replace(true);
    }

    /// Forwards again, including what was held while paused.
    pub fn resume(&self) {
        self.inner.paused.send_replace(false);
    }

    /// Closes every forwarded connection (both sides); the proxy keeps
    /// accepting new ones.
    pub fn close_all(&self) {
        self.inner.epoch.send_modify(|e| *e += 1);
    }

    /// How many forwarded connections are open now.
    pub fn connections(&self) -> usize {
        self.inner.open.load(Ordering::SeqCst)
    }

    /// How many connections were accepted since the start.
    pub fn accepted(&self) -> usize {
        self.inner.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.close_all();
    }
}

/// Resolves once forwarding is not paused.
async fn unpaused(paused: &mut watch::Receiver<bool>) {
    // An error means the proxy is gone: the epoch watch ends the copy.
    let _ = paused.wait_for(|p| !p).await;
}

/// Copies `from` to `to`, holding bytes while paused.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        unpaused(&mut paused).await;
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Read during a pause: held until it ends.
        unpaused(&mut paused).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn serve(inner: Arc<Inner>, client: TcpStream) {
    let mut epoch = inner.epoch.subscribe();
    let mut paused = inner.paused.subscribe();
    let start = *epoch.borrow_and_update();
    inner.open.fetch_add(1, Ordering::SeqCst);
    let forward = async {
        unpaused(&mut paused).await;
        let addr = *inner.upstream.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(upstream) = TcpStream::connect(addr).await else {
            return;
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let (cr, cw) = client.into_split();
        let (ur, uw) = upstream.into_split();
        // Both directions end together: the connection is closed as soon
        // as either side closes it.
        tokio::select! {
            _ = pump(cr, uw, paused.clone()) => {}
            _ = pump(ur, cw, paused.clone()) => {}
        }
    };
    tokio::select! {
        _ = forward => {}
        _ = epoch.wait_for(|e| *e != start) => {}
    }
    inner.open.fetch_sub(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An upstream that echoes; returns its address.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn roundtrip(c: &mut TcpStream, what: &[u8], within: Duration) -> bool {
        c.write_all(what).await.unwrap();
        let mut buf = vec![0u8; what.len()];
        matches!(
            tokio::time::timeout(within, c.read_exact(&mut buf)).await,
            Ok(Ok(_))
        ) && buf == what
    }

    #[tokio::test]
    async fn pause_holds_bytes_without_closing_and_resume_delivers_them() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert!(roundtrip(&mut c, b"one", Duration::from_secs(5)).await);
        proxy.pause();
        c.write_all(b"two").await.unwrap();
        let mut buf = [0u8; 3];
        let r = tokio::time::timeout(Duration::from_millis(300), c.read_exact(&mut buf)).await;
        assert!(r.is_err(), "a byte passed while paused: {r:?}");
        assert_eq!(proxy.connections(), 1, "pausing closed the connection");
        proxy.resume();
        tokio::time::timeout(Duration::from_secs(5), c.read_exact(&mut buf))
            .await
            .expect("held bytes delivered after resume")
            .unwrap();
        assert_eq!(&buf, b"two");
    }

    #[tokio::test]
    async fn close_all_closes_open_connections_and_accepts_new_ones() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert!(roundtrip(&mut c, b"x", Duration::from_secs(5)).await);
        proxy.close_all();
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("the connection was not closed");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        let mut c2 = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert!(roundtrip(&mut c2, b"y", Duration::from_secs(5)).await);
        assert_eq!(proxy.accepted(), 2);
    }

    #[tokio::test]
    async fn set_upstream_sends_new_connections_elsewhere() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        // Nothing listens on this port: new connections are closed.
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        proxy.set_upstream(dead_addr);
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("closed");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        proxy.set_upstream(echo().await);
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert!(roundtrip(&mut c, b"z", Duration::from_secs(5)).await);
    }
}
