//! The pre-fork master (oslo.service `ProcessLauncher`).
//!
//! A plain synchronous loop over `poll(2)`: a self-pipe for signals and one
//! status pipe per worker. It never creates a thread or a runtime and never
//! runs service code; workers build their own runtime after fork.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use super::upgrade::{self, Heard, Program, Upgrade};
use super::worker::{self, READY, RETIRE};
use super::{
    Exit, LauncherOptions, ReadyHook, ReloadHook, RestartMethod, SharedService, WORKER, WorkerInfo,
    check_workers,
};
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
    /// The current worker of each index (`None` while one is to be forked).
    current: Vec<Option<Pid>>,
    /// Fork times in the last `workers` seconds (rate limit).
    forks: VecDeque<Instant>,
    /// Workers in a row that exited before serving.
    start_failures: u32,
    /// No fork before this (start-failure back-off).
    not_before: Option<Instant>,
    limited_logged: bool,
    restarts: u64,
}

struct Child {
    slot: usize,
    index: usize,
    status: OwnedFd,
    status_open: bool,
    ready: bool,
    /// Replaced (reload or scale-down): its death is not respawned.
    retiring: bool,
    /// SIGTERM already sent: another one would force the worker's stop.
    term_sent: bool,
    started: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Stopping,
}

struct Reload {
    queue: VecDeque<(usize, usize)>,
    /// (new worker, the worker it replaces).
    step: Option<(Pid, Option<Pid>)>,
    again: bool,
}

/// The master's running state, built by [`ProcessLauncher::wait`].
struct Master {
    options: LauncherOptions,
    slots: Vec<Slot>,
    hook: Option<ReloadHook>,
    ready_hook: Option<ReadyHook>,
    children: HashMap<Pid, Child>,
    pipe: SelfPipe,
    death_r: OwnedFd,
    death_w: OwnedFd,
    pid: Pid,
    state: State,
    exit: Exit,
    kill_at: Option<Instant>,
    reload: Option<Reload>,
    all_ready_once: bool,
    started: Instant,
    /// This binary's path and arguments, for an upgrade.
    program: Option<Program>,
    /// An upgrade under way (this master started a new one).
    upgrade: Option<Upgrade>,
    /// Replaced by the new master of an upgrade: stopping for good.
    upgraded: bool,
    /// Started by an upgrade: the pipe to tell the old master this one
    /// serves.
    serving_pipe: Option<OwnedFd>,
    /// Workers that served their `max_requests`, to be replaced in turn.
    recycle_queue: VecDeque<Pid>,
    /// (replacement, worker it replaces) while one is starting.
    recycling: Option<(Pid, Pid)>,
    /// Stopping, and the services that do not stop first are still to be
    /// told (see [`Service::stops_first`]).
    later_stage: bool,
}

impl ProcessLauncher {
    /// A launcher with no services yet.
    pub fn new(options: LauncherOptions) -> Self {
        ProcessLauncher {
            options,
            slots: Vec::new(),
            hook: None,
            ready_hook: None,
        }
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
            current: vec![None; workers],
            forks: VecDeque::new(),
            start_failures: 0,
            not_before: None,
            limited_logged: false,
            restarts: 0,
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
        let mut master = Master {
            options: self.options,
            slots: self.slots,
            hook: self.hook,
            ready_hook: self.ready_hook,
            children: HashMap::new(),
            pipe,
            death_r,
            death_w,
            pid: nix::unistd::getpid(),
            state: State::Running,
            exit: Exit::Clean,
            kill_at: None,
            reload: None,
            all_ready_once: false,
            started: Instant::now(),
            program: Program::current(),
            upgrade: None,
            upgraded: false,
            serving_pipe: upgrade::take_serving_pipe(),
            recycle_queue: VecDeque::new(),
            recycling: None,
            later_stage: false,
        };
        let _pid_file = master
            .options
            .pid_file
            .as_deref()
            .map(super::pidfile::PidFile::create)
            .transpose()?;
        proctitle::set(&format!("fjord: master {}", master.options.name));
        master.run()
    }
}

