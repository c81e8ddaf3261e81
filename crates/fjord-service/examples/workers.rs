//! A service run by N supervised worker processes.
//!
//! ```text
//! cargo run --release --example workers -- --workers 3 --graceful-shutdown-timeout 5
//! ```
//!
//! Each worker prints `worker started pid=<pid>` when it starts, then runs
//! a 1-second "job" in a loop (`job started` / `job finished` lines). On
//! SIGTERM it finishes the job in flight and prints
//! `worker stopped pid=<pid> clean`. Try, from another terminal:
//! `kill -KILL <worker pid>` (respawned), `kill -HUP <master pid>` (workers
//! replaced one by one, master PID kept), `kill -TERM <master pid>`.
//!
//! The other flags exist so tests can make workers misbehave.

use std::time::Duration;

use clap::Parser;
use fjord_service::diagnostics::{Backdoor, DiagnosticsOptions};
use fjord_service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
use fjord_service::{LauncherOptions, Result, Service, TaskGroup, async_trait, launch};

/// Prints one line with a single write(2), so lines of concurrent workers
/// sharing a pipe never interleave (`println!` may split a line in two).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        let line = format!("{}\n", format_args!($($t)*));
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }};
}

#[derive(Parser, Debug)]
struct Args {
    /// Worker processes (default: the CPU count; 1 runs in this process).
    #[arg(long)]
    workers: Option<usize>,
    /// Seconds a graceful stop may take before work is abandoned (0 = forever).
    #[arg(long, default_value_t = 60)]
    graceful_shutdown_timeout: u64,
    /// Length of one job, in seconds.
    #[arg(long, default_value_t = 1.0)]
    job_seconds: f64,
    /// Fail at start (tests the start-failure back-off).
    #[arg(long)]
    fail_start: bool,
    /// Panic in start (tests the fork boundary).
    #[arg(long)]
    panic_start: bool,
    /// Exit with status 1 this many seconds after starting (tests respawn limits).
    #[arg(long)]
    crash_after: Option<f64>,
    /// Jobs block the worker's thread (tests the master's kill deadline).
    #[arg(long)]
    stuck: bool,
    /// Start failures in a row before the master gives up.
    #[arg(long, default_value_t = 5)]
    max_start_failures: u32,
    /// First back-off after a start failure, in seconds.
    #[arg(long, default_value_t = 1.0)]
    start_failure_backoff: f64,
    /// Seconds a worker may go without a heartbeat before the master kills
    /// and replaces it (0 = no watchdog).
    #[arg(long, default_value_t = 30)]
    worker_timeout: u64,
    /// Port of the master's diagnostics endpoint (0 = any free port).
    #[arg(long, default_value_t = 0)]
    diagnostics_port: u16,
    /// No diagnostics endpoint.
    #[arg(long)]
    no_diagnostics: bool,
    /// Run a periodic task `tick` every this many seconds (0 = none).
    #[arg(long, default_value_t = 0.0)]
    tick_seconds: f64,
    /// Every other run of the `tick` task fails.
    #[arg(long)]
    tick_fails: bool,
    /// File the master (or the single process) writes its PID to while it runs.
    #[arg(long, value_name = "PATH")]
    pid_file: Option<std::path::PathBuf>,
    /// The operator console on 127.0.0.1 (oslo's `backdoor_port`: a port,
    /// start:end or 0).
    #[arg(long)]
    backdoor_port: Option<String>,
    /// The operator console on a Unix socket (oslo's `backdoor_socket`).
    #[arg(long)]
    backdoor_socket: Option<std::path::PathBuf>,
    /// Every job logs `job detail pid=<pid> n=<n>` at DEBUG (target
    /// `workers::jobs`), so tests can see the console's `log` take effect.
    #[arg(long)]
    debug_lines: bool,
}

#[derive(Debug)]
struct Jobs {
    tg: TaskGroup,
    job: Duration,
    fail_start: bool,
    panic_start: bool,
    crash_after: Option<Duration>,
    stuck: bool,
    periodic: Option<PeriodicTasks>,
    debug_lines: bool,
}

#[async_trait]
impl Service for Jobs {
    fn name(&self) -> &str {
        "jobs"
    }

