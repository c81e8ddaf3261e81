//! Options of one HTTP API (oslo.service `wsgi` and `[ssl]` options).

use std::path::PathBuf;
use std::time::Duration;

/// oslo's default `wsgi_log_format`.
pub const DEFAULT_LOG_FORMAT: &str = "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f";

/// The options of one HTTP API service: where it listens, how many workers
/// run it, its limits and timeouts, and TLS.
///
/// Names and defaults are oslo.service's (`wsgi_default_pool_size`,
/// `client_socket_timeout`, ...) and nova's per-API ones (`<api>_listen`,
/// `<api>_listen_port`, `<api>_workers`, `enabled_ssl_apis`), so an
/// operator's nova.conf knowledge carries over. Each setter states its
/// default; [`ServerOptions::default`] holds them all.
///
/// # Examples
///
/// ```
/// use fjord_http::server::ServerOptions;
/// use std::time::Duration;
///
/// let options = ServerOptions::new("osapi_compute")
///     .listen("127.0.0.1")
///     .port(8774)
///     .wsgi_default_pool_size(200)
///     .client_socket_timeout(Duration::from_secs(60));
/// assert_eq!(options.port, 8774);
/// assert_eq!(options.max_url_len, 8192);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// API name, used in logs (nova: `osapi_compute`, `metadata`).
    pub name: String,
    /// `<api>_listen`: the address to listen on.
    pub listen: String,
    /// `<api>_listen_port`: the port; 0 picks a free one (see
    /// [`crate::server::HttpService::local_addr`]).
    pub port: u16,
    /// `<api>_workers`: worker processes; `None` lets the launcher pick
    /// (the CPU count). The server itself does not read it.
    pub workers: Option<usize>,
    /// `backlog`: listen queue length.
    pub backlog: u32,
    /// `reuse_port`: each worker its own SO_REUSEPORT listener.
    pub reuse_port: bool,
    /// `tcp_keepidle`: TCP_KEEPIDLE of the listening (and so every
    /// accepted) socket.
    pub tcp_keepidle: Duration,
    /// How long bind is retried while the address is in use.
    pub bind_timeout: Duration,
    /// `wsgi_default_pool_size`: requests in flight per worker.
    pub wsgi_default_pool_size: usize,
    /// Open connections per worker, idle keep-alive ones included.
    pub max_connections: usize,
    /// `wsgi_keep_alive`: keep HTTP/1.1 connections open between requests.
    pub wsgi_keep_alive: bool,
    /// `client_socket_timeout`: idle/stalled client timeout; zero = none.
    pub client_socket_timeout: Duration,
    /// `max_header_line`: the longest header line accepted (431 beyond).
    pub max_header_line: usize,
    /// `max_url_len` (eventlet's MAX_REQUEST_LINE): the longest request
    /// line accepted (414 beyond).
    pub max_url_len: usize,
    /// `max_request_body_size`: the largest request body (413 beyond);
    /// zero = no limit.
    pub max_request_body_size: u64,
    /// `wsgi_log_format`: the access log line.
    pub wsgi_log_format: String,
    /// Serve HTTP/2: h2 over TLS via ALPN, and h2c with prior knowledge
    /// on plain TCP.
    pub http2: bool,
    /// `enabled_ssl_apis` contains this API: serve TLS with [`Self::ssl`].
    pub use_ssl: bool,
    /// The `[ssl]` group.
    pub ssl: SslOptions,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            name: "api".to_owned(),
            listen: "0.0.0.0".to_owned(),
            port: 8080,
            workers: None,
            backlog: 4096,
            reuse_port: false,
            tcp_keepidle: Duration::from_secs(600),
            bind_timeout: Duration::from_secs(30),
            wsgi_default_pool_size: 100,
            max_connections: 1000,
            wsgi_keep_alive: true,
            client_socket_timeout: Duration::from_secs(900),
            max_header_line: 16384,
            max_url_len: 8192,
            max_request_body_size: 114_688,
            wsgi_log_format: DEFAULT_LOG_FORMAT.to_owned(),
            http2: false,
            use_ssl: false,
            ssl: SslOptions::default(),
        }
    }
}

