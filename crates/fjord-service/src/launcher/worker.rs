//! What runs inside a worker process, after fork: its own tokio runtime,
//! the service, and the stop logic shared with the single-process launcher.

use std::future::Future;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};

use super::{Exit, LauncherOptions, ReloadHook, RestartMethod, SharedService};

/// Byte a worker writes on its status pipe once its service serves.
pub(crate) const READY: u8 = b'R';
/// The exit status of a worker whose code panicked (EX_SOFTWARE).
pub(crate) const PANICKED: i32 = 70;
/// Status byte: this worker has served its `max_requests`; replace it.
pub(crate) const RETIRE: u8 = b'X';

/// Builds the runtime of a worker or of a single-process launcher.
pub(crate) fn build_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// Runs one service in this (forked) worker; returns the exit code.
pub(crate) fn run(
    service: SharedService,
    status: OwnedFd,
    death: OwnedFd,
    options: &LauncherOptions,
    mask: &nix::sys::signal::SigSet,
    hook: Option<ReloadHook>,
) -> i32 {
    let rt = match build_runtime(options.worker_threads) {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("worker cannot build its runtime: {e}");
            return Exit::StartFailed.code();
        }
    };
    let code = rt.block_on(serve(service, status, death, options, mask, hook));
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn serve(
    service: SharedService,
    status: OwnedFd,
    death: OwnedFd,
    options: &LauncherOptions,
    mask: &nix::sys::signal::SigSet,
    mut hook: Option<ReloadHook>,
) -> i32 {
    let name = service.name().to_owned();
    let started = Instant::now();
    // B1: the master's watchdog reads this worker's heartbeats.
    crate::diagnostics::spawn_heartbeat(options.heartbeat_interval());
    // The console's `log <filter>` reaches this worker through the mailbox.
    crate::diagnostics::control::spawn_log_watch();
    let (mut term, mut hup, mut usr2) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined2()),
    ) {
        (Ok(t), Ok(h), Ok(u)) => (t, h, u),
        _ => {
            tracing::error!("worker of {name} cannot install signal handlers");
            return Exit::StartFailed.code();
        }
    };
    // Signals stayed blocked since fork: one sent before the handlers above
    // existed is pending, and is delivered to them now.
    crate::signal::restore_mask(mask);
    let death = match tokio::net::unix::pipe::Receiver::from_owned_fd(death) {
        Ok(fd) => fd,
        Err(e) => {
            tracing::error!("worker of {name} cannot watch the master: {e}");
            return Exit::StartFailed.code();
        }
    };

    let start = tokio::select! {
        r = service.start() => r,
        _ = term.recv() => {
            tracing::info!("worker of {name} stopped while starting");
            service.close_listeners();
            return stop_bounded(std::slice::from_ref(&service), options.graceful_deadline(), term.recv()).await.code();
        }
    };
    if let Err(e) = start {
        tracing::error!("worker of {name} failed to start: {e}");
        return Exit::StartFailed.code();
    }
    if let Err(e) = nix::unistd::write(&status, &[READY]) {
        tracing::warn!("worker of {name} cannot tell the master it is ready: {e}");
    }

    let share = super::recycle::arm(options.max_requests, options.max_requests_jitter);
    let mut asked = share == 0;
    let reason = loop {
        tokio::select! {
            () = super::recycle::reached(), if !asked => {
                asked = true;
                tracing::info!("worker of {name} served its max_requests ({share}); asking for a replacement");
                if let Err(e) = nix::unistd::write(&status, &[RETIRE]) {
                    tracing::warn!("worker of {name} cannot ask the master for a replacement: {e}");
                }
            }
            _ = service.wait() => {
                tracing::warn!("service {name} ended by itself");
                return Exit::Clean.code();
            }
            _ = term.recv() => break "SIGTERM",
            _ = death.readable() => break "the master is gone",
            _ = hup.recv() => match (options.restart_method, &mut hook) {
                (RestartMethod::Mutate, Some(hook)) => match hook() {
                    Ok(()) => tracing::info!("worker of {name} re-read its configuration in place"),
                    Err(e) => tracing::error!("worker of {name} keeps its configuration: {e}"),
                },
                (RestartMethod::Mutate, None) => {}
                (RestartMethod::Reload, _) => tracing::info!(
                    "worker of {name} ignores SIGHUP: the master replaces workers on reload"
                ),
            },
            _ = usr2.recv() => {
                eprintln!(
                    "fjord report: worker pid={} service={name} uptime={:.1}s",
                    std::process::id(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
    };
    tracing::info!("worker of {name} stopping ({reason})");
    service.close_listeners();
    stop_bounded(
        std::slice::from_ref(&service),
        options.graceful_deadline(),
        term.recv(),
    )
    .await
    .code()
}

/// Stops `services` gracefully, those that stop first before the others,
/// bounded by `deadline`; `force` (for
/// example a second stop signal) cuts it short. When cut short, every
/// service gets `stop(false)` and one more second.
pub(crate) async fn stop_bounded<F: Future>(
    services: &[SharedService],
    deadline: Option<Duration>,
    force: F,
) -> Exit {
    // The APIs first (`Service::stops_first`), then the services they call.
    let stage = |first: bool| {
        futures_util::future::join_all(
            services
                .iter()
                .filter(move |s| s.stops_first() == first)
                .map(|s| async move {
                    s.stop(true).await;
                    s.wait().await;
                }),
        )
    };
    let graceful = async {
        stage(true).await;
        stage(false).await;
    };
    let timer = async {
        match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = graceful => return Exit::Clean,
        _ = timer => tracing::warn!(
            "graceful stop did not finish within {:?}; abandoning work in flight",
            deadline.unwrap_or_default()
        ),
        _ = force => tracing::warn!("second stop signal; abandoning work in flight"),
    }
    let forced = futures_util::future::join_all(services.iter().map(|s| async move {
        s.stop(false).await;
        s.wait().await;
    }));
    let _ = tokio::time::timeout(Duration::from_secs(1), forced).await;
    Exit::Forced
}
