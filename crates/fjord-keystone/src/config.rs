//! [`AuthTokenConfig`]: keystonemiddleware's `[keystone_authtoken]`
//! options, read from a service's config file and from the paste filter
//! section as keystonemiddleware reads them.

use std::path::PathBuf;
use std::time::Duration;

use fjord_config::{ConfigOpts, Namespace, Opt, OptGroup};
use fjord_http::loader::Conf;

/// The config group keystonemiddleware reads: `[keystone_authtoken]`.
pub const GROUP: &str = "keystone_authtoken";

/// The bound on one request to Keystone when `http_connect_timeout` is
/// not set (keystonemiddleware then waits for ever; fjord does not).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Options keystonemiddleware knows that fjord reads without acting on
/// them (memcache and token binding belong to features fjord's in-process
/// cache does not have): set, they are accepted with one notice.
const IGNORED: &[&str] = &[
    "auth_version",
    "cache",
    "certfile",
    "keyfile",
    "memcached_servers",
    "memcache_servers",
    "memcache_security_strategy",
    "memcache_secret_key",
    "memcache_tls_enabled",
    "memcache_tls_cafile",
    "memcache_tls_certfile",
    "memcache_tls_keyfile",
    "memcache_tls_allowed_ciphers",
    "memcache_pool_dead_retry",
    "memcache_pool_maxsize",
    "memcache_pool_socket_timeout",
    "memcache_pool_unused_timeout",
    "memcache_pool_conn_get_timeout",
    "memcache_use_advanced_pool",
    "enforce_token_bind",
    "service_type",
    "auth_section",
    "timeout",
    "collect_timing",
    "split_loggers",
];

/// Paste `global_conf` keys PasteDeploy adds itself.
const PASTE_KEYS: &[&str] = &["here", "__file__"];

/// A password or other secret: never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A bad `[keystone_authtoken]` option.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("[keystone_authtoken] {message}")]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }
}

/// keystonemiddleware's `auth_token` options (and the `password` auth
/// plugin's) with their defaults.
///
/// Option names and defaults are keystonemiddleware 13's. Differences:
/// an unset `http_connect_timeout` bounds each request to Keystone by
/// [`DEFAULT_HTTP_TIMEOUT`] instead of never, the token cache is in
/// process only (memcache options are accepted and ignored with a
/// notice), and `auth_type` must be `password`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthTokenConfig {
    /// `www_authenticate_uri` (deprecated name `auth_uri`): the
    /// `WWW-Authenticate: Keystone uri="..."` of a 401. Default:
    /// `auth_url`.
    pub www_authenticate_uri: Option<String>,
    /// `auth_url`: where the service user logs in (`/v3` is appended when
    /// the URL has no version). Required.
    pub auth_url: String,
    /// `username`: the service user. Required (or `user_id`).
    pub username: Option<String>,
    /// `user_id`: the service user by id.
    pub user_id: Option<String>,
    /// `password` (secret). Required.
    pub password: Secret,
    /// `user_domain_name`; default `default_domain_name`.
    pub user_domain_name: Option<String>,
    /// `user_domain_id`; default `default_domain_id`.
    pub user_domain_id: Option<String>,
    /// `project_name`: the service user's project scope.
    pub project_name: Option<String>,
    /// `project_id`.
    pub project_id: Option<String>,
    /// `project_domain_name`; default `default_domain_name`.
    pub project_domain_name: Option<String>,
    /// `project_domain_id`; default `default_domain_id`.
    pub project_domain_id: Option<String>,
    /// `region_name`: the region of the identity endpoint taken from the
    /// service user's catalog. Default: any.
    pub region_name: Option<String>,
    /// `interface`: the identity endpoint's interface in the catalog
    /// (`internal`, `public`, `admin`). Default `internal`.
    pub interface: String,
    /// `service_token_roles`: a valid `X-Service-Token` must hold one of
    /// these. Default `service`.
    pub service_token_roles: Vec<String>,
    /// `service_token_roles_required`: whether the role check decides a
    /// service token's validity (else it is only logged). Default true.
    pub service_token_roles_required: bool,
    /// `delay_auth_decision`: pass requests without a valid token on,
    /// marked `X-Identity-Status: Invalid`, instead of answering 401.
    /// Default false.
    pub delay_auth_decision: bool,
    /// `token_cache_time` in seconds: how long a validated token is
    /// cached (never beyond its expiry); 0 or negative: no cache.
    /// Default 300.
    pub token_cache_time: i64,
    /// `include_service_catalog`: set `X-Service-Catalog` and ask
    /// Keystone for the catalog. Default true.
    pub include_service_catalog: bool,
    /// `http_connect_timeout` in seconds: the bound on each request to
    /// Keystone. Default: none ([`DEFAULT_HTTP_TIMEOUT`] applies).
    pub http_connect_timeout: Option<u64>,
    /// `http_request_max_retries`: retries of a request to Keystone that
    /// could not connect. Default 3.
    pub http_request_max_retries: u32,
    /// `cafile`: PEM CA bundle for HTTPS to Keystone. Default: the
    /// system's roots.
    pub cafile: Option<PathBuf>,
    /// `insecure`: do not verify Keystone's certificate. Default false.
    pub insecure: bool,
}

