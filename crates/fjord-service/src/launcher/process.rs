//! The pre-fork master (oslo.service `ProcessLauncher`).
//!
//! The decisions (which worker to fork or stop, and when) are made by
//! [`Master`], which does no I/O; this file is the shell around it: a plain
//! synchronous loop over `poll(2)` on a self-pipe for signals and one status
//! pipe per worker, which forks, signals and reaps as the master decides.
//! It never creates a thread or a runtime and never runs service code;
//! workers build their own runtime after fork.

use std::collections::{BTreeMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use super::master::{Action, Event, Master, Notify, Phase, ServiceSpec, Status};
use super::upgrade::{self, Heard, Program, Upgrade};
use super::worker::{self, READY, RETIRE};
use super::{
    Exit, LauncherOptions, ReadyHook, ReloadHook, SharedService, WORKER, WorkerInfo, check_workers,
};
use crate::diagnostics::board::{self, Board};
use crate::diagnostics::config_dump::ConfigDump;
use crate::diagnostics::console::{self, ConsoleListener};
use crate::diagnostics::control::{self, Control};
use crate::signal::{self as sig, MASTER_SIGNALS, SelfPipe};
use crate::{Error, ErrorKind, Result, Service, proctitle, systemd};

/// Runs services in forked worker processes under a small master
/// (oslo.service `ProcessLauncher`).
///
/// * Workers are forked before any runtime or thread exists in the master
///   ([`ProcessLauncher::wait`] refuses to fork from a process with more
///   than one thread); each builds its own tokio runtime.
/// * A dead worker is logged with its exit status or signal and replaced,
///   at most `workers` forks per `workers` seconds per service (L5, L6).
///   A worker that exits before serving counts as a start failure: the next
///   fork backs off, and past `max_start_failures` in a row the master
///   stops and returns [`Exit::StartFailed`].
/// * Workers exit when the master dies, even by SIGKILL (a pipe they watch,
///   and `PR_SET_PDEATHSIG`).
/// * SIGTERM/SIGINT: workers get SIGTERM and stop gracefully; the master
///   returns when all are reaped, [`Exit::Clean`] or, past
///   `graceful_shutdown_timeout` (+1 s) when it kills the rest,
///   [`Exit::Forced`]. A second signal forces.
/// * SIGHUP: the reload hook runs in the master, then every worker is
///   replaced one at a time: a new worker is forked (inheriting the reloaded
///   configuration and the listening sockets), and once it serves the old
///   one is stopped gracefully. The master keeps its PID.
/// * SIGTTIN / SIGTTOU: one more / one fewer worker per service (B3).
/// * systemd: `READY=1` once every worker serves, `RELOADING=1`,
///   `STOPPING=1`.
///
/// # Examples
///
/// ```no_run
/// use fjord_service::{LauncherOptions, ProcessLauncher};
/// # #[derive(Debug)] struct Api;
/// # #[fjord_service::async_trait] impl fjord_service::Service for Api {
/// #   fn name(&self) -> &str { "api" }
/// #   async fn start(&self) -> fjord_service::Result<()> { Ok(()) }
/// #   async fn stop(&self, _: bool) {}
/// #   async fn wait(&self) {}
/// # }
/// # #[derive(Debug)] struct Rpc;
/// # #[fjord_service::async_trait] impl fjord_service::Service for Rpc {
/// #   fn name(&self) -> &str { "rpc" }
/// #   async fn start(&self) -> fjord_service::Result<()> { Ok(()) }
/// #   async fn stop(&self, _: bool) {}
/// #   async fn wait(&self) {}
/// # }
/// let mut launcher = ProcessLauncher::new(LauncherOptions::default());
/// launcher.launch_service(Api, Some(4))?;
/// launcher.launch_service(Rpc, Some(1))?;
/// std::process::exit(launcher.wait()?.code());
/// # Ok::<(), fjord_service::Error>(())
/// ```
pub struct ProcessLauncher {
    options: LauncherOptions,
    slots: Vec<Slot>,
    hook: Option<ReloadHook>,
    ready_hook: Option<ReadyHook>,
    config: Option<SharedDump>,
    app_version: Option<String>,
}

/// The configuration as the console shows it, rebuilt by a mutate hook
/// of the application's `ConfigOpts` when a reload changes it.
type SharedDump = Arc<std::sync::Mutex<ConfigDump>>;
pub(super) type SharedDumpHandle = SharedDump;

/// Copies the dump out of its lock.
fn dump_of(d: &SharedDump) -> ConfigDump {
    d.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// A dump of `conf`, kept up to date through `conf`'s mutate hooks.
pub(super) fn shared_dump(conf: &fjord_config::ConfigOpts) -> SharedDump {
    let dump = Arc::new(std::sync::Mutex::new(ConfigDump::from_conf(conf)));
    let weak = Arc::downgrade(&dump);
    conf.on_mutate(move |conf, _| {
        if let Some(d) = weak.upgrade() {
            *d.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                ConfigDump::from_conf(conf);
        }
    });
    dump
}

impl std::fmt::Debug for ProcessLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessLauncher")
            .field("options", &self.options)
            .field(
                "services",
                &self
                    .slots
                    .iter()
                    .map(|s| (s.service.name().to_owned(), s.workers))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

struct Slot {
    service: SharedService,
    workers: usize,
}

/// A worker's status pipe, as the shell polls it.
struct StatusPipe {
    fd: OwnedFd,
    open: bool,
}

/// The shell around [`Master`]: it forks, signals, polls and reaps, turns
/// what it sees into events, and carries out the actions the master
/// returns. Built by [`ProcessLauncher::wait`].
struct Shell {
    options: LauncherOptions,
    services: Vec<SharedService>,
    hook: Option<ReloadHook>,
    ready_hook: Option<ReadyHook>,
    master: Master,
    /// The status pipe of every worker not reaped yet.
    children: BTreeMap<Pid, StatusPipe>,
    pipe: SelfPipe,
    death_r: OwnedFd,
    death_w: OwnedFd,
    pid: Pid,
    /// This binary's path and arguments, for an upgrade.
    program: Option<Program>,
    /// An upgrade under way (this master started a new one).
    upgrade: Option<Upgrade>,
    /// Started by an upgrade: the pipe to tell the old master this one
    /// serves.
    serving_pipe: Option<OwnedFd>,
    /// The counters shared with the workers (none if it could not be
    /// mapped: then no metrics and no watchdog).
    board: Option<&'static Board>,
    /// Each worker's slot on the board.
    slots: BTreeMap<Pid, usize>,
    /// systemd's watchdog (`WATCHDOG_USEC`): how often to send
    /// `WATCHDOG=1`, and when next.
    sd_watchdog: Option<(Duration, Instant)>,
    /// The diagnostics process (endpoint and console), when enabled.
    diag: Option<Diag>,
    /// The console's socket (`backdoor_port` / `backdoor_socket`), bound
    /// at start and served by the diagnostics process.
    console: Option<ConsoleListener>,
    /// The console's mailbox (log filter, scale requests).
    control: Option<&'static Control>,
    /// The pipe the console writes a byte to for the master's attention.
    wake: Option<(OwnedFd, OwnedFd)>,
    /// The application's configuration, as the console shows it, and the
    /// copy the running diagnostics process was forked with.
    config: Option<SharedDump>,
    config_served: ConfigDump,
}

/// The diagnostics endpoint as the master keeps it: its socket, bound in
/// the master (so it outlives the process serving it), and that process.
struct Diag {
    /// Whether it serves the HTTP endpoint (`[diagnostics] enabled`); it
    /// may run for the console alone.
    http: bool,
    host: String,
    port: u16,
    listener: Option<std::net::TcpListener>,
    url: String,
    pid: Option<Pid>,
    /// No bind or fork before this.
    next: Instant,
    announced: bool,
    bind_failed_logged: bool,
}

/// Binds the diagnostics socket; warns about a non-loopback address.
fn diag_bind(host: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    use std::net::ToSocketAddrs;
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address for the host")
    })?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "diagnostics: listening on {addr}, not a loopback address: the endpoint has no \
             authentication; anyone who reaches it reads the metrics and status"
        );
    }
    std::net::TcpListener::bind(addr)
}

