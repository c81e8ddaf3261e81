//! The messaging options, declared once: the typed [`MessagingOptions`]
//! (`[DEFAULT]`) and [`RabbitOptions`] (`[oslo_messaging_rabbit]`, the
//! options that change the topology or the connection), whose `Default` is
//! oslo's default, their fjord-config declarations (namespace
//! `fjord.messaging`, with oslo.messaging's names, groups, types, defaults
//! and help: `[DEFAULT]` `transport_url` (secret), `control_exchange`,
//! `rpc_response_timeout`, `executor_thread_pool_size`, `rpc_ping_enabled`,
//! and the `[oslo_messaging_rabbit]` options [`RabbitOptions`] supports)
//! and `from_conf`.
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_messaging::MessagingOptions;
//!
//! let mut conf = ConfigOpts::new("worker").env_source(EnvSource::Off);
//! MessagingOptions::register(&mut conf)?;
//! conf.load(vec![])?;
//! let options = MessagingOptions::from_conf(&conf)?;
//! assert_eq!(options, MessagingOptions::default());
//! # Ok::<(), fjord_config::Error>(())
//! ```

use std::time::Duration;

use fjord_config::{ConfigOpts, Error as ConfigError, Namespace, Opt, OptGroup};

use crate::error::{Error, Result};

/// `[DEFAULT]` messaging options.
///
/// # Examples
///
/// ```
/// use fjord_messaging::MessagingOptions;
/// let o = MessagingOptions::default();
/// assert_eq!(o.control_exchange, "openstack");
/// assert_eq!(o.rpc_response_timeout, 60);
/// assert_eq!(o.executor_thread_pool_size, 64);
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct MessagingOptions {
    /// `transport_url`: where the broker is. Default is `None`, meaning
    /// `rabbit://` (localhost:5672, guest/guest). May hold a password: it is
    /// redacted in `Debug`.
    pub transport_url: Option<String>,
    /// `control_exchange`: the default exchange targets are scoped to.
    /// Default is `openstack`.
    pub control_exchange: String,
    /// `rpc_response_timeout`: seconds a call waits for its reply. Default is 60.
    pub rpc_response_timeout: u64,
    /// `executor_thread_pool_size`: how many requests a server dispatches at
    /// once. Default is 64.
    pub executor_thread_pool_size: usize,
    /// `rpc_ping_enabled`: add the `oslo_rpc_server_ping` method. Default is false.
    pub rpc_ping_enabled: bool,
    /// `[oslo_messaging_rabbit]` options.
    pub rabbit: RabbitOptions,
}

impl Default for MessagingOptions {
    fn default() -> Self {
        MessagingOptions {
            transport_url: None,
            control_exchange: "openstack".into(),
            rpc_response_timeout: 60,
            executor_thread_pool_size: 64,
            rpc_ping_enabled: false,
            rabbit: RabbitOptions::default(),
        }
    }
}

impl std::fmt::Debug for MessagingOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.transport_url.as_deref().map(|u| {
            crate::url::TransportUrl::parse(u)
                .map(|p| p.to_string())
                .unwrap_or_else(|_| "<unparsable, redacted>".into())
        });
        f.debug_struct("MessagingOptions")
            .field("transport_url", &url)
            .field("control_exchange", &self.control_exchange)
            .field("rpc_response_timeout", &self.rpc_response_timeout)
            .field("executor_thread_pool_size", &self.executor_thread_pool_size)
            .field("rpc_ping_enabled", &self.rpc_ping_enabled)
            .field("rabbit", &self.rabbit)
            .finish()
    }
}

impl MessagingOptions {
    /// `rpc_response_timeout` as a duration.
    pub fn response_timeout(&self) -> Duration {
        Duration::from_secs(self.rpc_response_timeout)
    }
}

