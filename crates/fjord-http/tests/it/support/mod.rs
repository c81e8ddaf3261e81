//! Shared helpers of the server tests: a small app, a raw HTTP/1 client
//! with deadlines, and test certificates made with rcgen.
#![allow(dead_code, unreachable_pub)]

pub mod apps;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fjord_http::server::{HttpService, ServerOptions};
use fjord_http::{App, Request, Response, full};
use fjord_service::Service;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Deadline for any single wait in a test.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Test app routes:
/// - `/hello`: 200 `Hello, World!`
/// - `/slow?ms=N`: sleeps N ms, then 200 `slow`
/// - `/echo`: reads the whole body, answers it (400 with the error text if
///   reading fails)
/// - `/big?n=N`: N bytes of body
/// - `/chunked`: a streamed (chunked) response of three chunks
/// - `/gate`: counts itself in `gate.inside`, waits for a permit of
///   `gate.sem`, then 200 `gate`
pub fn app(gate: Gate) -> App {
    App::new(tower::service_fn(move |req: Request| {
        let gate = gate.clone();
        async move { Ok::<_, Infallible>(route(req, gate).await) }
    }))
}

/// Holds `/gate` requests until released.
#[derive(Clone, Debug)]
pub struct Gate {
    pub sem: Arc<Semaphore>,
    /// `/gate` requests inside the app now.
    pub inside: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            sem: Arc::new(Semaphore::new(0)),
            inside: Arc::default(),
        }
    }
}

impl Gate {
    pub fn inside(&self) -> usize {
        self.inside.load(std::sync::atomic::Ordering::SeqCst)
    }
    pub fn release(&self, n: usize) {
        self.sem.add_permits(n);
    }
}

pub fn simple_app() -> App {
    app(Gate::default())
}

async fn route(req: Request, gate: Gate) -> Response {
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/hello" => text(200, "Hello, World!"),
        "/slow" => {
            let ms = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("ms="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(500);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            text(200, "slow")
        }
        "/echo" => match req.into_body().collect().await {
            Ok(b) => {
                let mut r = Response::new(full(b.to_bytes()));
                *r.status_mut() = http::StatusCode::OK;
                r
            }
            Err(e) => text(400, &format!("body error: {e}")),
        },
        "/big" => {
            let n: usize = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("n="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1 << 20);
            Response::new(full(vec![b'b'; n]))
        }
        "/chunked" => {
            let chunks =
                futures_util::stream::iter(["one,", "two,", "three"].into_iter().map(|c| {
                    Ok::<_, fjord_http::BoxError>(http_body::Frame::data(Bytes::from(c)))
                }));
            Response::new(fjord_http::boxed(http_body_util::StreamBody::new(chunks)))
        }
        "/gate" => {
            use std::sync::atomic::Ordering::SeqCst;
            gate.inside.fetch_add(1, SeqCst);
            if let Ok(p) = gate.sem.acquire().await {
                p.forget();
            }
            gate.inside.fetch_sub(1, SeqCst);
            text(200, "gate")
        }
        _ => text(404, "not found"),
    }
}

fn text(status: u16, body: &str) -> Response {
    let mut r = Response::new(full(body.to_owned()));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    r
}

/// Options for tests: loopback, port 0.
pub fn options() -> ServerOptions {
    ServerOptions::new("test").listen("127.0.0.1").port(0)
}

/// Binds and starts a service in the current runtime.
pub async fn start(options: ServerOptions, app: App) -> (HttpService, SocketAddr) {
    let service = HttpService::bind(options, app).expect("bind");
    service.start().await.expect("start");
    let addr = service.local_addr();
    (service, addr)
}

pub async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// An HTTP/2 client with prior knowledge (h2c) on a new connection: the
/// request sender and the task driving the connection (it ends when the
/// server closes the connection).
pub async fn h2c_connect(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Empty<Bytes>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
) {
    let tcp = connect(addr).await;
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("h2c handshake");
    (send, tokio::spawn(conn))
}

/// A parsed HTTP/1 response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    /// The value of header `name` (lowercase compare).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response (Content-Length, chunked, or to EOF), skipping 1xx.
pub async fn read_response<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Resp {
    tokio::time::timeout(DEADLINE, read_response_inner(s, buf))
        .await
        .expect("response timed out")
}

