//! The RabbitMQ driver on lapin.

use async_trait::async_trait;

use super::{Destination, Driver, ListenSpec, Listener, OutgoingMessage, TransportUrl};
use crate::error::{Error, Result};
use crate::options::MessagingOptions;

/// The RabbitMQ driver.
#[derive(Debug)]
pub struct RabbitDriver {
    url: TransportUrl,
}

impl RabbitDriver {
    /// A driver for `url` with `options`; connects lazily.
    ///
    /// # Errors
    ///
    /// Invalid options.
    pub fn new(url: &TransportUrl, _options: &MessagingOptions) -> Result<Self> {
        Ok(RabbitDriver { url: url.clone() })
    }
}

#[async_trait]
impl Driver for RabbitDriver {
    async fn send(&self, _dest: &Destination, _message: OutgoingMessage) -> Result<()> {
        Err(Error::Connection(format!("not yet: {}", self.url)))
    }
    async fn listen(&self, _spec: ListenSpec) -> Result<Listener> {
        Err(Error::Connection(format!("not yet: {}", self.url)))
    }
    async fn close(&self) {}
}
