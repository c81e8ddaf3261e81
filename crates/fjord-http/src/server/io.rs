//! The connection's byte stream: replays bytes read while sniffing the
//! protocol, and enforces `client_socket_timeout` on stalled reads and
//! writes (eventlet's socket timeout).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::conn::ConnState;

/// A stall timer: armed when an operation first returns `Pending`,
/// disarmed when it makes progress.
#[derive(Debug, Default)]
pub(crate) struct StallTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl StallTimer {
    /// Polls the timer, arming it if needed; true once `limit` has passed.
    pub(crate) fn poll_expired(&mut self, limit: Duration, cx: &mut Context<'_>) -> bool {
        if !self.armed {
            let deadline = Instant::now() + limit;
            match &mut self.sleep {
                Some(s) => s.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.armed = true;
        }
        match &mut self.sleep {
            Some(s) => s.as_mut().poll(cx).is_ready(),
            None => false,
        }
    }

    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

/// The stream under hyper (and under TLS, when TLS is on).
#[derive(Debug)]
pub(crate) struct ConnIo<T> {
    inner: T,
    prefix: Bytes,
    conn: Arc<ConnState>,
    /// Close a connection that has no request in flight and sends nothing
    /// for this long (HTTP/2; hyper's header read timeout does it for
    /// HTTP/1).
    read_idle: Option<Duration>,
    /// Fail a write the client does not take for this long.
    write_stall: Option<Duration>,
    read_timer: StallTimer,
    write_timer: StallTimer,
}

impl<T> ConnIo<T> {
    pub(crate) fn new(inner: T, conn: Arc<ConnState>, write_stall: Option<Duration>) -> Self {
        ConnIo {
            inner,
            prefix: Bytes::new(),
            conn,
            read_idle: None,
            write_stall,
            read_timer: StallTimer::default(),
            write_timer: StallTimer::default(),
        }
    }

    /// Bytes to hand out before reading the stream again.
    pub(crate) fn set_prefix(&mut self, prefix: Bytes) {
        self.prefix = prefix;
    }

    /// See the field.
    pub(crate) fn set_read_idle(&mut self, idle: Option<Duration>) {
        self.read_idle = idle;
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("client_socket_timeout: client {what}"),
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for ConnIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.has_remaining() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_timer.disarm();
                if buf.filled().len() > before {
                    this.conn.read_since_response.store(true, Ordering::Release);
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                match this.read_idle {
                    Some(limit) if this.conn.in_flight.load(Ordering::Acquire) == 0 => {
                        if this.read_timer.poll_expired(limit, cx) {
                            return Poll::Ready(Err(timed_out("idle")));
                        }
                    }
                    _ => this.read_timer.disarm(),
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> ConnIo<T> {
    fn stalled<R>(&mut self, r: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match r {
            Poll::Ready(r) => {
                self.write_timer.disarm();
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timer = &mut self.write_timer;
                if self
                    .write_stall
                    .is_some_and(|limit| timer.poll_expired(limit, cx))
                {
                    return Poll::Ready(Err(timed_out("does not read the response")));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ConnIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.stalled(r, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.stalled(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.stalled(r, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.stalled(r, cx)
    }
}
