//! The HTTP server: oslo.service's `WSGIService` + `wsgi.Server` +
//! eventlet.wsgi, on hyper 1, tower and rustls.
//!
//! ```text
//! master (no runtime)        HttpService::bind(options, app)
//!                              socket: bind + listen (SO_REUSEADDR, SO_KEEPALIVE,
//!                                      TCP_KEEPIDLE, backlog), retried while in use
//!                              tls:    certificates and keys loaded, checked
//! launcher forks N workers
//! each worker (tokio)        Service::start()
//!                              accept loop (pauses while the pool is full)
//!                                -> one task per connection (conn)
//!                                     TLS handshake, HTTP/1 or HTTP/2
//!                                     -> request: limits, pool slot, app, access log
//!                            Service::stop(graceful) / wait() / reset()
//! ```
//!
//! # Options and limits
//!
//! [`ServerOptions`] carries oslo's names and defaults:
//!
//! | option | default | behaviour |
//! |---|---|---|
//! | `listen`, `port` | `0.0.0.0`, 8080 | port 0 picks a free port: [`HttpService::local_addr`] and a log line report it |
//! | `backlog` | 4096 | listen queue |
//! | `tcp_keepidle` | 600 s | SO_KEEPALIVE + TCP_KEEPIDLE on the socket (inherited by accepted ones) |
//! | `bind_timeout` | 30 s | bind retried while the address is in use, then [`Error::AddrInUse`] |
//! | `wsgi_default_pool_size` | 100 | requests in flight per worker; beyond it requests wait and the worker stops accepting, so other workers take new connections |
//! | `max_connections` | 1000 | open connections per worker; a client arriving at the bound makes idle keep-alive connections close to make room for it |
//! | `wsgi_keep_alive` | true | false: `Connection: close` after every response |
//! | `client_socket_timeout` | 900 s | 0 = none. The head of each request (and the idle time before it) must arrive within it; a stalled body read or a client not reading the response fails after it |
//! | `max_header_line` | 16384 | a longer header line (`name: value`) gets 431 |
//! | `max_url_len` | 8192 | a longer request line gets 414 |
//! | `max_request_body_size` | 114688 | a larger body gets 413 (declared length: before reading; chunked: when it overflows, whatever the app answered) |
//! | `wsgi_log_format` | oslo's | access log line, see below |
//! | `http2` | false | h2 via ALPN over TLS, h2c with prior knowledge on plain TCP |
//! | `use_ssl` + `ssl` | off | `[ssl] cert_file`, `key_file`, `ca_file`, `version`, `ciphers` |
//!
//! Limit responses carry `Connection: close`; the server half-closes and
//! drains what the client still sends for a moment so the response is
//! not lost to a reset. Malformed HTTP gets hyper's 400 (a head larger
//! than the read buffer: 431); nothing a client sends can stop a worker.
//!
//! # TLS
//!
//! Files are read when the service is built; a missing or unreadable file,
//! a file without PEM content, a cert without a key (or the reverse), or a
//! key that does not match the certificate is an [`Error`] naming the
//! file. With `ca_file`, clients must present a certificate signed by one
//! of its CAs. `version`: `TLSv1_2`, `TLSv1_3`, or `SSLv23` (both);
//! `ciphers`: rustls or OpenSSL suite names.
//!
//! # Access log
//!
//! One INFO line per response on target [`ACCESS_LOG_TARGET`], once the
//! whole body has been passed to the connection, in `wsgi_log_format` (oslo's default:
//! `%(client_ip)s "%(request_line)s" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f`).
//!
//! # Graceful stop
//!
//! `stop(true)`: the accept loop ends (the socket stays open in the
//! service for a restart; connections queue in its backlog); requests in
//! flight finish, and their responses carry `Connection: close`; idle
//! keep-alive connections are closed; a connection that already holds
//! part of its next request gets that request answered with
//! `Connection: close` rather than being closed under the client (HTTP/2:
//! GOAWAY, streams in flight finish). `stop` returns when every connection
//! is closed; the launcher bounds it with `graceful_shutdown_timeout` and
//! then calls `stop(false)`, which drops the connections. `reset()` makes
//! `start()` possible again (SIGHUP restart).
//!
//! # Example
//!
//! ```no_run
//! use fjord_http::server::{HttpService, ServerOptions};
//! use fjord_service::Service;
//! use std::convert::Infallible;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let app = fjord_http::App::new(tower::service_fn(|_req: fjord_http::Request| async {
//!     Ok::<_, Infallible>(http::Response::new(fjord_http::full("Hello, World!")))
//! }));
//! let service = HttpService::bind(ServerOptions::new("hello").listen("127.0.0.1").port(0), app)?;
//! service.start().await?;
//! println!("serving on port {}", service.port());
//! service.stop(true).await;
//! # Ok(()) }
//! ```

mod access_log;
mod conn;
mod error;
mod io;
mod options;
mod request;
mod service;
mod socket;
mod stats;
mod tls;

pub use access_log::ACCESS_LOG_TARGET;
pub use error::Error;
pub use options::{DEFAULT_LOG_FORMAT, DEFAULT_MAX_REQUEST_BODY_SIZE, ServerOptions, SslOptions};
pub use request::BodyTooLarge;
pub use service::HttpService;
pub use stats::{Phase, StatsSnapshot};