impl ServerOptions {
    /// The defaults, for the API called `name` (used in logs).
    pub fn new(name: impl Into<String>) -> Self {
        ServerOptions {
            name: name.into(),
            ..ServerOptions::default()
        }
    }

    /// The API name used in logs. Default is `"api"`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// `<api>_listen`: address (IP or host name) to listen on.
    /// Default is `"0.0.0.0"`.
    pub fn listen(mut self, listen: impl Into<String>) -> Self {
        self.listen = listen.into();
        self
    }

    /// `<api>_listen_port`: port to listen on; 0 picks a free port.
    /// Default is 8080.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `<api>_workers`: number of worker processes for the launcher.
    /// Default is `None` (the CPU count).
    pub fn workers(mut self, workers: Option<usize>) -> Self {
        self.workers = workers;
        self
    }

    /// `backlog`: number of backlog requests to configure the socket with.
    /// Default is 4096.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// `reuse_port`: each worker process listens on a socket of its own,
    /// bound to the API's address with SO_REUSEPORT, and the kernel spreads
    /// new connections over them. The master then only holds the address
    /// (bound, not listening) so that port 0 picks one port for all. Off
    /// (the default): every worker accepts on the one socket the master
    /// bound; an address another process listens on is an error either way
    /// (it would need SO_REUSEPORT too, and the same user). Default is
    /// false.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// `tcp_keepidle`: TCP_KEEPIDLE value in seconds for each server
    /// socket (SO_KEEPALIVE is always on). Default is 600 seconds.
    pub fn tcp_keepidle(mut self, idle: Duration) -> Self {
        self.tcp_keepidle = idle;
        self
    }

    /// How long binding is retried while the address is in use (oslo
    /// retries for 30 seconds). Default is 30 seconds.
    pub fn bind_timeout(mut self, timeout: Duration) -> Self {
        self.bind_timeout = timeout;
        self
    }

    /// `wsgi_default_pool_size`: requests a worker serves at once. Beyond
    /// it, requests wait and the worker stops accepting so other workers
    /// take new connections. Default is 100.
    pub fn wsgi_default_pool_size(mut self, size: usize) -> Self {
        self.wsgi_default_pool_size = size;
        self
    }

    /// Open connections per worker, counting idle keep-alive ones. A client
    /// arriving at the bound is accepted and idle keep-alive connections
    /// are closed to make room for it (it is served once one has); at the
    /// bound with nobody waiting, idle connections stay open. Default is
    /// 1000.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// `wsgi_keep_alive`: if false, close the client connection after each
    /// response. Default is true.
    pub fn wsgi_keep_alive(mut self, keep_alive: bool) -> Self {
        self.wsgi_keep_alive = keep_alive;
        self
    }

    /// `client_socket_timeout`: a client that sends nothing (idle
    /// keep-alive, or a stalled request head or body) or does not read the
    /// response for this long is disconnected; the head of a request must
    /// arrive within it. Zero means wait forever. Default is 900 seconds.
    pub fn client_socket_timeout(mut self, timeout: Duration) -> Self {
        self.client_socket_timeout = timeout;
        self
    }

    /// `max_header_line`: maximum line size of message headers; a longer
    /// header gets 431. Default is 16384.
    pub fn max_header_line(mut self, max: usize) -> Self {
        self.max_header_line = max;
        self
    }

    /// `max_url_len`: maximum request line length; a longer one gets 414.
    /// Default is 8192.
    pub fn max_url_len(mut self, max: usize) -> Self {
        self.max_url_len = max;
        self
    }

    /// `max_request_body_size`: the largest request body accepted, in
    /// bytes; a larger one gets 413. Zero disables the check.
    /// Default is 114688.
    pub fn max_request_body_size(mut self, max: u64) -> Self {
        self.max_request_body_size = max;
        self
    }

    /// `wsgi_log_format`: access log line with `%(name)s` fields
    /// (`client_ip`, `request_line`, `status_code`, `body_length`,
    /// `wall_seconds`, `method`, `path`, `http_version`). Default is
    /// [`DEFAULT_LOG_FORMAT`], oslo's.
    pub fn wsgi_log_format(mut self, format: impl Into<String>) -> Self {
        self.wsgi_log_format = format.into();
        self
    }

