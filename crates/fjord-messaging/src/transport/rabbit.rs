//! The RabbitMQ driver on lapin (WIRE.md §2-§4): topology, properties,
//! publisher confirms, failover and reconnect.
//!
//! * Sending uses one connection with one confirm-mode channel, opened on
//!   first use and re-opened after a failure; exchanges are declared once
//!   per channel before the first publish to them.
//! * Each listener (RPC server, reply queue, notification listener) owns a
//!   connection and a supervisor task: it declares its queues and bindings,
//!   consumes with manual ack, and after the broker drops the connection
//!   reconnects with back-off (trying the hosts round-robin) and declares
//!   everything again.
//! * With `publish_on_listener_connection`, a listener also opens a
//!   confirm-mode channel on its connection and lends it to the sender,
//!   which then publishes on it rather than open a connection of its own
//!   (while no listener runs, or after the lent channel failed, it opens
//!   its own as above).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{FutureExt, StreamExt};
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use rand::seq::SliceRandom;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{
    ACK_BATCH, Acker, Deliver, Destination, Driver, IncomingMessage, ListenSpec, Listener,
    ListenerControl, OutgoingMessage, Subscription, TransportHost, TransportUrl,
};
use crate::error::{Error, Result};
use crate::message::new_id;
use crate::options::{MessagingOptions, RabbitOptions};

struct Shared {
    hosts: Vec<TransportHost>,
    vhost: String,
    opts: RabbitOptions,
    next_host: AtomicUsize,
    closed: CancellationToken,
    connection_name: String,
    /// With `publish_on_listener_connection`: a listener's channel the
    /// publisher may use.
    lent: std::sync::Mutex<Option<Lent>>,
    next_session: std::sync::atomic::AtomicU64,
}

/// A confirm-mode channel on a listener session's connection.
struct Lent {
    session: u64,
    host: usize,
    channel: Channel,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitDriver")
            .field(
                "hosts",
                &self.hosts.iter().map(|h| h.address()).collect::<Vec<_>>(),
            )
            .field("vhost", &self.vhost)
            .finish()
    }
}

struct Publisher {
    /// Its own connection; `None` on a listener's lent channel.
    conn: Option<Connection>,
    /// The index of its host in `Shared::hosts`.
    host: usize,
    /// Shared by the sends in flight (an `Arc` clone is cheaper than a
    /// lapin `Channel` clone, which clones several handles).
    channel: Arc<Channel>,
    declared: HashSet<String>,
    generation: u64,
}

/// The RabbitMQ driver. See the module docs.
pub struct RabbitDriver {
    shared: Arc<Shared>,
    publisher: Mutex<Option<Publisher>>,
    generation: AtomicUsize,
}

impl std::fmt::Debug for RabbitDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shared.fmt(f)
    }
}

enum SendError {
    /// The connection or channel failed while doing `what`: reconnect and
    /// retry.
    Retry {
        what: String,
        source: Option<lapin::Error>,
    },
    /// Retrying cannot help.
    Fatal(Error),
}

impl SendError {
    /// The error to return once the retries are used up.
    fn into_error(self, dest: &Destination) -> Error {
        match self {
            SendError::Fatal(e) => e,
            SendError::Retry { what, source } => {
                let context = format!("publishing to {dest} failed: {what}");
                match source {
                    Some(e) => Error::broker(context, e),
                    None => Error::connection(context),
                }
            }
        }
    }
}

fn lapin_err(what: &str, e: lapin::Error) -> SendError {
    if e.is_amqp_soft_error() {
        // For example PRECONDITION_FAILED: the same declare fails again.
        SendError::Fatal(Error::broker(what, e))
    } else {
        SendError::Retry {
            what: what.to_string(),
            source: Some(e),
        }
    }
}

fn queue_args(opts: &RabbitOptions, quorum: bool, expires: bool) -> FieldTable {
    let mut t = FieldTable::default();
    if opts.rabbit_ha_queues {
        t.insert("x-ha-policy".into(), AMQPValue::LongString("all".into()));
    }
    if expires && opts.rabbit_transient_queues_ttl > 0 {
        let ms =
            (opts.rabbit_transient_queues_ttl.saturating_mul(1000)).min(i32::MAX as u64) as i32;
        t.insert("x-expires".into(), AMQPValue::LongInt(ms));
    }
    if quorum {
        t.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        // py-amqp sends these as signed 32-bit ints.
        let lim = |v: u64| AMQPValue::LongInt(v.min(i32::MAX as u64) as i32);
        if opts.rabbit_quorum_delivery_limit > 0 {
            t.insert(
                "x-delivery-limit".into(),
                lim(opts.rabbit_quorum_delivery_limit),
            );
        }
        if opts.rabbit_quorum_max_memory_length > 0 {
            t.insert(
                "x-max-in-memory-length".into(),
                lim(opts.rabbit_quorum_max_memory_length),
            );
        }
        if opts.rabbit_quorum_max_memory_bytes > 0 {
            t.insert(
                "x-max-in-memory-bytes".into(),
                lim(opts.rabbit_quorum_max_memory_bytes),
            );
        }
    }
    t
}