/// The options fjord acts on, as oslo.config options, for a service's
/// `ConfigOpts` (so `[keystone_authtoken]` in its config file is read,
/// shown in its sample, and `password` is masked in its option log).
pub fn opts() -> Vec<Opt> {
    vec![
        Opt::str("www_authenticate_uri")
            .deprecated_name("auth_uri")
            .help("Public identity endpoint clients are sent to in the WWW-Authenticate header of a 401 (default: auth_url)."),
        Opt::str("auth_type").help("Authentication type of the service user (only \"password\")."),
        Opt::str("auth_url").help("Identity endpoint where the service user authenticates."),
        Opt::str("username").help("The service user's name."),
        Opt::str("user_id").help("The service user's id."),
        Opt::str("password").secret().help("The service user's password."),
        Opt::str("user_domain_name").help("The service user's domain name."),
        Opt::str("user_domain_id").help("The service user's domain id."),
        Opt::str("project_name").help("The service user's project name."),
        Opt::str("project_id").help("The service user's project id."),
        Opt::str("project_domain_name").help("The service user's project domain name."),
        Opt::str("project_domain_id").help("The service user's project domain id."),
        Opt::str("default_domain_id").help("Domain id for the user and project when not given."),
        Opt::str("default_domain_name").help("Domain name for the user and project when not given."),
        Opt::str("region_name").help("Region of the identity endpoint in the catalog."),
        Opt::str("interface")
            .default("internal")
            .help("Interface of the identity endpoint used to validate tokens."),
        Opt::list("service_token_roles")
            .default("service")
            .help("A service token must hold one of these roles to be valid."),
        Opt::bool("service_token_roles_required")
            .default(true)
            .help("Whether the service token role check decides validity."),
        Opt::bool("delay_auth_decision")
            .default(false)
            .help("Pass unauthenticated requests on (X-Identity-Status: Invalid) instead of 401."),
        Opt::int("token_cache_time")
            .default(300)
            .help("Seconds a validated token is cached; 0 or -1 disables the cache."),
        Opt::bool("include_service_catalog")
            .default(true)
            .help("Set X-Service-Catalog from the token's catalog."),
        Opt::int("http_connect_timeout")
            .min(1)
            .help("Seconds each request to the identity server may take."),
        Opt::int("http_request_max_retries")
            .min(0)
            .default(3)
            .help("Retries of a request to the identity server that could not connect."),
        Opt::str("cafile").help("PEM CA bundle to verify the identity server's certificate."),
        Opt::bool("insecure")
            .default(false)
            .help("Do not verify the identity server's certificate."),
    ]
}

