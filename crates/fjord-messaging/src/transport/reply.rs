//! The client's reply queue: one per transport, declared on the first call,
//! replies routed to waiting calls by `_msg_id` (WIRE.md §6.2).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::{ACK_BATCH, Driver, ListenSpec, ListenerControl, take_burst};
use crate::error::{Error, Result};
use crate::message::{Reply, decode_body};

type Waiters = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Reply>>>>;

pub(crate) struct ReplyRouter {
    queue: String,
    waiters: Waiters,
    closed: Arc<AtomicBool>,
    _control: Box<dyn ListenerControl>,
}

impl std::fmt::Debug for ReplyRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyRouter")
            .field("queue", &self.queue)
            .finish()
    }
}

/// Removes the waiter when the call ends, however it ends.
pub(crate) struct Registration {
    pub(crate) receiver: mpsc::UnboundedReceiver<Reply>,
    msg_id: String,
    waiters: Waiters,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.msg_id);
    }
}

/// Hands one reply to the call waiting for it.
fn route(w: &Waiters, queue: &str, allowed: &[String], content_type: Option<&str>, body: &[u8]) {
    let reply =
        decode_body(content_type, body).and_then(|inner| Reply::from_inner(&inner, allowed));
    match reply {
        Ok(reply) => {
            let tx = w
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&reply.msg_id)
                .cloned();
            match tx {
                Some(tx) => {
                    let _ = tx.send(reply);
                }
                None => tracing::info!(
                    msg_id = %reply.msg_id,
                    "dropping a reply for an unknown or finished call"
                ),
            }
        }
        Err(e) => tracing::warn!(queue = %queue, error = %e, "dropping an unreadable reply"),
    }
}

impl ReplyRouter {
    pub(crate) async fn start(driver: Arc<dyn Driver>, allowed: Vec<String>) -> Result<Self> {
        let listener = driver.listen(ListenSpec::Replies).await?;
        let queue = listener
            .address
            .clone()
            .ok_or_else(|| Error::connection("driver gave no reply queue name"))?;
        let waiters: Waiters = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let mut rx = listener.receiver;
        let (w, c) = (waiters.clone(), closed.clone());
        let q = queue.clone();
        tokio::spawn(async move {
            let mut burst = Vec::with_capacity(ACK_BATCH);
            while let Some(first) = rx.recv().await {
                // Replies that arrived together are routed, then acked with
                // one `basic.ack` (multiple): one frame per burst, not one
                // per reply.
                take_burst(first, &mut rx, &mut burst);
                let mut last = None;
                for m in burst.drain(..) {
                    route(&w, &q, &allowed, m.content_type.as_deref(), &m.body);
                    last = Some(m.acker);
                }
                if let Some(acker) = last {
                    acker.ack_up_to().await;
                }
            }
            c.store(true, Ordering::SeqCst);
            // Dropping the senders wakes every waiting call.
            w.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        Ok(ReplyRouter {
            queue,
            waiters,
            closed,
            _control: listener.control,
        })
    }

    pub(crate) fn queue(&self) -> &str {
        &self.queue
    }

    pub(crate) fn register(&self, msg_id: &str) -> Result<Registration> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed("the reply listener is closed".into()));
        }
        let (tx, receiver) = mpsc::unbounded_channel();
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(msg_id.to_string(), tx);
        Ok(Registration {
            receiver,
            msg_id: msg_id.to_string(),
            waiters: self.waiters.clone(),
        })
    }
}
