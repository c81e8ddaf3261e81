//! A raw AMQP peer (lapin, no fjord code) to observe what fjord puts on the wire.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

pub async fn channel() -> (Connection, Channel) {
    let conn = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await
    .expect("raw connection");
    let ch = conn.create_channel().await.expect("raw channel");
    (conn, ch)
}

pub async fn declare_exchange(
    ch: &Channel,
    name: &str,
    kind: ExchangeKind,
    durable: bool,
    auto_delete: bool,
) -> lapin::Result<()> {
    ch.exchange_declare(
        name.into(),
        kind,
        ExchangeDeclareOptions {
            durable,
            auto_delete,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
}

pub async fn declare_queue(
    ch: &Channel,
    name: &str,
    durable: bool,
    auto_delete: bool,
    args: &[(&str, AMQPValue)],
) -> lapin::Result<()> {
    let mut t = FieldTable::default();
    for (k, v) in args {
        t.insert((*k).into(), v.clone());
    }
    ch.queue_declare(
        name.into(),
        QueueDeclareOptions {
            durable,
            auto_delete,
            ..Default::default()
        },
        t,
    )
    .await
    .map(|_| ())
}

pub async fn bind(ch: &Channel, queue: &str, exchange: &str, key: &str) -> lapin::Result<()> {
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
}
