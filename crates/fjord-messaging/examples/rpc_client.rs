//! A demo RPC client.
//!
//! ```text
//! cargo run --release --example rpc_client -- --transport-url URL --topic T [--server S] call echo '{"value": 1}'
//! cargo run --release --example rpc_client -- --transport-url URL --topic T cast echo '{"value": 1}'
//! cargo run --release --example rpc_client -- --transport-url URL --topic T fanout echo '{"value": 1}'
//! ```
//! Prints the JSON result (`null` for casts) as the last line of stdout.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use fjord_messaging::{Context, MessagingOptions, RpcClient, Target, Transport};
use serde_json::{Map, Value};

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
    let transport = Transport::new(&options)?;
    let mut client = RpcClient::new(&transport, Target::new(&a.topic))
        .with_timeout(Duration::from_secs(a.timeout));
    if let Some(s) = &a.server {
        client = client.with_server(s);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let ctx = Context::new();
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
            std::process::exit(1);
        }
    }
}