/// One queue a listener declares, binds and consumes.
#[derive(Debug, Clone)]
struct QueueSpec {
    name: String,
    durable: bool,
    auto_delete: bool,
    args: FieldTable,
    /// (exchange, kind, durable, auto_delete, routing key)
    bind: Option<(String, ExchangeKind, bool, bool, String)>,
    delete_on_stop: bool,
}

impl Shared {
    fn control_exchange_flags(&self) -> (bool, bool) {
        (
            self.opts.amqp_durable_queues || self.opts.rabbit_quorum_queue,
            self.opts.amqp_auto_delete,
        )
    }

    fn fanout_exchange_flags(&self) -> (bool, bool) {
        (self.opts.rabbit_transient_quorum_queue, true)
    }

    /// A topic, server or notification queue bound to `exchange` with `key`.
    fn durable_queue(&self, name: &str, exchange: &str, key: &str) -> QueueSpec {
        let (xd, xa) = self.control_exchange_flags();
        QueueSpec {
            name: name.to_string(),
            durable: xd,
            auto_delete: xa,
            args: queue_args(&self.opts, self.opts.rabbit_quorum_queue, false),
            bind: Some((
                exchange.to_string(),
                ExchangeKind::Topic,
                xd,
                xa,
                key.to_string(),
            )),
            delete_on_stop: false,
        }
    }

    /// A reply or fanout queue (`x-expires`, transient quorum).
    fn transient_queue(&self, name: &str) -> QueueSpec {
        QueueSpec {
            name: name.to_string(),
            durable: self.opts.rabbit_transient_quorum_queue,
            auto_delete: false,
            args: queue_args(&self.opts, self.opts.rabbit_transient_quorum_queue, true),
            bind: None,
            delete_on_stop: false,
        }
    }

