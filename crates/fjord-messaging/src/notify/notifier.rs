//! The notifier.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::message::{Notification, Priority, python_timestamp};
use crate::error::{Error, Result};
use crate::message::{Context, encode_envelope, new_id};
use crate::rpc::{NoOpSerializer, Serializer};
use crate::transport::{Destination, OutgoingMessage, Transport};

/// How notifications are written (oslo `driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NotifierDriver {
    /// `messagingv2`: the 2.0 envelope.
    #[default]
    MessagingV2,
    /// `messaging`: the legacy bare JSON body.
    Messaging,
    /// `noop`: drop everything.
    Noop,
}

impl NotifierDriver {
    /// Parses oslo's driver name (`messagingv2`, `messaging`, `noop`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "messagingv2" => Some(NotifierDriver::MessagingV2),
            "messaging" => Some(NotifierDriver::Messaging),
            "noop" => Some(NotifierDriver::Noop),
            _ => None,
        }
    }
}

/// Sends notifications to `<topic>.<priority>` on the control exchange.
///
/// The context goes out as `_context_*` keys with `auth_token` set to null
/// (the redacted copy an oslo.context `RequestContext` gives).
///
/// # Examples
///
/// ```
/// # async fn demo() -> Result<(), fjord_messaging::Error> {
/// use fjord_messaging::{Context, Transport};
/// use fjord_messaging::notify::{Notifier, Priority};
/// use serde_json::json;
///
/// let notifier = Notifier::new(&Transport::fake(), "compute.host1");
/// notifier.notify(&Context::new(), Priority::Info, "compute.instance.create.end",
///                 json!({"instance_id": "abc"})).await?;
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Notifier {
    transport: Transport,
    publisher_id: String,
    driver: NotifierDriver,
    topics: Vec<String>,
    retry: Option<u32>,
    serializer: Arc<dyn Serializer>,
}

impl Notifier {
    /// A notifier for `publisher_id`.
    pub fn new(transport: &Transport, publisher_id: impl Into<String>) -> Self {
        Notifier {
            transport: transport.clone(),
            publisher_id: publisher_id.into(),
            driver: NotifierDriver::MessagingV2,
            topics: vec!["notifications".into()],
            retry: None,
            serializer: Arc::new(NoOpSerializer),
        }
    }
    /// The driver. Default is [`NotifierDriver::MessagingV2`].
    pub fn with_driver(mut self, d: NotifierDriver) -> Self {
        self.driver = d;
        self
    }
    /// The topics (`[oslo_messaging_notifications] topics`). Default is `["notifications"]`.
    pub fn with_topics(mut self, topics: Vec<String>) -> Self {
        self.topics = topics;
        self
    }
    /// Connection retries (`None` forever). Default is `None` (-1 in oslo).
    pub fn with_retry(mut self, retry: Option<u32>) -> Self {
        self.retry = retry;
        self
    }
    /// The serializer for the payload and context. Default is [`NoOpSerializer`].
    pub fn with_serializer(mut self, s: Arc<dyn Serializer>) -> Self {
        self.serializer = s;
        self
    }
    /// A copy with another publisher id (oslo `prepare(publisher_id=...)`).
    pub fn prepare(&self, publisher_id: impl Into<String>) -> Self {
        let mut n = self.clone();
        n.publisher_id = publisher_id.into();
        n
    }

    /// Sends one notification to every topic.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) once the retries are used up;
    /// [`Error::Remote`] when the serializer refuses the payload.
    pub async fn notify(
        &self,
        ctx: &Context,
        priority: Priority,
        event_type: &str,
        payload: Value,
    ) -> Result<()> {
        if self.driver == NotifierDriver::Noop {
            return Ok(());
        }
        let payload = self
            .serializer
            .serialize_entity(ctx, payload)
            .map_err(Error::from)?;
        let mut context: Map<String, Value> = self.serializer.serialize_context(ctx);
        if context.contains_key("auth_token") {
            context.insert("auth_token".into(), Value::Null);
        }
        let n = Notification {
            message_id: uuid::Uuid::new_v4().to_string(),
            publisher_id: self.publisher_id.clone(),
            event_type: event_type.to_string(),
            priority,
            payload,
            timestamp: python_timestamp(SystemTime::now()),
            unique_id: Some(new_id()),
            context: Context::from(context),
        };
        let inner = n.to_inner();
        let body = match self.driver {
            NotifierDriver::Messaging => Value::Object(inner).to_string().into_bytes(),
            _ => encode_envelope(&inner),
        };
        for topic in &self.topics {
            let mut msg = OutgoingMessage::new(body.clone());
            msg.retry = self.retry;
            let dest = Destination::Notification {
                exchange: self.transport.control_exchange().to_string(),
                queue: format!("{topic}.{}", priority.as_str()),
            };
            self.transport.driver().send(&dest, msg).await?;
        }
        Ok(())
    }

    /// `notify` at [`Priority::Info`].
    ///
    /// # Errors
    ///
    /// As [`Notifier::notify`].
    pub async fn info(&self, ctx: &Context, event_type: &str, payload: Value) -> Result<()> {
        self.notify(ctx, Priority::Info, event_type, payload).await
    }
    /// `notify` at [`Priority::Warn`].
    ///
    /// # Errors
    ///
    /// As [`Notifier::notify`].
    pub async fn warn(&self, ctx: &Context, event_type: &str, payload: Value) -> Result<()> {
        self.notify(ctx, Priority::Warn, event_type, payload).await
    }
    /// `notify` at [`Priority::Error`].
    ///
    /// # Errors
    ///
    /// As [`Notifier::notify`].
    pub async fn error(&self, ctx: &Context, event_type: &str, payload: Value) -> Result<()> {
        self.notify(ctx, Priority::Error, event_type, payload).await
    }
}