    /// Serve HTTP/2 too: over TLS via ALPN `h2`, and on plain TCP to
    /// clients speaking h2c with prior knowledge. Default is false.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Serve TLS with the given `[ssl]` options (this API is in
    /// `enabled_ssl_apis`). Default is plain TCP.
    pub fn ssl(mut self, ssl: SslOptions) -> Self {
        self.use_ssl = true;
        self.ssl = ssl;
        self
    }

    /// Turns TLS on or off without changing [`Self::ssl`]. Default is off.
    pub fn use_ssl(mut self, enabled: bool) -> Self {
        self.use_ssl = enabled;
        self
    }
}

/// The `[ssl]` group of oslo.service.
///
/// # Examples
///
/// ```
/// use fjord_http::server::SslOptions;
/// let ssl = SslOptions::new("/etc/api/cert.pem", "/etc/api/key.pem").ca_file("/etc/api/ca.pem");
/// assert!(ssl.ca_file.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SslOptions {
    /// `cert_file`: PEM certificate chain of the server (leaf first).
    pub cert_file: Option<PathBuf>,
    /// `key_file`: PEM private key of the server (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// `ca_file`: PEM CA certificates; when set, clients must present a
    /// certificate signed by one of them.
    pub ca_file: Option<PathBuf>,
    /// `version`: `TLSv1_2`, `TLSv1_3`, or `SSLv23`/`TLS` (negotiate, the
    /// default). Older versions are not supported by rustls.
    pub version: Option<String>,
    /// `ciphers`: colon-separated cipher suites, in rustls
    /// (`TLS13_AES_128_GCM_SHA256`) or OpenSSL (`ECDHE-RSA-AES128-GCM-SHA256`)
    /// names. Default: rustls' safe defaults.
    pub ciphers: Option<String>,
}

impl SslOptions {
    /// `cert_file` and `key_file`, nothing else.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        SslOptions {
            cert_file: Some(cert_file.into()),
            key_file: Some(key_file.into()),
            ..SslOptions::default()
        }
    }

    /// `cert_file`. Default is none.
    pub fn cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cert_file = Some(path.into());
        self
    }

    /// `key_file`. Default is none.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// `ca_file`: require and verify client certificates. Default is none
    /// (no client certificates asked).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// `version`. Default is none (TLS 1.2 and 1.3).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// `ciphers`. Default is none (rustls defaults).
    pub fn ciphers(mut self, ciphers: impl Into<String>) -> Self {
        self.ciphers = Some(ciphers.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_oslos() {
        let o = ServerOptions::default();
        assert_eq!(o.listen, "0.0.0.0");
        assert_eq!(o.backlog, 4096);
        assert_eq!(o.tcp_keepidle, Duration::from_secs(600));
        assert_eq!(o.bind_timeout, Duration::from_secs(30));
        assert_eq!(o.wsgi_default_pool_size, 100);
        assert!(o.wsgi_keep_alive);
        assert_eq!(o.client_socket_timeout, Duration::from_secs(900));
        assert_eq!(o.max_header_line, 16384);
        assert_eq!(o.max_url_len, 8192);
        assert_eq!(o.max_request_body_size, 114_688);
        assert_eq!(o.wsgi_log_format, DEFAULT_LOG_FORMAT);
        assert!(o.wsgi_log_format.contains("%(wall_seconds).7f"));
        assert!(!o.http2);
        assert!(!o.use_ssl);
        assert_eq!(o.ssl, SslOptions::default());
        assert_eq!(o.workers, None);
        assert_eq!(o.max_connections, 1000);
    }

    #[test]
    fn setters_set() {
        let o = ServerOptions::new("ec2")
            .port(0)
            .max_url_len(16384)
            .ssl(SslOptions::new("c.pem", "k.pem"));
        assert_eq!(o.name, "ec2");
        assert_eq!(o.port, 0);
        assert_eq!(o.max_url_len, 16384);
        assert!(o.use_ssl);
        assert_eq!(
            o.ssl.cert_file.as_deref(),
            Some(std::path::Path::new("c.pem"))
        );
    }
}
