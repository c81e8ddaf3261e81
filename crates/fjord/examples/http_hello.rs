//! The smallest fjord HTTP API: `GET /hello` answers `Hello, World!`
//! from N pre-forked workers sharing one listening socket.
//!
//! ```text
//! cargo run --release --example http_hello -- --workers 2 --port 8080
//! curl -i http://127.0.0.1:8080/hello
//! ```
//!
//! `GET /` lists the paths; `GET /healthcheck` answers `OK` (as oslo's
//! healthcheck middleware does); anything else is a 404.
//!
//! The socket is bound in the master before fork (port 0 picks a free port);
//! every worker accepts on it, and `listening on http://127.0.0.1:<port>` is
//! printed once all workers serve. Each response names the worker that
//! served it in `x-fjord-worker-pid`. SIGTERM drains connections
//! gracefully; SIGHUP replaces workers one by one without closing the
//! socket. `--http2` also serves HTTP/2 with prior knowledge (h2c) on the
//! same port (`curl --http2-prior-knowledge`, `h2load`).

use std::convert::Infallible;
use std::time::Duration;

use clap::Parser;
use fjord::http::server::{HttpService, ServerOptions};
use fjord::http::{App, Request, full};
use fjord::service::diagnostics::DiagnosticsOptions;
use fjord::service::{LauncherOptions, launch};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};

/// Names the worker that served a response (tests use it).
const WORKER_PID: HeaderName = HeaderName::from_static("x-fjord-worker-pid");

#[derive(Parser, Debug)]
struct Args {
    /// Worker processes (default: the CPU count; 1 runs in this process).
    #[arg(long)]
    workers: Option<usize>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    listen: String,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seconds a graceful stop may take.
    #[arg(long, default_value_t = 60)]
    graceful_shutdown_timeout: u64,
    /// Log every request (access log).
    #[arg(long)]
    access_log: bool,
    /// Seconds a client may take to send a request head, idle time on a
    /// keep-alive connection included (oslo's `client_socket_timeout`;
    /// 0 = none).
    #[arg(long, default_value_t = 900)]
    client_socket_timeout: u64,
    /// Also serve HTTP/2 with prior knowledge (h2c) on the same port.
    #[arg(long)]
    http2: bool,
    /// Give each worker its own listening socket (SO_REUSEPORT;
    /// `reuse_port`).
    #[arg(long)]
    reuse_port: bool,
    /// Seconds to retry binding while the address is in use.
    #[arg(long, default_value_t = 30)]
    bind_timeout: u64,
    /// Requests a worker serves before it is replaced by a fresh one
    /// (`max_requests`; 0 = never).
    #[arg(long, default_value_t = 0)]
    max_requests: u64,
    /// Up to this many more requests, at random per worker
    /// (`max_requests_jitter`).
    #[arg(long, default_value_t = 0)]
    max_requests_jitter: u64,
    /// No diagnostics at all: no endpoint (`[diagnostics] enabled =
    /// false`) and no worker watchdog (`worker_timeout = 0`), so no
    /// shared board and workers count nothing (the benchmark of the
    /// diagnostics' cost compares both).
    #[arg(long)]
    no_diagnostics: bool,
}

/// What `GET /` answers.
const INDEX: &str = "fjord http_hello example\n\
    GET /hello        Hello, World!\n\
    GET /healthcheck  OK\n";

/// The app of one worker: made after fork, so the pid it answers with is
/// the worker's own. Headers are built once and cloned (a reference count).
/// The answer needs nothing to wait for, so it is made in the call and
/// the future only hands it over (it does not hold the request). `/hello`,
/// the benchmarked path, is matched first.
fn hello() -> App {
    let pid = HeaderValue::from(std::process::id());
    let text = HeaderValue::from_static("text/plain");
    App::new(tower::service_fn(move |req: Request| {
        let path = req.uri().path();
        let resp = if path == "/hello" {
            let mut resp = http::Response::new(full("Hello, World!"));
            resp.headers_mut().insert(CONTENT_TYPE, text.clone());
            resp.headers_mut().insert(WORKER_PID, pid.clone());
            resp
        } else {
            let (status, body) = match path {
                "/healthcheck" => (http::StatusCode::OK, "OK"),
                "/" => (http::StatusCode::OK, INDEX),
                _ => (http::StatusCode::NOT_FOUND, "Not Found"),
            };
            let mut resp = http::Response::new(full(body));
            *resp.status_mut() = status;
            resp.headers_mut().insert(CONTENT_TYPE, text.clone());
            resp.headers_mut().insert(WORKER_PID, pid.clone());
            resp
        };
        std::future::ready(Ok::<_, Infallible>(resp))
    }))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = if args.access_log {
        "info"
    } else {
        "info,fjord_http::access=warn"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()),
        )
        .init();
    // Bound here, in the master, before any worker exists.
    let service = HttpService::bind_with(
        ServerOptions::new("hello")
            .listen(args.listen)
            .port(args.port)
            .client_socket_timeout(Duration::from_secs(args.client_socket_timeout))
            .http2(args.http2)
            .reuse_port(args.reuse_port)
            .bind_timeout(Duration::from_secs(args.bind_timeout)),
        hello,
    )?;
    let url = service.url();
    let options = LauncherOptions::default()
        .name("http_hello")
        .graceful_shutdown_timeout(Duration::from_secs(args.graceful_shutdown_timeout))
        .max_requests(args.max_requests)
        .max_requests_jitter(args.max_requests_jitter)
        .diagnostics(DiagnosticsOptions::default().enabled(!args.no_diagnostics));
    let options = if args.no_diagnostics {
        options.worker_timeout(Duration::ZERO)
    } else {
        options
    };
    let mut launcher = launch(service, args.workers, options)?;
    launcher.on_ready(move || {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {url}");
        let _ = out.flush();
    });
    let exit = launcher.wait()?;
    std::process::exit(exit.code());
}
