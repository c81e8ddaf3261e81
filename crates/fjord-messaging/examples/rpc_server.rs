//! A demo RPC server: `echo(value)`, `add(a, b)`, `sleep(seconds)` and
//! `fail(message)` (a `ValueError` from module `builtins`).
//!
//! ```text
//! cargo run --release --example rpc_server -- --transport-url rabbit://guest:guest@127.0.0.1:5672/ --topic demo --server s1
//! ```
//! Prints `rpc server ready` once consuming; Ctrl-C (SIGINT) or SIGTERM
//! stops it gracefully, exit status 0. `--transport-url
//! embedded:///tmp/fjord-rpc.sock` needs no RabbitMQ.

use std::time::Duration;

use clap::Parser;
use fjord_messaging::{FnEndpoint, MessagingOptions, RemoteError, RpcServer, Target, Transport};
use fjord_service::Service;
use serde_json::{Value, json};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser, Debug)]
struct Args {
    /// Transport URL (`rabbit://user:pass@host:5672/vhost`).
    #[arg(long, default_value = "rabbit://")]
    transport_url: String,
    /// Topic to serve.
    #[arg(long)]
    topic: String,
    /// This server's name.
    #[arg(long)]
    server: String,
    /// Control exchange.
    #[arg(long, default_value = "openstack")]
    control_exchange: String,
}

fn endpoint() -> FnEndpoint {
    FnEndpoint::builder()
        .method("echo", |_ctx, args| async move {
            Ok(args.get("value").cloned().unwrap_or(Value::Null))
        })
        .method("add", |_ctx, args| async move {
            let a = args.get("a").cloned().unwrap_or(Value::Null);
            let b = args.get("b").cloned().unwrap_or(Value::Null);
            match (a.as_i64(), b.as_i64(), a.as_f64(), b.as_f64()) {
                (Some(x), Some(y), _, _) => Ok(json!(x + y)),
                (_, _, Some(x), Some(y)) => Ok(json!(x + y)),
                _ => Err(RemoteError::type_error("add() needs numbers a and b")),
            }
        })
        .method("sleep", |_ctx, args| async move {
            let s = args.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
            if !(0.0..=3600.0).contains(&s) {
                return Err(RemoteError::value_error(
                    "seconds must be between 0 and 3600",
                ));
            }
            tokio::time::sleep(Duration::from_secs_f64(s)).await;
            Ok(Value::Null)
        })
        .method("fail", |_ctx, args| async move {
            let m = args
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("failed");
            Err(RemoteError::value_error(m))
        })
        .build()
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut options = MessagingOptions::default();
    options.transport_url = Some(args.transport_url);
    options.control_exchange = args.control_exchange;
    // Built before any runtime exists, as a launcher would.
    let transport = Transport::new(&options)?;
    let server = RpcServer::builder(
        &transport,
        Target::new(&args.topic).with_server(&args.server),
    )
    .endpoint(endpoint())
    .build()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // SIGINT and SIGTERM are caught from here on, before readiness is
        // announced, so an early signal is not lost.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        server.start().await?;
        tokio::select! {
            biased;
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = async { println!("rpc server ready"); server.wait().await } => {}
        }
        server.stop(true).await;
        server.wait().await;
        transport.close().await;
        Ok(())
    })
}
