//! A demo RPC server: `echo(value)`, `add(a, b)`, `sleep(seconds)` and
//! `fail(message)` (a `ValueError` from module `builtins`); and, on the
//! versioned objects of `support/objects.rs` (oslo.versionedobjects'
//! primitive form, namespace `fjord`):
//!
//! * `widget_rename(widget, name)`: the received `DemoWidget` with `name`
//!   replaced, its other fields and version as received, changes `["name"]`;
//! * `widget_make(id, name, target_version=None)`: a new `DemoWidget` 1.2
//!   with `tags = ["new"]` and `owner = null`, backported to
//!   `target_version` when given;
//! * `machine_echo(machine)`: the received `DemoMachine` (nested widget,
//!   list of parts, datetimes), loaded and sent back;
//! * `context_fields()`: the caller's request context, as oslo.context's
//!   `to_dict()`.
//!
//! All on the default namespace, API version 1.0. Received objects go
//! through fjord-objects' `ObjectSerializer`: a malformed primitive, an
//! unknown object or one newer than the local class (a `DemoWidget` 1.3)
//! is refused with the exception oslo.versionedobjects raises
//! (`IncompatibleObjectVersion`, ...), as a remote error the caller reads.
//! `--conductor` also answers nova's conductor API (version 3.0:
//! `object_backport_versions`, ...) on the same topic, so an older Python
//! service can ask this one to backport an object.
//!
//! ```text
//! cargo run --release --example rpc_server -- --transport-url rabbit://guest:guest@127.0.0.1:5672/ --topic demo --server s1
//! ```
//! Prints `rpc server ready` once consuming; Ctrl-C (SIGINT) or SIGTERM
//! stops it gracefully, exit status 0. `--transport-url
//! embedded:///tmp/fjord-rpc.sock` needs no RabbitMQ.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fjord_messaging::{
    FnEndpoint, MessagingOptions, RemoteError, RequestContext, RpcServer, Target, Transport,
};
use fjord_objects::indirection::ConductorEndpoint;
use fjord_objects::serializer::to_remote_error;
use fjord_objects::{FieldValue, Object, ObjectError, ObjectSerializer, VersionedObject};
use fjord_service::Service;
use serde_json::{Map, Value, json};
use tokio::signal::unix::{SignalKind, signal};

#[path = "support/objects.rs"]
mod objects;

use objects::{DemoMachine, DemoWidget};

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
    /// Also serve the conductor's indirection API (version 3.0:
    /// `object_backport_versions`, `object_class_action_versions`,
    /// `object_action`) for the example objects.
    #[arg(long)]
    conductor: bool,
}

/// A required keyword argument, or Python's TypeError for a missing one.
fn required<'a>(
    args: &'a Map<String, Value>,
    method: &str,
    name: &str,
) -> Result<&'a Value, RemoteError> {
    args.get(name).ok_or_else(|| {
        RemoteError::type_error(format!(
            "{method}() missing 1 required positional argument: '{name}'"
        ))
    })
}

fn obj_err(e: ObjectError) -> RemoteError {
    to_remote_error(&e)
}

/// `widget_rename(widget, name)`.
fn widget_rename(args: &Map<String, Value>) -> Result<Value, RemoteError> {
    let widget = required(args, "widget_rename", "widget")?;
    let name = required(args, "widget_rename", "name")?;
    let mut w = DemoWidget::obj_from_primitive(widget).map_err(obj_err)?;
    w.obj_reset_changes(None, false);
    // The field's coercion, as Python's setter (a number becomes "42").
    w.obj_set("name", FieldValue::from_json(name))
        .map_err(obj_err)?;
    Ok(w.obj_to_primitive())
}

/// `widget_make(id, name, target_version=None)`.
fn widget_make(args: &Map<String, Value>) -> Result<Value, RemoteError> {
    let id = required(args, "widget_make", "id")?;
    let name = required(args, "widget_make", "name")?;
    let mut w = DemoWidget::default();
    w.obj_set("id", FieldValue::from_json(id))
        .map_err(obj_err)?;
    w.obj_set("name", FieldValue::from_json(name))
        .map_err(obj_err)?;
    w.set_tags(vec!["new".to_string()]).map_err(obj_err)?;
    w.obj_set("owner", FieldValue::None).map_err(obj_err)?;
    match args.get("target_version") {
        None | Some(Value::Null) => Ok(w.obj_to_primitive()),
        Some(Value::String(t)) => w.obj_to_primitive_with(Some(t), None).map_err(obj_err),
        Some(other) => Err(RemoteError::type_error(format!(
            "target_version must be a version string or null, not {other}"
        ))),
    }
}

/// `machine_echo(machine)`.
fn machine_echo(args: &Map<String, Value>) -> Result<Value, RemoteError> {
    let machine = required(args, "machine_echo", "machine")?;
    let m = DemoMachine::obj_from_primitive(machine).map_err(obj_err)?;
    Ok(m.obj_to_primitive())
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
        .method(
            "widget_rename",
            |_ctx, args| async move { widget_rename(&args) },
        )
        .method(
            "widget_make",
            |_ctx, args| async move { widget_make(&args) },
        )
        .method(
            "machine_echo",
            |_ctx, args| async move { machine_echo(&args) },
        )
        .method("context_fields", |ctx, _args| async move {
            Ok(Value::Object(RequestContext::try_from(&ctx)?.to_dict()))
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
    let mut builder = RpcServer::builder(
        &transport,
        Target::new(&args.topic).with_server(&args.server),
    )
    .endpoint(endpoint())
    .serializer(Arc::new(ObjectSerializer::new(objects::registry())));
    if args.conductor {
        builder = builder.endpoint(ConductorEndpoint::new(objects::registry()));
    }
    let server = builder.build()?;
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
