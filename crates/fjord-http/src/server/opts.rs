//! The HTTP server's options declared with fjord-config (namespace
//! `fjord.http`), with oslo.service's `wsgi` and `[ssl]` names, types,
//! defaults and help, nova's per-API options and oslo.middleware's
//! `[oslo_middleware] max_request_body_size`.
//!
//! | option | group | type | default |
//! |---|---|---|---|
//! | `wsgi_default_pool_size`, `wsgi_keep_alive`, `client_socket_timeout`, `max_header_line`, `wsgi_log_format`, `tcp_keepidle`, `backlog`, `enabled_ssl_apis` | `[DEFAULT]` | | oslo's |
//! | `max_request_body_size` | `[oslo_middleware]` | int >= 0 | 114688 |
//! | `cert_file`, `key_file`, `ca_file`, `version`, `ciphers` | `[ssl]` | str | none |
//! | `<api>_listen`, `<api>_listen_port`, `<api>_workers` ([`api_opts`]) | `[DEFAULT]` | str, port, int >= 1 | `0.0.0.0`, 8080, the CPU count |
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_http::server::{ServerOptions, opts};
//!
//! let mut conf = ConfigOpts::new("api").env_source(EnvSource::Off);
//! opts::register(&mut conf, &["osapi_compute"])?;
//! conf.load(vec![])?;
//! let options = ServerOptions::from_conf(&conf, "osapi_compute")?;
//! assert_eq!(options.wsgi_default_pool_size, 100);
//! assert_eq!(options.port, 8080);
//! # Ok::<(), fjord_config::Error>(())
//! ```

use std::path::PathBuf;

use fjord_config::{ConfigOpts, Error, Namespace, Opt, OptGroup};

use super::options::{DEFAULT_LOG_FORMAT, ServerOptions, SslOptions};

/// The namespace name of the HTTP options.
pub const NAMESPACE: &str = "fjord.http";
/// The group of `max_request_body_size`.
pub const MIDDLEWARE_GROUP: &str = "oslo_middleware";
/// The TLS group.
pub const SSL_GROUP: &str = "ssl";

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
            .default(114_688)
            .deprecated_opt("DEFAULT", "osapi_max_request_body_size")
            .help("The maximum body size for each request, in bytes."),
    ]
}

/// The `[ssl]` options (oslo.service `ssl_opts`).
pub fn ssl_opts() -> Vec<Opt> {
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
/// per-API options of [`api_opts`] are not in it.
pub fn namespace() -> Namespace {
    Namespace::new(NAMESPACE)
        .group("DEFAULT", default_opts())
        .group(
            OptGroup::new(MIDDLEWARE_GROUP)
                .help("oslo.middleware options the HTTP server enforces."),
            middleware_opts(),
        )
        .group(
            OptGroup::new(SSL_GROUP).help("TLS of the APIs listed in enabled_ssl_apis."),
            ssl_opts(),
        )
}

/// Registers the [`namespace`] and the [`api_opts`] of each API.
///
/// # Errors
///
/// [`Error::DuplicateOpt`] if one of the names is registered differently.
pub fn register(conf: &mut ConfigOpts, api_names: &[&str]) -> Result<(), Error> {
    conf.register_namespace(&namespace())?;
    for api in api_names {
        conf.register("DEFAULT", &api_opts(api))?;
    }
    Ok(())
}

fn path(conf: &ConfigOpts, name: &str) -> Result<Option<PathBuf>, Error> {
    Ok(conf
        .get::<Option<String>>(SSL_GROUP, name)?
        .filter(|s| !s.is_empty())
        .map(PathBuf::from))
}

impl SslOptions {
    /// Reads the `[ssl]` group.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        let text = |name: &str| -> Result<Option<String>, Error> {
            Ok(conf
                .get::<Option<String>>(SSL_GROUP, name)?
                .filter(|s| !s.is_empty()))
        };
        Ok(SslOptions {
            cert_file: path(conf, "cert_file")?,
            key_file: path(conf, "key_file")?,
            ca_file: path(conf, "ca_file")?,
            version: text("version")?,
            ciphers: text("ciphers")?,
        })
    }
}

impl ServerOptions {
    /// The options of the API `api_name` from `conf`: its
    /// `<api>_listen`, `<api>_listen_port`, `<api>_workers`, the shared
    /// `[DEFAULT]` options, `[oslo_middleware] max_request_body_size`, and
    /// `[ssl]` with TLS on when `enabled_ssl_apis` lists `api_name`.
    /// Options fjord has no oslo name for (`max_url_len`,
    /// `max_connections`, `http2`, `bind_timeout`) keep their defaults.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`] was not called with `api_name`.
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
        options.max_request_body_size = conf.get(MIDDLEWARE_GROUP, "max_request_body_size")?;
        options.use_ssl = enabled.iter().any(|a| a == api_name);
        options.ssl = SslOptions::from_conf(conf)?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fjord_config::{ConfigSource, EnvSource};

    use super::*;

    fn conf(env: EnvSource, sources: Vec<ConfigSource>) -> ConfigOpts {
        let mut conf = ConfigOpts::new("t").env_source(env);
        register(&mut conf, &["osapi_demo", "metadata"]).unwrap();
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
        register(&mut bad, &[]).unwrap();
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