impl Master {
    fn run(&mut self) -> Result<Exit> {
        let total: usize = self.slots.iter().map(|s| s.workers).sum();
        tracing::info!(
            "master pid={} starting {total} workers for {} service(s)",
            self.pid,
            self.slots.len()
        );
        // The first forks must work; later fork failures are retried.
        for s in 0..self.slots.len() {
            for i in 0..self.slots[s].workers {
                self.spawn(s, i, false)?;
            }
        }
        loop {
            if self.state == State::Stopping && self.children.is_empty() {
                break;
            }
            let timeout = self.next_timeout();
            let pids = self.polled_pids();
            let ready = self.poll(&pids, timeout);
            if ready[0] {
                for s in self.pipe.drain() {
                    self.on_signal(s);
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
            self.reap();
            self.stop_later_stage();
            self.check_kill_deadline();
            if self.state == State::Running {
                self.respawn();
                self.advance_reload();
                self.advance_recycle();
            }
        }
        tracing::info!("master pid={} exiting: {:?}", self.pid, self.exit);
        Ok(self.exit)
    }

    /// The workers whose status pipes are polled, in `poll` order (after the
    /// signal pipe).
    fn polled_pids(&self) -> Vec<Pid> {
        let mut pids: Vec<Pid> = self
            .children
            .iter()
            .filter(|(_, c)| c.status_open)
            .map(|(p, _)| *p)
            .collect();
        pids.sort();
        pids
    }

    /// Waits for a signal, a status byte or `timeout`; index 0 is the
    /// signal pipe, then [`Master::polled_pids`], then the upgrade's pipe
    /// while one is under way.
    fn poll(&self, pids: &[Pid], timeout: Option<Duration>) -> Vec<bool> {
        let mut fds = Vec::with_capacity(pids.len() + 2);
        fds.push(PollFd::new(self.pipe.fd(), PollFlags::POLLIN));
        for pid in pids {
            fds.push(PollFd::new(
                self.children[pid].status.as_fd(),
                PollFlags::POLLIN,
            ));
        }
        if let Some(fd) = self.upgrade.as_ref().and_then(|u| u.serving.as_ref()) {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
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

    /// How long the loop may sleep: until the next allowed fork, the kill
    /// deadline, or forever.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut next: Option<Instant> = self.kill_at;
        if self.state == State::Running {
            for slot in &self.slots {
                if slot.current.iter().any(Option::is_none) {
                    let at = fork_allowed_at(slot, now).max(now);
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        next.map(|at| at.saturating_duration_since(now))
    }

    fn on_signal(&mut self, signal: Signal) {
        match signal {
            Signal::SIGTERM | Signal::SIGINT => {
                if self.state == State::Running {
                    tracing::info!("master caught {signal}, stopping workers gracefully");
                    self.begin_stop(Exit::Clean);
                } else {
                    tracing::warn!("master caught {signal} again, forcing workers to stop");
                    self.exit = Exit::Forced;
                    self.signal_all(Signal::SIGTERM);
                    self.kill_at = Some(Instant::now() + Duration::from_secs(1));
                }
            }
            Signal::SIGHUP if self.state == State::Running => self.begin_reload(),
            Signal::SIGCHLD => {}
            Signal::SIGUSR1 if self.state == State::Running => self.begin_upgrade(),
            Signal::SIGUSR2 => self.report(),
            Signal::SIGTTIN => self.scale(1),
            Signal::SIGTTOU => self.scale(-1),
            _ => {}
        }
    }

    fn begin_stop(&mut self, exit: Exit) {
        self.state = State::Stopping;
        self.exit = exit;
        self.reload = None;
        if !self.upgraded {
            systemd::stopping();
        }
        // The master's copies first: once the workers close theirs, new
        // clients are refused.
        for slot in &self.slots {
            slot.service.close_listeners();
        }
        // APIs first; the services they call once those have exited.
        let first: Vec<bool> = self.slots.iter().map(|s| s.service.stops_first()).collect();
        self.later_stage = first.iter().any(|&f| f) && first.iter().any(|&f| !f);
        let pids: Vec<Pid> = self
            .children
            .iter()
            .filter(|(_, c)| !self.later_stage || first[c.slot])
            .map(|(p, _)| *p)
            .collect();
        for pid in pids {
            self.terminate(pid);
        }
        self.kill_at = self
            .options
            .graceful_deadline()
            .map(|d| Instant::now() + d + Duration::from_secs(1));
    }

    /// Stopping in stages: once every worker of the services that stop
    /// first has exited, tells the others.
    fn stop_later_stage(&mut self) {
        if !self.later_stage || self.state != State::Stopping {
            return;
        }
        let first_running = self
            .children
            .values()
            .any(|c| self.slots[c.slot].service.stops_first());
        if first_running {
            return;
        }
        self.later_stage = false;
        tracing::info!("the APIs have stopped; stopping the other services");
        let pids: Vec<Pid> = self.children.keys().copied().collect();
        for pid in pids {
            self.terminate(pid);
        }
    }

    /// Asks one worker to stop gracefully, once.
    fn terminate(&mut self, pid: Pid) {
        if let Some(c) = self.children.get_mut(&pid)
            && !c.term_sent
        {
            c.term_sent = true;
            let _ = kill(pid, Signal::SIGTERM);
        }
    }

    fn signal_all(&self, signal: Signal) {
        for pid in self.children.keys() {
            let _ = kill(*pid, signal);
        }
    }

    fn check_kill_deadline(&mut self) {
        let Some(at) = self.kill_at else { return };
        if Instant::now() < at || self.children.is_empty() {
            return;
        }
        tracing::warn!(
            "{} worker(s) still running past the graceful deadline; killing them",
            self.children.len()
        );
        self.exit = Exit::Forced;
        self.signal_all(Signal::SIGKILL);
        self.kill_at = None;
        // SIGKILL cannot be caught: wait for each of our own workers.
        let pids: Vec<Pid> = self.children.keys().copied().collect();
        for pid in pids {
            if let Ok(status) = waitpid(pid, None) {
                self.on_exit(pid, status);
            }
        }
    }

    fn read_status(&mut self, pid: Pid) {
        let Some(child) = self.children.get_mut(&pid) else {
            return;
        };
        let mut buf = [0u8; 16];
        match nix::unistd::read(&child.status, &mut buf) {
            Ok(0) | Err(_) => child.status_open = false,
            Ok(n) => {
                if buf[..n].contains(&RETIRE) && !child.retiring {
                    self.recycle_queue.push_back(pid);
                }
                if buf[..n].contains(&READY) && !child.ready {
                    child.ready = true;
                    let slot = &mut self.slots[child.slot];
                    slot.start_failures = 0;
                    slot.not_before = None;
                    tracing::debug!(
                        "worker {} #{} pid={pid} serving in {:?}",
                        slot.service.name(),
                        child.index,
                        child.started.elapsed()
                    );
                    self.on_ready(pid);
                }
            }
        }
    }

    fn on_ready(&mut self, pid: Pid) {
        if let Some((new, old)) = self.recycling
            && new == pid
        {
            self.recycling = None;
            self.terminate(old);
        }
        if let Some(reload) = &mut self.reload
            && let Some((new, old)) = reload.step
            && new == pid
        {
            reload.step = None;
            if let Some(old) = old {
                self.terminate(old);
            }
        }
        if !self.all_ready_once && self.reload.is_none() && self.all_ready() {
            self.all_ready_once = true;
            let total: usize = self.slots.iter().map(|s| s.workers).sum();
            tracing::info!(
                "all {total} workers serving ({:?} after start)",
                self.started.elapsed()
            );
            systemd::ready(&format!("{total} workers serving"));
            if let Some(pipe) = self.serving_pipe.take() {
                upgrade::tell_serving(pipe);
            }
            if let Some(hook) = &mut self.ready_hook {
                hook();
            }
        }
    }

    fn all_ready(&self) -> bool {
        self.slots.iter().all(|slot| {
            slot.current.iter().all(|pid| {
                pid.and_then(|p| self.children.get(&p))
                    .is_some_and(|c| c.ready)
            })
        })
    }

    /// Reaps our own workers only (never `waitpid(-1)`, which would steal
    /// the statuses of the application's own subprocesses).
    fn reap(&mut self) {
        if let Some(u) = &self.upgrade {
            match waitpid(u.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {}
                status => {
                    let how = match status {
                        Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
                        Ok(WaitStatus::Signaled(_, s, _)) => format!("was killed by {s}"),
                        _ => "is gone".to_owned(),
                    };
                    tracing::error!(
                        "upgrade failed: the new master pid={} {how} before serving; \
                         the old workers keep serving",
                        u.pid
                    );
                    self.upgrade = None;
                }
            }
        }
        let pids: Vec<Pid> = self.children.keys().copied().collect();
        for pid in pids {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => self.on_exit(pid, status),
                Err(Errno::ECHILD) => self.on_exit(pid, WaitStatus::StillAlive),
                Err(_) => {}
            }
        }
    }

    fn on_exit(&mut self, pid: Pid, status: WaitStatus) {
        let Some(child) = self.children.remove(&pid) else {
            return;
        };
        let slot = &mut self.slots[child.slot];
        let name = slot.service.name().to_owned();
        let how = match status {
            WaitStatus::Exited(_, code) => format!("exited with status {code}"),
            WaitStatus::Signaled(_, s, core) => {
                format!("killed by {s}{}", if core { " (core dumped)" } else { "" })
            }
            _ => "is gone".to_owned(),
        };
        if let WaitStatus::Exited(_, 3) | WaitStatus::Signaled(..) = status
            && self.state == State::Stopping
        {
            self.exit = Exit::Forced;
        }
        // A worker retired by scaling down has no slot any more.
        if let Some(current) = slot.current.get_mut(child.index)
            && *current == Some(pid)
        {
            *current = None;
        }
        if self.state == State::Stopping || child.retiring {
            tracing::info!("worker {name} #{} pid={pid} {how}", child.index);
            return;
        }
        // An unexpected death.
        slot.restarts += 1;
        if child.ready {
            tracing::warn!("worker {name} #{} pid={pid} {how}; respawning", child.index);
        } else {
            slot.start_failures += 1;
            let n = slot.start_failures;
            if n >= self.options.max_start_failures {
                tracing::error!(
                    "service {name}: {n} workers in a row failed to start (last pid={pid} {how}); giving up"
                );
                self.begin_stop(Exit::StartFailed);
                return;
            }
            let delay = self.options.backoff(n);
            slot.not_before = Some(Instant::now() + delay);
            tracing::warn!(
                "worker {name} #{} pid={pid} {how} before serving ({n} in a row); next try in {delay:?}",
                child.index
            );
        }
        // A replacement for a worker that served its max_requests died
        // before serving: the old one serves on.
        if let Some((new, old)) = self.recycling
            && new == pid
        {
            tracing::error!(
                "recycling aborted: the replacement {name} #{} did not start; pid={old} serves on",
                child.index
            );
            if let Some(c) = self.children.get_mut(&old) {
                c.retiring = false;
                self.slots[child.slot].current[child.index] = Some(old);
            }
            self.recycling = None;
        }
        // A reload step whose new worker died: keep the old one.
        if let Some(reload) = &mut self.reload
            && let Some((new, old)) = reload.step
            && new == pid
        {
            tracing::error!(
                "reload aborted: the new worker {name} #{} did not start",
                child.index
            );
            if let Some(old) = old
                && let Some(c) = self.children.get_mut(&old)
            {
                c.retiring = false;
                self.slots[child.slot].current[child.index] = Some(old);
            }
            self.reload = None;
            systemd::ready("reload aborted");
        }
    }

    /// Forks replacements for empty worker slots, within the rate limit.
    fn respawn(&mut self) {
        let now = Instant::now();
        for s in 0..self.slots.len() {
            for i in 0..self.slots[s].current.len() {
                if self.slots[s].current[i].is_some() {
                    continue;
                }
                let at = fork_allowed_at(&self.slots[s], now);
                if at > now {
                    let slot = &mut self.slots[s];
                    if !slot.limited_logged && slot.not_before.is_none_or(|nb| nb < at) {
                        slot.limited_logged = true;
                        tracing::warn!(
                            "fork rate limit for service {}: {} forks in {} s; next fork in {:?}",
                            slot.service.name(),
                            slot.workers,
                            slot.workers,
                            at - now
                        );
                    }
                    continue;
                }
                if let Err(e) = self.spawn(s, i, false) {
                    tracing::error!("{e}; retrying");
                    self.slots[s].not_before = Some(now + Duration::from_secs(1));
                }
            }
        }
    }

    /// Forks a worker for slot `s`, index `i`. `deliberate` forks (reload,
    /// scaling) are not rate limited.
    fn spawn(&mut self, s: usize, index: usize, deliberate: bool) -> Result<Pid> {
        let (status_r, status_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| Error::os("cannot create a worker status pipe", e))?;
        // Master-only descriptors the child must not keep.
        let mut close: Vec<RawFd> = self.pipe.raw_fds().to_vec();
        close.push(self.death_w.as_raw_fd());
        close.push(status_r.as_raw_fd());
        close.extend(self.children.values().map(|c| c.status.as_raw_fd()));
        close.extend(self.serving_pipe.as_ref().map(AsRawFd::as_raw_fd));
        close.extend(
            self.upgrade
                .as_ref()
                .and_then(|u| u.serving.as_ref())
                .map(AsRawFd::as_raw_fd),
        );
        let service = Arc::clone(&self.slots[s].service);
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
                for (other, slot) in self.slots.iter().enumerate() {
                    if other != s {
                        slot.service.close_listeners();
                    }
                }
                // The child never returns or unwinds into the master's code
                // (its frames, its descriptors' destructors): a panic is
                // caught here, and the process exits.
                let name = service.name().to_owned();
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
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
                let slot = &mut self.slots[s];
                if !deliberate {
                    let window = Duration::from_secs(slot.workers as u64);
                    while slot.forks.front().is_some_and(|t| t.elapsed() >= window) {
                        slot.forks.pop_front();
                    }
                    slot.forks.push_back(Instant::now());
                }
                slot.limited_logged = false;
                slot.current[index] = Some(child);
                self.children.insert(
                    child,
                    Child {
                        slot: s,
                        index,
                        status: status_r,
                        status_open: true,
                        ready: false,
                        retiring: false,
                        term_sent: false,
                        started: Instant::now(),
                    },
                );
                tracing::info!(
                    "started worker {} #{index} pid={child}",
                    slot.service.name()
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

    /// SIGHUP with `restart_method = mutate`: the reload hook runs here
    /// (for workers forked later) and in every running worker, told by a
    /// SIGHUP of its own; no worker is replaced.
    fn mutate(&mut self) {
        tracing::info!(
            "master caught SIGHUP, re-reading the configuration (restart_method = mutate)"
        );
        systemd::reloading();
        if let Some(hook) = &mut self.hook
            && let Err(e) = hook()
        {
            tracing::error!("reload failed, the workers keep their configuration: {e}");
            systemd::ready("reload failed");
            return;
        }
        self.signal_all(Signal::SIGHUP);
        tracing::info!("configuration re-read; the workers apply it in place");
        systemd::ready("reloaded");
    }

    /// SIGUSR1: starts the binary now at this one's path as a new master
    /// with the listening sockets (see [`upgrade`]).
    fn begin_upgrade(&mut self) {
        if let Some(u) = &self.upgrade {
            tracing::warn!(
                "master caught SIGUSR1 while the upgrade to pid={} is under way; ignored",
                u.pid
            );
            return;
        }
        if self.reload.is_some() {
            tracing::warn!("master caught SIGUSR1 during a reload; ignored: send it again after");
            return;
        }
        let Some(program) = &self.program else {
            tracing::error!("upgrade impossible: this process's executable path is unknown");
            return;
        };
        let listeners: Vec<(String, RawFd)> = self
            .slots
            .iter()
            .flat_map(|slot| slot.service.listeners())
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
                self.upgrade = Some(u);
            }
            Err(e) => tracing::error!("{e}; the old workers keep serving"),
        }
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
                let pid = u.pid;
                tracing::info!(
                    "upgrade: the new master pid={pid} serves ({:?} after SIGUSR1); \
                     stopping the old workers",
                    u.started.elapsed()
                );
                // systemd follows the new master from now on.
                systemd::notify(&format!("MAINPID={pid}"));
                self.upgrade = None;
                self.upgraded = true;
                self.begin_stop(Exit::Clean);
            }
            Heard::Closed | Heard::Nothing => {}
        }
    }

    fn begin_reload(&mut self) {
        if self.options.restart_method == RestartMethod::Mutate {
            self.mutate();
            return;
        }
        if let Some(reload) = &mut self.reload {
            reload.again = true;
            return;
        }
        tracing::info!("master caught SIGHUP, reloading");
        systemd::reloading();
        if let Some(hook) = &mut self.hook
            && let Err(e) = hook()
        {
            tracing::error!("reload failed, keeping the running workers: {e}");
            systemd::ready("reload failed");
            return;
        }
        let queue = self
            .slots
            .iter()
            .enumerate()
            .flat_map(|(s, slot)| (0..slot.workers).map(move |i| (s, i)))
            .collect();
        self.reload = Some(Reload {
            queue,
            step: None,
            again: false,
        });
    }

    /// Replaces workers one at a time: fork the new one; once it serves
    /// (see `on_ready`) stop the old one.
    fn advance_reload(&mut self) {
        loop {
            let Some(reload) = &mut self.reload else {
                return;
            };
            if reload.step.is_some() {
                return;
            }
            if reload.queue.is_empty() && self.children.values().any(|c| c.retiring) {
                // Complete once the last replaced worker has exited.
                return;
            }
            let Some((s, i)) = reload.queue.pop_front() else {
                let again = reload.again;
                self.reload = None;
                tracing::info!("reload complete");
                systemd::ready("reloaded");
                if again {
                    self.begin_reload();
                    continue;
                }
                return;
            };
            if i >= self.slots[s].current.len() {
                continue;
            }
            let old = self.slots[s].current[i];
            if let Some(old) = old
                && let Some(c) = self.children.get_mut(&old)
            {
                c.retiring = true;
            }
            match self.spawn(s, i, true) {
                Ok(new) => {
                    if let Some(reload) = &mut self.reload {
                        reload.step = Some((new, old));
                    }
                    return;
                }
                Err(e) => {
                    tracing::error!("reload aborted: {e}");
                    if let Some(old) = old
                        && let Some(c) = self.children.get_mut(&old)
                    {
                        c.retiring = false;
                    }
                    self.slots[s].current[i] = old;
                    self.reload = None;
                    return;
                }
            }
        }
    }

    /// Replaces, one at a time, workers that served their `max_requests`:
    /// the replacement is forked into the same slot and the old worker is
    /// stopped gracefully once it serves (see `on_ready`), so the number of
    /// serving workers never dips. Not while a reload replaces them all.
    fn advance_recycle(&mut self) {
        if self.reload.is_some() || self.recycling.is_some() {
            return;
        }
        while let Some(old) = self.recycle_queue.pop_front() {
            let Some(c) = self.children.get_mut(&old) else {
                continue;
            };
            if c.retiring {
                continue;
            }
            c.retiring = true;
            let (s, i) = (c.slot, c.index);
            if self.slots[s].current.get(i) != Some(&Some(old)) {
                continue;
            }
            tracing::info!(
                "worker {} #{i} pid={old} served its max_requests; replacing it",
                self.slots[s].service.name()
            );
            match self.spawn(s, i, true) {
                Ok(new) => {
                    self.recycling = Some((new, old));
                }
                Err(e) => {
                    tracing::error!("recycling pid={old} failed: {e}; it serves on");
                    if let Some(c) = self.children.get_mut(&old) {
                        c.retiring = false;
                    }
                    self.slots[s].current[i] = Some(old);
                }
            }
            return;
        }
    }

    /// SIGTTIN / SIGTTOU: one more or one fewer worker for every service.
    fn scale(&mut self, delta: i32) {
        for slot in &mut self.slots {
            if delta > 0 {
                slot.workers += 1;
                slot.current.push(None);
                tracing::info!(
                    "service {}: scaling up to {} workers",
                    slot.service.name(),
                    slot.workers
                );
            } else if slot.workers > 1 {
                slot.workers -= 1;
                if let Some(Some(pid)) = slot.current.pop()
                    && let Some(c) = self.children.get_mut(&pid)
                {
                    c.retiring = true;
                    c.term_sent = true;
                    let _ = kill(pid, Signal::SIGTERM);
                }
                tracing::info!(
                    "service {}: scaling down to {} workers",
                    slot.service.name(),
                    slot.workers
                );
            }
        }
    }

    /// SIGUSR2: what the master knows, to stderr.
    fn report(&self) {
        let mut out = format!(
            "fjord report: master pid={} uptime={:.1}s state={}\n",
            self.pid,
            self.started.elapsed().as_secs_f64(),
            match self.state {
                State::Running if self.reload.is_some() => "reloading",
                State::Running => "running",
                State::Stopping => "stopping",
            }
        );
        for (s, slot) in self.slots.iter().enumerate() {
            out.push_str(&format!(
                "  service {} workers={} restarts={}\n",
                slot.service.name(),
                slot.workers,
                slot.restarts
            ));
            let mut kids: Vec<(&Pid, &Child)> =
                self.children.iter().filter(|(_, c)| c.slot == s).collect();
            kids.sort_by_key(|(_, c)| c.index);
            for (pid, c) in kids {
                out.push_str(&format!(
                    "    #{} pid={pid} {} uptime={:.1}s\n",
                    c.index,
                    if c.retiring {
                        "retiring"
                    } else if c.ready {
                        "serving"
                    } else {
                        "starting"
                    },
                    c.started.elapsed().as_secs_f64()
                ));
            }
        }
        eprint!("{out}");
    }
}

/// When the next fork for `slot` is allowed: at most `workers` forks per
/// `workers` seconds, and not before a start-failure back-off.
fn fork_allowed_at(slot: &Slot, now: Instant) -> Instant {
    let window = Duration::from_secs(slot.workers as u64);
    let recent: Vec<&Instant> = slot
        .forks
        .iter()
        .filter(|t| now.duration_since(**t) < window)
        .collect();
    let mut at = now;
    if recent.len() >= slot.workers {
        // The oldest fork that keeps us at the limit must leave the window.
        let oldest = recent[recent.len() - slot.workers];
        at = *oldest + window;
    }
    if let Some(nb) = slot.not_before {
        at = at.max(nb);
    }
    at
}
