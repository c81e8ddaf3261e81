//! The options of one HTTP API, declared once: the typed [`ServerOptions`]
//! and [`SslOptions`] (builders, each setter stating its default), their
//! fjord-config declarations (namespace `fjord.http`, with oslo.service's
//! `wsgi` and `[ssl]` names, types, defaults and help, nova's per-API
//! options and oslo.middleware's `[oslo_middleware] max_request_body_size`)
//! and `from_conf`.
//!
//! | option | group | type | default |
//! |---|---|---|---|
//! | `wsgi_default_pool_size`, `wsgi_keep_alive`, `client_socket_timeout`, `max_header_line`, `wsgi_log_format`, `tcp_keepidle`, `backlog`, `reuse_port`, `enabled_ssl_apis` | `[DEFAULT]` | | oslo's |
//! | `max_request_body_size` | `[oslo_middleware]` | int >= 0 | [`DEFAULT_MAX_REQUEST_BODY_SIZE`] |
//! | `cert_file`, `key_file`, `ca_file`, `version`, `ciphers` | `[ssl]` | str | none |
//! | `<api>_listen`, `<api>_listen_port`, `<api>_workers` ([`ServerOptions::api_opts`]) | `[DEFAULT]` | str, port, int >= 1 | `0.0.0.0`, 8080, the CPU count |
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_http::server::ServerOptions;
//!
//! let mut conf = ConfigOpts::new("api").env_source(EnvSource::Off);
//! ServerOptions::register(&mut conf, &["osapi_compute"])?;
//! conf.load(vec![])?;
//! let options = ServerOptions::from_conf(&conf, "osapi_compute")?;
//! assert_eq!(options.wsgi_default_pool_size, 100);
//! assert_eq!(options.port, 8080);
//! # Ok::<(), fjord_config::Error>(())
//! ```

use std::path::PathBuf;
use std::time::Duration;

use fjord_config::{ConfigOpts, Error, Namespace, Opt, OptGroup};

/// oslo's default `wsgi_log_format`.
pub const DEFAULT_LOG_FORMAT: &str = "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f";

/// oslo.middleware's default `max_request_body_size` (bytes): the
/// server's limit and the sizelimit middleware's.
pub const DEFAULT_MAX_REQUEST_BODY_SIZE: u64 = 114_688;

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
            max_request_body_size: DEFAULT_MAX_REQUEST_BODY_SIZE,
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
    /// Default is 114688 ([`DEFAULT_MAX_REQUEST_BODY_SIZE`]).
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

/// The declarations: names, defaults and help of the `fjord.http`
/// namespace and of the per-API options, and reading them back.
impl ServerOptions {
    /// The namespace name of the HTTP options.
    pub const NAMESPACE: &'static str = "fjord.http";
    /// The group of `max_request_body_size`.
    pub const MIDDLEWARE_GROUP: &'static str = "oslo_middleware";

    /// The `[DEFAULT]` options shared by every API (oslo.service `wsgi_opts`,
    /// `backlog`, nova's `enabled_ssl_apis`).
    pub fn default_opts() -> Vec<Opt> {
        vec![
            Opt::int("wsgi_default_pool_size")
                .min(1)
                .default(100)
                .help("Size of the pool of greenthreads used by wsgi (in fjord: requests a worker serves at once)."),
            Opt::bool("wsgi_keep_alive")
                .default(true)
                .help("If False, closes the client socket connection explicitly."),
            Opt::int("client_socket_timeout")
                .min(0)
                .default(900)
                .help("Timeout for client connections' socket operations. If an incoming connection is idle for this number of seconds it will be closed. A value of '0' means wait forever."),
            Opt::int("max_header_line")
                .min(1)
                .default(16384)
                .help("Maximum line size of message headers to be accepted. max_header_line may need to be increased when using large tokens (typically those generated when keystone is configured to use PKI tokens with big service catalogs)."),
            Opt::str("wsgi_log_format")
                .default(DEFAULT_LOG_FORMAT)
                .help("A python format string that is used as the template to generate log lines. The following values can be formatted into it: client_ip, request_line, status_code, body_length, wall_seconds, method, path, http_version."),
            Opt::int("tcp_keepidle")
                .min(1)
                .default(600)
                .help("Sets the value of TCP_KEEPIDLE in seconds for each server socket."),
            Opt::int("backlog")
                .min(1)
                .default(4096)
                .help("Number of backlog requests to configure the socket with."),
            Opt::bool("reuse_port")
                .default(false)
                .help("Give each worker process its own listening socket on the API's address (SO_REUSEPORT), so the kernel spreads new connections over the workers. False: the workers share one socket bound by the master, and starting on an address another process listens on is an error."),
            Opt::list("enabled_ssl_apis")
                .default(Vec::<String>::new())
                .help("A list of APIs with enabled SSL (e.g. osapi_compute); they are served with the [ssl] options."),
        ]
    }