/// `[oslo_messaging_rabbit]` options that change the broker topology or the
/// connection (WIRE.md §2.2, §3.3). Each can also be given as a transport
/// URL query key, which overrides the option.
///
/// # Examples
///
/// ```
/// use fjord_messaging::RabbitOptions;
/// let mut o = RabbitOptions::default();
/// assert_eq!(o.rabbit_transient_queues_ttl, 1800);
/// o.set("amqp_durable_queues", "true").unwrap();
/// assert!(o.amqp_durable_queues);
/// assert!(o.set("no_such_option", "1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RabbitOptions {
    /// `amqp_durable_queues`: durable control exchange, topic, server and
    /// notification queues. Default is false.
    pub amqp_durable_queues: bool,
    /// `amqp_auto_delete`: auto-delete control exchange and those queues. Default is false.
    pub amqp_auto_delete: bool,
    /// `rabbit_ha_queues`: add `x-ha-policy: all` to every queue. Default is false.
    pub rabbit_ha_queues: bool,
    /// `rabbit_transient_queues_ttl`: seconds; `x-expires` of reply and fanout
    /// queues (0: none). Default is 1800.
    pub rabbit_transient_queues_ttl: u64,
    /// `rabbit_quorum_queue`: quorum topic, server and notification queues. Default is false.
    pub rabbit_quorum_queue: bool,
    /// `rabbit_transient_quorum_queue`: quorum reply and fanout queues. Default is false.
    pub rabbit_transient_quorum_queue: bool,
    /// `rabbit_quorum_delivery_limit`: `x-delivery-limit` when > 0. Default is 0.
    pub rabbit_quorum_delivery_limit: u64,
    /// `rabbit_quorum_max_memory_length`: `x-max-in-memory-length` when > 0. Default is 0.
    pub rabbit_quorum_max_memory_length: u64,
    /// `rabbit_quorum_max_memory_bytes`: `x-max-in-memory-bytes` when > 0. Default is 0.
    pub rabbit_quorum_max_memory_bytes: u64,
    /// `rabbit_qos_prefetch_count`: `basic.qos` on listening channels when > 0. Default is 0.
    pub rabbit_qos_prefetch_count: u16,
    /// `enable_cancel_on_failover`: consumer argument
    /// `x-cancel-on-ha-failover`. Default is false.
    pub enable_cancel_on_failover: bool,
    /// `heartbeat_timeout_threshold`: seconds after which a broker that
    /// sends nothing is considered down (0: no heartbeat). fjord proposes
    /// an AMQP heartbeat of half of it, as a connection is given up after
    /// two silent heartbeat intervals; it also bounds one connection
    /// attempt (at most 10 s). Default is 60.
    pub heartbeat_timeout_threshold: u16,
    /// `heartbeat_rate`: checks per threshold (accepted for compatibility). Default is 3.
    pub heartbeat_rate: u32,
    /// `rabbit_retry_interval`: seconds before the first reconnect. Default is 1.
    pub rabbit_retry_interval: f64,
    /// `rabbit_retry_backoff`: seconds added per reconnect attempt. Default is 2.
    pub rabbit_retry_backoff: f64,
    /// `rabbit_interval_max`: longest wait between reconnects, seconds. Default is 30.
    pub rabbit_interval_max: f64,
    /// `kombu_reconnect_delay`: seconds to wait after a connection error. Default is 1.
    pub kombu_reconnect_delay: f64,
    /// `kombu_missing_consumer_retry_timeout`: seconds a server retries a
    /// reply whose queue is missing. Default is 60.
    pub kombu_missing_consumer_retry_timeout: u64,
    /// `kombu_failover_strategy`: `round-robin` or `shuffle`. Default is `round-robin`.
    pub kombu_failover_strategy: String,
    /// `rabbit_login_method`: accepted for compatibility; fjord authenticates
    /// with PLAIN (the broker accepts either). Default is `AMQPLAIN`.
    pub rabbit_login_method: String,
    /// `ssl`: TLS to the broker. Default is false.
    pub ssl: bool,
    /// `ssl_ca_file`: CA bundle (PEM) to verify the broker. Default is empty (system roots).
    pub ssl_ca_file: String,
    /// `ssl_cert_file`: client certificate (PEM). Default is empty.
    pub ssl_cert_file: String,
    /// `ssl_key_file`: client key (PEM). Default is empty.
    pub ssl_key_file: String,
    /// `direct_mandatory_flag`: mandatory flag on replies (always on). Default is true.
    pub direct_mandatory_flag: bool,
    /// `kombu_compression`: not supported by fjord; must stay unset. Default is `None`.
    pub kombu_compression: Option<String>,
    /// `rabbit_stream_fanout`: not supported by fjord; must stay false. Default is false.
    pub rabbit_stream_fanout: bool,
    /// `use_queue_manager`: not supported by fjord; must stay false. Default is false.
    pub use_queue_manager: bool,
    /// `publish_on_listener_connection` (fjord only; oslo.messaging has no
    /// such option): publish on a channel of a running listener's
    /// connection (the reply queue's in a client, the RPC server's in a
    /// server) instead of a connection of its own, so a process that calls
    /// and listens uses one connection, not two; fewer I/O wake-ups per
    /// call. The messages on the wire are the same. The cost: when the
    /// broker blocks publishers (memory or disk alarm) it blocks that
    /// connection, consuming included; after that listener's connection is
    /// lost, sends use a connection of their own again. Default is false
    /// (separate connections, as oslo.messaging).
    pub publish_on_listener_connection: bool,
}

