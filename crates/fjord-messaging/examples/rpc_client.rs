//! A demo RPC client.
//!
//! ```text
//! cargo run --release --example rpc_client -- --transport-url URL --topic T [--server S] call echo '{"value": 1}'
//! cargo run --release --example rpc_client -- --transport-url URL --topic T cast echo '{"value": 1}'
//! cargo run --release --example rpc_client -- --transport-url URL --topic T fanout echo '{"value": 1}'
//! ```
//! Prints the JSON result (`null` for casts) as the last line of stdout.
//! A remote error exits with status 1, `error: ...` on stderr and the
//! error as `{"error": {"class", "module", "message"}}` on stdout.
//!
//! Versioned objects (the schema of `support/objects.rs`, as the
//! `rpc_server` example serves it) are given as their JSON primitives in
//! the arguments and sent as given; `--objects` loads every object of the
//! result with that schema (an unknown one, or one newer than the local
//! class, is an error) and prints its primitive; `--conductor-topic T`
//! has objects newer than the local class backported by the conductor
//! serving topic `T` (`object_backport_versions`, as nova-compute asks
//! nova-conductor). `--context` sends an oslo.context request context.
//!
//! ```text
//! cargo run --release --example rpc_client -- --topic demo --objects call widget_rename \
//!   '{"widget": {"fjord_object.name": "DemoWidget", "fjord_object.namespace": "fjord",
//!                "fjord_object.version": "1.0", "fjord_object.data": {"id": 1, "name": "a"}},
//!     "name": "b"}'
//! cargo run --release --example rpc_client -- --topic demo --objects call widget_make \
//!   '{"id": 7, "name": "gear", "target_version": "1.1"}'
//! ```

use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use fjord_messaging::{Context, MessagingOptions, RequestContext, RpcClient, Target, Transport};
use fjord_objects::ObjectSerializer;
use fjord_objects::indirection::ConductorClient;
use serde_json::{Map, Value, json};

#[path = "support/objects.rs"]
mod objects;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Call,
    Cast,
    Fanout,
}

#[derive(Parser, Debug)]
struct Args {
    /// Transport URL.
    #[arg(long, default_value = "rabbit://")]
    transport_url: String,
    /// Topic.
    #[arg(long)]
    topic: String,
    /// Send to this server only.
    #[arg(long)]
    server: Option<String>,
    /// Call timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Control exchange.
    #[arg(long, default_value = "openstack")]
    control_exchange: String,
    /// Load the objects of the result with the example schema (fjord-objects'
    /// `ObjectSerializer`) and print their primitives.
    #[arg(long)]
    objects: bool,
    /// Backport received objects newer than the local classes through the
    /// conductor serving this topic (implies `--objects`).
    #[arg(long)]
    conductor_topic: Option<String>,
    /// The request context, as oslo.context's `to_dict()` (a JSON object).
    #[arg(long)]
    context: Option<String>,
    /// The call's target version. Default is none (1.0).
    #[arg(long)]
    version: Option<String>,
    /// call, cast or fanout.
    mode: Mode,
    /// Method name.
    method: String,
    /// Keyword arguments as a JSON object.
    #[arg(default_value = "{}")]
    args: String,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let a = Args::parse();
    let kwargs: Map<String, Value> = serde_json::from_str(&a.args)
        .map_err(|e| anyhow::anyhow!("arguments must be a JSON object: {e}"))?;
    let mut options = MessagingOptions::default();
    options.transport_url = Some(a.transport_url.clone());
    options.control_exchange = a.control_exchange.clone();
    let ctx = match &a.context {
        Some(text) => {
            let dict: Map<String, Value> = serde_json::from_str(text)
                .map_err(|e| anyhow::anyhow!("--context must be a JSON object: {e}"))?;
            Context::from(&RequestContext::from_dict(&dict)?)
        }
        None => Context::new(),
    };
    let transport = Transport::new(&options)?;
    let mut client = RpcClient::new(&transport, Target::new(&a.topic))
        .with_timeout(Duration::from_secs(a.timeout));
    if let Some(s) = &a.server {
        client = client.with_server(s);
    }
    if let Some(v) = &a.version {
        client = client.with_version(v)?;
    }
    if a.objects || a.conductor_topic.is_some() {
        let mut serializer = ObjectSerializer::new(objects::registry());
        if let Some(topic) = &a.conductor_topic {
            let conductor = RpcClient::new(&transport, ConductorClient::target())
                .with_topic(topic)
                .with_timeout(Duration::from_secs(a.timeout));
            serializer = serializer.with_indirection(Arc::new(ConductorClient::new(conductor)));
        }
        client = client.with_serializer(Arc::new(serializer));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let r = match a.mode {
            Mode::Call => client.call(&ctx, &a.method, kwargs).await,
            Mode::Cast => client
                .cast(&ctx, &a.method, kwargs)
                .await
                .map(|()| Value::Null),
            Mode::Fanout => client
                .with_fanout(true)
                .cast(&ctx, &a.method, kwargs)
                .await
                .map(|()| Value::Null),
        };
        transport.close().await;
        r
    });
    match result {
        Ok(v) => {
            println!("{v}");
            Ok(())
        }
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(r) = e.remote() {
                let err = json!({"error": {
                    "class": r.class(), "module": r.module(), "message": r.message()}});
                println!("{err}");
            }
            std::process::exit(1);
        }
    }
}
