//! The client's reply queue: one per transport, declared on the first call,
//! replies routed to waiting calls by `_msg_id` (WIRE.md §6.2).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use super::{Deliver, Driver, IncomingMessage, ListenSpec, ListenerControl, async_trait};
use crate::error::{Error, RemoteError, Result};
use crate::message::Reply;

/// How a call ended: the result, or the failure the server sent.
pub(crate) type Outcome = std::result::Result<Value, RemoteError>;

/// A call waiting for its replies.
struct Waiter {
    /// Gets the outcome when the `ending` reply comes.
    done: oneshot::Sender<Outcome>,
    /// The last non-null result and the last failure of the replies so
    /// far: the ending reply of a pre-Mitaka server carries neither (it
    /// sends the result first, then an empty ending message).
    result: Value,
    failure: Option<RemoteError>,
    /// Told of every reply that does not end the call, when the call has a
    /// call-monitor timeout: a heartbeat restarts the caller's timer.
    beat: Option<Arc<Notify>>,
}

type Waiters = Arc<Mutex<HashMap<String, Waiter>>>;

pub(crate) struct ReplyRouter {
    queue: String,
    waiters: Waiters,
    closed: Arc<AtomicBool>,
    _control: Box<dyn ListenerControl>,
}

/// Routes the replies the reply listener delivers.
struct Router {
    /// The reply queue (for the logs), known once the listener runs.
    queue: OnceLock<String>,
    waiters: Waiters,
    allowed: Vec<String>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("queue", &self.queue)
            .finish()
    }
}

#[async_trait]
impl Deliver for Router {
    /// Replies that arrived together are routed, then acked with one
    /// `basic.ack` (multiple): one frame per burst, not one per reply.
    async fn deliver(&self, burst: &mut Vec<IncomingMessage>) {
        let mut last = None;
        for m in burst.drain(..) {
            route(
                &self.waiters,
                self.queue.get().map_or("", String::as_str),
                &self.allowed,
                m.content_type.as_deref(),
                &m.body,
            );
            last = Some(m.acker);
        }
        if let Some(acker) = last {
            acker.ack_up_to().await;
        }
    }
}

impl std::fmt::Debug for ReplyRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyRouter")
            .field("queue", &self.queue)
            .finish()
    }
}

/// A call's place among the waiters; removed when the call ends, however
/// it ends.
pub(crate) struct Registration {
    /// The outcome; closed (an error) when the reply listener went away.
    pub(crate) outcome: oneshot::Receiver<Outcome>,
    /// Notified of each reply that does not end the call (with a
    /// call-monitor timeout only).
    pub(crate) beat: Option<Arc<Notify>>,
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

/// Hands one reply to the call waiting for it (WIRE.md §6.2 step 3): a
/// failure or a non-null result is kept; the `ending` reply completes the
/// call with the failure if there was one, else the last result.
fn route(w: &Waiters, queue: &str, allowed: &[String], content_type: Option<&str>, body: &[u8]) {
    let reply = match Reply::decode(content_type, body, allowed) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(queue = %queue, error = %e, "dropping an unreadable reply");
            return;
        }
    };
    let mut g = w.lock().unwrap_or_else(|p| p.into_inner());
    let Some(waiter) = g.get_mut(&reply.msg_id) else {
        drop(g);
        tracing::info!(
            msg_id = %reply.msg_id,
            "dropping a reply for an unknown or finished call"
        );
        return;
    };
    if let Some(f) = reply.failure {
        waiter.failure = Some(f);
    } else if !reply.result.is_null() {
        waiter.result = reply.result;
    }
    if !reply.ending {
        if let Some(beat) = &waiter.beat {
            beat.notify_one();
        }
        return;
    }
    if let Some(waiter) = g.remove(&reply.msg_id) {
        drop(g);
        let outcome = match waiter.failure {
            Some(f) => Err(f),
            None => Ok(waiter.result),
        };
        let _ = waiter.done.send(outcome);
    }
}

impl ReplyRouter {
    pub(crate) async fn start(driver: Arc<dyn Driver>, allowed: Vec<String>) -> Result<Self> {
        let waiters: Waiters = Arc::default();
        let router = Arc::new(Router {
            queue: OnceLock::new(),
            waiters: waiters.clone(),
            allowed,
        });
        let sub = driver
            .listen_with(ListenSpec::Replies, router.clone())
            .await?;
        let queue = sub
            .address
            .clone()
            .ok_or_else(|| Error::connection("driver gave no reply queue name"))?;
        let _ = router.queue.set(queue.clone());
        let closed = Arc::new(AtomicBool::new(false));
        let (w, c) = (waiters.clone(), closed.clone());
        let control = sub.control;
        let ended = sub.ended;
        tokio::spawn(async move {
            ended.cancelled().await;
            c.store(true, Ordering::SeqCst);
            // Dropping the senders wakes every waiting call.
            w.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        Ok(ReplyRouter {
            queue,
            waiters,
            closed,
            _control: control,
        })
    }

    pub(crate) fn queue(&self) -> &str {
        &self.queue
    }

    /// Registers a call waiting for the replies to `msg_id`; with
    /// `monitor` (a call-monitor timeout), it is told of every reply that
    /// does not end it.
    pub(crate) fn register(&self, msg_id: &str, monitor: bool) -> Result<Registration> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed("the reply listener is closed".into()));
        }
        let (done, outcome) = oneshot::channel();
        let beat = monitor.then(|| Arc::new(Notify::new()));
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                msg_id.to_string(),
                Waiter {
                    done,
                    result: Value::Null,
                    failure: None,
                    beat: beat.clone(),
                },
            );
        Ok(Registration {
            outcome,
            beat,
            msg_id: msg_id.to_string(),
            waiters: self.waiters.clone(),
        })
    }
}