/// Registers [`opts`] in `conf` under `[keystone_authtoken]`.
///
/// # Errors
///
/// When `conf` already has one of these options in that group.
pub fn register_opts(conf: &mut ConfigOpts) -> Result<(), fjord_config::Error> {
    conf.register_namespace(&namespace())
}

/// [`opts`] as the option namespace `keystonemiddleware.auth_token`
/// (keystonemiddleware's oslo-config-generator entry point), so that
/// `fjord-config generate --from-binary` lists them.
pub fn namespace() -> Namespace {
    Namespace::new("keystonemiddleware.auth_token").group(
        OptGroup::new(GROUP).help("keystonemiddleware's auth_token: Keystone token validation."),
        opts(),
    )
}

/// The `[keystone_authtoken]` values of `conf` (registered with
/// [`register_opts`]) as a string map, the base under the paste section's
/// own keys for [`crate::register`].
///
/// # Errors
///
/// When the options are not registered or a value does not parse.
pub fn conf_from(conf: &ConfigOpts) -> Result<Conf, fjord_config::Error> {
    let mut out = Conf::new();
    for opt in opts() {
        let name = opt.name().to_owned();
        if let Some(v) = conf.value(GROUP, &name)? {
            out.insert(name, v.to_conf_string());
        }
    }
    Ok(out)
}

fn parse_bool(conf: &Conf, key: &str, default: bool) -> Result<bool, ConfigError> {
    match conf.get(key) {
        None => Ok(default),
        Some(v) => fjord_config::parse::bool(v).ok_or_else(|| {
            ConfigError::new(format!(
                "{key} = {v:?} is not a boolean (true/false, yes/no, on/off, 1/0)"
            ))
        }),
    }
}

fn parse_int(conf: &Conf, key: &str) -> Result<Option<i64>, ConfigError> {
    match conf.get(key) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => fjord_config::parse::int(v)
            .map(Some)
            .ok_or_else(|| ConfigError::new(format!("{key} = {v:?} is not an integer"))),
    }
}

