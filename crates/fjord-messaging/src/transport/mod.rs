//! Transports: our own driver trait, the [`Transport`] handle with its
//! reply queue, the in-process fake driver (M12) and the RabbitMQ driver.
//!
//! The RPC and notification layers only speak to [`Driver`]; a driver only
//! moves opaque enveloped bodies between AMQP-style destinations and
//! listeners. Everything about the oslo message format lives above it, in
//! [`crate::message`]; this module depends on that one (the reply queue
//! decodes replies) and never on `rpc` or `notify`, which depend on it.

mod embedded;
mod fake;
mod rabbit;
pub(crate) mod reply;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::embedded::EmbeddedDriver;
pub use self::fake::FakeDriver;
pub use self::rabbit::RabbitDriver;
pub use crate::url::{Password, Scheme, TransportHost, TransportUrl};

use self::reply::ReplyRouter;

use crate::error::{Error, Result};
use crate::options::MessagingOptions;

/// Where a message is published.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Destination {
    /// A topic exchange (declared before publishing) and routing key:
    /// calls and casts, `<topic>` or `<topic>.<server>`.
    Topic {
        /// Exchange name (the control exchange or `target.exchange`).
        exchange: String,
        /// Routing key.
        routing_key: String,
    },
    /// The fanout exchange `<topic>_fanout`, routing key `""`.
    Fanout {
        /// The topic (the exchange is `<topic>_fanout`).
        topic: String,
    },
    /// A reply queue through the default exchange `""`.
    Reply {
        /// The queue name (`_reply_q`).
        queue: String,
    },
    /// A notification: the exchange, plus the queue `<topic>.<priority>`
    /// declared and bound so nothing is lost before a listener starts.
    Notification {
        /// Exchange name (the control exchange).
        exchange: String,
        /// Queue and routing key, `<topic>.<priority>`.
        queue: String,
    },
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Topic {
                exchange,
                routing_key,
            } => write!(f, "exchange {exchange:?} key {routing_key:?}"),
            Destination::Fanout { topic } => write!(f, "fanout exchange \"{topic}_fanout\""),
            Destination::Reply { queue } => write!(f, "reply queue {queue:?}"),
            Destination::Notification { exchange, queue } => {
                write!(f, "exchange {exchange:?} key {queue:?}")
            }
        }
    }
}

/// A message to publish.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OutgoingMessage {
    /// The body (an enveloped JSON document).
    pub body: Vec<u8>,
    /// AMQP `expiration` (calls only).
    pub expiration: Option<Duration>,
    /// The mandatory flag: an unroutable message fails with [`Error::Unroutable`].
    pub mandatory: bool,
    /// Connection retries: `None` forever, `Some(0)` none, `Some(n)` up to n.
    pub retry: Option<u32>,
}

impl OutgoingMessage {
    /// A message with `body`, no expiration, not mandatory, retrying forever.
    pub fn new(body: Vec<u8>) -> Self {
        OutgoingMessage {
            body,
            expiration: None,
            mandatory: false,
            retry: None,
        }
    }
}

/// What to listen to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenSpec {
    /// An RPC server: queues `<topic>`, `<topic>.<server>` and `<topic>_fanout_<uuid>`.
    Rpc {
        /// The exchange (control exchange or target exchange).
        exchange: String,
        /// The topic.
        topic: String,
        /// The server name.
        server: String,
    },
    /// This transport's reply queue `reply_<uuid>`.
    Replies,
    /// Notification queues `<topic>.<priority>` (or one shared `pool` queue).
    Notifications {
        /// The exchange.
        exchange: String,
        /// Routing keys `<topic>.<priority>`.
        keys: Vec<String>,
        /// A pool name: one queue shared by the listeners of the pool.
        pool: Option<String>,
    },
}

/// How a received message is settled.
#[derive(Debug)]
pub struct Acker(AckerInner);

#[derive(Debug)]
enum AckerInner {
    None,
    /// The delivery's channel and tag, and the token its consuming session
    /// cancels when it ends (connection lost, setup failed, listener
    /// stopped). Settled on the channel itself: a `lapin::Acker` goes
    /// through lapin's internal RPC task, which spawns one more task per
    /// settlement.
    Lapin {
        channel: Arc<lapin::Channel>,
        tag: u64,
        ended: CancellationToken,
    },
}

