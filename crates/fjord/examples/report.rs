//! What the SIGUSR2 report shows, on a small program with one HTTP API and
//! one RPC service under a master:
//!
//! * `api` (HTTP, `--api-workers`, default 1): `GET /slow?ms=N` answers
//!   after N ms; `GET /call?ms=N` calls the RPC service's `sleep` and
//!   answers when it returns.
//! * `conductor` (RPC on topic `conductor`): `sleep(ms)` returns after
//!   `ms` milliseconds; its periodic task `Report.check` runs every second
//!   and fails every time.
//!
//! ```text
//! cargo run --example report -- --config-file report.conf
//! ```
//!
//! with for example (the embedded transport needs no broker)
//!
//! ```ini
//! [DEFAULT]
//! transport_url = embedded:///tmp/fjord-report.sock
//! [oslo_reports]
//! log_dir = /tmp
//! ```
//!
//! Prints `listening on <url>` once every worker serves. Then
//! `curl '<url>/slow?ms=20000' & kill -USR2 <master pid>`.

use std::convert::Infallible;
use std::time::Duration;

use fjord::config::ConfigOpts;
use fjord::http::server::{HttpService, ServerOptions};
use fjord::http::{App, Request, full};
use fjord::messaging::{
    Context, Endpoint, FnEndpoint, MessagingOptions, RpcClient, Target, Transport,
};
use fjord::rpc_service::{Manager, RpcService};
use fjord::service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
use fjord::service::{LauncherOptions, ProcessLauncher};
use serde_json::{Map, Value, json};

/// `ms` from a query string `ms=N` (0 when absent or bad).
fn millis(query: Option<&str>) -> u64 {
    query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ms=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn text(status: u16, body: String) -> http::Response<fjord::http::Body> {
    let mut resp = http::Response::new(full(body));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    resp
}

/// The API: made in each worker after fork.
fn app(transport: Transport) -> App {
    App::new(tower::service_fn(move |req: Request| {
        let transport = transport.clone();
        async move {
            let ms = millis(req.uri().query());
            let resp = match req.uri().path() {
                "/slow" => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    text(200, format!("slept {ms} ms\n"))
                }
                "/call" => {
                    let client = RpcClient::new(&transport, Target::new("conductor"))
                        .with_timeout(Duration::from_millis(ms + 30_000));
                    let mut args = Map::new();
                    args.insert("ms".into(), json!(ms));
                    match client.call(&Context::new(), "sleep", args).await {
                        Ok(v) => text(200, format!("{v}\n")),
                        Err(e) => text(500, format!("{e}\n")),
                    }
                }
                _ => text(404, "Not Found\n".into()),
            };
            Ok::<_, Infallible>(resp)
        }
    }))
}

#[derive(Debug)]
struct Conductor;

impl Manager for Conductor {
    fn endpoints(&self) -> Vec<std::sync::Arc<dyn Endpoint>> {
        let sleep = FnEndpoint::builder()
            .method("sleep", |_ctx, args: Map<String, Value>| async move {
                let ms = args.get("ms").and_then(Value::as_u64).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(json!(ms))
            })
            .build();
        vec![std::sync::Arc::new(sleep)]
    }

    fn periodic_tasks(&self) -> PeriodicTasks {
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        PeriodicTasks::new().owner("Report").add(
            PeriodicTask::new("check", Duration::from_secs(1), move |()| {
                let n = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                async move {
                    Err::<(), _>(std::io::Error::other(format!(
                        "check {n} failed: the disk is on fire"
                    )))
                }
            })
            .run_immediately(true),
        )
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,fjord_http::access=warn".into()),
        )
        .init();
    let mut conf = ConfigOpts::new("report");
    LauncherOptions::register(&mut conf)?;
    ServerOptions::register(&mut conf, &["api"])?;
    MessagingOptions::register(&mut conf)?;
    if let Err(e) = conf.parse_args(std::env::args_os()) {
        eprintln!("report: {e}");
        std::process::exit(e.exit_code());
    }
    let transport = Transport::new(&MessagingOptions::from_conf(&conf)?)?;
    let mut launcher = ProcessLauncher::new(LauncherOptions::from_conf(&conf)?.name("report"));
    launcher.app_version("9.8.7-example");

    let options = ServerOptions::from_conf(&conf, "api")?;
    let workers = options.workers.or(Some(1));
    let api_transport = transport.clone();
    let api = HttpService::bind_with(options, move || app(api_transport.clone()))?;
    let url = api.url();
    launcher.launch_service(api, workers)?;

    let conductor = RpcService::create(
        "report-conductor",
        "conductor",
        "host-1",
        &transport,
        Conductor,
    )?
    .periodic_options(PeriodicOptions::default().periodic_fuzzy_delay(Duration::ZERO));
    launcher.launch_service(conductor, Some(1))?;

    launcher.on_ready(move || {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {url}");
        let _ = out.flush();
    });
    let exit = launcher.wait()?;
    std::process::exit(exit.code());
}