impl ProcessLauncher {
    /// A launcher with no services yet.
    pub fn new(options: LauncherOptions) -> Self {
        ProcessLauncher {
            options,
            slots: Vec::new(),
            hook: None,
            ready_hook: None,
            config: None,
            app_version: None,
        }
    }

    /// The application's configuration, for the console's `config`
    /// command and the report (secrets shown as `****`). It is read now
    /// and again after each reload that changes it (a mutate hook on
    /// `conf`).
    pub fn config(&mut self, conf: &fjord_config::ConfigOpts) -> &mut Self {
        self.config = Some(shared_dump(conf));
        self
    }

    /// The application's version, shown in the report (SIGUSR2,
    /// `GET /report`) next to fjord's (oslo.reports' `version`).
    pub fn app_version(&mut self, version: impl Into<String>) {
        self.app_version = Some(version.into());
    }

    /// Adds a service run by `workers` worker processes (`None`: the CPU
    /// count). Nothing is forked until [`ProcessLauncher::wait`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `workers` is `Some(0)`.
    pub fn launch_service<S: Service>(&mut self, service: S, workers: Option<usize>) -> Result<()> {
        let workers = check_workers(service.name(), workers)?;
        self.slots.push(Slot {
            service: Arc::new(service),
            workers,
        });
        Ok(())
    }

    /// Sets the SIGHUP reload hook, run in the master before workers are
    /// replaced (see [`super::ReloadHook`]).
    pub fn on_reload(&mut self, hook: impl FnMut() -> Result<()> + Send + 'static) {
        self.hook = Some(Box::new(hook));
    }

    /// Sets the hook run in the master once every worker serves for the
    /// first time (see [`super::ReadyHook`]).
    pub fn on_ready(&mut self, hook: impl FnMut() + Send + 'static) {
        self.ready_hook = Some(Box::new(hook));
    }