    /// The `[oslo_middleware]` option the server enforces.
    pub fn middleware_opts() -> Vec<Opt> {
        vec![
            Opt::int("max_request_body_size")
                .min(0)
                .default(DEFAULT_MAX_REQUEST_BODY_SIZE as i64)
                .deprecated_opt("DEFAULT", "osapi_max_request_body_size")
                .help("The maximum body size for each request, in bytes."),
        ]
    }

    /// The per-API options of the API called `api_name` (nova's naming):
    /// `<api>_listen` (default `0.0.0.0`), `<api>_listen_port` (default 8080)
    /// and `<api>_workers` (default: the CPU count), all in `[DEFAULT]`.
    pub fn api_opts(api_name: &str) -> Vec<Opt> {
        vec![
            Opt::str(&format!("{api_name}_listen"))
                .default("0.0.0.0")
                .help(&format!("The IP address on which the {api_name} API will listen.")),
            Opt::port(&format!("{api_name}_listen_port"))
                .default(8080_u16)
                .help(&format!("The port on which the {api_name} API will listen.")),
            Opt::int(&format!("{api_name}_workers"))
                .min(1)
                .help(&format!("Number of workers for the {api_name} API service. The default will be the number of CPUs available.")),
        ]
    }

    /// The `fjord.http` namespace (for generators and validators); the
    /// per-API options of [`api_opts`](Self::api_opts) are not in it.
    pub fn namespace() -> Namespace {
        Namespace::new(Self::NAMESPACE)
            .group("DEFAULT", Self::default_opts())
            .group(
                OptGroup::new(Self::MIDDLEWARE_GROUP)
                    .help("oslo.middleware options the HTTP server enforces."),
                Self::middleware_opts(),
            )
            .group(
                OptGroup::new(SslOptions::GROUP)
                    .help("TLS of the APIs listed in enabled_ssl_apis."),
                SslOptions::opts(),
            )
    }

    /// Registers the [`namespace`](Self::namespace) and the
    /// [`api_opts`](Self::api_opts) of each API.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateOpt`] if one of the names is registered differently.
    pub fn register(conf: &mut ConfigOpts, api_names: &[&str]) -> Result<(), Error> {
        conf.register_namespace(&Self::namespace())?;
        for api in api_names {
            conf.register("DEFAULT", &Self::api_opts(api))?;
        }
        Ok(())
    }

    /// The options of the API `api_name` from `conf`: its
    /// `<api>_listen`, `<api>_listen_port`, `<api>_workers`, the shared
    /// `[DEFAULT]` options, `[oslo_middleware] max_request_body_size`, and
    /// `[ssl]` with TLS on when `enabled_ssl_apis` lists `api_name`.
    /// Options fjord has no oslo name for (`max_url_len`,
    /// `max_connections`, `http2`, `bind_timeout`) keep their defaults.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`](Self::register) was not called
    /// with `api_name`.
    pub fn from_conf(conf: &ConfigOpts, api_name: &str) -> Result<Self, Error> {
        let enabled: Vec<String> = conf.get("DEFAULT", "enabled_ssl_apis")?;
        let mut options = ServerOptions::new(api_name);
        options.listen = conf.get("DEFAULT", &format!("{api_name}_listen"))?;
        options.port = conf.get("DEFAULT", &format!("{api_name}_listen_port"))?;
        options.workers = conf.get("DEFAULT", &format!("{api_name}_workers"))?;
        options.backlog = conf.get("DEFAULT", "backlog")?;
        options.reuse_port = conf.get("DEFAULT", "reuse_port")?;
        options.tcp_keepidle = conf.get("DEFAULT", "tcp_keepidle")?;
        options.wsgi_default_pool_size = conf.get("DEFAULT", "wsgi_default_pool_size")?;
        options.wsgi_keep_alive = conf.get("DEFAULT", "wsgi_keep_alive")?;
        options.client_socket_timeout = conf.get("DEFAULT", "client_socket_timeout")?;
        options.max_header_line = conf.get("DEFAULT", "max_header_line")?;
        options.wsgi_log_format = conf.get("DEFAULT", "wsgi_log_format")?;
        options.max_request_body_size =
            conf.get(Self::MIDDLEWARE_GROUP, "max_request_body_size")?;
        options.use_ssl = enabled.iter().any(|a| a == api_name);
        options.ssl = SslOptions::from_conf(conf)?;
        Ok(options)
    }
}

/// The declarations of the `[ssl]` group, and reading it back.
impl SslOptions {
    /// The TLS group.
    pub const GROUP: &'static str = "ssl";

    /// The `[ssl]` options (oslo.service `ssl_opts`).
    pub fn opts() -> Vec<Opt> {
        vec![
            Opt::str("ca_file")
                .deprecated_opt("DEFAULT", "ssl_ca_file")
                .help("CA certificate file to use to verify connecting clients."),
            Opt::str("cert_file")
                .deprecated_opt("DEFAULT", "ssl_cert_file")
                .help("Certificate file to use when starting the server securely."),
            Opt::str("key_file")
                .deprecated_opt("DEFAULT", "ssl_key_file")
                .help("Private key file to use when starting the server securely."),
            Opt::str("version")
                .help("SSL version to use (valid only if SSL enabled). Valid values in fjord are TLSv1_2, TLSv1_3, SSLv23 and TLS (negotiate)."),
            Opt::str("ciphers")
                .help("Sets the list of available ciphers. value should be a string in the OpenSSL cipher list format (rustls suite names are accepted too)."),
        ]
    }

