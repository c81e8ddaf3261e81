//! The in-process fake driver (M12): RabbitMQ's routing without a broker.
//!
//! Queues exist once a listener declared them (as with RabbitMQ, where
//! clients never declare topic or server queues): a message to a topic no
//! server listens on is dropped. A declared queue keeps messages until a
//! consumer comes; several consumers of one queue get messages round-robin.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{
    Acker, Destination, Driver, IncomingMessage, ListenSpec, Listener, ListenerControl,
    OutgoingMessage,
};
use crate::error::{Error, Result};
use crate::message::new_id;

#[derive(Debug, Default)]
struct Queue {
    consumers: Vec<(u64, mpsc::Sender<IncomingMessage>)>,
    backlog: VecDeque<Vec<u8>>,
    next: usize,
}

#[derive(Debug, Default)]
struct Hub {
    queues: HashMap<String, Queue>,
    /// (exchange, routing key, queue); fanout exchanges ignore the key.
    bindings: Vec<(String, String, String)>,
    fanout_exchanges: std::collections::HashSet<String>,
    next_consumer: u64,
    closed: bool,
}

fn message(body: Vec<u8>) -> IncomingMessage {
    IncomingMessage {
        content_type: Some("application/json".into()),
        compressed: false,
        body,
        acker: Acker::none(),
    }
}

impl Hub {
    fn declare(&mut self, queue: &str) {
        self.queues.entry(queue.to_string()).or_default();
    }

    fn bind(&mut self, exchange: &str, key: &str, queue: &str) {
        let b = (exchange.to_string(), key.to_string(), queue.to_string());
        if !self.bindings.contains(&b) {
            self.bindings.push(b);
        }
    }

    fn deliver(&mut self, queue: &str, body: Vec<u8>) {
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        q.consumers.retain(|(_, tx)| !tx.is_closed());
        let mut body = Some(body);
        let n = q.consumers.len();
        for i in 0..n {
            let idx = (q.next + i) % n;
            let Some(b) = body.take() else { break };
            match q.consumers[idx].1.try_send(message(b)) {
                Ok(()) => {
                    q.next = idx + 1;
                }
                Err(mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m)) => {
                    body = Some(m.body);
                }
            }
        }
        if let Some(b) = body {
            q.backlog.push_back(b);
        }
    }

    fn route(&self, exchange: &str, key: &str) -> Vec<String> {
        let fanout = self.fanout_exchanges.contains(exchange);
        self.bindings
            .iter()
            .filter(|(e, k, _)| e == exchange && (fanout || k == key))
            .map(|(_, _, q)| q.clone())
            .collect()
    }
}

/// The in-process fake driver. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct FakeDriver {
    hub: Arc<Mutex<Hub>>,
}

impl FakeDriver {
    /// A new, empty broker.
    pub fn new() -> Self {
        FakeDriver::default()
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Names of the queues declared so far (for tests).
    pub fn queue_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.hub().queues.keys().cloned().collect();
        v.sort();
        v
    }
}

#[derive(Debug)]
struct FakeControl {
    hub: Arc<Mutex<Hub>>,
    consumer: u64,
    queues: Vec<String>,
    delete: Option<String>,
}

#[async_trait]
impl ListenerControl for FakeControl {
    async fn stop(&self) {
        let mut hub = self.hub.lock().unwrap_or_else(|p| p.into_inner());
        for q in &self.queues {
            if let Some(q) = hub.queues.get_mut(q) {
                q.consumers.retain(|(id, _)| *id != self.consumer);
            }
        }
        if let Some(d) = &self.delete {
            hub.queues.remove(d);
            hub.bindings.retain(|(_, _, q)| q != d);
        }
    }
}

#[async_trait]
impl Driver for FakeDriver {
    async fn send(&self, dest: &Destination, message: OutgoingMessage) -> Result<()> {
        let mut hub = self.hub();
        if hub.closed {
            return Err(super::closed("fake transport"));
        }
        let queues = match dest {
            Destination::Topic {
                exchange,
                routing_key,
            } => hub.route(exchange, routing_key),
            Destination::Fanout { topic } => hub.route(&format!("{topic}_fanout"), ""),
            Destination::Reply { queue } => {
                if hub.queues.contains_key(queue) {
                    vec![queue.clone()]
                } else {
                    Vec::new()
                }
            }
            Destination::Notification { exchange, queue } => {
                hub.declare(queue);
                hub.bind(exchange, queue, queue);
                hub.route(exchange, queue)
            }
        };
        if queues.is_empty() && message.mandatory {
            return Err(Error::Unroutable(dest.to_string()));
        }
        for q in queues {
            hub.deliver(&q, message.body.clone());
        }
        Ok(())
    }

    async fn listen(&self, spec: ListenSpec) -> Result<Listener> {
        let mut hub = self.hub();
        if hub.closed {
            return Err(super::closed("fake transport"));
        }
        let (queues, address, delete) = match &spec {
            ListenSpec::Rpc {
                exchange,
                topic,
                server,
            } => {
                let server_q = format!("{topic}.{server}");
                let fanout_x = format!("{topic}_fanout");
                let fanout_q = format!("{topic}_fanout_{}", new_id());
                hub.declare(topic);
                hub.bind(exchange, topic, topic);
                hub.declare(&server_q);
                hub.bind(exchange, &server_q, &server_q);
                hub.fanout_exchanges.insert(fanout_x.clone());
                hub.declare(&fanout_q);
                hub.bind(&fanout_x, topic, &fanout_q);
                (
                    vec![topic.clone(), server_q, fanout_q.clone()],
                    None,
                    Some(fanout_q),
                )
            }
            ListenSpec::Replies => {
                let q = format!("reply_{}", new_id());
                hub.declare(&q);
                (vec![q.clone()], Some(q), None)
            }
            ListenSpec::Notifications {
                exchange,
                keys,
                pool,
            } => {
                let mut qs = Vec::new();
                for key in keys {
                    let q = pool.clone().unwrap_or_else(|| key.clone());
                    hub.declare(&q);
                    hub.bind(exchange, key, &q);
                    if !qs.contains(&q) {
                        qs.push(q);
                    }
                }
                (qs, None, None)
            }
        };
        let (tx, rx) = mpsc::channel(1024);
        hub.next_consumer += 1;
        let consumer = hub.next_consumer;
        for q in &queues {
            if let Some(queue) = hub.queues.get_mut(q) {
                while let Some(b) = queue.backlog.pop_front() {
                    if let Err(e) = tx.try_send(message(b)) {
                        let m = match e {
                            mpsc::error::TrySendError::Full(m)
                            | mpsc::error::TrySendError::Closed(m) => m,
                        };
                        queue.backlog.push_front(m.body);
                        break;
                    }
                }
                queue.consumers.push((consumer, tx.clone()));
            }
        }
        Ok(Listener {
            address,
            receiver: rx,
            control: Box::new(FakeControl {
                hub: self.hub.clone(),
                consumer,
                queues,
                delete,
            }),
        })
    }

    async fn close(&self) {
        let mut hub = self.hub();
        hub.closed = true;
        for q in hub.queues.values_mut() {
            q.consumers.clear();
        }
    }
}