    /// Forks the workers and supervises them until they are stopped.
    /// Returns in the master only; workers exit from inside.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] with no service, or with an inherited
    /// socket (see [`crate::activation`]) that no service took, or when this process
    /// already runs more than one thread (fork would not be safe: build the
    /// launcher before any runtime or thread); [`ErrorKind::Os`] when pipes,
    /// signal handlers or the first fork cannot be had, or the
    /// [`LauncherOptions::pid_file`] cannot be written.
    pub fn wait(self) -> Result<Exit> {
        if self.slots.is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "no service to launch"));
        }
        crate::activation::check_all_taken()?;
        if let Some(n) = proctitle::thread_count().filter(|&n| n > 1) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the master runs {n} threads; ProcessLauncher must fork before any \
                     async runtime or thread exists (build and wait on it first in main)"
                ),
            ));
        }
        let pipe = SelfPipe::install(&MASTER_SIGNALS)?;
        let (death_r, death_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
            .map_err(|e| Error::os("cannot create the parent-death pipe", e))?;
        let pid = nix::unistd::getpid();
        let mut options = self.options;
        // The board serves the endpoint, the watchdog and the console;
        // with none of them wanted, workers count nothing.
        let wanted = options.diagnostics.enabled
            || !options.worker_timeout.is_zero()
            || options.backdoor.is_some();
        let board = match wanted.then(board::map) {
            None => None,
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                tracing::warn!(
                    "cannot map the diagnostics board ({e}): no metrics, no worker watchdog"
                );
                options.worker_timeout = Duration::ZERO;
                None
            }
        };
        crate::diagnostics::render::set_report_info(crate::diagnostics::render::ReportInfo {
            binary: crate::diagnostics::render::binary_name(),
            app_version: self.app_version,
            config: self.config.clone(),
        });
        if let Some(b) = board {
            b.master_pid
                .store(pid.as_raw() as u64, std::sync::atomic::Ordering::Relaxed);
            b.master_started_ms
                .store(board::unix_ms(), std::sync::atomic::Ordering::Relaxed);
        }
        // The console: bound now, before any fork, so every worker knows
        // its port and a bad address stops the start.
        let console = match &options.backdoor {
            None => None,
            Some(b) if board.is_none() => {
                tracing::error!("console: no diagnostics board: {b:?} is not served");
                None
            }
            Some(b) => {
                let l = console::bind(b, pid.as_raw() as u32).map_err(|e| {
                    Error::new(
                        ErrorKind::Os,
                        format!("cannot listen for the console ({b:?}): {e}"),
                    )
                })?;
                tracing::info!("console on {}", l.describe());
                crate::diagnostics::set_backdoor_port(l.port());
                Some(l)
            }
        };
        let control = match console.as_ref().map(|_| control::install()) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Os,
                    format!("cannot map the console's mailbox: {e}"),
                ));
            }
            None => None,
        };
        let wake = match console {
            Some(_) => Some(
                nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
                    .map_err(|e| Error::os("cannot create the console's pipe", e))?,
            ),
            None => None,
        };
        let config_served = self.config.as_ref().map(dump_of).unwrap_or_default();
        let specs = self
            .slots
            .iter()
            .map(|s| ServiceSpec {
                name: s.service.name().to_owned(),
                workers: s.workers,
                stops_first: s.service.stops_first(),
            })
            .collect();
        let mut shell = Shell {
            master: Master::new(specs, options.clone(), pid, Instant::now()),
            options,
            services: self.slots.into_iter().map(|s| s.service).collect(),
            hook: self.hook,
            ready_hook: self.ready_hook,
            children: BTreeMap::new(),
            pipe,
            death_r,
            death_w,
            pid,
            program: Program::current(),
            upgrade: None,
            serving_pipe: upgrade::take_serving_pipe(),
            board,
            slots: BTreeMap::new(),
            sd_watchdog: systemd::watchdog_interval().map(|every| (every, Instant::now())),
            diag: None,
            console,
            control,
            wake,
            config: self.config,
            config_served,
        };
        if (shell.options.diagnostics.enabled || shell.console.is_some()) && shell.board.is_some() {
            shell.diag = Some(Diag {
                http: shell.options.diagnostics.enabled,
                host: shell.options.diagnostics.host.clone(),
                port: shell.options.diagnostics.port,
                listener: None,
                url: String::new(),
                pid: None,
                next: Instant::now(),
                announced: false,
                bind_failed_logged: false,
            });
        }
        let _pid_file = shell
            .options
            .pid_file
            .as_deref()
            .map(super::pidfile::PidFile::create)
            .transpose()?;
        proctitle::set(&format!("fjord: master {}", shell.options.name));
        shell.run()
    }
}