impl Default for RabbitOptions {
    fn default() -> Self {
        RabbitOptions {
            amqp_durable_queues: false,
            amqp_auto_delete: false,
            rabbit_ha_queues: false,
            rabbit_transient_queues_ttl: 1800,
            rabbit_quorum_queue: false,
            rabbit_transient_quorum_queue: false,
            rabbit_quorum_delivery_limit: 0,
            rabbit_quorum_max_memory_length: 0,
            rabbit_quorum_max_memory_bytes: 0,
            rabbit_qos_prefetch_count: 0,
            enable_cancel_on_failover: false,
            heartbeat_timeout_threshold: 60,
            heartbeat_rate: 3,
            rabbit_retry_interval: 1.0,
            rabbit_retry_backoff: 2.0,
            rabbit_interval_max: 30.0,
            kombu_reconnect_delay: 1.0,
            kombu_missing_consumer_retry_timeout: 60,
            kombu_failover_strategy: "round-robin".into(),
            rabbit_login_method: "AMQPLAIN".into(),
            ssl: false,
            ssl_ca_file: String::new(),
            ssl_cert_file: String::new(),
            ssl_key_file: String::new(),
            direct_mandatory_flag: true,
            kombu_compression: None,
            rabbit_stream_fanout: false,
            use_queue_manager: false,
            publish_on_listener_connection: false,
        }
    }
}

/// oslo.config's boolean spellings ([`fjord_config::parse::bool`]).
fn parse_bool(option: &str, value: &str) -> Result<bool> {
    fjord_config::parse::bool(value).ok_or_else(|| Error::InvalidOption {
        option: option.into(),
        reason: format!("{value:?} is not a boolean"),
    })
}

fn parse_num<T: std::str::FromStr>(option: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::InvalidOption {
        option: option.into(),
        reason: format!("{value:?} is not a valid number"),
    })
}

impl RabbitOptions {
    /// These options with every query key of `url` applied on top (query
    /// keys override the `[oslo_messaging_rabbit]` options of the same
    /// name).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for an unknown key or a bad value.
    pub fn with_query(&self, url: &crate::url::TransportUrl) -> Result<RabbitOptions> {
        let mut o = self.clone();
        for (k, v) in url.query() {
            o.set(k, v)?;
        }
        Ok(o)
    }

