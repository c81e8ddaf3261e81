//! A keep-alive load loop for worker-replacement tests: several HTTP/1
//! connections, each sending its next request as soon as the previous
//! response has been read (as wrk does), counting every request that was
//! sent and not answered.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// What a load run saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Requests answered with a 2xx.
    pub ok: u64,
    /// Requests sent and not answered (the connection closed or reset
    /// under them, or no answer within the request timeout), or answered
    /// with a non-2xx status.
    pub failed: u64,
    /// Connection attempts refused (nothing was sent on them).
    pub refused: u64,
    /// Responses that carried `Connection: close` unasked: the server
    /// drained the connection.
    pub closes: u64,
    /// Requests answered per worker pid (`x-fjord-worker-pid`).
    pub by_pid: BTreeMap<i32, u64>,
    /// The first few failures, for the assertion message.
    pub errors: Vec<String>,
}

impl Report {
    fn merge(&mut self, o: Report) {
        self.ok += o.ok;
        self.failed += o.failed;
        self.refused += o.refused;
        self.closes += o.closes;
        for (pid, n) in o.by_pid {
            *self.by_pid.entry(pid).or_default() += n;
        }
        for e in o.errors {
            if self.errors.len() < 10 {
                self.errors.push(e);
            }
        }
    }

    fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.errors.len() < 10 {
            self.errors.push(what);
        }
    }
}

/// A load running in its own thread until [`Load::stop`].
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Report>>,
}

/// How long one request may wait for its answer before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Each connection asks to close after this many requests and opens a new
/// one, so that over a run the connections spread over every worker.
const REQUESTS_PER_CONNECTION: u64 = 400;

/// Connections start this far apart.
const STAGGER: Duration = Duration::from_millis(20);

impl Load {
    /// Starts `connections` keep-alive connections to `127.0.0.1:port`,
    /// each sending `GET path` in a loop.
    pub fn start(port: u16, connections: usize, path: &'static str) -> Load {
        Self::start_with(port, connections, path, None)
    }

    /// Like [`Load::start`], but no connection closes by itself: each stays
    /// open until the server closes it, so every one of them is busy when a
    /// drain starts and [`Report::closes`] can be compared with
    /// `connections`.
    pub fn start_persistent(port: u16, connections: usize, path: &'static str) -> Load {
        Self::spawn(port, connections, path, None, u64::MAX)
    }

    /// Like [`Load::start`], with `POST` and `body` (JSON) when given.
    pub fn start_with(
        port: u16,
        connections: usize,
        path: &'static str,
        body: Option<&'static str>,
    ) -> Load {
        Self::spawn(port, connections, path, body, REQUESTS_PER_CONNECTION)
    }

    fn spawn(
        port: u16,
        connections: usize,
        path: &'static str,
        body: Option<&'static str>,
        per_connection: u64,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for _ in 0..connections {
                    tasks.push(tokio::spawn(connection(
                        port,
                        path,
                        body,
                        per_connection,
                        flag.clone(),
                    )));
                    tokio::time::sleep(STAGGER).await;
                }
                let mut report = Report::default();
                for t in tasks {
                    report.merge(t.await.expect("load task"));
                }
                report
            })
        });
        Load {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sending (each connection finishes the request it is on) and
    /// returns the counts.
    pub fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .expect("stopped once")
            .join()
            .expect("load thread")
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One client connection after another, until `stop`.
async fn connection(
    port: u16,
    path: &'static str,
    body: Option<&'static str>,
    per_connection: u64,
    stop: Arc<AtomicBool>,
) -> Report {
    let mut report = Report::default();
    while !stop.load(Ordering::SeqCst) {
        let stream = match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => s,
            Err(_) => {
                report.refused += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await
        else {
            continue;
        };
        tokio::spawn(conn);
        let mut sent = 0;
        while !stop.load(Ordering::SeqCst) {
            // Closed by the server after a `Connection: close` response, or
            // before a request was sent: reconnect, nothing was lost.
            if sender.ready().await.is_err() {
                break;
            }
            sent += 1;
            let last = sent == per_connection;
            let mut req = http::Request::builder()
                .method(if body.is_some() { "POST" } else { "GET" })
                .uri(path)
                .header(http::header::HOST, "127.0.0.1")
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from_static(body.unwrap_or("").as_bytes())))
                .expect("request");
            if last {
                req.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            let resp = match tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req)).await {
                Err(_) => {
                    report.fail(format!("no answer within {REQUEST_TIMEOUT:?}"));
                    break;
                }
                Ok(Err(e)) => {
                    report.fail(format!("request failed: {e:?}"));
                    break;
                }
                Ok(Ok(resp)) => resp,
            };
            let status = resp.status();
            let close = resp
                .headers()
                .get(http::header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            let pid = resp
                .headers()
                .get("x-fjord-worker-pid")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            if let Err(e) = resp.into_body().collect().await {
                report.fail(format!("body failed: {e:?}"));
                break;
            }
            if status.is_success() {
                report.ok += 1;
                if let Some(pid) = pid {
                    *report.by_pid.entry(pid).or_default() += 1;
                }
            } else {
                report.fail(format!("status {status}"));
            }
            if close && !last {
                report.closes += 1;
            }
            if close || last {
                break;
            }
        }
    }
    report
}
