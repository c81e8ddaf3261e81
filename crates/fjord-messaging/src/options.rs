//! Options with oslo.messaging's names and defaults.
//!
//! [`MessagingOptions`] holds the `[DEFAULT]` options, [`RabbitOptions`] the
//! `[oslo_messaging_rabbit]` ones that change the topology or the
//! connection. The config crate registers them; here they are plain structs
//! whose `Default` is oslo's default.

use std::time::Duration;

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
            crate::transport::TransportUrl::parse(u)
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
    /// `heartbeat_timeout_threshold`: seconds of AMQP heartbeat proposed (0: off). Default is 60.
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
        }
    }
}

fn parse_bool(option: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::InvalidOption {
            option: option.into(),
            reason: format!("{value:?} is not a boolean"),
        }),
    }
}

fn parse_num<T: std::str::FromStr>(option: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::InvalidOption {
        option: option.into(),
        reason: format!("{value:?} is not a valid number"),
    })
}

impl RabbitOptions {
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
}