    fn uri(&self, host: &TransportHost) -> AMQPUri {
        AMQPUri {
            scheme: if self.opts.ssl {
                AMQPScheme::AMQPS
            } else {
                AMQPScheme::AMQP
            },
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: host.username.clone().unwrap_or_default(),
                    password: host
                        .password
                        .as_ref()
                        .map(|p| p.expose().to_string())
                        .unwrap_or_default(),
                },
                host: host.host().to_string(),
                port: host.port_or_default(),
            },
            vhost: self.vhost.clone(),
            query: AMQPQueryString {
                heartbeat: Some(proposed_heartbeat(self.opts.heartbeat_timeout_threshold)),
                connection_timeout: Some(self.connect_timeout().as_millis() as u64),
                ..Default::default()
            },
        }
    }

    /// How long one connection attempt (TCP connect and AMQP handshake)
    /// may take: `heartbeat_timeout_threshold`, at most 10 s (10 s when
    /// heartbeats are off). A host that accepts the TCP connection and
    /// then says nothing (a hung broker) is given up after it, and the next
    /// host is tried.
    fn connect_timeout(&self) -> Duration {
        match self.opts.heartbeat_timeout_threshold {
            0 => Duration::from_secs(10),
            t => Duration::from_secs(u64::from(t).min(10)),
        }
    }

    /// Closes `conn` (`connection.close` with `code` and `text`), waiting
    /// for the broker's `close-ok` at most [`Shared::connect_timeout`]: a
    /// broker that stopped answering (or a connection lapin already gave
    /// up on) must not hold whoever closes it. Past the bound the handle is
    /// dropped; lapin ends the socket when its heartbeat or the broker does.
    async fn close_connection(&self, conn: &Connection, code: u16, text: &str) {
        let limit = self.connect_timeout();
        match tokio::time::timeout(limit, conn.close(code, ShortString::from(text))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "RabbitMQ connection.close failed"),
            Err(_) => tracing::warn!(
                ?limit,
                "RabbitMQ did not answer connection.close in time; dropping the connection"
            ),
        }
    }

    fn tls(&self) -> Result<OwnedTLSConfig> {
        let mut tls = OwnedTLSConfig::default();
        if !self.opts.ssl {
            return Ok(tls);
        }
        let read = |option: &str, path: &str| {
            std::fs::read(path).map_err(|e| Error::option_file(option, path, e))
        };
        if !self.opts.ssl_ca_file.is_empty() {
            let pem = read("ssl_ca_file", &self.opts.ssl_ca_file)?;
            tls.cert_chain = Some(String::from_utf8_lossy(&pem).into_owned());
        }
        // Client certificate (the broker may require one): a PEM chain
        // and its PEM private key, as oslo reads them.
        if !self.opts.ssl_cert_file.is_empty() {
            tls.identity = Some(OwnedIdentity::PKCS8 {
                pem: read("ssl_cert_file", &self.opts.ssl_cert_file)?,
                key: read("ssl_key_file", &self.opts.ssl_key_file)?,
            });
        }
        Ok(tls)
    }

    /// After a connection to host `i` failed: the next attempt starts with
    /// the host after it (`kombu_failover_strategy = round-robin`), not
    /// with whichever host the shared counter points at, which may be the
    /// failed one again (a silent host then costs a whole connection
    /// timeout).
    fn move_past(&self, i: usize) {
        self.next_host.store(i + 1, Ordering::Relaxed);
    }

    /// With `publish_on_listener_connection`, lends a confirm-mode channel
    /// of listener session `session`'s connection to the publisher.
    async fn lend(&self, session: u64, host: usize, conn: &Connection) {
        if !self.opts.publish_on_listener_connection {
            return;
        }
        // Bounded as a connection attempt: a broker that stopped answering
        // must not hold the listener.
        let open = async {
            let ch = conn.create_channel().await?;
            ch.confirm_select(ConfirmSelectOptions::default()).await?;
            Ok::<_, lapin::Error>(ch)
        };
        let channel = match tokio::time::timeout(self.connect_timeout(), open).await {
            Ok(Ok(ch)) => ch,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot open a channel to lend to the publisher");
                return;
            }
            Err(_) => {
                tracing::warn!("no answer while opening a channel to lend to the publisher");
                return;
            }
        };
        let mut g = self.lent.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_ref().is_none_or(|l| !l.channel.status().connected()) {
            *g = Some(Lent {
                session,
                host,
                channel,
            });
        }
    }

    /// Session `session` ended: its channel is no longer lent.
    fn unlend(&self, session: u64) {
        let mut g = self.lent.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_ref().is_some_and(|l| l.session == session) {
            *g = None;
        }
    }

    /// The lent channel and its host, when one is lent and open.
    fn lent_channel(&self) -> Option<(Channel, usize)> {
        let g = self.lent.lock().unwrap_or_else(|p| p.into_inner());
        g.as_ref()
            .filter(|l| l.channel.status().connected())
            .map(|l| (l.channel.clone(), l.host))
    }

    /// One connection attempt on every host, round-robin from the next one;
    /// the connection and the index of its host.
    async fn connect_once(&self) -> Result<(Connection, usize)> {
        let n = self.hosts.len().max(1);
        // The last failure is the error's source; earlier ones are named
        // in its text.
        let mut last: Option<(String, lapin::Error)> = None;
        let mut earlier = Vec::new();
        for _ in 0..n {
            let i = self.next_host.fetch_add(1, Ordering::Relaxed) % n;
            let Some(host) = self.hosts.get(i) else { break };
            let props = ConnectionProperties::default().with_connection_name(LongString::from(
                format!("{}:{}", self.connection_name, new_id()),
            ));
            let runtime = lapin::runtime::default_runtime()
                .map_err(|e| Error::broker("no async runtime for lapin", e))?;
            let attempt = tokio::time::timeout(
                self.connect_timeout(),
                Connection::connect_uri_with_config(self.uri(host), props, self.tls()?, runtime),
            )
            .await
            .unwrap_or_else(|_| {
                Err(lapin::Error::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no AMQP handshake within {:?} (the broker does not answer)",
                        self.connect_timeout()
                    ),
                )))
            });
            match attempt {
                Ok(c) => {
                    tracing::debug!(host = %host.address(), "connected to RabbitMQ");
                    return Ok((c, i));
                }
                Err(e) => {
                    tracing::warn!(host = %host.address(), error = %e, "RabbitMQ connection failed");
                    if let Some((address, e)) = last.replace((host.address(), e)) {
                        earlier.push(format!("{address}: {e}"));
                    }
                }
            }
        }
        match last {
            Some((address, e)) => {
                let mut context = format!("cannot connect to RabbitMQ at {address}");
                if !earlier.is_empty() {
                    context.push_str(&format!(" (also failed: {})", earlier.join("; ")));
                }
                Err(Error::broker(context, e))
            }
            None => Err(Error::connection(
                "cannot connect to RabbitMQ: no host to connect to",
            )),
        }
    }

    /// Connects, retrying with back-off: `retry` None forever, Some(n) n times.
    async fn connect(&self, retry: Option<u32>) -> Result<(Connection, usize)> {
        let mut attempt = 0u32;
        loop {
            if self.closed.is_cancelled() {
                return Err(super::closed("RabbitMQ transport"));
            }
            match self.connect_once().await {
                Ok(c) => return Ok(c),
                Err(e) => {
                    if retry.is_some_and(|r| attempt >= r) {
                        return Err(e);
                    }
                    let delay = self.opts.reconnect_delay(attempt);
                    tracing::info!(?delay, attempt, "reconnecting to RabbitMQ");
                    tokio::select! {
                        _ = self.closed.cancelled() => {}
                        _ = tokio::time::sleep(delay) => {}
                    }
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }
}

/// The AMQP heartbeat fjord proposes for `heartbeat_timeout_threshold`
/// seconds: half of it, rounded up (0 stays off). A connection is given up
/// when nothing came from the broker for two heartbeat intervals (lapin's
/// rule, py-amqp's too), so with half the threshold a silent broker is
/// found after the threshold, as the option's help says ("seconds after
/// which the broker is considered down"); proposing the threshold itself
/// would take twice as long.
fn proposed_heartbeat(threshold: u16) -> u16 {
    threshold.div_ceil(2)
}

fn properties(expiration: Option<Duration>) -> BasicProperties {
    let p = BasicProperties::default()
        .with_content_type(ShortString::from("application/json"))
        .with_content_encoding(ShortString::from("utf-8"))
        .with_delivery_mode(2)
        .with_priority(0)
        .with_headers(FieldTable::default());
    match expiration {
        Some(t) => p.with_expiration(ShortString::from(t.as_millis().to_string())),
        None => p,
    }
}

async fn declare_exchange(
    ch: &Channel,
    name: &str,
    kind: ExchangeKind,
    durable: bool,
    auto_delete: bool,
) -> lapin::Result<()> {
    ch.exchange_declare(
        ShortString::from(name),
        kind,
        ExchangeDeclareOptions {
            passive: false,
            durable,
            auto_delete,
            internal: false,
            nowait: false,
        },
        FieldTable::default(),
    )
    .await
}

async fn declare_queue(ch: &Channel, q: &QueueSpec) -> lapin::Result<()> {
    if let Some((x, kind, xd, xa, _)) = &q.bind {
        declare_exchange(ch, x, kind.clone(), *xd, *xa).await?;
    }
    ch.queue_declare(
        ShortString::from(q.name.as_str()),
        QueueDeclareOptions {
            passive: false,
            durable: q.durable,
            exclusive: false,
            auto_delete: q.auto_delete,
            nowait: false,
        },
        q.args.clone(),
    )
    .await?;
    if let Some((x, _, _, _, key)) = &q.bind {
        ch.queue_bind(
            ShortString::from(q.name.as_str()),
            ShortString::from(x.as_str()),
            ShortString::from(key.as_str()),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    Ok(())
}

/// A confirm-mode channel on `conn`.
async fn confirm_channel(conn: &Connection) -> Result<Channel> {
    let channel = conn
        .create_channel()
        .await
        .map_err(|e| Error::broker("cannot open a channel", e))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| Error::broker("confirm.select failed", e))?;
    Ok(channel)
}

impl RabbitDriver {
    /// A driver for `url` with `options` (query keys already applied to
    /// `options.rabbit`). Connects lazily; needs no runtime.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for options fjord does not support.
    pub fn new(url: &TransportUrl, options: &MessagingOptions) -> Result<Self> {
        let opts = options.rabbit.clone();
        opts.validate()?;
        if opts.ssl_cert_file.is_empty() != opts.ssl_key_file.is_empty() {
            return Err(Error::InvalidOption {
                option: if opts.ssl_cert_file.is_empty() {
                    "ssl_cert_file".into()
                } else {
                    "ssl_key_file".into()
                },
                reason:
                    "ssl_cert_file and ssl_key_file go together (a client certificate and its key)"
                        .into(),
            });
        }
        let mut hosts = url.effective_hosts();
        hosts.shuffle(&mut rand::rng());
        let process = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "fjord".into());
        Ok(RabbitDriver {
            shared: Arc::new(Shared {
                hosts,
                vhost: url.virtual_host().to_string(),
                opts,
                next_host: AtomicUsize::new(0),
                closed: CancellationToken::new(),
                connection_name: format!("{process}:{}", std::process::id()),
                lent: std::sync::Mutex::new(None),
                next_session: std::sync::atomic::AtomicU64::new(0),
            }),
            publisher: Mutex::new(None),
            generation: AtomicUsize::new(0),
        })
    }

    /// The publishing channel, connecting when there is none, its
    /// generation, and whether `declare` (an exchange or queue key, see
    /// [`RabbitDriver::try_send`]) was declared on it already: one lock per
    /// send. Each round over the hosts runs under the publisher lock
    /// (senders arriving meanwhile use its connection rather than open
    /// their own); the back-off between rounds does not, so a sender with
    /// fewer retries (`retry: Some(0)`) fails after one round of its own
    /// instead of waiting behind one that retries for ever while the broker
    /// is down.
    async fn publisher_channel(
        &self,
        retry: Option<u32>,
        declare: Option<&str>,
    ) -> Result<(Arc<Channel>, u64, bool)> {
        let mut attempt = 0u32;
        loop {
            if self.shared.closed.is_cancelled() {
                return Err(super::closed("RabbitMQ transport"));
            }
            {
                let mut g = self.publisher.lock().await;
                if let Some(p) = g.as_ref()
                    && p.channel.status().connected()
                    && p.conn.as_ref().is_none_or(|c| c.status().connected())
                {
                    let declared = declare.is_none_or(|k| p.declared.contains(k));
                    return Ok((p.channel.clone(), p.generation, declared));
                }
                if let Some((channel, host)) = self.shared.lent_channel() {
                    let generation = self.generation.fetch_add(1, Ordering::Relaxed) as u64 + 1;
                    let channel = Arc::new(channel);
                    *g = Some(Publisher {
                        conn: None,
                        host,
                        channel: channel.clone(),
                        declared: HashSet::new(),
                        generation,
                    });
                    return Ok((channel, generation, declare.is_none()));
                }
                let connected = tokio::select! {
                    _ = self.shared.closed.cancelled() => {
                        return Err(super::closed("RabbitMQ transport"));
                    }
                    c = self.shared.connect_once() => c,
                };
                // Opening the channel is part of the attempt, bounded as a
                // connection is (it runs under the publisher lock), and
                // its failure is retried like a connection's.
                let limit = self.shared.connect_timeout();
                let failure = match connected {
                    Ok((conn, host)) => {
                        match tokio::time::timeout(limit, confirm_channel(&conn)).await {
                            Ok(Ok(channel)) => {
                                let generation =
                                    self.generation.fetch_add(1, Ordering::Relaxed) as u64 + 1;
                                let channel = Arc::new(channel);
                                *g = Some(Publisher {
                                    conn: Some(conn),
                                    host,
                                    channel: channel.clone(),
                                    declared: HashSet::new(),
                                    generation,
                                });
                                return Ok((channel, generation, declare.is_none()));
                            }
                            Ok(Err(e)) => {
                                self.shared.move_past(host);
                                tracing::warn!(error = %e, "cannot open the publishing channel");
                                e
                            }
                            Err(_) => {
                                self.shared.move_past(host);
                                let e = Error::connection(format!(
                                    "no answer from RabbitMQ within {limit:?} while opening the publishing channel"
                                ));
                                tracing::warn!(error = %e, "cannot open the publishing channel");
                                e
                            }
                        }
                    }
                    Err(e) => e,
                };
                if retry.is_some_and(|r| attempt >= r) {
                    return Err(failure);
                }
            }
            let delay = self.shared.opts.reconnect_delay(attempt);
            tracing::info!(?delay, attempt, "reconnecting to RabbitMQ to publish");
            tokio::select! {
                _ = self.shared.closed.cancelled() => {}
                _ = tokio::time::sleep(delay) => {}
            }
            attempt = attempt.saturating_add(1);
        }
    }

    /// Closes the publisher of `generation`; after a connection failure
    /// (`failed`) the next connection starts with the next host.
    ///
    /// The close runs in the background, outside the publisher lock: a
    /// connection that is failing may take the whole close bound to
    /// answer, and senders must not wait for it.
    async fn drop_publisher(&self, generation: u64, failed: bool) {
        let dropped = {
            let mut g = self.publisher.lock().await;
            if g.as_ref().is_some_and(|p| p.generation == generation) {
                g.take()
            } else {
                None
            }
        };
        // A lent channel is the listener's to close.
        if let Some(p) = dropped
            && let Some(conn) = p.conn
        {
            if failed {
                self.shared.move_past(p.host);
            }
            let shared = self.shared.clone();
            tokio::spawn(async move {
                shared.close_connection(&conn, 320, "reconnecting").await;
            });
        }
    }

    /// Declares `key` with `f` on the publisher of `generation` and
    /// remembers it.
    async fn declare(
        &self,
        generation: u64,
        key: &str,
        f: impl std::future::Future<Output = lapin::Result<()>>,
    ) -> std::result::Result<(), SendError> {
        f.await
            .map_err(|e| lapin_err(&format!("declaring {key}"), e))?;
        let mut g = self.publisher.lock().await;
        if let Some(p) = g.as_mut().filter(|p| p.generation == generation) {
            p.declared.insert(key.to_string());
        }
        Ok(())
    }

    async fn try_send(
        &self,
        dest: &Destination,
        message: &OutgoingMessage,
    ) -> std::result::Result<(), (SendError, Option<u64>)> {
        // What publishing to `dest` needs declared first, by key.
        let declare_key = match dest {
            Destination::Topic { exchange, .. } => Some(format!("x:{exchange}")),
            Destination::Fanout { topic } => Some(format!("x:{topic}_fanout")),
            Destination::Reply { .. } => None,
            Destination::Notification { exchange, queue } => Some(format!("q:{exchange}:{queue}")),
        };
        let (ch, generation, declared) = self
            .publisher_channel(message.retry, declare_key.as_deref())
            .await
            .map_err(|e| (SendError::Fatal(e), None))?;
        let s = &self.shared;
        let fail = |e: SendError| (e, Some(generation));
        let key = declare_key.as_deref().unwrap_or("");
        let (exchange, routing_key): (&str, &str) = match dest {
            Destination::Topic {
                exchange,
                routing_key,
            } => {
                if !declared {
                    let (d, a) = s.control_exchange_flags();
                    self.declare(
                        generation,
                        key,
                        declare_exchange(&ch, exchange, ExchangeKind::Topic, d, a),
                    )
                    .await
                    .map_err(fail)?;
                }
                (exchange, routing_key)
            }
            Destination::Fanout { .. } => {
                // The exchange is the key without its "x:".
                let x = &key[2..];
                if !declared {
                    let (d, a) = s.fanout_exchange_flags();
                    self.declare(
                        generation,
                        key,
                        declare_exchange(&ch, x, ExchangeKind::Fanout, d, a),
                    )
                    .await
                    .map_err(fail)?;
                }
                (x, "")
            }
            Destination::Reply { queue } => ("", queue),
            Destination::Notification { exchange, queue } => {
                if !declared {
                    let q = s.durable_queue(queue, exchange, queue);
                    self.declare(generation, key, declare_queue(&ch, &q))
                        .await
                        .map_err(fail)?;
                }
                (exchange, queue)
            }
        };
        let confirm = ch
            .basic_publish(
                ShortString::from(exchange),
                ShortString::from(routing_key),
                BasicPublishOptions {
                    mandatory: message.mandatory,
                    immediate: false,
                },
                &message.body,
                properties(message.expiration),
            )
            .await
            .map_err(|e| fail(lapin_err("basic.publish", e)))?
            .await
            .map_err(|e| fail(lapin_err("publisher confirm", e)))?;
        if confirm.is_nack() {
            return Err(fail(SendError::Retry {
                what: "the broker nacked the publish".into(),
                source: None,
            }));
        }
        if confirm.take_message().is_some() {
            return Err((SendError::Fatal(Error::Unroutable(dest.to_string())), None));
        }
        Ok(())
    }
}

impl RabbitDriver {
    /// The queues a listener for `spec` declares and consumes, and its
    /// address (the reply queue's name).
    fn listener_queues(&self, spec: &ListenSpec) -> (Option<String>, Vec<QueueSpec>) {
        let s = &self.shared;
        match spec {
            ListenSpec::Rpc {
                exchange,
                topic,
                server,
            } => {
                let server_q = format!("{topic}.{server}");
                let mut fanout = s.transient_queue(&format!("{topic}_fanout_{}", new_id()));
                let (fd, fa) = s.fanout_exchange_flags();
                fanout.bind = Some((
                    format!("{topic}_fanout"),
                    ExchangeKind::Fanout,
                    fd,
                    fa,
                    topic.clone(),
                ));
                fanout.delete_on_stop = true;
                let queues = vec![
                    s.durable_queue(topic, exchange, topic),
                    s.durable_queue(&server_q, exchange, &server_q),
                    fanout,
                ];
                (None, queues)
            }
            ListenSpec::Replies => {
                let name = format!("reply_{}", new_id());
                let queues = vec![s.transient_queue(&name)];
                (Some(name), queues)
            }
            ListenSpec::Notifications {
                exchange,
                keys,
                pool,
            } => {
                let mut v: Vec<QueueSpec> = Vec::new();
                for key in keys {
                    let name = pool.clone().unwrap_or_else(|| key.clone());
                    v.push(s.durable_queue(&name, exchange, key));
                }
                (None, v)
            }
        }
    }

    /// Starts the supervisor of a listener for `spec` feeding `sink`;
    /// returns once it consumes (or failed to): its address, its control
    /// and the token cancelled when it has stopped for good.
    async fn start_listener(
        &self,
        spec: &ListenSpec,
        sink: Sink,
    ) -> Result<(Option<String>, RabbitControl, CancellationToken)> {
        let s = &self.shared;
        let (address, queues) = self.listener_queues(spec);
        let stop = s.closed.child_token();
        let (ready_tx, ready_rx) = oneshot::channel();
        let done = CancellationToken::new();
        tokio::spawn(supervise(
            s.clone(),
            queues,
            sink,
            stop.clone(),
            ready_tx,
            done.clone(),
        ));
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(super::closed("RabbitMQ listener")),
        }
        let control = RabbitControl {
            stop,
            done: done.clone(),
        };
        Ok((address, control, done))
    }
}

#[async_trait]
impl Driver for RabbitDriver {
    async fn send(&self, dest: &Destination, message: OutgoingMessage) -> Result<()> {
        let mut attempt = 0u32;
        loop {
            if self.shared.closed.is_cancelled() {
                return Err(super::closed("RabbitMQ transport"));
            }
            match self.try_send(dest, &message).await {
                Ok(()) => return Ok(()),
                Err((SendError::Fatal(e), generation)) => {
                    if let Some(g) = generation {
                        self.drop_publisher(g, false).await;
                    }
                    return Err(e);
                }
                Err((e @ SendError::Retry { .. }, generation)) => {
                    if let Some(g) = generation {
                        self.drop_publisher(g, true).await;
                    }
                    let e = e.into_error(dest);
                    if message.retry.is_some_and(|r| attempt >= r) {
                        return Err(e);
                    }
                    let delay = self.shared.opts.reconnect_delay(attempt);
                    tracing::warn!(error = %e, ?delay, "publish failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }

    async fn listen(&self, spec: ListenSpec) -> Result<Listener> {
        let (tx, rx) = mpsc::channel(256);
        let (address, control, _) = self.start_listener(&spec, Sink::Queue(tx)).await?;
        Ok(Listener {
            address,
            receiver: rx,
            control: Box::new(control),
        })
    }

    /// Calls `deliver` from the listener's session task: no task between
    /// the consumer and the RPC server or reply router.
    async fn listen_with(
        &self,
        spec: ListenSpec,
        deliver: Arc<dyn Deliver>,
    ) -> Result<Subscription> {
        let (address, control, done) = self.start_listener(&spec, Sink::Deliver(deliver)).await?;
        Ok(Subscription::new(address, Box::new(control), done))
    }

    async fn close(&self) {
        self.shared.closed.cancel();
        if let Some(conn) = self.publisher.lock().await.take().and_then(|p| p.conn) {
            self.shared.close_connection(&conn, 200, "closing").await;
        }
    }
}

#[derive(Debug)]
struct RabbitControl {
    stop: CancellationToken,
    done: CancellationToken,
}

#[async_trait]
impl ListenerControl for RabbitControl {
    async fn stop(&self) {
        self.stop.cancel();
        // Bounded: the supervisor closes its connection promptly.
        let _ = tokio::time::timeout(Duration::from_secs(10), self.done.cancelled()).await;
    }
}

/// Where a listener's messages go.
enum Sink {
    /// Each message into a channel ([`Driver::listen`]).
    Queue(mpsc::Sender<IncomingMessage>),
    /// Bursts of messages to a [`Deliver`], called from the session task
    /// ([`Driver::listen_with`]).
    Deliver(Arc<dyn Deliver>),
}

/// Why a consuming session ended.
enum SessionEnd {
    Stopped,
    Lost(String),
}

/// Opens the listener's channel, declares its queues and bindings and
/// starts its consumers.
async fn setup(
    s: &Shared,
    conn: &Connection,
    queues: &[QueueSpec],
) -> Result<(Channel, Vec<lapin::Consumer>)> {
    let ch = conn
        .create_channel()
        .await
        .map_err(|e| Error::broker("cannot open a channel", e))?;
    if s.opts.rabbit_qos_prefetch_count > 0 {
        ch.basic_qos(s.opts.rabbit_qos_prefetch_count, BasicQosOptions::default())
            .await
            .map_err(|e| Error::broker("basic.qos failed", e))?;
    }
    for q in queues {
        declare_queue(&ch, q)
            .await
            .map_err(|e| Error::broker(format!("declaring queue {}", q.name), e))?;
    }
    let mut consume_args = FieldTable::default();
    if s.opts.enable_cancel_on_failover {
        consume_args.insert("x-cancel-on-ha-failover".into(), AMQPValue::Boolean(true));
    }
    let mut streams = Vec::new();
    for (i, q) in queues.iter().enumerate() {
        let c = ch
            .basic_consume(
                ShortString::from(q.name.as_str()),
                ShortString::from((i + 1).to_string()),
                BasicConsumeOptions {
                    no_local: false,
                    no_ack: false,
                    exclusive: false,
                    nowait: false,
                },
                consume_args.clone(),
            )
            .await
            .map_err(|e| Error::broker(format!("basic.consume on {}", q.name), e))?;
        streams.push(c);
    }
    Ok((ch, streams))
}

/// Whether the session's connection and channel are still up.
fn alive(conn: &Connection, ch: &Channel) -> bool {
    conn.status().connected() && ch.status().connected()
}

/// Ends a session on `stop`: cancels its consumers, deletes its
/// `delete_on_stop` queues and closes the connection, all within one
/// [`Shared::connect_timeout`] so that a broker that stopped answering
/// cannot hold a stopping listener.
async fn shutdown(s: &Shared, conn: &Connection, ch: &Channel, queues: &[QueueSpec]) {
    let limit = s.connect_timeout();
    let goodbye = async {
        for i in 0..queues.len() {
            let _ = ch
                .basic_cancel(
                    ShortString::from((i + 1).to_string()),
                    BasicCancelOptions::default(),
                )
                .await;
        }
        for q in queues.iter().filter(|q| q.delete_on_stop) {
            if let Err(e) = ch
                .queue_delete(
                    ShortString::from(q.name.as_str()),
                    QueueDeleteOptions::default(),
                )
                .await
            {
                tracing::warn!(queue = %q.name, error = %e, "cannot delete queue");
            }
        }
        let _ = conn.close(200, ShortString::from("stopping")).await;
    };
    if tokio::time::timeout(limit, goodbye).await.is_err() {
        tracing::warn!(
            ?limit,
            "RabbitMQ did not answer a stopping listener in time; dropping its connection"
        );
    }
}

/// One consuming session on `conn`: declares and consumes (bounded), then
/// hands deliveries to `tx` until `stop` or the connection is lost. Its
/// messages' ackers stop waiting once it has returned.
/// `(id, host)` name the session and its host for [`Shared::lend`].
async fn session(
    s: &Shared,
    (id, host): (u64, usize),
    conn: &Connection,
    queues: &[QueueSpec],
    sink: &Sink,
    stop: &CancellationToken,
    ready: &mut Option<oneshot::Sender<Result<()>>>,
) -> Result<SessionEnd> {
    let ended = CancellationToken::new();
    let _ended_on_return = ended.clone().drop_guard();
    // A broker that accepted the connection but does not answer (a node
    // still starting, or hung) must not hold the listener: the setup is
    // bounded as a connection attempt is, then retried.
    let limit = s.connect_timeout();
    let (ch, streams) = tokio::time::timeout(limit, setup(s, conn, queues))
        .await
        .map_err(|_| {
            Error::connection(format!(
                "no answer from RabbitMQ within {limit:?} while declaring and consuming {}",
                queues
                    .iter()
                    .map(|q| q.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })??;
    // Shared by the ackers of its deliveries.
    let ch = Arc::new(ch);
    s.lend(id, host, conn).await;
    if let Some(r) = ready.take() {
        let _ = r.send(Ok(()));
    }
    let mut merged = futures_util::stream::select_all(streams);
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                shutdown(s, conn, &ch, queues).await;
                return Ok(SessionEnd::Stopped);
            }
            _ = check.tick() => {
                if !alive(conn, &ch) {
                    return Ok(SessionEnd::Lost("connection closed".into()));
                }
            }
            item = merged.next() => match item {
                None => return Ok(SessionEnd::Lost("consumers ended".into())),
                Some(Err(e)) => return Ok(SessionEnd::Lost(e.to_string())),
                Some(Ok(d)) => {
                    let m = incoming(d, &ch, &ended);
                    let tx = match sink {
                        Sink::Queue(tx) => tx,
                        Sink::Deliver(deliver) => {
                            // The deliveries already there join it, up to
                            // a burst.
                            let mut burst = Vec::with_capacity(ACK_BATCH);
                            burst.push(m);
                            let mut lost = None;
                            while burst.len() < ACK_BATCH {
                                match merged.next().now_or_never() {
                                    Some(Some(Ok(d))) => burst.push(incoming(d, &ch, &ended)),
                                    Some(None) => {
                                        lost = Some("consumers ended".to_string());
                                        break;
                                    }
                                    Some(Some(Err(e))) => {
                                        lost = Some(e.to_string());
                                        break;
                                    }
                                    None => break,
                                }
                            }
                            let delivered = deliver.deliver(&mut burst);
                            tokio::pin!(delivered);
                            // Meanwhile a lost connection ends the ackers'
                            // waits (the burst's settlements may never be
                            // answered), not the session: the deliverer
                            // finishes its burst first.
                            loop {
                                tokio::select! {
                                    biased;
                                    _ = &mut delivered => break,
                                    _ = check.tick() => {
                                        if !alive(conn, &ch) {
                                            ended.cancel();
                                        }
                                    }
                                }
                            }
                            if let Some(why) = lost {
                                return Ok(SessionEnd::Lost(why));
                            }
                            if ended.is_cancelled() {
                                return Ok(SessionEnd::Lost("connection closed".into()));
                            }
                            continue;
                        }
                    };
                    // Waiting for room (a busy consumer) still watches
                    // `stop` and the connection: a consumer that waits for
                    // this session to end (an ack) must see it end.
                    let mut m = Some(m);
                    while let Some(msg) = m.take() {
                        tokio::select! {
                            biased;
                            _ = stop.cancelled() => {
                                shutdown(s, conn, &ch, queues).await;
                                return Ok(SessionEnd::Stopped);
                            }
                            permit = tx.reserve() => match permit {
                                Ok(p) => p.send(msg),
                                // Nobody reads any more: stop.
                                Err(_) => stop.cancel(),
                            },
                            _ = check.tick() => {
                                if !alive(conn, &ch) {
                                    return Ok(SessionEnd::Lost("connection closed".into()));
                                }
                                m = Some(msg);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A delivery of session channel `ch` as a message; `ended` is the
/// session's end.
fn incoming(
    d: lapin::message::Delivery,
    ch: &Arc<Channel>,
    ended: &CancellationToken,
) -> IncomingMessage {
    let compressed = d
        .properties
        .headers()
        .as_ref()
        .is_some_and(|h| h.inner().contains_key("compression"));
    IncomingMessage {
        content_type: d.properties.content_type().as_ref().map(|c| c.to_string()),
        compressed,
        body: d.data,
        acker: Acker::lapin(ch.clone(), d.delivery_tag, ended.clone()),
    }
}

async fn supervise(
    s: Arc<Shared>,
    queues: Vec<QueueSpec>,
    sink: Sink,
    stop: CancellationToken,
    ready: oneshot::Sender<Result<()>>,
    done: CancellationToken,
) {
    let mut ready = Some(ready);
    let mut attempt = 0u32;
    loop {
        if stop.is_cancelled() {
            break;
        }
        // The first connection fails fast (the caller sees the error);
        // later ones retry for ever.
        let retry = Some(0);
        let conn = tokio::select! {
            _ = stop.cancelled() => break,
            c = s.connect(retry) => c,
        };
        let (conn, host) = match conn {
            Ok(c) => c,
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    break;
                }
                let delay = s.opts.reconnect_delay(attempt);
                attempt = attempt.saturating_add(1);
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        let id = s.next_session.fetch_add(1, Ordering::Relaxed);
        let ended = session(&s, (id, host), &conn, &queues, &sink, &stop, &mut ready).await;
        s.unlend(id);
        match ended {
            Ok(SessionEnd::Stopped) => break,
            Ok(SessionEnd::Lost(why)) => {
                attempt = 0;
                s.move_past(host);
                tracing::warn!(
                    error = %why,
                    host = %s.hosts.get(host).map(|h| h.address()).unwrap_or_default(),
                    "RabbitMQ listener lost its connection; reconnecting"
                );
            }
            Err(e) => {
                s.close_connection(&conn, 320, "setup failed").await;
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    break;
                }
                tracing::warn!(error = %e, "RabbitMQ listener setup failed; retrying");
                attempt = attempt.saturating_add(1);
            }
        }
        let delay = Duration::from_secs_f64(s.opts.kombu_reconnect_delay.max(0.0));
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    done.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposed_heartbeat_is_half_the_threshold_rounded_up() {
        assert_eq!(proposed_heartbeat(60), 30);
        assert_eq!(proposed_heartbeat(5), 3);
        assert_eq!(proposed_heartbeat(1), 1);
        assert_eq!(proposed_heartbeat(0), 0, "0 keeps heartbeats off");
    }
}