    async fn start(&self) -> Result<()> {
        let pid = std::process::id();
        assert!(!self.panic_start, "asked to panic at start");
        if self.fail_start {
            return Err(fjord_service::Error::start(std::io::Error::other(
                "asked to fail at start",
            )));
        }
        say!("worker started pid={pid}");
        let stopping = self.tg.stopping();
        let (job, stuck, debug_lines) = (self.job, self.stuck, self.debug_lines);
        self.tg.spawn(async move {
            let mut n = 0u64;
            while !stopping.is_cancelled() {
                n += 1;
                say!("job started pid={pid} n={n}");
                if debug_lines {
                    tracing::debug!(target: "workers::jobs", "job detail pid={pid} n={n}");
                }
                if stuck {
                    std::thread::sleep(job);
                } else {
                    tokio::time::sleep(job).await;
                }
                say!("job finished pid={pid} n={n}");
            }
            say!("worker stopped pid={pid} clean");
        });
        if let Some(periodic) = &self.periodic {
            let options = PeriodicOptions::default().periodic_fuzzy_delay(Duration::ZERO);
            periodic.start(&self.tg, (), &options);
        }
        if let Some(after) = self.crash_after {
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                say!("worker crashing pid={pid}");
                std::process::exit(1);
            });
        }
        Ok(())
    }

    async fn stop(&self, graceful: bool) {
        self.tg.stop(graceful).await
    }

    async fn wait(&self) {
        self.tg.wait().await
    }

    async fn reset(&self) -> Result<()> {
        self.tg.reset();
        Ok(())
    }
}

/// The `tick` periodic task: says `tick n=<n>`; with `fails`, every
/// other run returns an error.
fn tick(seconds: f64, fails: bool) -> PeriodicTasks {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    PeriodicTasks::new().owner("Jobs").add(
        PeriodicTask::new("tick", Duration::from_secs_f64(seconds), move |()| {
            let n = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            async move {
                say!("tick pid={} n={n}", std::process::id());
                if fails && n.is_multiple_of(2) {
                    Err(std::io::Error::other(format!("tick {n} failed on purpose")))
                } else {
                    Ok(())
                }
            }
        })
        .run_immediately(true),
    )
}

fn main() -> anyhow::Result<()> {
    // A filter the console's `log <filter>` can change at run time.
    fjord_service::logging::init("info");
    let args = Args::parse();
    let service = Jobs {
        tg: TaskGroup::default(),
        job: Duration::from_secs_f64(args.job_seconds),
        fail_start: args.fail_start,
        panic_start: args.panic_start,
        crash_after: args.crash_after.map(Duration::from_secs_f64),
        stuck: args.stuck,
        periodic: (args.tick_seconds > 0.0).then(|| tick(args.tick_seconds, args.tick_fails)),
        debug_lines: args.debug_lines,
    };
    let backdoor = match (args.backdoor_socket, args.backdoor_port) {
        (Some(path), _) => Some(Backdoor::Socket(path)),
        (None, Some(port)) => Some(Backdoor::parse_port(&port).map_err(anyhow::Error::msg)?),
        (None, None) => None,
    };
    let mut options = LauncherOptions::default()
        .name("workers")
        .graceful_shutdown_timeout(Duration::from_secs(args.graceful_shutdown_timeout))
        .max_start_failures(args.max_start_failures)
        .start_failure_backoff(Duration::from_secs_f64(args.start_failure_backoff))
        .worker_timeout(Duration::from_secs(args.worker_timeout))
        .diagnostics(
            DiagnosticsOptions::default()
                .enabled(!args.no_diagnostics)
                .port(args.diagnostics_port),
        )
        .backdoor(backdoor);
    if let Some(path) = args.pid_file {
        options = options.pid_file(path);
    }
    // A configuration for the console's `config` command: the launcher's
    // options and one secret, all at their defaults.
    let mut conf =
        fjord_config::ConfigOpts::new("workers").env_source(fjord_config::EnvSource::Off);
    LauncherOptions::register(&mut conf)?;
    conf.register(
        "database",
        &[fjord_config::Opt::str("connection")
            .secret()
            .default("postgresql://workers:s3cret@127.0.0.1/workers")],
    )?;
    conf.load(vec![])?;
    let mut launcher = launch(service, args.workers, options)?;
    launcher.config(&conf);
    let exit = launcher.wait()?;
    std::process::exit(exit.code());
}