fn text(conf: &Conf, key: &str) -> Option<String> {
    conf.get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl AuthTokenConfig {
    /// The options a filter reads: `base` (the config file's
    /// `[keystone_authtoken]`, see [`conf_from`]) under paste's
    /// `global_conf` under the filter section's `local_conf`, as
    /// keystonemiddleware's `filter_factory` merges them. Keys of
    /// `local_conf` that keystonemiddleware does not know are logged as a
    /// warning and ignored.
    ///
    /// # Errors
    ///
    /// A missing `auth_url`, `username`/`user_id` or `password`, an
    /// `auth_type` other than `password`, or a value that does not parse;
    /// the message names `[keystone_authtoken]` and the option.
    pub fn from_confs(base: &Conf, global: &Conf, local: &Conf) -> Result<Self, ConfigError> {
        let known: Vec<String> = opts().iter().map(|o| o.name().to_owned()).collect();
        for key in local.keys() {
            let key = key.trim();
            if known.iter().any(|k| k == key) || key == "auth_uri" {
                continue;
            }
            if IGNORED.contains(&key) {
                tracing::info!(
                    "[keystone_authtoken] option {key:?} is known to keystonemiddleware but not used by fjord (in-process token cache only); ignored"
                );
            } else if !PASTE_KEYS.contains(&key) {
                tracing::warn!(
                    "[keystone_authtoken] the option {key:?} is not known to keystonemiddleware; ignored"
                );
            }
        }
        let mut conf = base.clone();
        conf.update(global);
        conf.update(local);
        Self::from_conf(&conf)
    }

    /// The options from one merged string map (`www_authenticate_uri`,
    /// `auth_url`, ... as in `[keystone_authtoken]`).
    ///
    /// # Errors
    ///
    /// As [`AuthTokenConfig::from_confs`].
    pub fn from_conf(conf: &Conf) -> Result<Self, ConfigError> {
        if let Some(t) = text(conf, "auth_type")
            && t != "password"
        {
            return Err(ConfigError::new(format!(
                "auth_type = {t:?} is not supported: fjord authenticates the service user with auth_type = password"
            )));
        }
        let auth_url = text(conf, "auth_url").ok_or_else(|| {
            ConfigError::new("auth_url is not set: the identity endpoint the service user authenticates to (e.g. http://127.0.0.1:5000/v3)")
        })?;
        check_url("auth_url", &auth_url)?;
        let www_authenticate_uri =
            text(conf, "www_authenticate_uri").or_else(|| text(conf, "auth_uri"));
        if let Some(u) = &www_authenticate_uri {
            check_url("www_authenticate_uri", u)?;
        }
        let username = text(conf, "username");
        let user_id = text(conf, "user_id");
        if username.is_none() && user_id.is_none() {
            return Err(ConfigError::new(
                "username is not set: the service user that validates tokens",
            ));
        }
        let password = conf
            .get("password")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ConfigError::new("password is not set: the service user's password"))?;
        let default_domain_id = text(conf, "default_domain_id");
        let default_domain_name = text(conf, "default_domain_name");
        let token_cache_time = parse_int(conf, "token_cache_time")?.unwrap_or(300);
        let http_connect_timeout = match parse_int(conf, "http_connect_timeout")? {
            None => None,
            Some(n) if n >= 1 => Some(n as u64),
            Some(n) => {
                return Err(ConfigError::new(format!(
                    "http_connect_timeout = {n} must be at least 1 (seconds)"
                )));
            }
        };
        let http_request_max_retries = match parse_int(conf, "http_request_max_retries")? {
            None => 3,
            Some(n) => u32::try_from(n).map_err(|_| {
                ConfigError::new(format!(
                    "http_request_max_retries = {n} must be a non-negative integer"
                ))
            })?,
        };
        let interface = text(conf, "interface").unwrap_or_else(|| "internal".into());
        let interface = interface
            .strip_suffix("URL")
            .unwrap_or(&interface)
            .to_owned();
        if !["public", "internal", "admin"].contains(&interface.as_str()) {
            return Err(ConfigError::new(format!(
                "interface = {interface:?} is not one of public, internal, admin"
            )));
        }
        Ok(AuthTokenConfig {
            www_authenticate_uri,
            auth_url,
            username,
            user_id,
            password: Secret::new(password),
            user_domain_name: text(conf, "user_domain_name").or(default_domain_name.clone()),
            user_domain_id: text(conf, "user_domain_id").or(default_domain_id.clone()),
            project_name: text(conf, "project_name"),
            project_id: text(conf, "project_id"),
            project_domain_name: text(conf, "project_domain_name").or(default_domain_name),
            project_domain_id: text(conf, "project_domain_id").or(default_domain_id),
            region_name: text(conf, "region_name"),
            interface,
            service_token_roles: conf
                .get("service_token_roles")
                .map(fjord_config::parse::list)
                .unwrap_or_else(|| vec!["service".into()]),
            service_token_roles_required: parse_bool(conf, "service_token_roles_required", true)?,
            delay_auth_decision: parse_bool(conf, "delay_auth_decision", false)?,
            token_cache_time,
            include_service_catalog: parse_bool(conf, "include_service_catalog", true)?,
            http_connect_timeout,
            http_request_max_retries,
            cafile: text(conf, "cafile").map(PathBuf::from),
            insecure: parse_bool(conf, "insecure", false)?,
        })
    }

    /// The bound on each request to Keystone.
    pub fn http_timeout(&self) -> Duration {
        self.http_connect_timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_HTTP_TIMEOUT)
    }

    /// How long a valid token stays cached at most; `None`: no cache.
    pub fn cache_time(&self) -> Option<Duration> {
        (self.token_cache_time > 0).then(|| Duration::from_secs(self.token_cache_time as u64))
    }

    /// The URI of the `WWW-Authenticate` header.
    pub fn www_authenticate_uri(&self) -> &str {
        self.www_authenticate_uri
            .as_deref()
            .unwrap_or(&self.auth_url)
    }
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| ConfigError::new(format!("{key} = {url:?} is not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(()),
        _ => Err(ConfigError::new(format!(
            "{key} = {url:?} is not an http:// or https:// URL"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Conf {
        let mut c = Conf::new();
        for (k, v) in pairs {
            c.insert(*k, *v);
        }
        c
    }

    const MIN: &[(&str, &str)] = &[
        ("auth_url", "http://127.0.0.1:5000/v3"),
        ("username", "svc"),
        ("password", "pw"),
    ];

    #[test]
    fn defaults_are_keystonemiddleware_s() {
        let c = AuthTokenConfig::from_conf(&conf(MIN)).unwrap();
        assert_eq!(c.interface, "internal");
        assert_eq!(c.service_token_roles, ["service"]);
        assert!(c.service_token_roles_required);
        assert!(!c.delay_auth_decision);
        assert_eq!(c.token_cache_time, 300);
        assert!(c.include_service_catalog);
        assert_eq!(c.http_connect_timeout, None);
        assert_eq!(c.http_timeout(), DEFAULT_HTTP_TIMEOUT);
        assert_eq!(c.http_request_max_retries, 3);
        assert!(!c.insecure);
        assert_eq!(c.www_authenticate_uri(), "http://127.0.0.1:5000/v3");
        assert_eq!(format!("{:?}", c.password), "***");
        assert!(!format!("{c:?}").contains("pw\""));
    }

    #[test]
    fn local_wins_over_global_over_base() {
        let base = conf(&[
            ("auth_url", "http://127.0.0.1:1/v3"),
            ("username", "a"),
            ("password", "p"),
            ("delay_auth_decision", "false"),
        ]);
        let global = conf(&[("username", "b"), ("here", "/x")]);
        let local = conf(&[
            ("delay_auth_decision", "true"),
            ("auth_uri", "http://h:5000"),
        ]);
        let c = AuthTokenConfig::from_confs(&base, &global, &local).unwrap();
        assert_eq!(c.username.as_deref(), Some("b"));
        assert!(c.delay_auth_decision);
        assert_eq!(c.www_authenticate_uri(), "http://h:5000");
    }

    #[test]
    fn cache_time_off() {
        for v in ["0", "-1"] {
            let mut c = conf(MIN);
            c.insert("token_cache_time", v);
            assert_eq!(AuthTokenConfig::from_conf(&c).unwrap().cache_time(), None);
        }
    }

    #[test]
    fn errors_name_the_group_and_option() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("username", "s"), ("password", "p")], "auth_url"),
            (
                &[("auth_url", "http://h/v3"), ("password", "p")],
                "username",
            ),
            (
                &[("auth_url", "http://h/v3"), ("username", "s")],
                "password",
            ),
            (
                &[
                    ("auth_url", "ftp://h"),
                    ("username", "s"),
                    ("password", "p"),
                ],
                "auth_url",
            ),
            (
                &[
                    ("auth_url", "http://h"),
                    ("username", "s"),
                    ("password", "p"),
                    ("auth_type", "v3token"),
                ],
                "auth_type",
            ),
            (
                &[
                    ("auth_url", "http://h"),
                    ("username", "s"),
                    ("password", "p"),
                    ("insecure", "maybe"),
                ],
                "insecure",
            ),
            (
                &[
                    ("auth_url", "http://h"),
                    ("username", "s"),
                    ("password", "p"),
                    ("http_connect_timeout", "0"),
                ],
                "http_connect_timeout",
            ),
            (
                &[
                    ("auth_url", "http://h"),
                    ("username", "s"),
                    ("password", "p"),
                    ("interface", "private"),
                ],
                "interface",
            ),
        ];
        for (pairs, option) in cases {
            let err = AuthTokenConfig::from_conf(&conf(pairs))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("[keystone_authtoken] "), "{err}");
            assert!(err.contains(option), "{err} should name {option}");
        }
    }
}
