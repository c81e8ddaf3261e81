//! The messaging benchmark's Rust side (driven by `bench/rpc_bench.py`).
//!
//! ```text
//! rpc_bench [--runtime multi|current] server --transport-url URL --topic T --server S [--max-secs 600]
//! rpc_bench server --transport-url URL --topic T --workers N [--no-diagnostics]
//! rpc_bench client --transport-url URL --topic T --concurrency C --calls N --max-secs D [--casts M --cast-concurrency K]
//! rpc_bench raw --amqp-url amqp://guest:guest@127.0.0.1:5672/%2f --queue Q --messages M --window K
//! rpc_bench raw-call --amqp-url amqp://guest:guest@127.0.0.1:5672/%2f --queue Q --concurrency C --calls N --max-secs D [--role both|responder|caller] [--separate-connections] [--oslo-wire]
//! ```
//!
//! * `server` serves `echo(value)`, the cast target `hit()`,
//!   `reset_casts()`, `wait_casts(n, timeout)` (returns once `n` casts
//!   arrived since the last reset) and `cpu_secs()` (its process's user +
//!   system CPU time), prints `ready`, and stops when stdin closes, on
//!   Ctrl-C or after `--max-secs`. With `--workers N`, the
//!   server runs as the service of a `ProcessLauncher` with N worker
//!   processes (each its own consumer; the launcher's runtime, not
//!   `--runtime`) and the diagnostics endpoint, unless `--no-diagnostics`:
//!   the master prints `ready` once every worker serves, and stops on
//!   SIGTERM (stdin and `--max-secs` are not watched: the master runs no
//!   thread of its own).
//! * `client` warms up, makes at most `--calls` `echo` calls from
//!   `--concurrency` tasks within `--max-secs`, then sends `--casts` casts
//!   from `--cast-concurrency` tasks and asks the server to wait until all of
//!   them arrived; prints one JSON line: calls/s, p50/p99 call latency (µs),
//!   casts/s (first cast sent -> last cast received by the server), and the
//!   CPU time per call of the call phase: the client's process plus the
//!   server's (asked with `cpu_secs()` before and after), in µs.
//! * `raw` is the broker's own limit for casts: lapin alone, publisher
//!   confirms and a persistent, JSON-typed message of the size of a fjord
//!   cast to a topic exchange, `--window` publishers in flight, one consumer
//!   acking each delivery on its own connection; prints one JSON line.
//! * `raw-call` is the broker's own limit for calls: lapin alone, a
//!   confirmed request with `reply_to`/`correlation_id`, a responder that
//!   acks it and publishes a confirmed reply, a reply consumer matching
//!   replies; prints the same JSON as `client` (without casts; its CPU per
//!   call is its one process's, both sides). `--oslo-wire` publishes as
//!   oslo.messaging does (requests through a topic exchange with an
//!   expiration, replies with `mandatory`): the broker's limit for calls
//!   on the wire fjord must speak.
//!
//! `--objects` (server and client): the calls are `widget_rename(widget,
//! name)` with a `DemoWidget` versioned object (the `rpc_server` example's
//! schema, `support/objects.rs`) instead of `echo`: the client builds the
//! typed object and sends its primitive, both sides run fjord-objects'
//! `ObjectSerializer`, the server loads the typed object, renames it and
//! sends it back, the client loads the result and checks it.
//!
//! Every load is bounded by a count and a time limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use fjord_messaging::{
    Context, FnEndpoint, MessagingOptions, RemoteError, RpcClient, RpcServer, Target, Transport,
};
use fjord_objects::serializer::to_remote_error;
use fjord_objects::{FieldValue, Object, ObjectSerializer, VersionedObject};
use fjord_service::Service;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};

#[path = "support/objects.rs"]
mod objects;

use objects::DemoWidget;