    /// Sets the option `name` (oslo spelling) from its string form, as a
    /// transport URL query key does. Aliases of old names are accepted for
    /// `ssl` (`rabbit_use_ssl`) and a few options that only tune Python
    /// internals are accepted and ignored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for an unknown name or a value of the wrong type.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "amqp_durable_queues" => self.amqp_durable_queues = parse_bool(name, value)?,
            "amqp_auto_delete" => self.amqp_auto_delete = parse_bool(name, value)?,
            "rabbit_ha_queues" => self.rabbit_ha_queues = parse_bool(name, value)?,
            "rabbit_transient_queues_ttl" => {
                self.rabbit_transient_queues_ttl = parse_num(name, value)?
            }
            "rabbit_quorum_queue" => self.rabbit_quorum_queue = parse_bool(name, value)?,
            "rabbit_transient_quorum_queue" => {
                self.rabbit_transient_quorum_queue = parse_bool(name, value)?
            }
            "rabbit_quorum_delivery_limit" => {
                self.rabbit_quorum_delivery_limit = parse_num(name, value)?
            }
            "rabbit_quorum_max_memory_length" => {
                self.rabbit_quorum_max_memory_length = parse_num(name, value)?
            }
            "rabbit_quorum_max_memory_bytes" => {
                self.rabbit_quorum_max_memory_bytes = parse_num(name, value)?
            }
            "rabbit_qos_prefetch_count" => self.rabbit_qos_prefetch_count = parse_num(name, value)?,
            "enable_cancel_on_failover" => {
                self.enable_cancel_on_failover = parse_bool(name, value)?
            }
            "heartbeat_timeout_threshold" => {
                self.heartbeat_timeout_threshold = parse_num(name, value)?
            }
            "heartbeat_rate" => self.heartbeat_rate = parse_num(name, value)?,
            "rabbit_retry_interval" => self.rabbit_retry_interval = parse_num(name, value)?,
            "rabbit_retry_backoff" => self.rabbit_retry_backoff = parse_num(name, value)?,
            "rabbit_interval_max" => self.rabbit_interval_max = parse_num(name, value)?,
            "kombu_reconnect_delay" => self.kombu_reconnect_delay = parse_num(name, value)?,
            "kombu_missing_consumer_retry_timeout" => {
                self.kombu_missing_consumer_retry_timeout = parse_num(name, value)?
            }
            "kombu_failover_strategy" => match value {
                "round-robin" | "shuffle" => self.kombu_failover_strategy = value.into(),
                _ => {
                    return Err(Error::InvalidOption {
                        option: name.into(),
                        reason: format!("{value:?} is not round-robin or shuffle"),
                    });
                }
            },
            "rabbit_login_method" => self.rabbit_login_method = value.into(),
            "ssl" | "rabbit_use_ssl" => self.ssl = parse_bool(name, value)?,
            "ssl_ca_file" | "kombu_ssl_ca_certs" => self.ssl_ca_file = value.into(),
            "ssl_cert_file" | "kombu_ssl_certfile" => self.ssl_cert_file = value.into(),
            "ssl_key_file" | "kombu_ssl_keyfile" => self.ssl_key_file = value.into(),
            "direct_mandatory_flag" => self.direct_mandatory_flag = parse_bool(name, value)?,
            "kombu_compression" => self.kombu_compression = Some(value.into()),
            "rabbit_stream_fanout" => self.rabbit_stream_fanout = parse_bool(name, value)?,
            "use_queue_manager" => self.use_queue_manager = parse_bool(name, value)?,
            "publish_on_listener_connection" => {
                self.publish_on_listener_connection = parse_bool(name, value)?
            }
            // Python-internal tuning knobs: accepted so shared URLs work.
            "heartbeat_in_pthread"
            | "ssl_version"
            | "ssl_enforce_fips_mode"
            | "rabbit_interval_max_jitter"
            | "hostname"
            | "processname"
            | "rabbit_transient_queues_ttl_jitter" => {}
            _ => {
                return Err(Error::InvalidOption {
                    option: name.into(),
                    reason: "unknown option".into(),
                });
            }
        }
        Ok(())
    }

    /// Checks the combination is one fjord supports (WIRE.md §3.3).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming the first unsupported option.
    pub fn validate(&self) -> Result<()> {
        let bad = |option: &str, reason: &str| {
            Err(Error::InvalidOption {
                option: option.into(),
                reason: reason.into(),
            })
        };
        if self.rabbit_ha_queues && self.rabbit_quorum_queue {
            return bad(
                "rabbit_ha_queues",
                "cannot be used together with rabbit_quorum_queue",
            );
        }
        if self
            .kombu_compression
            .as_deref()
            .is_some_and(|c| !c.is_empty())
        {
            return bad("kombu_compression", "compression is not supported by fjord");
        }
        if self.rabbit_stream_fanout {
            return bad(
                "rabbit_stream_fanout",
                "stream fanout is not supported by fjord",
            );
        }
        if self.use_queue_manager {
            return bad(
                "use_queue_manager",
                "the queue manager is not supported by fjord",
            );
        }
        if !(self.rabbit_retry_interval >= 0.0
            && self.rabbit_retry_backoff >= 0.0
            && self.rabbit_interval_max >= 0.0
            && self.kombu_reconnect_delay >= 0.0)
        {
            return bad("rabbit_retry_interval", "retry intervals must be >= 0");
        }
        Ok(())
    }

    /// The reconnect delay before attempt `attempt` (0-based): interval +
    /// backoff × attempt, capped at `rabbit_interval_max`.
    pub fn reconnect_delay(&self, attempt: u32) -> Duration {
        let secs = (self.rabbit_retry_interval + self.rabbit_retry_backoff * f64::from(attempt))
            .min(self.rabbit_interval_max)
            .max(0.0);
        Duration::from_secs_f64(secs)
    }
}

/// The declarations: names, defaults and help of the `fjord.messaging`
/// namespace, and reading them back.
impl MessagingOptions {
    /// The namespace name of the messaging options.
    pub const NAMESPACE: &'static str = "fjord.messaging";