async fn fill<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> usize {
    let mut tmp = [0u8; 8192];
    let n = s.read(&mut tmp).await.expect("read");
    buf.extend_from_slice(&tmp[..n]);
    n
}

async fn read_response_inner<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Resp {
    loop {
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            assert!(
                fill(s, buf).await > 0,
                "EOF before a response head: {buf:?}"
            );
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        if (100..200).contains(&status) {
            continue;
        }
        let mut resp = Resp {
            status,
            head,
            body: Vec::new(),
        };
        if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().expect("content-length");
            while buf.len() < len {
                assert!(fill(s, buf).await > 0, "EOF in body");
            }
            resp.body = buf.drain(..len).collect();
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"))
        {
            loop {
                let line_end = loop {
                    if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                        break p;
                    }
                    assert!(fill(s, buf).await > 0, "EOF in chunk size");
                };
                let size =
                    usize::from_str_radix(String::from_utf8_lossy(&buf[..line_end]).trim(), 16)
                        .expect("chunk size");
                buf.drain(..line_end + 2);
                while buf.len() < size + 2 {
                    assert!(fill(s, buf).await > 0, "EOF in chunk");
                }
                resp.body.extend(buf.drain(..size));
                buf.drain(..2);
                if size == 0 {
                    break;
                }
            }
        } else {
            while fill(s, buf).await > 0 {}
            resp.body = std::mem::take(buf);
        }
        return resp;
    }
}

/// Sends `req` raw and reads one response.
pub async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, req: &[u8]) -> Resp {
    s.write_all(req).await.expect("write");
    let mut buf = Vec::new();
    read_response(s, &mut buf).await
}

/// One request on a new connection.
pub async fn get(addr: SocketAddr, path: &str) -> Resp {
    let mut s = connect(addr).await;
    roundtrip(
        &mut s,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

/// Waits until the peer closes: Ok(bytes read before EOF) or Err on reset.
pub async fn read_until_closed<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        let mut tmp = [0u8; 4096];
        loop {
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&tmp[..n]);
        }
    })
    .await
    .expect("connection not closed within the deadline")
}

pub use fjord_test_support::temp_dir;

/// A CA, a server certificate for 127.0.0.1/localhost and a client
/// certificate, all written as PEM files.
#[derive(Debug)]
pub struct TestPki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub ca_cert_pem: String,
}

pub fn make_pki(tag: &str) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let dir = temp_dir(tag);
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "fjord test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .expect("server cert");

    let client_key = KeyPair::generate().expect("client key");
    let mut client_params =
        CertificateParams::new(vec!["client.test".to_owned()]).expect("client params");
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params
        .signed_by(&client_key, &issuer)
        .expect("client cert");

    let write = |name: &str, content: &str| {
        let p = dir.join(name);
        std::fs::write(&p, content).expect("write pem");
        p
    };
    TestPki {
        ca_cert: write("ca.pem", &ca_cert.pem()),
        server_cert: write("server.pem", &server_cert.pem()),
        server_key: write("server.key", &server_key.serialize_pem()),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
        ca_cert_pem: ca_cert.pem(),
        dir,
    }
}

/// A rustls client config trusting the test CA, optionally with the
/// client certificate, offering `alpn`.
pub fn tls_client(
    pki: &TestPki,
    with_client_cert: bool,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let client =
        with_client_cert.then_some((pki.client_cert_pem.as_str(), pki.client_key_pem.as_str()));
    tls_client_parts(&pki.ca_cert_pem, client, alpn)
}

/// A rustls client config trusting `ca_pem`, presenting `client`
/// (certificate PEM, key PEM) if given.
pub fn tls_client_parts(
    ca_pem: &str,
    client: Option<(&str, &str)>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem"))
        .expect("add root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => {
            let cert = CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
            builder
                .with_client_auth_cert(vec![cert], key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// The log lines of the test process.
pub use fjord_test_support::Logs;

/// xorshift64*: a fixed sequence, so a failure can be replayed by its case number.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        (0..1 + self.below(max))
            .map(|_| self.next() as u8)
            .collect()
    }
}

/// What kind of bad input [`survive_bad_inputs`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadInput {
    /// Random bytes, a good HTTP/1 request cut short, one with a byte
    /// changed, or one with random bytes spliced into its head.
    Http1,
    /// The HTTP/2 connection preface, then random bytes or a good frame
    /// header with a random payload.
    H2,
    /// Random bytes, or a TLS record header followed by random bytes, to a
    /// TLS port.
    Tls,
}