    /// Reads the `[ssl]` group.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`ServerOptions::register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        let text = |name: &str| -> Result<Option<String>, Error> {
            Ok(conf
                .get::<Option<String>>(Self::GROUP, name)?
                .filter(|s| !s.is_empty()))
        };
        let path =
            |name: &str| -> Result<Option<PathBuf>, Error> { Ok(text(name)?.map(PathBuf::from)) };
        Ok(SslOptions {
            cert_file: path("cert_file")?,
            key_file: path("key_file")?,
            ca_file: path("ca_file")?,
            version: text("version")?,
            ciphers: text("ciphers")?,
        })
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

    use fjord_config::{ConfigSource, EnvSource};

    fn conf(env: EnvSource, sources: Vec<ConfigSource>) -> ConfigOpts {
        let mut conf = ConfigOpts::new("t").env_source(env);
        ServerOptions::register(&mut conf, &["osapi_demo", "metadata"]).unwrap();
        conf.load(sources).unwrap();
        conf
    }

    #[test]
    fn defaults_match_server_options_default() {
        let conf = conf(EnvSource::Off, vec![]);
        let options = ServerOptions::from_conf(&conf, "osapi_demo").unwrap();
        assert_eq!(options, ServerOptions::new("osapi_demo"));
        assert_eq!(SslOptions::from_conf(&conf).unwrap(), SslOptions::default());
    }

    #[test]
    fn file_values_and_ssl_per_api() {
        let dir = std::env::temp_dir().join(format!("fjord-http-opts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("api.conf");
        std::fs::write(
            &file,
            "[DEFAULT]\nosapi_demo_listen = 127.0.0.1\nosapi_demo_listen_port = 8799\n\
             osapi_demo_workers = 3\nwsgi_default_pool_size = 7\nwsgi_keep_alive = false\n\
             client_socket_timeout = 0\nbacklog = 16\nenabled_ssl_apis = osapi_demo\n\
             osapi_max_request_body_size = 1024\n\
             [ssl]\ncert_file = /etc/c.pem\nkey_file = /etc/k.pem\nversion = TLSv1_3\n",
        )
        .unwrap();
        let conf = conf(EnvSource::Off, vec![ConfigSource::File(file)]);
        let o = ServerOptions::from_conf(&conf, "osapi_demo").unwrap();
        assert_eq!(
            (o.listen.as_str(), o.port, o.workers),
            ("127.0.0.1", 8799, Some(3))
        );
        assert_eq!(o.wsgi_default_pool_size, 7);
        assert!(!o.wsgi_keep_alive);
        assert_eq!(o.client_socket_timeout, Duration::ZERO);
        assert_eq!(o.backlog, 16);
        // The deprecated [DEFAULT] name is still read.
        assert_eq!(o.max_request_body_size, 1024);
        assert!(o.use_ssl);
        assert_eq!(o.ssl.cert_file, Some(PathBuf::from("/etc/c.pem")));
        assert_eq!(o.ssl.key_file, Some(PathBuf::from("/etc/k.pem")));
        assert_eq!(o.ssl.version.as_deref(), Some("TLSv1_3"));
        assert_eq!(o.ssl.ca_file, None);
        // The other API keeps its defaults and plain TCP.
        let m = ServerOptions::from_conf(&conf, "metadata").unwrap();
        assert_eq!((m.port, m.use_ssl), (8080, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn environment_overrides_and_bad_values_are_errors() {
        let env = EnvSource::Map(
            [
                ("OS_DEFAULT__TCP_KEEPIDLE".to_owned(), "30".to_owned()),
                (
                    "OS_OSLO_MIDDLEWARE__MAX_REQUEST_BODY_SIZE".to_owned(),
                    "0".to_owned(),
                ),
            ]
            .into(),
        );
        let conf = conf(env, vec![]);
        let o = ServerOptions::from_conf(&conf, "metadata").unwrap();
        assert_eq!(o.tcp_keepidle, Duration::from_secs(30));
        assert_eq!(o.max_request_body_size, 0);

        let mut bad = ConfigOpts::new("t").env_source(EnvSource::Map(
            [(
                "OS_DEFAULT__WSGI_DEFAULT_POOL_SIZE".to_owned(),
                "0".to_owned(),
            )]
            .into(),
        ));
        ServerOptions::register(&mut bad, &[]).unwrap();
        let err = bad.load(vec![]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("wsgi_default_pool_size"), "{err}");
    }

    #[test]
    fn unregistered_api_is_an_error() {
        let conf = conf(EnvSource::Off, vec![]);
        assert!(ServerOptions::from_conf(&conf, "nope").is_err());
    }
}