    /// The `[DEFAULT]` options.
    pub fn default_opts() -> Vec<Opt> {
        vec![
            Opt::str("transport_url").secret().help(
                "The network address and optional user credentials for connecting to the messaging \
                 backend, in URL format. The expected format is:\n\n\
                 driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host?query\n\n\
                 Example: rabbit://rabbitmq:password@127.0.0.1:5672//\n\n\
                 Query keys set [oslo_messaging_rabbit] options for this transport. \
                 Unset: the service's default transport (rabbit://guest:guest@localhost:5672/ unless the \
                 service documents another one).",
            ),
            Opt::str("control_exchange").default("openstack").help(
                "The default exchange under which topics are scoped. May be overridden by an \
                 exchange name specified in the transport_url option.",
            ),
            Opt::int("rpc_response_timeout")
                .min(1)
                .default(60)
                .help("Seconds to wait for a response from a call."),
            Opt::int("executor_thread_pool_size")
                .min(1)
                .default(64)
                .deprecated_name("rpc_thread_pool_size")
                .help("Size of executor thread pool when executor is threading or eventlet (in fjord: requests a server dispatches at once)."),
            Opt::bool("rpc_ping_enabled")
                .default(false)
                .help("Add an endpoint to answer to ping calls. Endpoint is named oslo_rpc_server_ping"),
        ]
    }

    /// The `fjord.messaging` namespace (for generators and validators):
    /// [`default_opts`](Self::default_opts) and `[oslo_messaging_rabbit]`
    /// ([`RabbitOptions::opts`]).
    pub fn namespace() -> Namespace {
        Namespace::new(Self::NAMESPACE)
            .group("DEFAULT", Self::default_opts())
            .group(
                OptGroup::new(RabbitOptions::GROUP).help("The RabbitMQ driver."),
                RabbitOptions::opts(),
            )
    }

    /// Registers the [`namespace`](Self::namespace) on `conf`.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::DuplicateOpt`] if one of the names is
    /// registered differently.
    pub fn register(conf: &mut ConfigOpts) -> Result<(), ConfigError> {
        conf.register_namespace(&Self::namespace())
    }

    /// Reads the `[DEFAULT]` messaging options and `[oslo_messaging_rabbit]`.
    /// An empty `transport_url` is `None`.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::NoSuchOpt`] if [`register`](Self::register) was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, ConfigError> {
        Ok(MessagingOptions {
            transport_url: conf
                .get::<Option<String>>("DEFAULT", "transport_url")?
                .filter(|u| !u.is_empty()),
            control_exchange: conf.get("DEFAULT", "control_exchange")?,
            rpc_response_timeout: conf.get("DEFAULT", "rpc_response_timeout")?,
            executor_thread_pool_size: conf.get("DEFAULT", "executor_thread_pool_size")?,
            rpc_ping_enabled: conf.get("DEFAULT", "rpc_ping_enabled")?,
            rabbit: RabbitOptions::from_conf(conf)?,
        })
    }
}

/// The declarations of `[oslo_messaging_rabbit]`, and reading it back.
impl RabbitOptions {
    /// The RabbitMQ driver's group.
    pub const GROUP: &'static str = "oslo_messaging_rabbit";

