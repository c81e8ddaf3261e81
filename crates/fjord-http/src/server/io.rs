//! The connection's byte stream: replays bytes read while sniffing the
//! protocol, records when an HTTP/2 client last sent bytes, and enforces
//! `client_socket_timeout` on stalled writes (eventlet's socket timeout).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::conn::ConnState;
use crate::rt::clock::coarse_now;
use crate::rt::stall::StallTimer;

/// The stream under hyper (and under TLS, when TLS is on).
#[derive(Debug)]
pub(crate) struct ConnIo<T> {
    inner: T,
    prefix: Bytes,
    conn: Arc<ConnState>,
    /// Bytes received restart the connection's wait for its client (its
    /// `idle_since`): on HTTP/2, where the client's frames (pings
    /// included) keep an idle connection open. Not on HTTP/1, where only
    /// a complete request head ends the wait.
    stamp_reads: bool,
    /// Fail a write the client does not take for this long.
    write_stall: Option<Duration>,
    write_timer: StallTimer,
}

impl<T> ConnIo<T> {
    pub(crate) fn new(inner: T, conn: Arc<ConnState>, write_stall: Option<Duration>) -> Self {
        ConnIo {
            inner,
            prefix: Bytes::new(),
            conn,
            stamp_reads: false,
            write_stall,
            write_timer: StallTimer::default(),
        }
    }

    /// Bytes to hand out before reading the stream again.
    pub(crate) fn set_prefix(&mut self, prefix: Bytes) {
        self.prefix = prefix;
    }

    /// From now on, bytes received restart the wait for the client (see
    /// the field).
    pub(crate) fn stamp_reads(&mut self) {
        self.stamp_reads = true;
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
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.conn.read_since_response.store(true, Ordering::Release);
            if this.stamp_reads {
                this.conn.idle_since.store(coarse_now(), Ordering::Release);
            }
        }
        r
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
