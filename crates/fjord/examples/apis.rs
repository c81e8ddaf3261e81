//! Several APIs under one master, nova's way (H12): `enabled_apis` picks
//! them; each has its own `<api>_listen`, `<api>_listen_port`,
//! `<api>_workers` and, when listed in `enabled_ssl_apis`, TLS.
//!
//! ```text
//! cargo run --example apis -- --config-file apis.conf
//! ```
//!
//! with for example
//!
//! ```ini
//! [DEFAULT]
//! enabled_apis = alpha,beta
//! alpha_listen = 127.0.0.1
//! alpha_listen_port = 8781
//! alpha_workers = 2
//! beta_listen = 127.0.0.1
//! beta_listen_port = 8782
//! beta_workers = 1
//! ```
//!
//! Every API answers `GET /` with its own name; once all workers of all
//! APIs serve, one line per API is printed: `api <name> listening on <url>`.

use std::convert::Infallible;

use fjord::config::{ConfigOpts, Opt};
use fjord::http::server::{HttpService, ServerOptions};
use fjord::http::{App, Request, full};
use fjord::service::{LauncherOptions, ProcessLauncher};

/// The APIs this program knows (nova: osapi_compute, metadata).
const KNOWN: [&str; 2] = ["alpha", "beta"];

fn app(name: &'static str) -> App {
    App::new(tower::service_fn(move |_req: Request| async move {
        Ok::<_, Infallible>(
            http::Response::builder()
                .header(http::header::CONTENT_TYPE, "text/plain")
                .header("x-fjord-worker-pid", std::process::id().to_string())
                .body(full(name))
                .unwrap_or_else(|_| http::Response::new(full(""))),
        )
    }))
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
    let mut conf = ConfigOpts::new("apis");
    LauncherOptions::register(&mut conf)?;
    ServerOptions::register(&mut conf, &KNOWN)?;
    conf.register(
        "DEFAULT",
        &[Opt::list("enabled_apis")
            .default("alpha,beta")
            .help("The APIs to run, each with its own listen address, port and workers.")],
    )?;
    if let Err(e) = conf.parse_args(std::env::args_os()) {
        eprintln!("apis: {e}");
        std::process::exit(e.exit_code());
    }
    let mut launcher = ProcessLauncher::new(LauncherOptions::from_conf(&conf)?.name("apis"));
    let enabled: Vec<String> = conf.get("DEFAULT", "enabled_apis")?;
    if let Some(unknown) = enabled.iter().find(|e| !KNOWN.contains(&e.as_str())) {
        eprintln!("apis: enabled_apis: unknown API {unknown:?}; known: {KNOWN:?}");
        std::process::exit(2);
    }
    let mut lines = Vec::new();
    for name in KNOWN {
        if !enabled.iter().any(|e| e == name) {
            continue;
        }
        // Bound now, in the master, before any worker exists.
        let options = ServerOptions::from_conf(&conf, name)?;
        let workers = options.workers;
        let service = HttpService::bind(options, app(name))?;
        lines.push(format!("api {name} listening on {}", service.url()));
        launcher.launch_service(service, workers)?;
    }
    launcher.on_ready(move || {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for line in &lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    });
    std::process::exit(launcher.wait()?.code());
}