impl Shell {
    fn run(&mut self) -> Result<Exit> {
        let total = self.master.total_workers();
        tracing::info!(
            "master pid={} starting {total} workers for {} service(s)",
            self.pid,
            self.services.len()
        );
        // The first forks must work; later fork failures are retried.
        let first = self.master.handle(Event::Tick, Instant::now());
        self.execute(first, true)?;
        let exit = loop {
            if let Some(exit) = self.master.done() {
                break exit;
            }
            let now = Instant::now();
            self.ping_systemd(now);
            let diag_at = self.tend_diagnostics(now);
            let deadline = [
                self.master.deadline(now),
                self.sd_watchdog.map(|(_, at)| at),
                diag_at,
            ]
            .into_iter()
            .flatten()
            .min();
            let timeout = deadline.map(|at| at.saturating_duration_since(now));
            let pids = self.polled_pids();
            let ready = self.poll(&pids, timeout);
            // Fresh heartbeats before anything else the master decides on.
            self.feed_heartbeats();
            if ready[0] {
                for s in self.pipe.drain() {
                    self.feed(Event::Signal(s));
                }
            }
            let upgrade_heard = ready.get(pids.len() + 1).copied().unwrap_or(false);
            for (readable, pid) in ready.into_iter().skip(1).zip(pids) {
                if readable {
                    self.read_status(pid);
                }
            }
            if upgrade_heard {
                self.hear_upgrade();
            }
            self.hear_console();
            self.reap();
            self.reap_diagnostics();
            self.feed(Event::Tick);
            self.publish();
        };
        self.stop_diagnostics();
        tracing::info!("master pid={} exiting: {exit:?}", self.pid);
        Ok(exit)
    }

    /// The console's requests: a new log filter (applied in this process;
    /// workers apply it themselves), a scale request (done, then answered
    /// with the service's worker count).
    fn hear_console(&mut self) {
        let Some(control) = self.control else { return };
        if let Some((r, _)) = &self.wake {
            let mut buf = [0u8; 64];
            while matches!(nix::unistd::read(r, &mut buf), Ok(n) if n > 0) {}
        }
        control::apply_log_filter();
        if let Some(req) = control.pending_scale() {
            if req.service < self.services.len() {
                self.feed(Event::Scale {
                    service: req.service,
                    delta: req.delta,
                });
            }
            let workers = self
                .master
                .service_view(req.service)
                .map_or(0, |(w, _)| w as u64);
            control.answer_scale(req.id, workers);
        }
    }

    /// L12: `WATCHDOG=1` every half `WATCHDOG_USEC`, from this loop: it
    /// stops when the loop stops.
    fn ping_systemd(&mut self, now: Instant) {
        if let Some((every, next)) = &mut self.sd_watchdog
            && now >= *next
        {
            systemd::notify("WATCHDOG=1");
            *next = now + *every;
        }
    }

    /// Reads every worker's last heartbeat from the board and tells the
    /// master (see [`Event::Heartbeats`]).
    fn feed_heartbeats(&mut self) {
        let Some(board) = self.board else { return };
        let now_ns = board::monotonic_ns();
        let beats: Vec<(Pid, Duration)> = self
            .slots
            .iter()
            .filter_map(|(pid, &i)| {
                let ns = board::get(&board.slots[i].heartbeat_ns);
                (ns != 0).then(|| (*pid, Duration::from_nanos(now_ns.saturating_sub(ns))))
            })
            .collect();
        if !beats.is_empty() {
            self.feed(Event::Heartbeats(beats));
        }
    }

    /// Writes what the master knows (phases, worker counts, replacements)
    /// to the board, for the diagnostics process.
    fn publish(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(board) = self.board else { return };
        for w in self.master.worker_views() {
            if let Some(&i) = self.slots.get(&w.pid) {
                let phase = match w.phase {
                    Phase::Starting => 0,
                    Phase::Serving => 1,
                    Phase::Retiring { .. } => 2,
                    Phase::Stopping => 3,
                };
                board.slots[i].phase.store(phase, Relaxed);
            }
        }
        board.master_state.store(self.master.state_index(), Relaxed);
        let n = self.services.len().min(board::SERVICES);
        board.services_len.store(n as u64, Relaxed);
        for (s, area) in board.services.iter().enumerate().take(n) {
            if let Some((workers, replaced)) = self.master.service_view(s) {
                area.workers.store(workers as u64, Relaxed);
                for (a, v) in area.restarts.iter().zip(replaced) {
                    a.store(v, Relaxed);
                }
            }
        }
    }

    /// Tells the master what happened, and does what it decides.
    fn feed(&mut self, event: Event) {
        let actions = self.master.handle(event, Instant::now());
        // Only `strict` execution fails.
        let _ = self.execute(actions, false);
    }