impl Acker {
    pub(crate) fn none() -> Self {
        Acker(AckerInner::None)
    }
    /// Delivery `tag` of `channel`; `session_ended` is cancelled once the
    /// session (connection and channel) that delivered it is gone.
    pub(crate) fn lapin(
        channel: Arc<lapin::Channel>,
        tag: u64,
        session_ended: CancellationToken,
    ) -> Self {
        Acker(AckerInner::Lapin {
            channel,
            tag,
            ended: session_ended,
        })
    }
    /// `basic.ack`. Failure (connection gone) is logged: the message then
    /// comes back after a reconnect, as with any AMQP consumer.
    pub async fn ack(&self) {
        self.ack_inner(false, "basic.ack").await;
    }
    /// `basic.ack` with `multiple`: settles this message and every earlier
    /// unsettled one of its channel (the consumer acks a batch at once).
    pub async fn ack_up_to(&self) {
        self.ack_inner(true, "basic.ack (multiple)").await;
    }
    async fn ack_inner(&self, multiple: bool, what: &str) {
        if let AckerInner::Lapin {
            channel,
            tag,
            ended,
        } = &self.0
        {
            let options = lapin::options::BasicAckOptions { multiple };
            settle(what, channel.basic_ack(*tag, options), ended).await;
        }
    }
    /// `basic.reject`, with or without requeue.
    pub async fn reject(&self, requeue: bool) {
        if let AckerInner::Lapin {
            channel,
            tag,
            ended,
        } = &self.0
        {
            let options = lapin::options::BasicRejectOptions { requeue };
            settle("basic.reject", channel.basic_reject(*tag, options), ended).await;
        }
    }
}

/// Waits for a settlement (`what`) until it is sent or the session that
/// delivered the message ends, whichever comes first. lapin does not
/// always answer a settlement queued while the connection is failing (it
/// can stay queued behind the I/O loop's stop and never be sent nor
/// failed), so waiting for it alone could block its consumer for ever;
/// once the session is gone the settlement cannot reach the broker anyway,
/// and the broker delivers the unsettled message again. Returns whether the
/// settlement was sent.
async fn settle<E: fmt::Display>(
    what: &str,
    settlement: impl std::future::Future<Output = std::result::Result<(), E>>,
    session_ended: &CancellationToken,
) -> bool {
    tokio::select! {
        biased;
        r = settlement => match r {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "{what} failed");
                false
            }
        },
        _ = session_ended.cancelled() => {
            tracing::warn!(
                "{what} not sent: the connection that delivered the message is gone \
                 (the broker delivers it again)"
            );
            false
        }
    }
}

/// Most messages one [`Acker::ack_up_to`] settles: the largest burst a
/// [`Deliver`] gets.
pub const ACK_BATCH: usize = 64;

/// Fills `out` with `first` and what `rx` already holds behind it, up to
/// [`ACK_BATCH`] messages: a burst a consumer reads, then acks at once.
pub(crate) fn take_burst(
    first: IncomingMessage,
    rx: &mut mpsc::Receiver<IncomingMessage>,
    out: &mut Vec<IncomingMessage>,
) {
    out.push(first);
    while out.len() < ACK_BATCH {
        match rx.try_recv() {
            Ok(m) => out.push(m),
            Err(_) => break,
        }
    }
}

/// A received message.
#[derive(Debug)]
#[non_exhaustive]
pub struct IncomingMessage {
    /// AMQP `content_type`.
    pub content_type: Option<String>,
    /// Whether the message carries a `compression` header (refused by fjord).
    pub compressed: bool,
    /// The body.
    pub body: Vec<u8>,
    /// Settles the message.
    pub acker: Acker,
}

/// Takes a listener's messages where they arrive (see
/// [`Driver::listen_with`]).
#[async_trait]
pub trait Deliver: Send + Sync + fmt::Debug + 'static {
    /// Handles `burst`: the messages that arrived together, in delivery
    /// order, at most [`ACK_BATCH`] (64); what is left in it afterwards is
    /// dropped unsettled. The listener takes no more messages until this
    /// returns, so it must not wait on anything but the settlements and
    /// the work it hands off.
    async fn deliver(&self, burst: &mut Vec<IncomingMessage>);
}

/// A running listener whose messages go to a [`Deliver`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Subscription {
    /// For [`ListenSpec::Replies`], the reply queue name.
    pub address: Option<String>,
    /// Stops the listener.
    pub control: Box<dyn ListenerControl>,
    ended: CancellationToken,
}

impl Subscription {
    /// A subscription whose listener cancels `ended` once it has stopped
    /// for good (stopped, or its driver closed).
    pub fn new(
        address: Option<String>,
        control: Box<dyn ListenerControl>,
        ended: CancellationToken,
    ) -> Self {
        Subscription {
            address,
            control,
            ended,
        }
    }