    /// The `[oslo_messaging_rabbit]` options.
    pub fn opts() -> Vec<Opt> {
        vec![
            Opt::bool("amqp_durable_queues")
                .default(false)
                .help("Use durable queues in AMQP. If rabbit_quorum_queue is enabled, queues will be durable and this value will be ignored."),
            Opt::bool("amqp_auto_delete")
                .default(false)
                .help("Auto-delete queues in AMQP."),
            Opt::bool("rabbit_ha_queues")
                .default(false)
                .help("Try to use HA queues in RabbitMQ (x-ha-policy: all). If you change this option, you must wipe the RabbitMQ database."),
            Opt::int("rabbit_transient_queues_ttl")
                .min(0)
                .default(1800)
                .help("Positive integer representing duration in seconds for queue TTL (x-expires). Queues which are unused for the duration of the TTL are automatically deleted. The parameter affects only reply and fanout queues. Setting 0 as value will disable the x-expires."),
            Opt::bool("rabbit_quorum_queue")
                .default(false)
                .help("Use quorum queues in RabbitMQ (x-queue-type: quorum). Can not be used together with rabbit_ha_queues."),
            Opt::bool("rabbit_transient_quorum_queue")
                .default(false)
                .help("Use quorum queues for transient queues in RabbitMQ (reply and fanout queues)."),
            Opt::int("rabbit_quorum_delivery_limit")
                .min(0)
                .default(0)
                .help("Each time a message is redelivered to a consumer, a counter is incremented. Once the redelivery count exceeds the delivery limit the message gets dropped or dead-lettered. 0 means no limit."),
            Opt::int("rabbit_quorum_max_memory_length")
                .min(0)
                .default(0)
                .help("By default all messages are maintained in memory; if a quorum queue grows in length it can put memory pressure on a cluster. This option limits the number of messages in the quorum queue (x-max-in-memory-length). 0 means no limit."),
            Opt::int("rabbit_quorum_max_memory_bytes")
                .min(0)
                .default(0)
                .help("This option limits the number of memory bytes used by the quorum queue (x-max-in-memory-bytes). 0 means no limit."),
            Opt::int("rabbit_qos_prefetch_count")
                .min(0)
                .max(65535)
                .default(0)
                .help("Specifies the number of messages to prefetch. Setting to zero allows unlimited messages."),
            Opt::bool("enable_cancel_on_failover")
                .default(false)
                .help("Enable x-cancel-on-ha-failover flag so that rabbitmq server will cancel and notify consumers when queue is down."),
            Opt::int("heartbeat_timeout_threshold")
                .min(0)
                .max(65535)
                .default(60)
                .help("Number of seconds after which the Rabbit broker is considered down if heartbeat's keep-alive fails (0 disables heartbeat)."),
            Opt::int("heartbeat_rate")
                .min(1)
                .default(3)
                .help("How often times during the heartbeat_timeout_threshold we check the heartbeat."),
            Opt::int("rabbit_retry_interval")
                .min(0)
                .default(1)
                .help("How frequently to retry connecting with RabbitMQ."),
            Opt::int("rabbit_retry_backoff")
                .min(0)
                .default(2)
                .help("How long to backoff for between retries when connecting to RabbitMQ."),
            Opt::int("rabbit_interval_max")
                .min(1)
                .default(30)
                .help("Maximum interval of RabbitMQ connection retries."),
            Opt::float("kombu_reconnect_delay")
                .min(0.0)
                .default(1.0)
                .help("How long to wait (in seconds) before reconnecting in response to an AMQP consumer cancel notification."),
            Opt::int("kombu_missing_consumer_retry_timeout")
                .min(0)
                .default(60)
                .help("How long to wait a missing client before abandoning to send it its replies. This value should not be longer than rpc_response_timeout."),
            Opt::str("kombu_failover_strategy")
                .default("round-robin")
                .choices(&["round-robin", "shuffle"])
                .help("Determines how the next RabbitMQ node is chosen in case the one we are currently connected to becomes unavailable."),
            Opt::str("rabbit_login_method")
                .default("AMQPLAIN")
                .choices(&["PLAIN", "AMQPLAIN", "EXTERNAL", "RABBIT-CR-DEMO"])
                .help("The RabbitMQ login method (accepted for compatibility: fjord authenticates with PLAIN, which the broker accepts too)."),
            Opt::bool("ssl")
                .default(false)
                .deprecated_name("rabbit_use_ssl")
                .help("Connect over SSL."),
            Opt::str("ssl_ca_file")
                .default("")
                .deprecated_name("kombu_ssl_ca_certs")
                .help("SSL certification authority file (valid only if SSL enabled)."),
            Opt::str("ssl_cert_file")
                .default("")
                .deprecated_name("kombu_ssl_certfile")
                .help("SSL cert file (valid only if SSL enabled)."),
            Opt::str("ssl_key_file")
                .default("")
                .deprecated_name("kombu_ssl_keyfile")
                .help("SSL key file (valid only if SSL enabled)."),
            Opt::bool("direct_mandatory_flag")
                .default(true)
                .help("Enable/Disable the RabbitMQ mandatory flag for direct send (fjord always sets it)."),
            Opt::str("kombu_compression")
                .help("Compression of messages: not supported by fjord, must stay unset."),
            Opt::bool("rabbit_stream_fanout")
                .default(false)
                .help("Use stream queues in RabbitMQ for fanout: not supported by fjord, must stay false."),
            Opt::bool("use_queue_manager")
                .default(false)
                .help("Should we use consistent queue names or random ones: not supported by fjord, must stay false."),
            Opt::bool("publish_on_listener_connection")
                .default(false)
                .help("fjord only: publish on a channel of a running listener's connection (the reply queue's in a client, the RPC server's in a server) instead of a connection of its own: one connection per process that calls and listens, fewer wake-ups per call, the same messages on the wire. When the broker blocks publishers (memory or disk alarm) it then blocks that listener's connection too."),
        ]
    }