fn bad_input(kind: BadInput, rng: &mut Rng) -> Vec<u8> {
    const GOOD: [&[u8]; 3] = [
        b"GET /hello HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ];
    match kind {
        BadInput::Http1 => {
            let good = GOOD[rng.below(GOOD.len())];
            match rng.below(4) {
                0 => rng.bytes(300),
                1 => good[..rng.below(good.len())].to_vec(),
                2 => {
                    let mut v = good.to_vec();
                    let at = rng.below(v.len());
                    v[at] = rng.next() as u8;
                    v
                }
                _ => {
                    let mut v = good.to_vec();
                    let head_end = v
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .unwrap_or(v.len());
                    let at = rng.below(head_end.max(1));
                    let junk = rng.bytes(40);
                    v.splice(at..at, junk);
                    v
                }
            }
        }
        BadInput::H2 => {
            let mut v = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            if rng.below(2) == 0 {
                v.extend(rng.bytes(200));
            } else {
                // A frame header (length, type 0-9, flags, stream) and a
                // random payload of the length it claims or shorter.
                let len = rng.below(64);
                v.extend_from_slice(&[0, 0, len as u8, rng.below(10) as u8, rng.next() as u8]);
                v.extend_from_slice(&(rng.next() as u32 & 0x7fff_ffff).to_be_bytes());
                v.extend((0..rng.below(len + 1)).map(|_| rng.next() as u8));
            }
            v
        }
        BadInput::Tls => {
            let mut v = Vec::new();
            if rng.below(2) == 0 {
                // handshake record, TLS 1.0-1.3 version bytes, a length
                v.extend_from_slice(&[
                    0x16,
                    3,
                    rng.below(4) as u8,
                    rng.next() as u8,
                    rng.next() as u8,
                ]);
            }
            v.extend(rng.bytes(300));
            v
        }
    }
}

/// Sends `n` bad inputs (seeded, so a failing case number can be replayed),
/// each on its own connection, then checks that every connection was
/// closed within the deadline, that no HTTP/1 answer was a 5xx, that no
/// task panicked, that every connection was given back, and that the
/// server still answers. Returns how many inputs got an answer.
pub async fn survive_bad_inputs(
    service: &HttpService,
    addr: SocketAddr,
    n: usize,
    kind: BadInput,
) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Panics anywhere in this test binary while it runs (other tests
    // panic only when they fail): a connection task that died of its
    // input shows here even though the server lives on.
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let panics_before = PANICS.load(Ordering::SeqCst);
    let accepted_before = service.stats().connections_accepted;
    let mut rng = Rng(0x5eed_f00d_1234_5678);
    let mut answered = 0;
    for case in 0..n {
        let input = bad_input(kind, &mut rng);
        let mut s = connect(addr).await;
        // The server may answer and close before all is written.
        let _ = s.write_all(&input).await;
        let _ = s.shutdown().await;
        // Closed (or reset) within the deadline: never left hanging.
        if let Ok(out) = read_until_closed(&mut s).await
            && !out.is_empty()
        {
            answered += 1;
            if kind == BadInput::Http1 {
                let text = String::from_utf8_lossy(&out);
                assert!(
                    text.starts_with("HTTP/1.1 ") || text.starts_with("HTTP/1.0 "),
                    "case {case}: {input:?} -> {text:?}"
                );
                // Bad input is the client's fault: never a 5xx.
                assert!(
                    !text.contains("HTTP/1.1 5") && !text.contains("HTTP/1.0 5"),
                    "case {case}: {input:?} -> {text:?}"
                );
            }
        }
    }
    // Every connection is given back (one whose task panicked included).
    fjord_test_support::wait_for_async("every connection task to finish", DEADLINE, || {
        let s = service.stats();
        s.active_connections == 0 && s.in_flight == 0
    })
    .await;
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        panics_before,
        "a task panicked"
    );
    assert_eq!(
        service.stats().connections_accepted - accepted_before,
        n as u64
    );
    answered
}