    /// Returns once the listener has stopped for good: it delivers no more.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn ended(&self) {
        self.ended.cancelled().await;
    }

    /// Whether the listener has stopped for good.
    pub fn is_ended(&self) -> bool {
        self.ended.is_cancelled()
    }
}

/// Stops a listener: cancels its consumers and, for an RPC server, deletes
/// its fanout queue.
#[async_trait]
pub trait ListenerControl: Send + Sync + fmt::Debug {
    /// Stops consuming. Idempotent.
    async fn stop(&self);
}

/// A running listener: incoming messages arrive on `receiver`.
#[derive(Debug)]
#[non_exhaustive]
pub struct Listener {
    /// For [`ListenSpec::Replies`], the reply queue name.
    pub address: Option<String>,
    /// Incoming messages; closed when the listener stops.
    pub receiver: mpsc::Receiver<IncomingMessage>,
    /// Stops the listener.
    pub control: Box<dyn ListenerControl>,
}

/// The driver trait every transport implements.
///
/// Drivers connect lazily: constructing one touches no runtime, so a
/// [`Transport`] can be built before fork.
#[async_trait]
pub trait Driver: Send + Sync + fmt::Debug + 'static {
    /// Publishes `message` to `dest`, declaring the exchange first when the
    /// destination needs one. Returns once the broker confirmed it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) once the retries are used up;
    /// [`Error::Unroutable`] for a returned mandatory message.
    async fn send(&self, dest: &Destination, message: OutgoingMessage) -> Result<()>;

    /// Declares what `spec` needs and starts consuming it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) when the first connection cannot be made.
    async fn listen(&self, spec: ListenSpec) -> Result<Listener>;

    /// Declares what `spec` needs, starts consuming it and hands each burst
    /// of messages to `deliver`. The default listens with
    /// [`Driver::listen`] and passes the messages on from a task of its
    /// own; a driver may call `deliver` from its consuming task instead,
    /// which saves a task switch per burst (the RabbitMQ driver does).
    ///
    /// # Errors
    ///
    /// As [`Driver::listen`].
    async fn listen_with(
        &self,
        spec: ListenSpec,
        deliver: Arc<dyn Deliver>,
    ) -> Result<Subscription> {
        let listener = self.listen(spec).await?;
        let ended = CancellationToken::new();
        let mut rx = listener.receiver;
        let done = ended.clone();
        tokio::spawn(async move {
            let mut burst = Vec::with_capacity(ACK_BATCH);
            while let Some(first) = rx.recv().await {
                take_burst(first, &mut rx, &mut burst);
                deliver.deliver(&mut burst).await;
                burst.clear();
            }
            done.cancel();
        });
        Ok(Subscription::new(listener.address, listener.control, ended))
    }

    /// Closes the connections. Listeners end.
    async fn close(&self);
}

pub(crate) struct TransportInner {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) options: MessagingOptions,
    pub(crate) allowed_remote_exmods: Vec<String>,
    pub(crate) url: TransportUrl,
    pub(crate) replies: tokio::sync::OnceCell<ReplyRouter>,
}

/// A transport: a driver plus the `[DEFAULT]` options (control exchange,
/// response timeout, `allowed_remote_exmods`). Cheap to clone; clones share
/// connections and the reply queue.
///
/// # Examples
///
/// ```
/// use fjord_messaging::{MessagingOptions, Transport};
/// // Synchronous and runtime-free: nothing connects until first use.
/// let mut options = MessagingOptions::default();
/// options.transport_url = Some("rabbit://guest:guest@127.0.0.1:5672/".into());
/// let t = Transport::new(&options).unwrap();
/// assert_eq!(t.control_exchange(), "openstack");
/// let fake = Transport::fake();
/// assert_eq!(fake.url().to_string(), "fake:///");
/// ```
#[derive(Clone)]
pub struct Transport {
    pub(crate) inner: Arc<TransportInner>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("url", &self.inner.url)
            .field("control_exchange", &self.inner.options.control_exchange)
            .finish()
    }
}