#[derive(Parser, Debug)]
struct Args {
    /// The tokio runtime: `multi` (two worker threads) or `current` (one
    /// thread, what fjord's launcher gives a service by default).
    #[arg(long, global = true, default_value = "multi")]
    runtime: RuntimeKind,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum RuntimeKind {
    Multi,
    Current,
}

fn runtime(kind: RuntimeKind) -> std::io::Result<tokio::runtime::Runtime> {
    match kind {
        RuntimeKind::Multi => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        RuntimeKind::Current => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Serve the benchmark endpoint.
    Server {
        /// Transport URL (`rabbit://...` or `embedded:///path/broker.sock`).
        #[arg(long)]
        transport_url: String,
        /// Topic to serve.
        #[arg(long)]
        topic: String,
        /// This server's name.
        #[arg(long, default_value = "bench")]
        server: String,
        /// Stop by itself after this many seconds.
        #[arg(long, default_value_t = 600)]
        max_secs: u64,
        /// Serve `widget_rename` with the object serializer.
        #[arg(long)]
        objects: bool,
        /// Run the server in this many worker processes of a
        /// `ProcessLauncher` (0: in this process).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        /// With `--workers`: no diagnostics at all (no endpoint, no
        /// worker watchdog, so no board: workers count nothing; the
        /// benchmark of the diagnostics' cost compares both).
        #[arg(long)]
        no_diagnostics: bool,
    },
    /// Load a server with calls and casts.
    Client {
        /// Transport URL.
        #[arg(long)]
        transport_url: String,
        /// Topic to call.
        #[arg(long)]
        topic: String,
        /// Concurrent callers.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Most calls to make (after the warm-up).
        #[arg(long, default_value_t = 10_000)]
        calls: u64,
        /// Most seconds to spend calling.
        #[arg(long, default_value_t = 10.0)]
        max_secs: f64,
        /// Casts to send (0: none).
        #[arg(long, default_value_t = 0)]
        casts: u64,
        /// Concurrent casters.
        #[arg(long, default_value_t = 16)]
        cast_concurrency: usize,
        /// Warm-up calls, not measured.
        #[arg(long, default_value_t = 50)]
        warmup: u64,
        /// Call `widget_rename` with a DemoWidget object instead of `echo`.
        #[arg(long)]
        objects: bool,
    },
    /// Raw AMQP publish/consume loop (lapin only).
    Raw {
        /// AMQP URI.
        #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
        amqp_url: String,
        /// Queue (and exchange) name; deleted at the end.
        #[arg(long)]
        queue: String,
        /// Messages to publish.
        #[arg(long, default_value_t = 20_000)]
        messages: u64,
        /// Publishers in flight (each waits for its confirm).
        #[arg(long, default_value_t = 16)]
        window: usize,
        /// Message size in bytes.
        #[arg(long, default_value_t = 300)]
        body_bytes: usize,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60.0)]
        max_secs: f64,
    },
    /// Raw AMQP request/reply loop (lapin only): the broker's limit for calls.
    RawCall {
        /// AMQP URI.
        #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
        amqp_url: String,
        /// Prefix of the request and reply queues; deleted at the end.
        #[arg(long)]
        queue: String,
        /// Concurrent callers.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Most calls to make.
        #[arg(long, default_value_t = 10_000)]
        calls: u64,
        /// Most seconds to spend calling.
        #[arg(long, default_value_t = 10.0)]
        max_secs: f64,
        /// Message size in bytes.
        #[arg(long, default_value_t = 300)]
        body_bytes: usize,
        /// `both` sides in this process, or one side (`responder`: serves
        /// until stdin closes; `caller`: calls a running responder).
        #[arg(long, value_enum, default_value = "both")]
        role: RawRole,
        /// Publish on a connection of its own per side, apart from the
        /// consuming one (fjord's and oslo.messaging's layout).
        #[arg(long)]
        separate_connections: bool,
        /// Publish as oslo.messaging does: requests through a topic
        /// exchange with an expiration, replies with `mandatory`: what the
        /// oslo wire costs the broker.
        #[arg(long)]
        oslo_wire: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum RawRole {
    Both,
    Responder,
    Caller,
}

fn options(url: &str) -> MessagingOptions {
    let mut o = MessagingOptions::default();
    o.transport_url = Some(url.to_string());
    o
}

/// The endpoint: `echo`, and cast counting through a watch channel.
fn endpoint(casts: Arc<watch::Sender<u64>>) -> FnEndpoint {
    let hit = casts.clone();
    let reset = casts.clone();
    let wait = casts;
    FnEndpoint::builder()
        .method("echo", |_ctx, args| async move {
            Ok(args.get("value").cloned().unwrap_or(Value::Null))
        })
        .method("widget_rename", |_ctx, args| async move {
            let err = |e: fjord_objects::ObjectError| to_remote_error(&e);
            let widget = args.get("widget").unwrap_or(&Value::Null);
            let mut w = DemoWidget::obj_from_primitive(widget).map_err(err)?;
            w.obj_reset_changes(None, false);
            let name = args.get("name").unwrap_or(&Value::Null);
            w.obj_set("name", FieldValue::from_json(name))
                .map_err(err)?;
            Ok(w.obj_to_primitive())
        })
        .method(
            "cpu_secs",
            |_ctx, _args| async move { Ok(json!(cpu_secs())) },
        )
        .method("hit", move |_ctx, _args| {
            hit.send_modify(|c| *c += 1);
            async { Ok(Value::Null) }
        })
        .method("reset_casts", move |_ctx, _args| {
            reset.send_replace(0);
            async { Ok(Value::Null) }
        })
        .method("wait_casts", move |_ctx, args| {
            let mut rx = wait.subscribe();
            async move {
                let n = args.get("n").and_then(Value::as_u64).unwrap_or(0);
                let secs = args.get("timeout").and_then(Value::as_f64).unwrap_or(60.0);
                if !(0.0..=3600.0).contains(&secs) {
                    return Err(RemoteError::value_error("timeout must be 0..3600"));
                }
                let _ =
                    tokio::time::timeout(Duration::from_secs_f64(secs), rx.wait_for(|c| *c >= n))
                        .await;
                let got = *rx.borrow();
                Ok(json!(got))
            }
        })
        .build()
}

/// `server --workers N [--no-diagnostics]`.
#[derive(Debug, Clone, Copy)]
struct Launch {
    workers: usize,
    diagnostics: bool,
}

/// Runs `server` in `launch.workers` processes of a `ProcessLauncher` until
/// SIGTERM; prints `ready` once every worker serves.
fn launched(server: RpcServer, launch: Launch) -> anyhow::Result<()> {
    use fjord_service::diagnostics::DiagnosticsOptions;
    use fjord_service::{LauncherOptions, ProcessLauncher};
    let mut options = LauncherOptions::default()
        .name("rpc_bench")
        .diagnostics(DiagnosticsOptions::default().enabled(launch.diagnostics));
    if !launch.diagnostics {
        // No watchdog either: no board, workers count nothing.
        options = options.worker_timeout(std::time::Duration::ZERO);
    }
    let mut launcher = ProcessLauncher::new(options);
    launcher.launch_service(server, Some(launch.workers))?;
    launcher.on_ready(|| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready");
        let _ = out.flush();
    });
    let exit = launcher.wait()?;
    std::process::exit(exit.code());
}

fn server(
    rt_kind: RuntimeKind,
    transport_url: &str,
    topic: &str,
    name: &str,
    max_secs: u64,
    objects: bool,
    launch: Option<Launch>,
) -> anyhow::Result<()> {
    let transport = Transport::new(&options(transport_url))?;
    let casts = Arc::new(watch::channel(0u64).0);
    let mut builder = RpcServer::builder(&transport, Target::new(topic).with_server(name))
        .endpoint(endpoint(casts));
    if objects {
        builder = builder.serializer(Arc::new(ObjectSerializer::new(objects::registry())));
    }
    let server = builder.build()?;
    if let Some(launch) = launch {
        return launched(server, launch);
    }
    // stdin closing (the driver went away) stops the server.
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        let _ = eof_tx.send(());
    });
    let rt = runtime(rt_kind)?;
    rt.block_on(async {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        server.start().await?;
        println!("ready");
        tokio::select! {
            _ = &mut ctrl_c => {}
            _ = eof_rx => {}
            _ = tokio::time::sleep(Duration::from_secs(max_secs)) => {
                eprintln!("rpc_bench server: --max-secs reached, stopping");
            }
            _ = server.wait() => {}
        }
        server.stop(true).await;
        server.wait().await;
        transport.close().await;
        Ok(())
    })
}

