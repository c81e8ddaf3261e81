//! The messaging options declared with fjord-config (namespace
//! `fjord.messaging`), with oslo.messaging's names, groups, types, defaults
//! and help: `[DEFAULT]` `transport_url` (secret), `control_exchange`,
//! `rpc_response_timeout`, `executor_thread_pool_size`, `rpc_ping_enabled`,
//! and the `[oslo_messaging_rabbit]` options [`RabbitOptions`] supports.
//!
//! ```
//! use fjord_config::{ConfigOpts, EnvSource};
//! use fjord_messaging::{MessagingOptions, opts};
//!
//! let mut conf = ConfigOpts::new("worker").env_source(EnvSource::Off);
//! opts::register(&mut conf)?;
//! conf.load(vec![])?;
//! let options = MessagingOptions::from_conf(&conf)?;
//! assert_eq!(options, MessagingOptions::default());
//! # Ok::<(), fjord_config::Error>(())
//! ```

use fjord_config::{ConfigOpts, Error, Namespace, Opt, OptGroup};

use crate::options::{MessagingOptions, RabbitOptions};

/// The namespace name of the messaging options.
pub const NAMESPACE: &str = "fjord.messaging";
/// The RabbitMQ driver's group.
pub const RABBIT_GROUP: &str = "oslo_messaging_rabbit";

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

/// The `[oslo_messaging_rabbit]` options.
pub fn rabbit_opts() -> Vec<Opt> {
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
    ]
}

/// The `fjord.messaging` namespace (for generators and validators).
pub fn namespace() -> Namespace {
    Namespace::new(NAMESPACE)
        .group("DEFAULT", default_opts())
        .group(
            OptGroup::new(RABBIT_GROUP).help("The RabbitMQ driver."),
            rabbit_opts(),
        )
}

/// Registers the [`namespace`] on `conf`.
///
/// # Errors
///
/// [`Error::DuplicateOpt`] if one of the names is registered differently.
pub fn register(conf: &mut ConfigOpts) -> Result<(), Error> {
    conf.register_namespace(&namespace())
}

impl RabbitOptions {
    /// Reads the `[oslo_messaging_rabbit]` group. A transport URL's query
    /// keys still override these when the transport is created.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
        let g = RABBIT_GROUP;
        let secs = |name: &str| -> Result<f64, Error> { Ok(conf.get::<i64>(g, name)? as f64) };
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
        })
    }
}

impl MessagingOptions {
    /// Reads the `[DEFAULT]` messaging options and `[oslo_messaging_rabbit]`.
    /// An empty `transport_url` is `None`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchOpt`] if [`register`] was not called.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, Error> {
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

#[cfg(test)]
mod tests {
    use fjord_config::{ConfigSource, EnvSource};

    use super::*;

    fn conf(env: EnvSource, sources: Vec<ConfigSource>) -> Result<ConfigOpts, Error> {
        let mut conf = ConfigOpts::new("t").env_source(env);
        register(&mut conf)?;
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
        for opt in rabbit_opts() {
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
}