impl Transport {
    /// Builds a transport from options (`transport_url`, default `rabbit://`;
    /// URL query keys override `options.rabbit`). `fake://` gives a new
    /// in-process fake; `embedded:///path/broker.sock` the embedded transport. Synchronous: no connection
    /// is made and no runtime is needed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] or [`Error::InvalidOption`].
    pub fn new(options: &MessagingOptions) -> Result<Self> {
        let url = TransportUrl::parse(options.transport_url.as_deref().unwrap_or("rabbit://"))?;
        let rabbit = options.rabbit.with_query(&url)?;
        rabbit.validate()?;
        let mut options = options.clone();
        options.rabbit = rabbit;
        let driver: Arc<dyn Driver> = match url.scheme() {
            Scheme::Rabbit => Arc::new(RabbitDriver::new(&url, &options)?),
            Scheme::Fake => Arc::new(FakeDriver::new()),
            Scheme::Embedded => {
                let path = url.raw_virtual_host().unwrap_or("");
                if path.is_empty() {
                    return Err(Error::InvalidUrl {
                        reason: "embedded:// needs a socket path (embedded:///run/x/broker.sock)"
                            .into(),
                    });
                }
                Arc::new(EmbeddedDriver::new(format!("/{path}")))
            }
        };
        Ok(Self::with_driver_inner(driver, options, url))
    }

    /// An in-process fake transport (M12): clients and servers built from
    /// this transport or its clones talk to each other with RabbitMQ's
    /// routing semantics, without a broker.
    pub fn fake() -> Self {
        let url = TransportUrl::parse("fake://").unwrap_or_else(|_| unreachable!());
        Self::with_driver_inner(
            Arc::new(FakeDriver::new()),
            MessagingOptions::default(),
            url,
        )
    }

    /// A transport over any [`Driver`], with `options`.
    pub fn with_driver(driver: Arc<dyn Driver>, options: MessagingOptions) -> Self {
        let url = TransportUrl::parse("fake://").unwrap_or_else(|_| unreachable!());
        Self::with_driver_inner(driver, options, url)
    }

    fn with_driver_inner(
        driver: Arc<dyn Driver>,
        options: MessagingOptions,
        url: TransportUrl,
    ) -> Self {
        Transport {
            inner: Arc::new(TransportInner {
                driver,
                options,
                allowed_remote_exmods: Vec::new(),
                url,
                replies: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Sets `allowed_remote_exmods`: modules whose remote exceptions a
    /// client trusts (see [`crate::RemoteError::is_trusted`]). Default is none.
    /// Call it before the transport is shared.
    pub fn with_allowed_remote_exmods(self, modules: Vec<String>) -> Self {
        let i = &self.inner;
        Transport {
            inner: Arc::new(TransportInner {
                driver: i.driver.clone(),
                options: i.options.clone(),
                allowed_remote_exmods: modules,
                url: i.url.clone(),
                replies: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The control exchange (`control_exchange`).
    pub fn control_exchange(&self) -> &str {
        &self.inner.options.control_exchange
    }

    /// The options in effect (URL query applied).
    pub fn options(&self) -> &MessagingOptions {
        &self.inner.options
    }

    /// The parsed URL (password redacted when displayed).
    pub fn url(&self) -> &TransportUrl {
        &self.inner.url
    }

    /// The driver.
    pub fn driver(&self) -> &Arc<dyn Driver> {
        &self.inner.driver
    }

    /// Closes the driver's connections; pending calls fail.
    pub async fn close(&self) {
        self.inner.driver.close().await;
    }

    pub(crate) async fn replies(&self) -> Result<&ReplyRouter> {
        self.inner
            .replies
            .get_or_try_init(|| {
                ReplyRouter::start(
                    self.inner.driver.clone(),
                    self.inner.allowed_remote_exmods.clone(),
                )
            })
            .await
    }
}

pub(crate) fn closed(what: &str) -> Error {
    Error::Closed(format!("{what} is closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Settled = std::result::Result<(), String>;

    #[tokio::test]
    async fn a_settlement_lapin_never_answers_ends_with_its_session() {
        let ended = CancellationToken::new();
        let end = ended.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            end.cancel();
        });
        let never = std::future::pending::<Settled>();
        let sent =
            tokio::time::timeout(Duration::from_secs(10), settle("basic.ack", never, &ended))
                .await
                .expect("the settlement waited past its session's end");
        assert!(!sent);
    }

    #[tokio::test]
    async fn a_settlement_that_is_sent_counts_even_once_the_session_ended() {
        let ended = CancellationToken::new();
        ended.cancel();
        let sent = settle("basic.ack", async { Settled::Ok(()) }, &ended).await;
        assert!(sent, "an answered settlement is reported sent");
        let failed = settle(
            "basic.ack",
            async { Settled::Err("channel closed".into()) },
            &CancellationToken::new(),
        )
        .await;
        assert!(!failed);
    }
}