    /// Carries out `actions` in order, feeding the outcome of each fork,
    /// reload hook and upgrade back to the master at once. `strict`: a
    /// failed fork is an error (the first forks must work) instead of an
    /// event.
    fn execute(&mut self, actions: Vec<Action>, strict: bool) -> Result<()> {
        let mut queue = VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            let more = match action {
                Action::Fork { service, index } => match self.spawn(service, index) {
                    Ok(pid) => self.master.handle(
                        Event::Forked {
                            service,
                            index,
                            pid,
                        },
                        Instant::now(),
                    ),
                    Err(e) if strict => return Err(e),
                    Err(e) => self.master.handle(
                        Event::ForkFailed {
                            service,
                            index,
                            error: e.to_string(),
                        },
                        Instant::now(),
                    ),
                },
                Action::Kill { pid, signal } => {
                    let _ = kill(pid, signal);
                    Vec::new()
                }
                Action::Reap(pid) => match waitpid(pid, None) {
                    Ok(status) => self.exited(pid, status),
                    Err(_) => Vec::new(),
                },
                Action::CloseListeners => {
                    for service in &self.services {
                        service.close_listeners();
                    }
                    Vec::new()
                }
                Action::RunReloadHook => {
                    let result = match &mut self.hook {
                        Some(hook) => hook().map_err(|e| e.to_string()),
                        None => Ok(()),
                    };
                    self.refresh_console_config();
                    self.master
                        .handle(Event::ReloadHookDone(result), Instant::now())
                }
                Action::StartUpgrade => match self.start_upgrade() {
                    Some(pid) => self
                        .master
                        .handle(Event::UpgradeStarted(pid), Instant::now()),
                    None => Vec::new(),
                },
                Action::Notify(n) => {
                    match n {
                        Notify::Ready(status) => systemd::ready(&status),
                        Notify::Reloading => systemd::reloading(),
                        Notify::Stopping => systemd::stopping(),
                        Notify::MainPid(pid) => systemd::notify(&format!("MAINPID={pid}")),
                    };
                    Vec::new()
                }
                Action::AllServing => {
                    if let Some(pipe) = self.serving_pipe.take() {
                        upgrade::tell_serving(pipe);
                    }
                    if let Some(hook) = &mut self.ready_hook {
                        hook();
                    }
                    Vec::new()
                }
                Action::Report(report) => {
                    self.report(&report);
                    Vec::new()
                }
            };
            queue.extend(more);
        }
        Ok(())
    }

    /// SIGUSR2: the report to stderr and, with `[oslo_reports] log_dir`,
    /// to a file there named as oslo.reports names it
    /// (`<name>_gurumeditation_<YYYYmmddHHMMSS>`, UTC). Built from the
    /// board (as `GET /report`); `master_view` (the master's own lines)
    /// only when there is no board.
    fn report(&self, master_view: &str) {
        use crate::diagnostics::render;
        let Some(board) = self.board else {
            eprint!("{master_view}");
            return;
        };
        self.publish();
        let names: Vec<String> = self.services.iter().map(|s| s.name().to_owned()).collect();
        let snap = render::snapshot(board, &self.options.name, &names);
        let text = render::report(&snap);
        eprint!("{text}");
        if let Some(dir) = &self.options.report_log_dir {
            let path = dir.join(format!(
                "{}_gurumeditation_{}",
                self.options.name,
                render::utc_compact(snap.now_ms)
            ));
            match std::fs::write(&path, &text) {
                Ok(()) => tracing::info!("report written to {}", path.display()),
                Err(e) => tracing::error!("cannot write the report to {}: {e}", path.display()),
            }
        }
    }

    /// The workers whose status pipes are polled, in `poll` order (after the
    /// signal pipe).
    fn polled_pids(&self) -> Vec<Pid> {
        self.children
            .iter()
            .filter(|(_, c)| c.open)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Waits for a signal, a status byte or `timeout`; index 0 is the
    /// signal pipe, then [`Shell::polled_pids`], then the upgrade's pipe
    /// while one is under way.
    fn poll(&self, pids: &[Pid], timeout: Option<Duration>) -> Vec<bool> {
        let mut fds = Vec::with_capacity(pids.len() + 2);
        fds.push(PollFd::new(self.pipe.fd(), PollFlags::POLLIN));
        for pid in pids {
            fds.push(PollFd::new(
                self.children[pid].fd.as_fd(),
                PollFlags::POLLIN,
            ));
        }
        if let Some(fd) = self.upgrade.as_ref().and_then(|u| u.serving.as_ref()) {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        // Last, only to wake up: `hear_console` reads it every turn.
        if let Some((r, _)) = &self.wake {
            fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
        }
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(d) => {
                let ms = d.as_millis().clamp(1, i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        match poll(&mut fds, timeout) {
            Ok(_) => fds
                .iter()
                .map(|f| {
                    f.revents()
                        .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP))
                })
                .collect(),
            Err(Errno::EINTR) => vec![true; 1]
                .into_iter()
                .chain(std::iter::repeat_n(false, pids.len()))
                .collect(),
            Err(e) => {
                tracing::error!("master poll failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                vec![true; pids.len() + 1]
            }
        }
    }

    /// Reads a worker's status pipe: `RETIRE` (it served its
    /// `max_requests`), `READY` (it serves), or end of file.
    fn read_status(&mut self, pid: Pid) {
        let Some(child) = self.children.get_mut(&pid) else {
            return;
        };
        let mut buf = [0u8; 16];
        match nix::unistd::read(&child.fd, &mut buf) {
            Ok(0) | Err(_) => child.open = false,
            Ok(n) => {
                if buf[..n].contains(&RETIRE) {
                    self.feed(Event::WorkerRetireRequested(pid));
                }
                if buf[..n].contains(&READY) {
                    self.feed(Event::WorkerReady(pid));
                }
            }
        }
    }

    /// Reaps our own workers only (never `waitpid(-1)`, which would steal
    /// the statuses of the application's own subprocesses).
    fn reap(&mut self) {
        if let Some(u) = &self.upgrade {
            match waitpid(u.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {}
                status => {
                    self.upgrade = None;
                    let status = status.map_or(Status::Gone, status_of);
                    self.feed(Event::UpgradeExited(status));
                }
            }
        }
        let pids: Vec<Pid> = self.children.keys().copied().collect();
        for pid in pids {
            let actions = match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => continue,
                Ok(status) => self.exited(pid, status),
                Err(Errno::ECHILD) => self.exited(pid, WaitStatus::StillAlive),
                Err(_) => continue,
            };
            let _ = self.execute(actions, false);
        }
    }

    /// A worker was reaped: its pipe is dropped, its counters folded into
    /// its service's totals, the master told.
    fn exited(&mut self, pid: Pid, status: WaitStatus) -> Vec<Action> {
        self.children.remove(&pid);
        if let (Some(i), Some(board)) = (self.slots.remove(&pid), self.board) {
            board.retire_slot(i);
        }
        self.master
            .handle(Event::WorkerExited(pid, status_of(status)), Instant::now())
    }

    /// The new master of an upgrade spoke: it serves (this master then
    /// stops for good), or it closed its pipe (it is exiting: `reap` says
    /// how).
    fn hear_upgrade(&mut self) {
        let Some(u) = &mut self.upgrade else {
            return;
        };
        match u.hear() {
            Heard::Serving => {
                self.upgrade = None;
                self.feed(Event::UpgradeServing);
            }
            Heard::Closed | Heard::Nothing => {}
        }
    }

    /// SIGUSR1: starts the binary now at this one's path as a new master
    /// with the listening sockets (see [`upgrade`]). Returns its PID.
    fn start_upgrade(&mut self) -> Option<Pid> {
        let Some(program) = &self.program else {
            tracing::error!("upgrade impossible: this process's executable path is unknown");
            return None;
        };
        let listeners: Vec<(String, RawFd)> = self
            .services
            .iter()
            .flat_map(|service| service.listeners())
            .collect();
        match Upgrade::start(program, &listeners) {
            Ok(u) => {
                tracing::info!(
                    "master caught SIGUSR1: started {} as the new master pid={} with {} listening \
                     socket(s); the old workers serve until it does",
                    program.path.display(),
                    u.pid,
                    listeners.len()
                );
                let pid = u.pid;
                self.upgrade = Some(u);
                Some(pid)
            }
            Err(e) => {
                tracing::error!("{e}; the old workers keep serving");
                None
            }
        }
    }

    /// The master's own descriptors, which no child keeps: the signal
    /// pipe, the death pipe's write end, the workers' status pipes, the
    /// upgrade's pipes.
    fn master_fds(&self) -> Vec<RawFd> {
        let mut close: Vec<RawFd> = self.pipe.raw_fds().to_vec();
        close.push(self.death_w.as_raw_fd());
        close.extend(self.children.values().map(|c| c.fd.as_raw_fd()));
        close.extend(self.serving_pipe.as_ref().map(AsRawFd::as_raw_fd));
        close.extend(self.wake.as_ref().map(|(r, _)| r.as_raw_fd()));
        close.extend(
            self.upgrade
                .as_ref()
                .and_then(|u| u.serving.as_ref())
                .map(AsRawFd::as_raw_fd),
        );
        close
    }

    /// The diagnostics endpoint's upkeep, each turn of the loop: binds its
    /// socket (retried every second while it is taken, as by the old
    /// master of an upgrade), and forks its process, again one second
    /// after it died. Returns when it wants to run next.
    fn tend_diagnostics(&mut self, now: Instant) -> Option<Instant> {
        let running = self.master.done().is_none();
        let d = self.diag.as_mut()?;
        if !running || d.pid.is_some() {
            return None;
        }
        if now < d.next {
            return Some(d.next);
        }
        d.next = now + Duration::from_secs(1);
        if d.http && d.listener.is_none() {
            match diag_bind(&d.host, d.port) {
                Ok(l) => {
                    d.url = l
                        .local_addr()
                        .map(|a| format!("http://{a}"))
                        .unwrap_or_default();
                    d.listener = Some(l);
                }
                Err(e) => {
                    if !d.bind_failed_logged {
                        d.bind_failed_logged = true;
                        tracing::error!(
                            "diagnostics: cannot listen on {}:{}: {e}; retrying every second",
                            d.host,
                            d.port
                        );
                    }
                    return Some(d.next);
                }
            }
        }
        match self.spawn_diagnostics() {
            Ok(pid) => {
                let d = self.diag.as_mut()?;
                d.pid = Some(pid);
                if !d.announced && d.http {
                    tracing::info!("diagnostics on {} (pid={pid})", d.url);
                }
                d.announced = true;
                None
            }
            Err(e) => {
                tracing::error!("diagnostics: {e}; retrying in a second");
                self.diag.as_ref().map(|d| d.next)
            }
        }
    }

    /// Forks the diagnostics process (see [`crate::diagnostics`]).
    fn spawn_diagnostics(&mut self) -> Result<Pid> {
        let (Some(board), Some(d)) = (self.board, self.diag.as_ref()) else {
            return Err(Error::new(ErrorKind::InvalidInput, "no board"));
        };
        let listener = d.listener.as_ref();
        if listener.is_none() && self.console.is_none() {
            return Err(Error::new(ErrorKind::InvalidInput, "no socket"));
        }
        let close = self.master_fds();
        self.config_served = self.config.as_ref().map(dump_of).unwrap_or_default();
        let console_parts = match (&self.console, self.control) {
            (Some(l), Some(control)) => Some((
                l,
                console::Console {
                    board,
                    control,
                    name: self.options.name.clone(),
                    services: self.services.iter().map(|s| s.name().to_owned()).collect(),
                    config: Arc::new(std::sync::Mutex::new(self.config_served.clone())),
                    wake: None,
                    lock: tokio::sync::Mutex::new(()),
                    single: false,
                },
            )),
            _ => None,
        };
        let wake_w = self.wake.as_ref().map(|(_, w)| w);
        let death = self
            .death_r
            .try_clone()
            .map_err(|e| Error::new(ErrorKind::Os, format!("cannot copy the death pipe: {e}")))?;
        let endpoint = crate::diagnostics::server::Endpoint {
            board,
            name: self.options.name.clone(),
            services: self.services.iter().map(|s| s.name().to_owned()).collect(),
        };
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mask = sig::block_all()?;
        // SAFETY: as for a worker (see `spawn`): the master is
        // single-threaded, so the child is a consistent copy, and until its
        // runtime exists it only resets signals, closes descriptors, calls
        // prctl and sets its title.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    sig::reset_in_child(&MASTER_SIGNALS);
                    for &fd in &close {
                        // SAFETY: the master's descriptors; this child never
                        // uses them, and leaves through process::exit
                        // without dropping their owners.
                        unsafe {
                            libc::close(fd);
                        }
                    }
                    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
                    if nix::unistd::getppid() != self.pid {
                        return 0;
                    }
                    proctitle::set(&format!("fjord: diagnostics {}", self.options.name));
                    // The APIs' sockets are the workers' to serve.
                    for service in &self.services {
                        service.close_listeners();
                    }
                    let Ok(listener) = listener.map(std::net::TcpListener::try_clone).transpose()
                    else {
                        return 1;
                    };
                    let console = match console_parts {
                        Some((l, mut c)) => {
                            let Ok(l) = l.try_clone() else { return 1 };
                            c.wake = wake_w.and_then(|w| w.try_clone().ok());
                            Some((l, c))
                        }
                        None => None,
                    };
                    sig::restore_mask(&mask);
                    crate::diagnostics::server::run(listener, console, death, endpoint)
                }))
                .unwrap_or(worker::PANICKED);
                std::process::exit(code);
            }
            Ok(ForkResult::Parent { child }) => {
                sig::restore_mask(&mask);
                Ok(child)
            }
            Err(e) => {
                sig::restore_mask(&mask);
                Err(Error::os("fork of the diagnostics process failed", e))
            }
        }
    }

    /// After a reload: when the configuration changed, the diagnostics
    /// process (which serves the console) is replaced so that `config`
    /// shows the new values.
    fn refresh_console_config(&mut self) {
        let Some(config) = &self.config else { return };
        if self.console.is_none() || dump_of(config) == self.config_served {
            return;
        }
        if let Some(pid) = self.diag.as_ref().and_then(|d| d.pid) {
            tracing::info!(
                "configuration changed: replacing the diagnostics process pid={pid} so the \
                 console shows it"
            );
            let _ = kill(pid, Signal::SIGTERM);
        }
    }

    /// Reaps the diagnostics process if it died.
    fn reap_diagnostics(&mut self) {
        let Some(d) = self.diag.as_mut() else { return };
        let Some(pid) = d.pid else { return };
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {}
            status => {
                d.pid = None;
                d.next = Instant::now() + Duration::from_secs(1);
                if self.master.done().is_none() {
                    tracing::warn!(
                        "diagnostics process pid={pid} ended ({status:?}); restarting it in a second"
                    );
                }
            }
        }
    }

    /// Stops the diagnostics process as the master exits.
    fn stop_diagnostics(&mut self) {
        if let Some(pid) = self.diag.as_mut().and_then(|d| d.pid.take()) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }

    /// Forks a worker for service `s`, slot `index`.
    fn spawn(&mut self, s: usize, index: usize) -> Result<Pid> {
        let (status_r, status_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| Error::os("cannot create a worker status pipe", e))?;
        // Master-only descriptors the child must not keep.
        let mut close = self.master_fds();
        close.push(status_r.as_raw_fd());
        close.extend(
            self.diag
                .as_ref()
                .and_then(|d| d.listener.as_ref())
                .map(AsRawFd::as_raw_fd),
        );
        close.extend(self.console.as_ref().map(ConsoleListener::raw_fd));
        close.extend(self.wake.as_ref().map(|(_, w)| w.as_raw_fd()));
        let service = Arc::clone(&self.services[s]);
        // A free slot on the board for the new worker.
        let slot = self.board.and_then(|b| {
            let taken: Vec<usize> = self.slots.values().copied().collect();
            (0..board::SLOTS).find(|i| !taken.contains(i) && board::get(&b.slots[*i].pid) == 0)
        });
        if let (Some(b), Some(i)) = (self.board, slot) {
            use std::sync::atomic::Ordering::Relaxed;
            let sl = &b.slots[i];
            sl.service.store(s as u64, Relaxed);
            sl.index.store(index as u64, Relaxed);
            sl.phase.store(0, Relaxed);
            sl.started_ms.store(board::unix_ms(), Relaxed);
            sl.heartbeat_ns.store(0, Relaxed);
        } else if self.board.is_some() {
            tracing::warn!(
                "every diagnostics slot is taken: worker {} #{index} runs uncounted",
                service.name()
            );
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mask = sig::block_all()?;
        // SAFETY: the master is single-threaded (checked in `wait`), so the
        // child is a consistent copy. Until it has built its own runtime the
        // child only resets signal dispositions, closes descriptors, calls
        // prctl and sets its title, all of which are fork-safe here because no
        // other thread could hold a lock.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                // This process's copy of the hook: with restart_method =
                // mutate the worker runs it on SIGHUP.
                let hook = self.hook.take();
                // The other services' listening sockets are not this
                // worker's: a copy kept here would hold them open (and
                // their backlog unserved) after their own workers stop.
                for (other, service) in self.services.iter().enumerate() {
                    if other != s {
                        service.close_listeners();
                    }
                }
                // The child never returns or unwinds into the master's code
                // (its frames, its descriptors' destructors): a panic is
                // caught here, and the process exits.
                let name = service.name().to_owned();
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if let (Some(b), Some(i)) = (self.board, slot) {
                        crate::diagnostics::install(&b.slots[i]);
                    }
                    self.child(service, index, status_w, &close, &mask, hook)
                }))
                .unwrap_or_else(|_| {
                    tracing::error!(
                        "worker {name} #{index} pid={} panicked; exiting with status {}",
                        std::process::id(),
                        worker::PANICKED
                    );
                    worker::PANICKED
                });
                std::process::exit(code);
            }
            Ok(ForkResult::Parent { child }) => {
                sig::restore_mask(&mask);
                drop(status_w);
                if let (Some(b), Some(i)) = (self.board, slot) {
                    b.slots[i]
                        .pid
                        .store(child.as_raw() as u64, std::sync::atomic::Ordering::Release);
                    self.slots.insert(child, i);
                }
                self.children.insert(
                    child,
                    StatusPipe {
                        fd: status_r,
                        open: true,
                    },
                );
                Ok(child)
            }
            Err(e) => {
                sig::restore_mask(&mask);
                Err(Error::os("fork failed", e))
            }
        }
    }

    /// The child side of fork: never returns into the master's code.
    fn child(
        &self,
        service: SharedService,
        index: usize,
        status_w: OwnedFd,
        close: &[RawFd],
        mask: &nix::sys::signal::SigSet,
        hook: Option<ReloadHook>,
    ) -> i32 {
        sig::reset_in_child(&MASTER_SIGNALS);
        for &fd in close {
            // SAFETY: these descriptors belong to the master; this child has
            // its own copies and never uses them (their OwnedFd copies are
            // never dropped here: the child leaves through process::exit).
            unsafe {
                libc::close(fd);
            }
        }
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
        if nix::unistd::getppid() != self.pid {
            // The master died between fork and prctl.
            return Exit::Clean.code();
        }
        let name = service.name().to_owned();
        proctitle::set(&format!("fjord: worker {name} #{index}"));
        let _ = WORKER.set(WorkerInfo {
            service: name,
            index,
        });
        // The death pipe's read end is shared by all workers; each needs an
        // owned copy.
        let death = match self.death_r.try_clone() {
            Ok(fd) => fd,
            Err(_) => return Exit::StartFailed.code(),
        };
        worker::run(service, status_w, death, &self.options, mask, hook)
    }
}

/// The master's view of a wait status.
fn status_of(status: WaitStatus) -> Status {
    match status {
        WaitStatus::Exited(_, code) => Status::Exited(code),
        WaitStatus::Signaled(_, signal, core) => Status::Signaled(signal, core),
        _ => Status::Gone,
    }
}