    /// Reads the `[oslo_messaging_rabbit]` group. A transport URL's query
    /// keys still override these when the transport is created.
    ///
    /// # Errors
    ///
    /// [`fjord_config::Error::NoSuchOpt`] if [`MessagingOptions::register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, ConfigError> {
        let g = Self::GROUP;
        let secs =
            |name: &str| -> Result<f64, ConfigError> { Ok(conf.get::<i64>(g, name)? as f64) };
        Ok(RabbitOptions {
            amqp_durable_queues: conf.get(g, "amqp_durable_queues")?,
            amqp_auto_delete: conf.get(g, "amqp_auto_delete")?,
            rabbit_ha_queues: conf.get(g, "rabbit_ha_queues")?,
            rabbit_transient_queues_ttl: conf.get(g, "rabbit_transient_queues_ttl")?,
            rabbit_quorum_queue: conf.get(g, "rabbit_quorum_queue")?,
            rabbit_transient_quorum_queue: conf.get(g, "rabbit_transient_quorum_queue")?,
            rabbit_quorum_delivery_limit: conf.get(g, "rabbit_quorum_delivery_limit")?,
            rabbit_quorum_max_memory_length: conf.get(g, "rabbit_quorum_max_memory_length")?,
            rabbit_quorum_max_memory_bytes: conf.get(g, "rabbit_quorum_max_memory_bytes")?,
            rabbit_qos_prefetch_count: conf.get(g, "rabbit_qos_prefetch_count")?,
            enable_cancel_on_failover: conf.get(g, "enable_cancel_on_failover")?,
            heartbeat_timeout_threshold: conf.get(g, "heartbeat_timeout_threshold")?,
            heartbeat_rate: conf.get(g, "heartbeat_rate")?,
            rabbit_retry_interval: secs("rabbit_retry_interval")?,
            rabbit_retry_backoff: secs("rabbit_retry_backoff")?,
            rabbit_interval_max: secs("rabbit_interval_max")?,
            kombu_reconnect_delay: conf.get(g, "kombu_reconnect_delay")?,
            kombu_missing_consumer_retry_timeout: conf
                .get(g, "kombu_missing_consumer_retry_timeout")?,
            kombu_failover_strategy: conf.get(g, "kombu_failover_strategy")?,
            rabbit_login_method: conf.get(g, "rabbit_login_method")?,
            ssl: conf.get(g, "ssl")?,
            ssl_ca_file: conf.get(g, "ssl_ca_file")?,
            ssl_cert_file: conf.get(g, "ssl_cert_file")?,
            ssl_key_file: conf.get(g, "ssl_key_file")?,
            direct_mandatory_flag: conf.get(g, "direct_mandatory_flag")?,
            kombu_compression: conf.get(g, "kombu_compression")?,
            rabbit_stream_fanout: conf.get(g, "rabbit_stream_fanout")?,
            use_queue_manager: conf.get(g, "use_queue_manager")?,
            publish_on_listener_connection: conf.get(g, "publish_on_listener_connection")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_oslo() {
        let o = MessagingOptions::default();
        assert_eq!(o.control_exchange, "openstack");
        assert_eq!(o.rpc_response_timeout, 60);
        assert_eq!(o.executor_thread_pool_size, 64);
        assert!(o.transport_url.is_none());
        let r = RabbitOptions::default();
        assert!(!r.amqp_durable_queues && !r.amqp_auto_delete && !r.rabbit_quorum_queue);
        assert_eq!(r.rabbit_transient_queues_ttl, 1800);
        assert_eq!(r.heartbeat_timeout_threshold, 60);
        assert_eq!(r.rabbit_qos_prefetch_count, 0);
        assert_eq!(r.kombu_missing_consumer_retry_timeout, 60);
        assert!(r.direct_mandatory_flag);
        assert!(r.validate().is_ok());
    }

    #[test]
    fn set_parses_and_rejects() {
        let mut r = RabbitOptions::default();
        r.set("rabbit_quorum_queue", "True").unwrap();
        r.set("heartbeat_timeout_threshold", "30").unwrap();
        assert!(r.rabbit_quorum_queue);
        assert_eq!(r.heartbeat_timeout_threshold, 30);
        assert!(matches!(
            r.set("heartbeat_timeout_threshold", "x"),
            Err(Error::InvalidOption { .. })
        ));
        assert!(r.set("bogus", "1").is_err());
        r.set("rabbit_ha_queues", "1").unwrap();
        assert!(r.validate().is_err());
    }

    #[test]
    fn reconnect_delay_backs_off_to_max() {
        let r = RabbitOptions::default();
        assert_eq!(r.reconnect_delay(0), Duration::from_secs(1));
        assert_eq!(r.reconnect_delay(1), Duration::from_secs(3));
        assert_eq!(r.reconnect_delay(100), Duration::from_secs(30));
    }

    #[test]
    fn debug_redacts_url_password() {
        let o = MessagingOptions {
            transport_url: Some("rabbit://u:s3cr3tpw@h:5672/".into()),
            ..Default::default()
        };
        let d = format!("{o:?}");
        assert!(!d.contains("s3cr3tpw"), "{d}");
        assert!(d.contains("h:5672"), "{d}");
    }

    use fjord_config::{ConfigSource, EnvSource, Error as ConfigError};

    fn conf(env: EnvSource, sources: Vec<ConfigSource>) -> Result<ConfigOpts, ConfigError> {
        let mut conf = ConfigOpts::new("t").env_source(env);
        MessagingOptions::register(&mut conf)?;
        conf.load(sources)?;
        Ok(conf)
    }

    #[test]
    fn defaults_match_the_struct_defaults() {
        let conf = conf(EnvSource::Off, vec![]).unwrap();
        assert_eq!(
            MessagingOptions::from_conf(&conf).unwrap(),
            MessagingOptions::default()
        );
    }

    #[test]
    fn every_rabbit_option_is_one_set_accepts() {
        let mut r = RabbitOptions::default();
        for opt in RabbitOptions::opts() {
            let value = match opt.default_value() {
                Some(v) => v.to_string(),
                None => String::new(),
            };
            r.set(opt.name(), &value)
                .unwrap_or_else(|e| panic!("{}: {e}", opt.name()));
        }
    }

    #[test]
    fn file_values_deprecated_names_and_env_override() {
        let dir = std::env::temp_dir().join(format!("fjord-messaging-opts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("m.conf");
        std::fs::write(
            &file,
            "[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:5672/\ncontrol_exchange = nova\n\
             rpc_thread_pool_size = 8\n\
             [oslo_messaging_rabbit]\nrabbit_quorum_queue = true\nrabbit_use_ssl = yes\n\
             rabbit_retry_backoff = 5\nkombu_reconnect_delay = 0.5\n",
        )
        .unwrap();
        let env = EnvSource::Map(
            [
                (
                    "OS_DEFAULT__CONTROL_EXCHANGE".to_owned(),
                    "cinder".to_owned(),
                ),
                (
                    "OS_OSLO_MESSAGING_RABBIT__HEARTBEAT_TIMEOUT_THRESHOLD".to_owned(),
                    "0".to_owned(),
                ),
            ]
            .into(),
        );
        let conf = conf(env, vec![ConfigSource::File(file)]).unwrap();
        let o = MessagingOptions::from_conf(&conf).unwrap();
        assert_eq!(
            o.transport_url.as_deref(),
            Some("rabbit://u:p@127.0.0.1:5672/")
        );
        assert_eq!(o.control_exchange, "cinder");
        assert_eq!(o.executor_thread_pool_size, 8);
        assert!(o.rabbit.rabbit_quorum_queue && o.rabbit.ssl);
        assert_eq!(o.rabbit.rabbit_retry_backoff, 5.0);
        assert_eq!(o.rabbit.kombu_reconnect_delay, 0.5);
        assert_eq!(o.rabbit.heartbeat_timeout_threshold, 0);
        assert!(
            conf.option_lines().iter().all(|l| !l.contains("u:p@")),
            "transport_url is secret"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_choice_is_an_error() {
        let env = EnvSource::Map(
            [(
                "OS_OSLO_MESSAGING_RABBIT__KOMBU_FAILOVER_STRATEGY".to_owned(),
                "random".to_owned(),
            )]
            .into(),
        );
        let err = conf(env, vec![]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("kombu_failover_strategy"), "{err}");
    }

    #[test]
    fn url_query_keys_override_the_options() {
        use crate::url::TransportUrl;
        let u = TransportUrl::parse(
            "rabbit://h/?rabbit_quorum_queue=true&heartbeat_timeout_threshold=30&ssl=1",
        )
        .unwrap();
        let o = RabbitOptions::default().with_query(&u).unwrap();
        assert!(o.rabbit_quorum_queue && o.ssl);
        assert_eq!(o.heartbeat_timeout_threshold, 30);
        let u = TransportUrl::parse("rabbit://h/?a=1&a=2").unwrap();
        assert_eq!(u.query(), &[("a".to_string(), "1,2".to_string())]);
        let e = RabbitOptions::default().with_query(&u).unwrap_err();
        assert!(e.to_string().contains("unknown option"), "{e}");
    }
}
