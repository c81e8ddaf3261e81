//! The notification listener.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fjord_service::Service;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::message::{Notification, Priority};
use crate::error::{Error, Result};
use crate::message::decode_body;
use crate::target::Target;
use crate::transport::{ListenSpec, Transport};

/// What an endpoint did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotificationResult {
    /// Done: the message is acked.
    Handled,
    /// Put it back on the queue (oslo `NotificationResult.REQUEUE`).
    Requeue,
}

/// Receives notifications of the priorities it accepts (Python endpoints
/// have a method per lower-case priority).
#[async_trait]
pub trait NotificationEndpoint: Send + Sync + std::fmt::Debug + 'static {
    /// The priorities this endpoint handles. Default is all.
    fn priorities(&self) -> Vec<Priority> {
        Priority::ALL.to_vec()
    }
    /// Handles one notification.
    async fn notify(&self, notification: &Notification) -> NotificationResult;
}

/// Consumes `<topic>.<priority>` queues and dispatches by priority; acks
/// after the endpoints return, drops duplicate `_unique_id`s.
#[derive(Debug)]
pub struct NotificationListener {
    transport: Transport,
    targets: Vec<Target>,
    endpoints: Vec<Arc<dyn NotificationEndpoint>>,
    pool: Option<String>,
    running: Mutex<Option<(CancellationToken, TaskTracker)>>,
}

/// Builds a [`NotificationListener`].
#[derive(Debug)]
pub struct NotificationListenerBuilder {
    inner: NotificationListener,
}

impl NotificationListenerBuilder {
    /// Adds an endpoint.
    pub fn endpoint(mut self, e: impl NotificationEndpoint) -> Self {
        self.inner.endpoints.push(Arc::new(e));
        self
    }
    /// Listens as a member of `pool`: one queue named after the pool shared
    /// by its members. Default is none (queue `<topic>.<priority>`).
    pub fn pool(mut self, pool: impl Into<String>) -> Self {
        self.inner.pool = Some(pool.into());
        self
    }
    /// The listener.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTarget`] when a target has no topic or there is none.
    pub fn build(self) -> Result<NotificationListener> {
        if self.inner.targets.is_empty() {
            return Err(Error::InvalidTarget {
                target: "[]".into(),
                reason: "a notification listener needs at least one target".into(),
            });
        }
        for t in &self.inner.targets {
            t.require_topic()?;
        }
        Ok(self.inner)
    }
}

impl NotificationListener {
    /// A listener on `targets` (their topics, e.g. `notifications`).
    pub fn builder(transport: &Transport, targets: Vec<Target>) -> NotificationListenerBuilder {
        NotificationListenerBuilder {
            inner: NotificationListener {
                transport: transport.clone(),
                targets,
                endpoints: Vec::new(),
                pool: None,
                running: Mutex::new(None),
            },
        }
    }

    fn running(&self) -> Option<(CancellationToken, TaskTracker)> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Starts consuming (the [`Service::start`] body).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) when the broker cannot be reached;
    /// [`ErrorKind::AlreadyStarted`](crate::ErrorKind::AlreadyStarted) when already running.
    pub async fn start_listening(&self) -> Result<()> {
        if self.running().is_some() {
            return Err(Error::AlreadyStarted("notification listener".into()));
        }
        let mut prios: Vec<Priority> = Vec::new();
        for e in &self.endpoints {
            for p in e.priorities() {
                if !prios.contains(&p) {
                    prios.push(p);
                }
            }
        }
        let mut by_exchange: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.targets {
            let x = t
                .exchange
                .clone()
                .unwrap_or_else(|| self.transport.control_exchange().to_string());
            let topic = t.require_topic()?;
            let keys: Vec<String> = prios.iter().map(|p| format!("{topic}.{p}")).collect();
            match by_exchange.iter_mut().find(|(e, _)| *e == x) {
                Some((_, k)) => k.extend(keys),
                None => by_exchange.push((x, keys)),
            }
        }
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        for (exchange, keys) in by_exchange {
            let mut listener = self
                .transport
                .driver()
                .listen(ListenSpec::Notifications {
                    exchange,
                    keys,
                    pool: self.pool.clone(),
                })
                .await?;
            let (stop, endpoints) = (stop.clone(), self.endpoints.clone());
            tracker.spawn(async move {
                let mut seen: VecDeque<String> = VecDeque::new();
                loop {
                    let m = tokio::select! {
                        _ = stop.cancelled() => break,
                        m = listener.receiver.recv() => match m { Some(m) => m, None => break },
                    };
                    let n = decode_body(m.content_type.as_deref(), &m.body)
                        .and_then(Notification::from_inner);
                    let n = match n {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!(error = %e, "rejecting an unreadable notification");
                            m.acker.reject(false).await;
                            continue;
                        }
                    };
                    if let Some(u) = &n.unique_id {
                        if seen.contains(u) {
                            m.acker.ack().await;
                            continue;
                        }
                        if seen.len() == 16 {
                            seen.pop_front();
                        }
                        seen.push_back(u.clone());
                    }
                    let mut requeue = false;
                    for e in endpoints
                        .iter()
                        .filter(|e| e.priorities().contains(&n.priority))
                    {
                        if e.notify(&n).await == NotificationResult::Requeue {
                            requeue = true;
                        }
                    }
                    if requeue {
                        m.acker.reject(true).await;
                    } else {
                        m.acker.ack().await;
                    }
                }
                listener.control.stop().await;
            });
        }
        tracker.close();
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, tracker));
        Ok(())
    }
}

#[async_trait]
impl Service for NotificationListener {
    fn name(&self) -> &str {
        "notification-listener"
    }
    async fn start(&self) -> fjord_service::Result<()> {
        self.start_listening()
            .await
            .map_err(fjord_service::Error::start)
    }
    async fn stop(&self, _graceful: bool) {
        if let Some((stop, tracker)) = self.running() {
            stop.cancel();
            tracker.wait().await;
        }
    }
    async fn wait(&self) {
        if let Some((_, tracker)) = self.running() {
            tracker.wait().await;
        }
    }
    async fn reset(&self) -> fjord_service::Result<()> {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}