fn kwargs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// User + system CPU time of this process (every thread), in seconds.
fn cpu_secs() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        tv(u.user_time()) + tv(u.system_time())
    })
}

/// The server's [`cpu_secs`], asked by a call.
async fn server_cpu_secs(client: &RpcClient, ctx: &Context) -> anyhow::Result<f64> {
    let v = client
        .call(ctx, "cpu_secs", Map::new())
        .await
        .context("cpu_secs")?;
    v.as_f64().context("cpu_secs returned no number")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

struct ClientArgs {
    concurrency: usize,
    calls: u64,
    max_secs: f64,
    casts: u64,
    cast_concurrency: usize,
    warmup: u64,
    objects: bool,
}

/// Call number `i`: `echo(value=i)`, or with `--objects`
/// `widget_rename(widget=<DemoWidget id=i>, name="w<i>")`; checks the
/// result.
async fn one_call(client: &RpcClient, ctx: &Context, i: u64, objects: bool) -> anyhow::Result<()> {
    if !objects {
        let v = client
            .call(ctx, "echo", kwargs(json!({"value": i})))
            .await?;
        if v != json!(i) {
            bail!("echo({i}) returned {v}");
        }
        return Ok(());
    }
    let mut w = DemoWidget::default();
    w.set_id(i64::try_from(i)?)?;
    w.set_name(format!("widget {i}"))?;
    w.set_tags(vec!["bench".to_string(), "objects".to_string()])?;
    w.obj_set("owner", FieldValue::None)?;
    let args = kwargs(json!({"widget": w.obj_to_primitive(), "name": format!("w{i}")}));
    let v = client.call(ctx, "widget_rename", args).await?;
    let back = DemoWidget::obj_from_primitive(&v)?;
    if back.id.value() != w.id.value()
        || back.name.value().map(String::as_str) != Some(&format!("w{i}"))
    {
        bail!("widget_rename({i}) returned {v}");
    }
    Ok(())
}

async fn client(client: RpcClient, a: ClientArgs) -> anyhow::Result<Value> {
    let ctx = Context::new();
    for i in 0..a.warmup {
        one_call(&client, &ctx, i, a.objects)
            .await
            .context("warm-up call")?;
    }
    // Calls.
    let server_cpu0 = server_cpu_secs(&client, &ctx).await?;
    let cpu0 = cpu_secs();
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(a.max_secs);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let client = client.clone();
        let next = next.clone();
        let total = a.calls;
        let objects = a.objects;
        tasks.push(tokio::spawn(async move {
            let ctx = Context::new();
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                one_call(&client, &ctx, i, objects).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.context("caller task")??);
    }
    let call_secs = t0.elapsed().as_secs_f64();
    let client_cpu = cpu_secs() - cpu0;
    let server_cpu = server_cpu_secs(&client, &ctx).await? - server_cpu0;
    lat.sort();
    let per_call = |secs: f64| secs * 1e6 / (lat.len().max(1) as f64);
    let mut out = json!({
        "concurrency": a.concurrency,
        "calls": lat.len(),
        "call_secs": call_secs,
        "calls_per_s": lat.len() as f64 / call_secs,
        "p50_us": percentile(&lat, 0.50),
        "p99_us": percentile(&lat, 0.99),
        "cpu_us_per_call": per_call(client_cpu + server_cpu),
        "client_cpu_us_per_call": per_call(client_cpu),
        "server_cpu_us_per_call": per_call(server_cpu),
    });
    // Casts: first cast sent -> the server has counted all of them.
    if a.casts > 0 {
        client
            .call(&ctx, "reset_casts", Map::new())
            .await
            .context("reset_casts")?;
        let next = Arc::new(AtomicU64::new(0));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.cast_concurrency.max(1) {
            let client = client.clone();
            let next = next.clone();
            let total = a.casts;
            tasks.push(tokio::spawn(async move {
                let ctx = Context::new();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    client.cast(&ctx, "hit", Map::new()).await?;
                }
                Ok::<_, fjord_messaging::Error>(())
            }));
        }
        for t in tasks {
            t.await.context("caster task")??;
        }
        let sent_secs = t0.elapsed().as_secs_f64();
        let got = client
            .call(
                &ctx,
                "wait_casts",
                kwargs(json!({"n": a.casts, "timeout": 60})),
            )
            .await
            .context("wait_casts")?;
        let secs = t0.elapsed().as_secs_f64();
        let got = got.as_u64().unwrap_or(0);
        if got < a.casts {
            bail!("only {got} of {} casts arrived within 60 s", a.casts);
        }
        out["casts"] = json!(a.casts);
        out["cast_concurrency"] = json!(a.cast_concurrency);
        out["casts_sent_per_s"] = json!(a.casts as f64 / sent_secs);
        out["casts_per_s"] = json!(a.casts as f64 / secs);
    }
    Ok(out)
}

async fn raw(
    url: &str,
    queue: &str,
    messages: u64,
    window: usize,
    body_bytes: usize,
    max_secs: f64,
) -> anyhow::Result<Value> {
    let deadline = Duration::from_secs_f64(max_secs);
    let sub = Connection::connect(url, ConnectionProperties::default()).await?;
    let pubc = Connection::connect(url, ConnectionProperties::default()).await?;
    let sch = sub.create_channel().await?;
    let exchange = ShortString::from(format!("{queue}_x"));
    sch.exchange_declare(
        exchange.clone(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await?;
    sch.queue_declare(
        ShortString::from(queue),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await?;
    sch.queue_bind(
        ShortString::from(queue),
        exchange.clone(),
        ShortString::from(queue),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    let mut consumer = sch
        .basic_consume(
            ShortString::from(queue),
            ShortString::from("raw"),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    // Acks go out from their own tasks, so consuming never waits on them
    // (as in fjord's server, which acks from its dispatch tasks).
    let ack_failures = Arc::new(AtomicU64::new(0));
    let ack_done = Arc::new(AtomicU64::new(0));
    let (failures, done) = (ack_failures.clone(), ack_done.clone());
    let counting = tokio::spawn(async move {
        let mut n = 0u64;
        while n < messages {
            match consumer.next().await {
                Some(Ok(d)) => {
                    let (failures, done) = (failures.clone(), done.clone());
                    tokio::spawn(async move {
                        if d.acker.ack(BasicAckOptions::default()).await.is_err() {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    });
                    n += 1;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok::<_, lapin::Error>((n, Instant::now()))
    });
    let pch = pubc.create_channel().await?;
    pch.confirm_select(ConfirmSelectOptions::default()).await?;
    let body: Arc<Vec<u8>> = Arc::new(vec![b'x'; body_bytes]);
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..window.max(1) {
        let (pch, next, body, exchange) =
            (pch.clone(), next.clone(), body.clone(), exchange.clone());
        let key = ShortString::from(queue);
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < messages {
                let props = BasicProperties::default()
                    .with_content_type(ShortString::from("application/json"))
                    .with_content_encoding(ShortString::from("utf-8"))
                    .with_delivery_mode(2)
                    .with_priority(0);
                let confirm = pch
                    .basic_publish(
                        exchange.clone(),
                        key.clone(),
                        BasicPublishOptions::default(),
                        &body,
                        props,
                    )
                    .await?
                    .await?;
                if confirm.is_nack() {
                    return Err(anyhow::anyhow!("the broker nacked a publish"));
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        tokio::time::timeout(deadline, t)
            .await
            .context("raw publishers timed out")?
            .context("publisher task")??;
    }
    let sent_secs = t0.elapsed().as_secs_f64();
    let (got, t_last) = tokio::time::timeout(deadline, counting)
        .await
        .context("raw consumer timed out")?
        .context("consumer task")??;
    let secs = t_last.duration_since(t0).as_secs_f64();
    // Let the last acks go out before the queue goes away.
    let acks_deadline = Instant::now() + Duration::from_secs(10);
    while ack_done.load(Ordering::Relaxed) < got && Instant::now() < acks_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = sch
        .queue_delete(ShortString::from(queue), QueueDeleteOptions::default())
        .await;
    let _ = sch
        .exchange_delete(exchange, ExchangeDeleteOptions::default())
        .await;
    let _ = pubc.close(200, ShortString::from("done")).await;
    let _ = sub.close(200, ShortString::from("done")).await;
    if got < messages {
        bail!("only {got} of {messages} raw messages arrived");
    }
    let failures = ack_failures.load(Ordering::Relaxed);
    if failures > 0 {
        bail!("{failures} raw acks failed");
    }
    Ok(json!({
        "messages": messages,
        "window": window,
        "body_bytes": body_bytes,
        "sent_per_s": messages as f64 / sent_secs,
        "casts_per_s": messages as f64 / secs,
    }))
}

fn json_props() -> BasicProperties {
    BasicProperties::default()
        .with_content_type(ShortString::from("application/json"))
        .with_content_encoding(ShortString::from("utf-8"))
        .with_delivery_mode(2)
        .with_priority(0)
}

async fn publish_confirmed(
    ch: &lapin::Channel,
    exchange: &str,
    key: &str,
    body: &[u8],
    props: BasicProperties,
    mandatory: bool,
) -> anyhow::Result<()> {
    let confirm = ch
        .basic_publish(
            ShortString::from(exchange),
            ShortString::from(key),
            BasicPublishOptions {
                mandatory,
                immediate: false,
            },
            body,
            props,
        )
        .await?
        .await?;
    if confirm.is_nack() {
        bail!("the broker nacked a publish");
    }
    Ok(())
}

type Pending = Arc<std::sync::Mutex<std::collections::HashMap<String, oneshot::Sender<()>>>>;

/// One side's connections: the consuming one, and the publishing one
/// (the same unless `separate`).
async fn raw_side(url: &str, separate: bool) -> anyhow::Result<(Connection, Option<Connection>)> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let publishing = if separate {
        Some(Connection::connect(url, ConnectionProperties::default()).await?)
    } else {
        None
    };
    Ok((conn, publishing))
}

/// A consuming channel and a confirm-mode publishing channel of a side.
async fn raw_channels(
    side: &(Connection, Option<Connection>),
) -> anyhow::Result<(lapin::Channel, lapin::Channel)> {
    let ch = side.0.create_channel().await?;
    let publish = side.1.as_ref().unwrap_or(&side.0).create_channel().await?;
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok((ch, publish))
}

async fn raw_close(side: (Connection, Option<Connection>)) {
    if let Some(c) = side.1 {
        let _ = c.close(200, ShortString::from("done")).await;
    }
    let _ = side.0.close(200, ShortString::from("done")).await;
}

async fn raw_consume(ch: &lapin::Channel, q: &str) -> lapin::Result<lapin::Consumer> {
    ch.queue_declare(
        ShortString::from(q),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await?;
    ch.basic_consume(
        ShortString::from(q),
        ShortString::from("raw"),
        BasicConsumeOptions::default(),
        FieldTable::default(),
    )
    .await
}

/// The request queue `req_q` consumed; with `oslo_wire`, also bound to
/// the topic exchange [`raw_exchange`] with its own name as key.
async fn raw_requests(
    ch: &lapin::Channel,
    req_q: &str,
    oslo_wire: bool,
) -> lapin::Result<lapin::Consumer> {
    if oslo_wire {
        ch.exchange_declare(
            ShortString::from(raw_exchange(req_q, true)),
            ExchangeKind::Topic,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    let consumer = raw_consume(ch, req_q).await?;
    if oslo_wire {
        ch.queue_bind(
            ShortString::from(req_q),
            ShortString::from(raw_exchange(req_q, true)),
            ShortString::from(req_q),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    Ok(consumer)
}

/// Where requests to `req_q` are published: the default exchange, or with
/// `oslo_wire` a topic exchange of its own.
fn raw_exchange(req_q: &str, oslo_wire: bool) -> String {
    if oslo_wire {
        format!("{req_q}_x")
    } else {
        String::new()
    }
}

/// Deletes the request queue and, with `oslo_wire`, its exchange.
async fn raw_delete_requests(ch: &lapin::Channel, req_q: &str, oslo_wire: bool) {
    let _ = ch
        .queue_delete(ShortString::from(req_q), QueueDeleteOptions::default())
        .await;
    if oslo_wire {
        let _ = ch
            .exchange_delete(
                ShortString::from(raw_exchange(req_q, true)),
                ExchangeDeleteOptions::default(),
            )
            .await;
    }
}

/// The responder: acks each request, then replies from its own task (like
/// a server's pool), until `stop`.
fn raw_responder(
    mut requests: lapin::Consumer,
    spub: lapin::Channel,
    stop: tokio_util::sync::CancellationToken,
    oslo_wire: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let d = tokio::select! {
                _ = stop.cancelled() => break,
                d = requests.next() => d,
            };
            let Some(Ok(d)) = d else { break };
            let spub = spub.clone();
            tokio::spawn(async move {
                let _ = d.acker.ack(BasicAckOptions::default()).await;
                let to = d.properties.reply_to().clone().unwrap_or_default();
                let mut props = json_props();
                if let Some(c) = d.properties.correlation_id() {
                    props = props.with_correlation_id(c.clone());
                }
                let _ = publish_confirmed(&spub, "", to.as_str(), &d.data, props, oslo_wire).await;
            });
        }
    })
}

/// Serves `{queue}_req` as [`raw_responder`] until stdin closes (or
/// `max_secs`); prints `ready` once it consumes.
async fn raw_serve(
    url: &str,
    queue: &str,
    separate: bool,
    oslo_wire: bool,
    max_secs: f64,
) -> anyhow::Result<()> {
    let req_q = format!("{queue}_req");
    let side = raw_side(url, separate).await?;
    let (sch, spub) = raw_channels(&side).await?;
    let requests = raw_requests(&sch, &req_q, oslo_wire).await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let responder = raw_responder(requests, spub, stop.clone(), oslo_wire);
    let (eof_tx, eof_rx) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        let _ = eof_tx.send(());
    });
    println!("ready");
    tokio::select! {
        _ = eof_rx => {}
        _ = tokio::time::sleep(Duration::from_secs_f64(max_secs)) => {}
    }
    stop.cancel();
    let _ = responder.await;
    raw_delete_requests(&sch, &req_q, oslo_wire).await;
    raw_close(side).await;
    Ok(())
}

/// Calls as an RPC over AMQP needs them, with nothing else: the caller
/// publishes (confirmed) a request carrying `reply_to` and `correlation_id`;
/// the responder acks it and publishes (confirmed) the reply, which the
/// caller's reply consumer matches by `correlation_id`. With
/// `RawRole::Caller` the responder is another process ([`raw_serve`]).
#[allow(clippy::too_many_arguments)]
async fn raw_call(
    url: &str,
    queue: &str,
    concurrency: usize,
    calls: u64,
    max_secs: f64,
    body_bytes: usize,
    role: RawRole,
    separate: bool,
    oslo_wire: bool,
) -> anyhow::Result<Value> {
    let req_q = format!("{queue}_req");
    let reply_q = format!("{queue}_reply");
    let exchange = raw_exchange(&req_q, oslo_wire);
    let stop = tokio_util::sync::CancellationToken::new();
    let mut server = None;
    if role == RawRole::Both {
        let side = raw_side(url, separate).await?;
        let (sch, spub) = raw_channels(&side).await?;
        let requests = raw_requests(&sch, &req_q, oslo_wire).await?;
        let responder = raw_responder(requests, spub, stop.clone(), oslo_wire);
        server = Some((side, sch, responder));
    }
    let cli = raw_side(url, separate).await?;
    let (cch, cpub) = raw_channels(&cli).await?;
    let mut replies = raw_consume(&cch, &reply_q).await?;
    let pending: Pending = Arc::default();
    let matcher = {
        let (stop, pending) = (stop.clone(), pending.clone());
        tokio::spawn(async move {
            loop {
                let d = tokio::select! {
                    _ = stop.cancelled() => break,
                    d = replies.next() => d,
                };
                let Some(Ok(d)) = d else { break };
                let id = d.properties.correlation_id().clone().unwrap_or_default();
                tokio::spawn(async move {
                    let _ = d.acker.ack(BasicAckOptions::default()).await;
                });
                let tx = pending.lock().ok().and_then(|mut p| p.remove(id.as_str()));
                if let Some(tx) = tx {
                    let _ = tx.send(());
                }
            }
        })
    };
    let body: Arc<Vec<u8>> = Arc::new(vec![b'x'; body_bytes]);
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(max_secs);
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (cpub, next, body, pending) =
            (cpub.clone(), next.clone(), body.clone(), pending.clone());
        let (req_q, reply_q, exchange) = (req_q.clone(), reply_q.clone(), exchange.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls || Instant::now() >= deadline {
                    break;
                }
                let id = i.to_string();
                let (tx, rx) = oneshot::channel();
                if let Ok(mut p) = pending.lock() {
                    p.insert(id.clone(), tx);
                }
                let t = Instant::now();
                let mut props = json_props()
                    .with_reply_to(ShortString::from(reply_q.as_str()))
                    .with_correlation_id(ShortString::from(id));
                if oslo_wire {
                    // A call's expiration is its timeout.
                    props = props.with_expiration(ShortString::from("60000"));
                }
                publish_confirmed(&cpub, &exchange, &req_q, &body, props, false).await?;
                tokio::time::timeout(Duration::from_secs(30), rx)
                    .await
                    .context("raw call timed out")?
                    .context("raw reply lost")?;
                lat.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut lat = Vec::new();
    let mut failed = None;
    for t in tasks {
        match t.await.context("raw caller task") {
            Ok(Ok(l)) => lat.extend(l),
            Ok(Err(e)) | Err(e) => failed = Some(e),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    stop.cancel();
    let _ = matcher.await;
    let _ = cch
        .queue_delete(
            ShortString::from(reply_q.as_str()),
            QueueDeleteOptions::default(),
        )
        .await;
    raw_close(cli).await;
    if let Some((side, sch, responder)) = server {
        let _ = responder.await;
        raw_delete_requests(&sch, &req_q, oslo_wire).await;
        raw_close(side).await;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    lat.sort();
    Ok(json!({
        "concurrency": concurrency,
        "calls": lat.len(),
        "call_secs": secs,
        "calls_per_s": lat.len() as f64 / secs,
        "p50_us": percentile(&lat, 0.50),
        "p99_us": percentile(&lat, 0.99),
        "cpu_us_per_call": cpu * 1e6 / (lat.len().max(1) as f64),
    }))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let rt_kind = args.runtime;
    match args.mode {
        Mode::Server {
            transport_url,
            topic,
            server: name,
            max_secs,
            objects,
            workers,
            no_diagnostics,
        } => server(
            rt_kind,
            &transport_url,
            &topic,
            &name,
            max_secs,
            objects,
            (workers > 0).then_some(Launch {
                workers,
                diagnostics: !no_diagnostics,
            }),
        ),
        Mode::Client {
            transport_url,
            topic,
            concurrency,
            calls,
            max_secs,
            casts,
            cast_concurrency,
            warmup,
            objects,
        } => {
            let transport = Transport::new(&options(&transport_url))?;
            let mut rpc = RpcClient::new(&transport, Target::new(&topic))
                .with_timeout(Duration::from_secs(90));
            if objects {
                rpc = rpc.with_serializer(Arc::new(ObjectSerializer::new(objects::registry())));
            }
            let rt = runtime(rt_kind)?;
            let a = ClientArgs {
                concurrency,
                calls,
                max_secs,
                casts,
                cast_concurrency,
                warmup,
                objects,
            };
            let out = rt.block_on(async {
                let r = client(rpc, a).await;
                transport.close().await;
                r
            })?;
            println!("{out}");
            Ok(())
        }
        Mode::Raw {
            amqp_url,
            queue,
            messages,
            window,
            body_bytes,
            max_secs,
        } => {
            let rt = runtime(rt_kind)?;
            let out = rt.block_on(raw(
                &amqp_url, &queue, messages, window, body_bytes, max_secs,
            ))?;
            println!("{out}");
            Ok(())
        }
        Mode::RawCall {
            amqp_url,
            queue,
            concurrency,
            calls,
            max_secs,
            body_bytes,
            role,
            separate_connections,
            oslo_wire,
        } => {
            let rt = runtime(rt_kind)?;
            if role == RawRole::Responder {
                return rt.block_on(raw_serve(
                    &amqp_url,
                    &queue,
                    separate_connections,
                    oslo_wire,
                    max_secs,
                ));
            }
            let out = rt.block_on(raw_call(
                &amqp_url,
                &queue,
                concurrency,
                calls,
                max_secs,
                body_bytes,
                role,
                separate_connections,
                oslo_wire,
            ))?;
            println!("{out}");
            Ok(())
        }
    }
}
