//! The pre-fork master's decisions, without I/O.
//!
//! [`Master`] owns what the master knows about its workers and decides
//! what to do: it receives an [`Event`] with the time it happened at and
//! returns the [`Action`]s to take. It never forks, signals, waits, polls
//! or reads a clock; `process.rs` is the shell that does, and feeds the
//! outcome back as events. An action whose outcome the master needs
//! ([`Action::Fork`], [`Action::RunReloadHook`]) is always the last of its
//! batch, and the shell answers it at once ([`Event::Forked`] or
//! [`Event::ForkFailed`], [`Event::ReloadHookDone`]) before any other
//! event.
//!
//! The master logs its decisions itself (the log lines operators and tests
//! read name the worker and the reason).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{Exit, LauncherOptions, RestartMethod};

/// A service as the master sees it.
#[derive(Debug, Clone)]
pub(crate) struct ServiceSpec {
    pub(crate) name: String,
    pub(crate) workers: usize,
    pub(crate) stops_first: bool,
}

/// How a child process ended (from `waitpid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Exited(i32),
    /// The signal, and whether it dumped core.
    Signaled(Signal, bool),
    /// No longer a child of this process, or a status that says nothing.
    Gone,
}

/// What happened, as the shell saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// Nothing in particular: time passed (deadlines, the fork rate limit).
    Tick,
    /// A signal the master handles (see [`crate::signal::MASTER_SIGNALS`]).
    Signal(Signal),
    /// The answer to [`Action::Fork`]: the worker's PID.
    Forked {
        service: usize,
        index: usize,
        pid: Pid,
    },
    /// The answer to [`Action::Fork`] when fork (or its pipes) failed.
    ForkFailed {
        service: usize,
        index: usize,
        error: String,
    },
    /// The answer to [`Action::RunReloadHook`].
    ReloadHookDone(Result<(), String>),
    /// The worker wrote `READY` on its status pipe: it serves.
    WorkerReady(Pid),
    /// The worker wrote `RETIRE`: it served its `max_requests`.
    WorkerRetireRequested(Pid),
    /// The worker was reaped.
    WorkerExited(Pid, Status),
    /// The answer to [`Action::StartUpgrade`] when the new master runs.
    UpgradeStarted(Pid),
    /// The new master of an upgrade said it serves.
    UpgradeServing,
    /// The new master of an upgrade was reaped before it served.
    UpgradeExited(Status),
    /// The workers' last heartbeats, as ages at the event's time (a worker
    /// with no heartbeat yet is not listed). See [`Master::deadline`] and
    /// `worker_timeout`.
    Heartbeats(Vec<(Pid, Duration)>),
    /// The console's `scale`: `delta` more (or fewer) workers of
    /// `service`, never fewer than one.
    Scale { service: usize, delta: i64 },
}

/// Why a worker was replaced, the index into
/// [`crate::diagnostics::REASONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// It exited by itself.
    Exit = 0,
    /// A signal killed it (not the watchdog's).
    Signal = 1,
    /// It stopped heart-beating for longer than `worker_timeout`.
    Watchdog = 2,
    /// It served its `max_requests`.
    Recycle = 3,
    /// SIGHUP replaced it.
    Reload = 4,
    /// SIGUSR1: a new master took over.
    Upgrade = 5,
}

/// A message for systemd (`sd_notify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notify {
    /// `READY=1` with this status line.
    Ready(String),
    /// `RELOADING=1`.
    Reloading,
    /// `STOPPING=1`.
    Stopping,
    /// `MAINPID=`: the new master of an upgrade takes over.
    MainPid(Pid),
}

/// What the shell is to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Fork a worker for `service`'s slot `index`; answer with
    /// [`Event::Forked`] or [`Event::ForkFailed`].
    Fork {
        service: usize,
        index: usize,
    },
    /// Send `signal` to a worker.
    Kill {
        pid: Pid,
        signal: Signal,
    },
    /// Wait (blocking) for a worker just sent SIGKILL; answer with
    /// [`Event::WorkerExited`].
    Reap(Pid),
    /// Close the master's copies of every listening socket.
    CloseListeners,
    /// Run the reload hook; answer with [`Event::ReloadHookDone`].
    RunReloadHook,
    /// Start the binary at this one's path as a new master (SIGUSR1);
    /// answer with [`Event::UpgradeStarted`] if it runs.
    StartUpgrade,
    Notify(Notify),
    /// Every worker serves for the first time: tell the old master of an
    /// upgrade, run the ready hook.
    AllServing,
    /// The SIGUSR2 report, for stderr.
    Report(String),
}

/// Where one worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Forked, not serving yet: its death is a start failure.
    Starting,
    /// Serving: its death is respawned.
    Serving,
    /// Replaced (reload, `max_requests`): stopped once its replacement
    /// serves; its death is not respawned. `serving`: it said `READY`.
    Retiring { serving: bool },
    /// Sent SIGTERM (stop, scale-down, or replaced): another SIGTERM
    /// would force its stop.
    Stopping,
}

#[derive(Debug)]
struct Worker {
    service: usize,
    index: usize,
    phase: Phase,
    started: Instant,
    /// When it was last known alive: its last heartbeat, its `READY`, its
    /// fork.
    last_beat: Instant,
    /// Killed by the watchdog.
    hung: bool,
}

/// A worker as the master sees it, for the diagnostics board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkerView {
    pub(crate) pid: Pid,
    pub(crate) service: usize,
    pub(crate) index: usize,
    pub(crate) phase: Phase,
}

#[derive(Debug)]
struct Service {
    name: String,
    workers: usize,
    stops_first: bool,
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
    /// Workers replaced, by [`Reason`].
    replaced: [u64; 6],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Stopping,
}

#[derive(Debug)]
struct Reload {
    queue: VecDeque<(usize, usize)>,
    /// (new worker, the worker it replaces).
    step: Option<(Pid, Option<Pid>)>,
    again: bool,
}

/// What the master waits for from the shell.
#[derive(Debug, Clone, Copy)]
enum Awaiting {
    Fork(ForkFor),
    Hook(RestartMethod),
}

/// Why a worker is being forked.
#[derive(Debug, Clone, Copy)]
enum ForkFor {
    /// An empty slot (start, death, scale-up): rate limited.
    Respawn,
    /// A reload step replacing `old`.
    Reload { old: Option<Pid> },
    /// Replacing `old`, which served its `max_requests`.
    Recycle { old: Pid },
}

/// The master's state and decisions. See the module documentation.
#[derive(Debug)]
pub(crate) struct Master {
    options: LauncherOptions,
    pid: Pid,
    started: Instant,
    services: Vec<Service>,
    workers: BTreeMap<Pid, Worker>,
    state: State,
    exit: Exit,
    /// Past this, workers still running are killed.
    kill_at: Option<Instant>,
    reload: Option<Reload>,
    all_ready_once: bool,
    /// The new master of an upgrade under way, and when it started.
    upgrade: Option<(Pid, Instant)>,
    /// Replaced by the new master of an upgrade: stopping for good.
    upgraded: bool,
    /// Workers that served their `max_requests`, to be replaced in turn.
    recycle_queue: VecDeque<Pid>,
    /// (replacement, worker it replaces) while one is starting.
    recycling: Option<(Pid, Pid)>,
    /// Stopping, and the services that do not stop first are still to be
    /// told (see [`crate::Service::stops_first`]).
    later_stage: bool,
    awaiting: Option<Awaiting>,
    actions: Vec<Action>,
}

impl Master {
    /// A master for `services`, started at `now`, with no worker yet: the
    /// first [`Event::Tick`] forks them.
    pub(crate) fn new(
        services: Vec<ServiceSpec>,
        options: LauncherOptions,
        pid: Pid,
        now: Instant,
    ) -> Master {
        let services = services
            .into_iter()
            .map(|s| Service {
                current: vec![None; s.workers],
                name: s.name,
                workers: s.workers,
                stops_first: s.stops_first,
                forks: VecDeque::new(),
                start_failures: 0,
                not_before: None,
                limited_logged: false,
                restarts: 0,
                replaced: [0; 6],
            })
            .collect();
        Master {
            options,
            pid,
            started: now,
            services,
            workers: BTreeMap::new(),
            state: State::Running,
            exit: Exit::Clean,
            kill_at: None,
            reload: None,
            all_ready_once: false,
            upgrade: None,
            upgraded: false,
            recycle_queue: VecDeque::new(),
            recycling: None,
            later_stage: false,
            awaiting: None,
            actions: Vec::new(),
        }
    }

    /// Takes `event`, which happened at `now`, and returns what to do.
    pub(crate) fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match event {
            Event::Tick => {}
            Event::Signal(signal) => self.on_signal(signal, now),
            Event::Forked {
                service,
                index,
                pid,
            } => self.on_forked(service, index, pid, now),
            Event::ForkFailed {
                service,
                index,
                error,
            } => self.on_fork_failed(service, index, &error, now),
            Event::ReloadHookDone(result) => self.on_hook_done(result),
            Event::WorkerReady(pid) => self.on_ready(pid, now),
            Event::WorkerRetireRequested(pid) => {
                if let Some(w) = self.workers.get(&pid)
                    && matches!(w.phase, Phase::Starting | Phase::Serving)
                {
                    self.recycle_queue.push_back(pid);
                }
            }
            Event::WorkerExited(pid, status) => self.on_exit(pid, status, now),
            Event::UpgradeStarted(pid) => self.upgrade = Some((pid, now)),
            Event::Heartbeats(beats) => {
                for (pid, age) in beats {
                    if let Some(w) = self.workers.get_mut(&pid)
                        && let Some(at) = now.checked_sub(age)
                    {
                        w.last_beat = w.last_beat.max(at);
                    }
                }
            }
            Event::Scale { service, delta } => {
                if self.state == State::Running {
                    for _ in 0..delta.unsigned_abs() {
                        self.scale_one(service, delta > 0);
                    }
                }
            }
            Event::UpgradeServing => self.on_upgrade_serving(now),
            Event::UpgradeExited(status) => {
                if let Some((pid, _)) = self.upgrade.take() {
                    let how = match status {
                        Status::Exited(code) => format!("exited with status {code}"),
                        Status::Signaled(s, _) => format!("was killed by {s}"),
                        Status::Gone => "is gone".to_owned(),
                    };
                    tracing::error!(
                        "upgrade failed: the new master pid={pid} {how} before serving; \
                         the old workers keep serving"
                    );
                }
            }
        }
        self.settle(now);
        std::mem::take(&mut self.actions)
    }

    /// The number of workers of every service.
    pub(crate) fn total_workers(&self) -> usize {
        self.services.iter().map(|s| s.workers).sum()
    }

    /// Every worker alive, for the diagnostics board.
    /// The master's state as the board shows it: 0 running, 1 reloading,
    /// 2 stopping (`diagnostics::board::MASTER_STATES`).
    pub(crate) fn state_index(&self) -> u64 {
        match self.state {
            State::Running if self.reload.is_some() => 1,
            State::Running => 0,
            State::Stopping => 2,
        }
    }

    pub(crate) fn worker_views(&self) -> Vec<WorkerView> {
        self.workers
            .iter()
            .map(|(pid, w)| WorkerView {
                pid: *pid,
                service: w.service,
                index: w.index,
                phase: w.phase,
            })
            .collect()
    }

    /// Service `s`'s worker count and its workers replaced by [`Reason`].
    pub(crate) fn service_view(&self, s: usize) -> Option<(usize, [u64; 6])> {
        self.services.get(s).map(|svc| (svc.workers, svc.replaced))
    }

    /// How the master ended, once it has: stopping, and every worker
    /// reaped.
    pub(crate) fn done(&self) -> Option<Exit> {
        (self.state == State::Stopping && self.workers.is_empty()).then_some(self.exit)
    }

    /// When the master wants an [`Event::Tick`] at the latest: the kill
    /// deadline, the next allowed fork into an empty slot, or when a
    /// worker's silence would pass `worker_timeout` (the shell then sends
    /// [`Event::Heartbeats`] first). `None`: only when something happens.
    pub(crate) fn deadline(&self, now: Instant) -> Option<Instant> {
        let mut next = self.kill_at;
        if self.state == State::Running
            && let Some(timeout) = self.options.watchdog()
        {
            for w in self.workers.values().filter(|w| watched(w)) {
                let at = (w.last_beat + timeout).max(now);
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        if self.state == State::Running {
            for svc in &self.services {
                if svc.current.iter().any(Option::is_none) {
                    let at = fork_allowed_at(svc, now).max(now);
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        next
    }

    /// The workers alive, with their phase.
    #[cfg(test)]
    fn phase(&self, pid: Pid) -> Option<Phase> {
        self.workers.get(&pid).map(|w| w.phase)
    }

    /// What happens between events: the next stage of a stop, the kill
    /// deadline, and while running the forks still to do, one at a time.
    fn settle(&mut self, now: Instant) {
        if self.awaiting.is_some() {
            return;
        }
        self.stop_later_stage();
        self.check_kill_deadline(now);
        if self.state != State::Running {
            return;
        }
        self.check_watchdog(now);
        self.respawn(now);
        if self.awaiting.is_none() {
            self.advance_reload(now);
        }
        if self.awaiting.is_none() {
            self.advance_recycle();
        }
    }

    /// B1: kills (SIGKILL) every serving worker silent for longer than
    /// `worker_timeout`; its death is then respawned like any other, with
    /// reason [`Reason::Watchdog`].
    fn check_watchdog(&mut self, now: Instant) {
        let Some(timeout) = self.options.watchdog() else {
            return;
        };
        for (pid, w) in &mut self.workers {
            if !watched(w) {
                continue;
            }
            let silent = now.saturating_duration_since(w.last_beat);
            if silent <= timeout {
                continue;
            }
            w.hung = true;
            tracing::error!(
                "worker {} #{} pid={pid} has not heart-beaten for {:.1}s (worker_timeout = {}s); \
                 killing it (watchdog)",
                self.services[w.service].name,
                w.index,
                silent.as_secs_f64(),
                timeout.as_secs_f64()
            );
            self.actions.push(Action::Kill {
                pid: *pid,
                signal: Signal::SIGKILL,
            });
        }
    }

    fn on_signal(&mut self, signal: Signal, now: Instant) {
        match signal {
            Signal::SIGTERM | Signal::SIGINT => {
                if self.state == State::Running {
                    tracing::info!("master caught {signal}, stopping workers gracefully");
                    self.begin_stop(Exit::Clean, now);
                } else {
                    tracing::warn!("master caught {signal} again, forcing workers to stop");
                    self.exit = Exit::Forced;
                    self.signal_all(Signal::SIGTERM);
                    for w in self.workers.values_mut() {
                        w.phase = Phase::Stopping;
                    }
                    self.kill_at = Some(now + Duration::from_secs(1));
                }
            }
            Signal::SIGHUP if self.state == State::Running => self.begin_reload(),
            Signal::SIGUSR1 if self.state == State::Running => self.begin_upgrade(),
            Signal::SIGUSR2 => {
                let report = self.report(now);
                self.actions.push(Action::Report(report));
            }
            Signal::SIGTTIN => self.scale(true),
            Signal::SIGTTOU => self.scale(false),
            _ => {}
        }
    }

    fn begin_stop(&mut self, exit: Exit, now: Instant) {
        self.state = State::Stopping;
        self.exit = exit;
        self.reload = None;
        if !self.upgraded {
            self.actions.push(Action::Notify(Notify::Stopping));
        }
        // The master's copies first: once the workers close theirs, new
        // clients are refused.
        self.actions.push(Action::CloseListeners);
        // APIs first; the services they call once those have exited.
        let first = |s: &Service| s.stops_first;
        self.later_stage = self.services.iter().any(first) && !self.services.iter().all(first);
        let pids: Vec<Pid> = self
            .workers
            .iter()
            .filter(|(_, w)| !self.later_stage || self.services[w.service].stops_first)
            .map(|(p, _)| *p)
            .collect();
        for pid in pids {
            self.terminate(pid);
        }
        self.kill_at = self
            .options
            .graceful_deadline()
            .map(|d| now + d + Duration::from_secs(1));
    }

    /// Stopping in stages: once every worker of the services that stop
    /// first has exited, tells the others.
    fn stop_later_stage(&mut self) {
        if !self.later_stage || self.state != State::Stopping {
            return;
        }
        if self
            .workers
            .values()
            .any(|w| self.services[w.service].stops_first)
        {
            return;
        }
        self.later_stage = false;
        tracing::info!("the APIs have stopped; stopping the other services");
        let pids: Vec<Pid> = self.workers.keys().copied().collect();
        for pid in pids {
            self.terminate(pid);
        }
    }

    /// Asks one worker to stop gracefully, once.
    fn terminate(&mut self, pid: Pid) {
        if let Some(w) = self.workers.get_mut(&pid)
            && w.phase != Phase::Stopping
        {
            w.phase = Phase::Stopping;
            self.actions.push(Action::Kill {
                pid,
                signal: Signal::SIGTERM,
            });
        }
    }

    fn signal_all(&mut self, signal: Signal) {
        for pid in self.workers.keys() {
            self.actions.push(Action::Kill { pid: *pid, signal });
        }
    }

    fn check_kill_deadline(&mut self, now: Instant) {
        let Some(at) = self.kill_at else { return };
        if now < at || self.workers.is_empty() {
            return;
        }
        tracing::warn!(
            "{} worker(s) still running past the graceful deadline; killing them",
            self.workers.len()
        );
        self.exit = Exit::Forced;
        self.signal_all(Signal::SIGKILL);
        self.kill_at = None;
        // SIGKILL cannot be caught: wait for each of our own workers.
        let pids: Vec<Pid> = self.workers.keys().copied().collect();
        self.actions.extend(pids.into_iter().map(Action::Reap));
    }

    fn on_forked(&mut self, s: usize, index: usize, pid: Pid, now: Instant) {
        let purpose = match self.awaiting.take() {
            Some(Awaiting::Fork(purpose)) => purpose,
            _ => ForkFor::Respawn,
        };
        let svc = &mut self.services[s];
        if let ForkFor::Respawn = purpose {
            let window = Duration::from_secs(svc.workers as u64);
            while svc
                .forks
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                svc.forks.pop_front();
            }
            svc.forks.push_back(now);
        }
        svc.limited_logged = false;
        if let Some(current) = svc.current.get_mut(index) {
            *current = Some(pid);
        }
        tracing::info!("started worker {} #{index} pid={pid}", svc.name);
        self.workers.insert(
            pid,
            Worker {
                service: s,
                index,
                phase: Phase::Starting,
                started: now,
                last_beat: now,
                hung: false,
            },
        );
        match purpose {
            ForkFor::Respawn => {}
            ForkFor::Reload { old } => {
                if let Some(reload) = &mut self.reload {
                    reload.step = Some((pid, old));
                }
            }
            ForkFor::Recycle { old } => self.recycling = Some((pid, old)),
        }
    }

    fn on_fork_failed(&mut self, s: usize, index: usize, error: &str, now: Instant) {
        let purpose = match self.awaiting.take() {
            Some(Awaiting::Fork(purpose)) => purpose,
            _ => ForkFor::Respawn,
        };
        match purpose {
            ForkFor::Respawn => {
                tracing::error!("{error}; retrying");
                self.services[s].not_before = Some(now + Duration::from_secs(1));
            }
            ForkFor::Reload { old } => {
                tracing::error!("reload aborted: {error}");
                if let Some(old) = old {
                    self.keep(s, index, old);
                }
                self.reload = None;
            }
            ForkFor::Recycle { old } => {
                tracing::error!("recycling pid={old} failed: {error}; it serves on");
                self.keep(s, index, old);
            }
        }
    }

    /// A worker that was to be replaced stays the current one of its slot.
    fn keep(&mut self, s: usize, index: usize, old: Pid) {
        let Some(w) = self.workers.get_mut(&old) else {
            return;
        };
        if let Phase::Retiring { serving } = w.phase {
            w.phase = if serving {
                Phase::Serving
            } else {
                Phase::Starting
            };
        }
        if let Some(current) = self.services[s].current.get_mut(index) {
            *current = Some(old);
        }
    }

    fn on_ready(&mut self, pid: Pid, now: Instant) {
        let Some(w) = self.workers.get_mut(&pid) else {
            return;
        };
        // It just spoke: alive now, however long its start took.
        w.last_beat = w.last_beat.max(now);
        match w.phase {
            Phase::Starting => w.phase = Phase::Serving,
            Phase::Retiring { serving: false } => w.phase = Phase::Retiring { serving: true },
            Phase::Stopping => {}
            Phase::Serving | Phase::Retiring { serving: true } => return,
        }
        let s = w.service;
        let svc = &mut self.services[s];
        svc.start_failures = 0;
        svc.not_before = None;
        tracing::debug!(
            "worker {} #{} pid={pid} serving in {:?}",
            svc.name,
            w.index,
            now.saturating_duration_since(w.started)
        );
        if let Some((new, old)) = self.recycling
            && new == pid
        {
            self.recycling = None;
            svc.replaced[Reason::Recycle as usize] += 1;
            self.terminate(old);
        }
        if let Some(reload) = &mut self.reload
            && let Some((new, old)) = reload.step
            && new == pid
        {
            reload.step = None;
            if let Some(old) = old {
                self.services[s].replaced[Reason::Reload as usize] += 1;
                self.terminate(old);
            }
        }
        if !self.all_ready_once && self.reload.is_none() && self.all_ready() {
            self.all_ready_once = true;
            let total: usize = self.services.iter().map(|s| s.workers).sum();
            tracing::info!(
                "all {total} workers serving ({:?} after start)",
                now.saturating_duration_since(self.started)
            );
            self.actions.push(Action::Notify(Notify::Ready(format!(
                "{total} workers serving"
            ))));
            self.actions.push(Action::AllServing);
        }
    }

    fn all_ready(&self) -> bool {
        self.services.iter().all(|svc| {
            svc.current.iter().all(|pid| {
                pid.and_then(|p| self.workers.get(&p))
                    .is_some_and(|w| w.phase == Phase::Serving)
            })
        })
    }

    fn on_exit(&mut self, pid: Pid, status: Status, now: Instant) {
        let Some(worker) = self.workers.remove(&pid) else {
            return;
        };
        let (s, index) = (worker.service, worker.index);
        let how = match status {
            Status::Exited(code) => format!("exited with status {code}"),
            Status::Signaled(sig, core) => {
                format!(
                    "killed by {sig}{}",
                    if core { " (core dumped)" } else { "" }
                )
            }
            Status::Gone => "is gone".to_owned(),
        };
        if let Status::Exited(3) | Status::Signaled(..) = status
            && self.state == State::Stopping
        {
            self.exit = Exit::Forced;
        }
        let svc = &mut self.services[s];
        let name = svc.name.clone();
        // A worker retired by scaling down has no slot any more.
        if let Some(current) = svc.current.get_mut(index)
            && *current == Some(pid)
        {
            *current = None;
        }
        let served = match worker.phase {
            Phase::Starting => false,
            Phase::Serving => true,
            Phase::Retiring { .. } | Phase::Stopping => {
                tracing::info!("worker {name} #{index} pid={pid} {how}");
                self.replacement_gone(pid, s, index);
                return;
            }
        };
        if self.state == State::Stopping {
            tracing::info!("worker {name} #{index} pid={pid} {how}");
            return;
        }
        // An unexpected death.
        svc.restarts += 1;
        let reason = match status {
            _ if worker.hung => Reason::Watchdog,
            Status::Signaled(..) => Reason::Signal,
            Status::Exited(_) | Status::Gone => Reason::Exit,
        };
        svc.replaced[reason as usize] += 1;
        if worker.hung {
            tracing::warn!("worker {name} #{index} pid={pid} {how} (watchdog); respawning");
        } else if served {
            tracing::warn!("worker {name} #{index} pid={pid} {how}; respawning");
        } else {
            svc.start_failures += 1;
            let n = svc.start_failures;
            if n >= self.options.max_start_failures {
                tracing::error!(
                    "service {name}: {n} workers in a row failed to start (last pid={pid} {how}); giving up"
                );
                self.begin_stop(Exit::StartFailed, now);
                return;
            }
            let delay = self.options.backoff(n);
            svc.not_before = Some(now + delay);
            tracing::warn!(
                "worker {name} #{index} pid={pid} {how} before serving ({n} in a row); next try in {delay:?}"
            );
        }
        // A replacement for a worker that served its max_requests died
        // before serving: the old one serves on.
        if let Some((new, old)) = self.recycling
            && new == pid
        {
            tracing::error!(
                "recycling aborted: the replacement {name} #{index} did not start; pid={old} serves on"
            );
            self.keep(s, index, old);
            self.recycling = None;
        }
        // A reload step whose new worker died: keep the old one.
        if let Some(reload) = &self.reload
            && let Some((new, old)) = reload.step
            && new == pid
        {
            tracing::error!("reload aborted: the new worker {name} #{index} did not start");
            if let Some(old) = old {
                self.keep(s, index, old);
            }
            self.reload = None;
            self.actions
                .push(Action::Notify(Notify::Ready("reload aborted".to_owned())));
        }
    }

    /// A replacement (reload, `max_requests`) that was itself retired
    /// (scaled down, replaced) exited: its step ends. The worker it was to
    /// replace takes the slot back if the slot is empty, and is stopped if
    /// the slot is gone or has another worker.
    fn replacement_gone(&mut self, pid: Pid, s: usize, index: usize) {
        let mut old = None;
        if let Some((new, o)) = self.recycling
            && new == pid
        {
            self.recycling = None;
            old = Some(o);
        }
        if let Some(reload) = &mut self.reload
            && let Some((new, o)) = reload.step
            && new == pid
        {
            reload.step = None;
            old = o;
        }
        let Some(old) = old else { return };
        if self.services[s].current.get(index) == Some(&None) {
            self.keep(s, index, old);
        } else {
            self.terminate(old);
        }
    }

    /// Forks a replacement for the first empty worker slot, within the rate
    /// limit.
    fn respawn(&mut self, now: Instant) {
        for s in 0..self.services.len() {
            for index in 0..self.services[s].current.len() {
                if self.services[s].current[index].is_some() {
                    continue;
                }
                let at = fork_allowed_at(&self.services[s], now);
                if at > now {
                    let svc = &mut self.services[s];
                    if !svc.limited_logged && svc.not_before.is_none_or(|nb| nb < at) {
                        svc.limited_logged = true;
                        tracing::warn!(
                            "fork rate limit for service {}: {} forks in {} s; next fork in {:?}",
                            svc.name,
                            svc.workers,
                            svc.workers,
                            at - now
                        );
                    }
                    continue;
                }
                self.fork(s, index, ForkFor::Respawn);
                return;
            }
        }
    }

    fn fork(&mut self, service: usize, index: usize, purpose: ForkFor) {
        self.actions.push(Action::Fork { service, index });
        self.awaiting = Some(Awaiting::Fork(purpose));
    }

    /// SIGHUP: the reload hook first, then (see `on_hook_done`) the workers
    /// are replaced, or with `restart_method = mutate` told to re-read.
    fn begin_reload(&mut self) {
        let method = self.options.restart_method;
        if method == RestartMethod::Mutate {
            tracing::info!(
                "master caught SIGHUP, re-reading the configuration (restart_method = mutate)"
            );
        } else if let Some(reload) = &mut self.reload {
            reload.again = true;
            return;
        } else {
            tracing::info!("master caught SIGHUP, reloading");
        }
        self.actions.push(Action::Notify(Notify::Reloading));
        self.actions.push(Action::RunReloadHook);
        self.awaiting = Some(Awaiting::Hook(method));
    }

    fn on_hook_done(&mut self, result: Result<(), String>) {
        let Some(Awaiting::Hook(method)) = self.awaiting.take() else {
            return;
        };
        match (method, result) {
            (RestartMethod::Mutate, Err(e)) => {
                tracing::error!("reload failed, the workers keep their configuration: {e}");
                self.ready("reload failed");
            }
            (RestartMethod::Mutate, Ok(())) => {
                // The hook runs in every running worker, told by a SIGHUP
                // of its own; no worker is replaced.
                self.signal_all(Signal::SIGHUP);
                tracing::info!("configuration re-read; the workers apply it in place");
                self.ready("reloaded");
            }
            (_, Err(e)) => {
                tracing::error!("reload failed, keeping the running workers: {e}");
                self.ready("reload failed");
            }
            (_, Ok(())) => {
                let queue = self
                    .services
                    .iter()
                    .enumerate()
                    .flat_map(|(s, svc)| (0..svc.workers).map(move |i| (s, i)))
                    .collect();
                self.reload = Some(Reload {
                    queue,
                    step: None,
                    again: false,
                });
            }
        }
    }

    fn ready(&mut self, status: &str) {
        self.actions
            .push(Action::Notify(Notify::Ready(status.to_owned())));
    }

    /// Replaces workers one at a time: fork the new one; once it serves
    /// (see `on_ready`) stop the old one.
    fn advance_reload(&mut self, _now: Instant) {
        loop {
            let Some(reload) = &mut self.reload else {
                return;
            };
            if reload.step.is_some() {
                return;
            }
            if reload.queue.is_empty()
                && self
                    .workers
                    .values()
                    .any(|w| matches!(w.phase, Phase::Retiring { .. } | Phase::Stopping))
            {
                // Complete once the last replaced worker has exited.
                return;
            }
            let Some((s, i)) = reload.queue.pop_front() else {
                let again = reload.again;
                self.reload = None;
                tracing::info!("reload complete");
                self.ready("reloaded");
                if again {
                    self.begin_reload();
                }
                return;
            };
            let Some(&old) = self.services[s].current.get(i) else {
                continue;
            };
            if let Some(old) = old {
                self.retire(old);
            }
            self.fork(s, i, ForkFor::Reload { old });
            return;
        }
    }

    /// Marks a worker as replaced.
    fn retire(&mut self, pid: Pid) {
        if let Some(w) = self.workers.get_mut(&pid) {
            match w.phase {
                Phase::Starting => w.phase = Phase::Retiring { serving: false },
                Phase::Serving => w.phase = Phase::Retiring { serving: true },
                Phase::Retiring { .. } | Phase::Stopping => {}
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
            let Some(w) = self.workers.get(&old) else {
                continue;
            };
            if !matches!(w.phase, Phase::Starting | Phase::Serving) {
                continue;
            }
            let (s, i) = (w.service, w.index);
            self.retire(old);
            if self.services[s].current.get(i) != Some(&Some(old)) {
                continue;
            }
            tracing::info!(
                "worker {} #{i} pid={old} served its max_requests; replacing it",
                self.services[s].name
            );
            self.fork(s, i, ForkFor::Recycle { old });
            return;
        }
    }

    /// SIGUSR1: a new master from the binary now at this one's path takes
    /// over, unless one is already under way or a reload is.
    fn begin_upgrade(&mut self) {
        if let Some((pid, _)) = self.upgrade {
            tracing::warn!(
                "master caught SIGUSR1 while the upgrade to pid={pid} is under way; ignored"
            );
            return;
        }
        if self.reload.is_some() {
            tracing::warn!("master caught SIGUSR1 during a reload; ignored: send it again after");
            return;
        }
        self.actions.push(Action::StartUpgrade);
    }

    /// The new master of an upgrade serves: this master stops for good.
    fn on_upgrade_serving(&mut self, now: Instant) {
        let Some((pid, started)) = self.upgrade.take() else {
            return;
        };
        tracing::info!(
            "upgrade: the new master pid={pid} serves ({:?} after SIGUSR1); \
             stopping the old workers",
            now.saturating_duration_since(started)
        );
        // systemd follows the new master from now on.
        self.actions.push(Action::Notify(Notify::MainPid(pid)));
        for w in self.workers.values() {
            self.services[w.service].replaced[Reason::Upgrade as usize] += 1;
        }
        self.upgraded = true;
        self.begin_stop(Exit::Clean, now);
    }

    /// SIGTTIN / SIGTTOU: one more or one fewer worker for every service.
    fn scale(&mut self, up: bool) {
        for s in 0..self.services.len() {
            self.scale_one(s, up);
        }
    }

    /// One more or one fewer worker for service `s` (never below one).
    fn scale_one(&mut self, s: usize, up: bool) {
        let Some(svc) = self.services.get_mut(s) else {
            return;
        };
        if up {
            svc.workers += 1;
            svc.current.push(None);
            tracing::info!(
                "service {}: scaling up to {} workers",
                svc.name,
                svc.workers
            );
        } else if svc.workers > 1 {
            svc.workers -= 1;
            if let Some(Some(pid)) = svc.current.pop()
                && let Some(w) = self.workers.get_mut(&pid)
                && w.phase != Phase::Stopping
            {
                w.phase = Phase::Stopping;
                self.actions.push(Action::Kill {
                    pid,
                    signal: Signal::SIGTERM,
                });
            }
            tracing::info!(
                "service {}: scaling down to {} workers",
                svc.name,
                svc.workers
            );
        }
    }

    /// SIGUSR2: what the master knows.
    fn report(&self, now: Instant) -> String {
        let mut out = format!(
            "fjord report: master pid={} uptime={:.1}s state={}\n",
            self.pid,
            now.saturating_duration_since(self.started).as_secs_f64(),
            match self.state {
                State::Running if self.reload.is_some() => "reloading",
                State::Running => "running",
                State::Stopping => "stopping",
            }
        );
        for (s, svc) in self.services.iter().enumerate() {
            out.push_str(&format!(
                "  service {} workers={} restarts={}\n",
                svc.name, svc.workers, svc.restarts
            ));
            let mut kids: Vec<(&Pid, &Worker)> = self
                .workers
                .iter()
                .filter(|(_, w)| w.service == s)
                .collect();
            kids.sort_by_key(|(_, w)| w.index);
            for (pid, w) in kids {
                out.push_str(&format!(
                    "    #{} pid={pid} {} uptime={:.1}s\n",
                    w.index,
                    match w.phase {
                        Phase::Starting => "starting",
                        Phase::Serving => "serving",
                        Phase::Retiring { .. } => "retiring",
                        Phase::Stopping => "stopping",
                    },
                    now.saturating_duration_since(w.started).as_secs_f64()
                ));
            }
        }
        out
    }
}

/// Whether the watchdog watches `w`: it said `READY` and was not told to
/// stop (a stopping worker has the graceful deadline), nor killed already.
fn watched(w: &Worker) -> bool {
    !w.hung && matches!(w.phase, Phase::Serving | Phase::Retiring { serving: true })
}

/// When the next fork for `svc` is allowed: at most `workers` forks per
/// `workers` seconds, and not before a start-failure back-off.
fn fork_allowed_at(svc: &Service, now: Instant) -> Instant {
    let window = Duration::from_secs(svc.workers as u64);
    let recent: Vec<&Instant> = svc
        .forks
        .iter()
        .filter(|t| now.duration_since(**t) < window)
        .collect();
    let mut at = now;
    if recent.len() >= svc.workers {
        // The oldest fork that keeps us at the limit must leave the window.
        let oldest = recent[recent.len() - svc.workers];
        at = *oldest + window;
    }
    if let Some(nb) = svc.not_before {
        at = at.max(nb);
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: i32) -> Pid {
        Pid::from_raw(n)
    }

    fn spec(name: &str, workers: usize, stops_first: bool) -> ServiceSpec {
        ServiceSpec {
            name: name.to_owned(),
            workers,
            stops_first,
        }
    }

    /// A master driven by hand: forks get PIDs 101, 102, ... (or fail), the
    /// reload hook gives `hook`, and time moves only when told.
    struct Sim {
        m: Master,
        now: Instant,
        t0: Instant,
        next_pid: i32,
        fail_forks: bool,
        hook: Result<(), String>,
    }

    impl Sim {
        fn new(services: Vec<ServiceSpec>, options: LauncherOptions) -> (Sim, Vec<Action>) {
            let t0 = Instant::now();
            let mut sim = Sim {
                m: Master::new(services, options, pid(1), t0),
                now: t0,
                t0,
                next_pid: 100,
                fail_forks: false,
                hook: Ok(()),
            };
            let first = sim.send(Event::Tick);
            (sim, first)
        }

        /// `workers` workers of one service, all serving.
        fn serving(workers: usize, options: LauncherOptions) -> Sim {
            let (mut sim, _) = Sim::new(vec![spec("api", workers, false)], options);
            sim.ready_all();
            sim
        }

        /// Sends `event`, answers the forks and the reload hook, and
        /// returns every action in order.
        fn send(&mut self, event: Event) -> Vec<Action> {
            let mut out = Vec::new();
            let mut queue = VecDeque::from(self.m.handle(event, self.now));
            while let Some(action) = queue.pop_front() {
                let answer = match action {
                    Action::Fork { service, index } if self.fail_forks => Some(Event::ForkFailed {
                        service,
                        index,
                        error: "fork failed".to_owned(),
                    }),
                    Action::Fork { service, index } => {
                        self.next_pid += 1;
                        Some(Event::Forked {
                            service,
                            index,
                            pid: pid(self.next_pid),
                        })
                    }
                    Action::RunReloadHook => Some(Event::ReloadHookDone(self.hook.clone())),
                    _ => None,
                };
                out.push(action);
                if let Some(answer) = answer {
                    queue.extend(self.m.handle(answer, self.now));
                }
            }
            out
        }

        /// Moves time to `secs` after the start and ticks.
        fn at(&mut self, secs: f64) -> Vec<Action> {
            self.now = self.t0 + Duration::from_secs_f64(secs);
            self.send(Event::Tick)
        }

        fn ready_all(&mut self) -> Vec<Action> {
            let starting: Vec<Pid> = self
                .m
                .workers
                .iter()
                .filter(|(_, w)| w.phase == Phase::Starting)
                .map(|(p, _)| *p)
                .collect();
            starting
                .into_iter()
                .flat_map(|p| self.send(Event::WorkerReady(p)))
                .collect()
        }

        fn exit(&mut self, p: Pid, status: Status) -> Vec<Action> {
            self.send(Event::WorkerExited(p, status))
        }

        fn current(&self, s: usize) -> Vec<Option<Pid>> {
            self.m.services[s].current.clone()
        }

        fn alive(&self) -> Vec<Pid> {
            self.m.workers.keys().copied().collect()
        }

        fn last_pid(&self) -> Pid {
            pid(self.next_pid)
        }
    }

    fn forks(actions: &[Action]) -> Vec<(usize, usize)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Fork { service, index } => Some((*service, *index)),
                _ => None,
            })
            .collect()
    }

    fn sent(actions: &[Action], signal: Signal) -> Vec<Pid> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Kill { pid, signal: s } if *s == signal => Some(*pid),
                _ => None,
            })
            .collect()
    }

    fn ready_notes(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Notify(Notify::Ready(s)) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    const KILLED: Status = Status::Signaled(Signal::SIGKILL, false);
    const FAILED: Status = Status::Exited(1);
    const CLEAN: Status = Status::Exited(0);

    /// The defaults, but no watchdog (its own tests turn it on).
    fn opts() -> LauncherOptions {
        LauncherOptions::default().worker_timeout(Duration::ZERO)
    }

    #[test]
    fn start_forks_every_worker_and_is_ready_once_all_serve() {
        let (mut sim, first) = Sim::new(vec![spec("api", 2, false), spec("rpc", 1, false)], opts());
        assert_eq!(forks(&first), [(0, 0), (0, 1), (1, 0)]);
        assert_eq!(sim.current(0), [Some(pid(101)), Some(pid(102))]);
        assert_eq!(sim.m.phase(pid(101)), Some(Phase::Starting));
        assert!(sim.send(Event::WorkerReady(pid(101))).is_empty());
        assert!(sim.send(Event::WorkerReady(pid(103))).is_empty());
        let last = sim.send(Event::WorkerReady(pid(102)));
        assert_eq!(
            last,
            [
                Action::Notify(Notify::Ready("3 workers serving".to_owned())),
                Action::AllServing
            ]
        );
        assert_eq!(sim.m.phase(pid(102)), Some(Phase::Serving));
        // Once only: a respawned worker that serves again says nothing.
        sim.at(10.0);
        assert_eq!(forks(&sim.exit(pid(101), KILLED)), [(0, 0)]);
        assert!(sim.send(Event::WorkerReady(sim.last_pid())).is_empty());
        assert_eq!(sim.m.deadline(sim.now), None);
    }

    fn watchdog(secs: u64) -> LauncherOptions {
        opts().worker_timeout(Duration::from_secs(secs))
    }

    #[test]
    fn a_silent_serving_worker_is_killed_by_the_watchdog_and_respawned() {
        let mut sim = Sim::serving(2, watchdog(5));
        // Silent since READY at 0 s: the deadline is its timeout.
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(5))
        );
        // 101 beats, 102 does not.
        sim.now = sim.t0 + Duration::from_secs(4);
        sim.send(Event::Heartbeats(vec![(
            pid(101),
            Duration::from_millis(100),
        )]));
        assert!(
            sent(&sim.at(5.0), Signal::SIGKILL).is_empty(),
            "not past it"
        );
        let actions = sim.at(5.5);
        assert_eq!(sent(&actions, Signal::SIGKILL), [pid(102)]);
        // Killed once, however long it takes to die.
        assert!(sent(&sim.at(6.0), Signal::SIGKILL).is_empty());
        let actions = sim.exit(pid(102), KILLED);
        assert_eq!(forks(&actions), [(0, 1)]);
        let (_, replaced) = sim.m.service_view(0).unwrap();
        assert_eq!(replaced, [0, 0, 1, 0, 0, 0], "counted as watchdog");
        assert_eq!(sim.m.services[0].restarts, 1);
        // 101 beat at 3.9 s: killed once silent past 8.9 s.
        assert!(sent(&sim.at(8.8), Signal::SIGKILL).is_empty());
        assert_eq!(sent(&sim.at(9.0), Signal::SIGKILL), [pid(101)]);
    }

    #[test]
    fn the_watchdog_watches_only_serving_workers_and_can_be_off() {
        let (mut sim, _) = Sim::new(vec![spec("api", 1, false)], watchdog(2));
        // Starting (no READY yet): its start may take as long as it needs.
        assert_eq!(sim.m.deadline(sim.now), None);
        assert!(sent(&sim.at(60.0), Signal::SIGKILL).is_empty());
        // READY counts as a sign of life.
        sim.ready_all();
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(62))
        );
        // Told to stop: the graceful deadline governs, not the watchdog.
        sim.send(Event::Signal(Signal::SIGTERM));
        assert!(sent(&sim.at(100.0), Signal::SIGKILL).is_empty());

        let mut off = Sim::serving(1, watchdog(0));
        assert_eq!(off.m.deadline(off.now), None);
        assert!(sent(&off.at(1000.0), Signal::SIGKILL).is_empty());
    }

    #[test]
    fn replacements_are_counted_by_reason() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        sim.exit(pid(101), FAILED);
        sim.ready_all();
        sim.at(20.0);
        sim.exit(pid(102), KILLED);
        sim.ready_all();
        // SIGHUP replaces both.
        sim.send(Event::Signal(Signal::SIGHUP));
        for _ in 0..2 {
            sim.ready_all();
            let retired: Vec<Pid> = sim
                .m
                .workers
                .iter()
                .filter(|(_, w)| w.phase == Phase::Stopping)
                .map(|(p, _)| *p)
                .collect();
            for p in retired {
                sim.exit(p, CLEAN);
            }
        }
        // One serves its max_requests.
        let old = sim.current(0)[0].unwrap();
        sim.send(Event::WorkerRetireRequested(old));
        sim.ready_all();
        let (workers, replaced) = sim.m.service_view(0).unwrap();
        assert_eq!(workers, 2);
        assert_eq!(replaced, [1, 1, 0, 1, 2, 0]);
    }

    #[test]
    fn a_dead_serving_worker_is_respawned_into_its_slot() {
        let mut sim = Sim::serving(3, opts());
        sim.at(10.0);
        let actions = sim.exit(pid(102), KILLED);
        assert_eq!(forks(&actions), [(0, 1)]);
        assert_eq!(
            sim.current(0),
            [Some(pid(101)), Some(pid(104)), Some(pid(103))]
        );
        assert_eq!(sim.m.services[0].restarts, 1);
        assert_eq!(sim.m.services[0].start_failures, 0, "it had served");
        assert_eq!(sim.m.phase(pid(104)), Some(Phase::Starting));
    }

    #[test]
    fn respawns_are_limited_to_n_forks_per_n_seconds() {
        // 2 workers: at most 2 forks in any 2 seconds; the start's 2 count.
        let mut sim = Sim::serving(2, opts());
        sim.at(0.5);
        assert!(
            forks(&sim.exit(pid(101), KILLED)).is_empty(),
            "2 forks in 2 s"
        );
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(2))
        );
        assert!(forks(&sim.at(1.9)).is_empty());
        assert_eq!(forks(&sim.at(2.0)), [(0, 0)]);
        sim.ready_all();
        // The start's forks have left the window, one fork is in it: one
        // more at once, then a wait until the first of those two leaves.
        sim.at(2.5);
        assert_eq!(forks(&sim.exit(pid(102), KILLED)), [(0, 1)]);
        sim.ready_all();
        assert!(forks(&sim.exit(pid(103), KILLED)).is_empty());
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(4))
        );
        assert_eq!(forks(&sim.at(4.0)), [(0, 0)]);
    }

    #[test]
    fn start_failures_back_off_doubling_and_a_serving_worker_resets_them() {
        let o = opts().start_failure_backoff(Duration::from_secs(1));
        let (mut sim, _) = Sim::new(vec![spec("api", 1, false)], o);
        sim.at(10.0);
        assert!(forks(&sim.exit(pid(101), FAILED)).is_empty());
        assert_eq!(sim.m.services[0].start_failures, 1);
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(11))
        );
        assert!(forks(&sim.at(10.99)).is_empty());
        assert_eq!(forks(&sim.at(11.0)), [(0, 0)]);
        assert!(forks(&sim.exit(pid(102), FAILED)).is_empty());
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(13))
        );
        assert_eq!(forks(&sim.at(13.0)), [(0, 0)]);
        sim.ready_all();
        assert_eq!(sim.m.services[0].start_failures, 0);
        sim.at(20.0);
        // Served, then died: respawned at once, not a start failure.
        assert_eq!(forks(&sim.exit(pid(103), KILLED)), [(0, 0)]);
        assert!(forks(&sim.exit(pid(104), FAILED)).is_empty());
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(21))
        );
    }

    #[test]
    fn max_start_failures_in_a_row_stops_with_start_failed() {
        let o = opts()
            .max_start_failures(3)
            .start_failure_backoff(Duration::from_millis(100));
        let (mut sim, _) = Sim::new(vec![spec("api", 1, false), spec("rpc", 1, false)], o);
        sim.send(Event::WorkerReady(pid(102)));
        let mut t = 10.0;
        for _ in 0..2 {
            sim.at(t);
            let failed = sim.last_pid();
            let failed = if sim.m.workers.contains_key(&pid(101)) {
                pid(101)
            } else {
                failed
            };
            assert!(forks(&sim.exit(failed, FAILED)).is_empty());
            t += 1.0;
            assert_eq!(forks(&sim.at(t)), [(0, 0)]);
        }
        let stop = sim.exit(sim.last_pid(), FAILED);
        assert!(stop.contains(&Action::Notify(Notify::Stopping)));
        assert!(stop.contains(&Action::CloseListeners));
        assert_eq!(sent(&stop, Signal::SIGTERM), [pid(102)]);
        assert!(
            forks(&sim.at(t + 5.0)).is_empty(),
            "no respawn while stopping"
        );
        assert_eq!(sim.m.done(), None);
        sim.exit(pid(102), CLEAN);
        assert_eq!(sim.m.done(), Some(Exit::StartFailed));
    }

    #[test]
    fn reload_replaces_workers_one_at_a_time_once_each_new_one_serves() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        let hup = sim.send(Event::Signal(Signal::SIGHUP));
        assert_eq!(
            hup[..2],
            [Action::Notify(Notify::Reloading), Action::RunReloadHook]
        );
        assert_eq!(forks(&hup), [(0, 0)], "one new worker at a time");
        assert!(
            sent(&hup, Signal::SIGTERM).is_empty(),
            "the old one serves on"
        );
        assert_eq!(
            sim.m.phase(pid(101)),
            Some(Phase::Retiring { serving: true })
        );
        assert_eq!(sim.current(0), [Some(pid(103)), Some(pid(102))]);
        assert!(forks(&sim.at(20.0)).is_empty(), "waits for the new one");

        let ready = sim.send(Event::WorkerReady(pid(103)));
        assert_eq!(sent(&ready, Signal::SIGTERM), [pid(101)]);
        assert_eq!(forks(&ready), [(0, 1)]);
        let ready = sim.send(Event::WorkerReady(pid(104)));
        assert_eq!(sent(&ready, Signal::SIGTERM), [pid(102)]);
        assert!(
            ready_notes(&ready).is_empty(),
            "complete once the old have exited"
        );

        // A replaced worker's death is not respawned.
        let exit = sim.exit(pid(101), CLEAN);
        assert!(forks(&exit).is_empty());
        assert!(ready_notes(&exit).is_empty());
        let exit = sim.exit(pid(102), CLEAN);
        assert_eq!(ready_notes(&exit), ["reloaded"]);
        assert_eq!(sim.alive(), [pid(103), pid(104)]);
        assert!(sim.m.reload.is_none());
    }

    #[test]
    fn reload_aborts_when_a_new_worker_dies_before_serving_and_keeps_the_old() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        sim.send(Event::Signal(Signal::SIGHUP));
        let died = sim.exit(pid(103), FAILED);
        assert_eq!(ready_notes(&died), ["reload aborted"]);
        assert!(forks(&died).is_empty(), "the old worker keeps its slot");
        assert!(sent(&died, Signal::SIGTERM).is_empty());
        assert_eq!(sim.m.phase(pid(101)), Some(Phase::Serving));
        assert_eq!(sim.current(0), [Some(pid(101)), Some(pid(102))]);
        assert!(sim.m.reload.is_none());
        // The old worker is again an ordinary one: its death is respawned.
        sim.at(20.0);
        assert_eq!(forks(&sim.exit(pid(101), KILLED)), [(0, 0)]);
    }

    #[test]
    fn reload_fork_failure_aborts_and_keeps_the_old() {
        let mut sim = Sim::serving(2, opts());
        sim.fail_forks = true;
        sim.send(Event::Signal(Signal::SIGHUP));
        assert!(sim.m.reload.is_none());
        assert_eq!(sim.m.phase(pid(101)), Some(Phase::Serving));
        assert_eq!(sim.current(0), [Some(pid(101)), Some(pid(102))]);
    }

    #[test]
    fn a_failing_reload_hook_keeps_the_running_workers() {
        let mut sim = Sim::serving(2, opts());
        sim.hook = Err("bad config".to_owned());
        let hup = sim.send(Event::Signal(Signal::SIGHUP));
        assert_eq!(ready_notes(&hup), ["reload failed"]);
        assert!(forks(&hup).is_empty());
        assert!(sim.m.reload.is_none());
    }

    #[test]
    fn sighup_during_a_reload_reloads_again_after_it() {
        let mut sim = Sim::serving(1, opts());
        sim.send(Event::Signal(Signal::SIGHUP));
        let again = sim.send(Event::Signal(Signal::SIGHUP));
        assert!(again.is_empty(), "queued, not started");
        sim.send(Event::WorkerReady(pid(102)));
        let done = sim.exit(pid(101), CLEAN);
        assert_eq!(ready_notes(&done), ["reloaded"]);
        assert!(done.contains(&Action::RunReloadHook), "the second reload");
        assert_eq!(forks(&done), [(0, 0)]);
        assert_eq!(
            sim.m.phase(pid(102)),
            Some(Phase::Retiring { serving: true })
        );
    }

    #[test]
    fn sighup_while_stopping_is_ignored() {
        let mut sim = Sim::serving(1, opts());
        sim.send(Event::Signal(Signal::SIGTERM));
        assert!(sim.send(Event::Signal(Signal::SIGHUP)).is_empty());
        assert!(sim.send(Event::Signal(Signal::SIGUSR1)).is_empty());
    }

    #[test]
    fn mutate_reruns_the_hook_and_signals_workers_without_replacing_them() {
        let mut sim = Sim::serving(2, opts().restart_method(RestartMethod::Mutate));
        let hup = sim.send(Event::Signal(Signal::SIGHUP));
        assert_eq!(
            hup[..2],
            [Action::Notify(Notify::Reloading), Action::RunReloadHook]
        );
        assert_eq!(sent(&hup, Signal::SIGHUP), [pid(101), pid(102)]);
        assert_eq!(ready_notes(&hup), ["reloaded"]);
        assert!(forks(&hup).is_empty());
        assert!(sim.m.reload.is_none());
        assert_eq!(sim.m.phase(pid(101)), Some(Phase::Serving));

        sim.hook = Err("bad config".to_owned());
        let hup = sim.send(Event::Signal(Signal::SIGHUP));
        assert!(sent(&hup, Signal::SIGHUP).is_empty());
        assert_eq!(ready_notes(&hup), ["reload failed"]);
    }

    #[test]
    fn ttin_adds_a_worker_and_ttou_retires_the_newest() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        let up = sim.send(Event::Signal(Signal::SIGTTIN));
        assert_eq!(forks(&up), [(0, 2)]);
        assert_eq!(sim.m.services[0].workers, 3);
        sim.ready_all();
        let down = sim.send(Event::Signal(Signal::SIGTTOU));
        assert_eq!(sent(&down, Signal::SIGTERM), [pid(103)]);
        assert_eq!(sim.m.phase(pid(103)), Some(Phase::Stopping));
        assert_eq!(sim.current(0), [Some(pid(101)), Some(pid(102))]);
        assert!(
            forks(&sim.exit(pid(103), CLEAN)).is_empty(),
            "not respawned"
        );
        sim.send(Event::Signal(Signal::SIGTTOU));
        let floor = sim.send(Event::Signal(Signal::SIGTTOU));
        assert!(floor.is_empty(), "never fewer than one worker");
        assert_eq!(sim.m.services[0].workers, 1);
    }

    #[test]
    fn a_reload_step_whose_new_worker_is_scaled_away_ends_and_stops_the_old() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        sim.send(Event::Signal(Signal::SIGHUP));
        sim.send(Event::WorkerReady(pid(103)));
        // The step replacing #1 (pid 102) by pid 104: scaling down retires
        // pid 104 before it serves.
        let down = sim.send(Event::Signal(Signal::SIGTTOU));
        assert_eq!(sent(&down, Signal::SIGTERM), [pid(104)]);
        let gone = sim.exit(pid(104), CLEAN);
        assert_eq!(sent(&gone, Signal::SIGTERM), [pid(102)], "slot #1 is gone");
        sim.exit(pid(101), CLEAN);
        let done = sim.exit(pid(102), CLEAN);
        assert_eq!(ready_notes(&done), ["reloaded"]);
        assert_eq!(sim.alive(), [pid(103)]);
    }

    #[test]
    fn a_recycling_step_whose_new_worker_is_scaled_away_ends() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        sim.send(Event::WorkerRetireRequested(pid(102)));
        sim.send(Event::Signal(Signal::SIGTTOU));
        let gone = sim.exit(pid(103), CLEAN);
        assert_eq!(sent(&gone, Signal::SIGTERM), [pid(102)]);
        assert!(sim.m.recycling.is_none());
        // Recycling goes on.
        let next = sim.send(Event::WorkerRetireRequested(pid(101)));
        assert_eq!(forks(&next), [(0, 0)]);
    }

    #[test]
    fn graceful_stop_kills_what_is_left_past_the_deadline() {
        let o = opts().graceful_shutdown_timeout(Duration::from_secs(5));
        let mut sim = Sim::serving(2, o);
        sim.at(10.0);
        let stop = sim.send(Event::Signal(Signal::SIGTERM));
        assert_eq!(
            stop,
            [
                Action::Notify(Notify::Stopping),
                Action::CloseListeners,
                Action::Kill {
                    pid: pid(101),
                    signal: Signal::SIGTERM
                },
                Action::Kill {
                    pid: pid(102),
                    signal: Signal::SIGTERM
                },
            ]
        );
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(16))
        );
        sim.exit(pid(101), CLEAN);
        assert!(sim.at(15.9).is_empty());
        let kill = sim.at(16.0);
        assert_eq!(
            kill,
            [
                Action::Kill {
                    pid: pid(102),
                    signal: Signal::SIGKILL
                },
                Action::Reap(pid(102))
            ]
        );
        sim.exit(pid(102), KILLED);
        assert_eq!(sim.m.done(), Some(Exit::Forced));
    }

    #[test]
    fn graceful_stop_in_time_is_clean_and_zero_timeout_waits_forever() {
        let mut sim = Sim::serving(2, opts().graceful_shutdown_timeout(Duration::ZERO));
        sim.send(Event::Signal(Signal::SIGINT));
        assert_eq!(sim.m.deadline(sim.now), None);
        assert!(sim.at(1000.0).is_empty());
        sim.exit(pid(101), CLEAN);
        assert_eq!(sim.m.done(), None);
        sim.exit(pid(102), CLEAN);
        assert_eq!(sim.m.done(), Some(Exit::Clean));
    }

    #[test]
    fn a_worker_that_abandoned_work_makes_the_stop_forced() {
        let mut sim = Sim::serving(2, opts());
        sim.send(Event::Signal(Signal::SIGTERM));
        sim.exit(pid(101), CLEAN);
        sim.exit(pid(102), Status::Exited(Exit::Forced.code()));
        assert_eq!(sim.m.done(), Some(Exit::Forced));
    }

    #[test]
    fn a_second_stop_signal_forces() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        let first = sim.send(Event::Signal(Signal::SIGTERM));
        assert_eq!(sent(&first, Signal::SIGTERM), [pid(101), pid(102)]);
        let second = sim.send(Event::Signal(Signal::SIGINT));
        assert_eq!(sent(&second, Signal::SIGTERM), [pid(101), pid(102)]);
        assert_eq!(
            sim.m.deadline(sim.now),
            Some(sim.t0 + Duration::from_secs(11))
        );
        let kill = sim.at(11.0);
        assert_eq!(sent(&kill, Signal::SIGKILL), [pid(101), pid(102)]);
        sim.exit(pid(101), CLEAN);
        sim.exit(pid(102), CLEAN);
        assert_eq!(sim.m.done(), Some(Exit::Forced));
    }

    #[test]
    fn services_that_stop_first_stop_before_the_others() {
        let (mut sim, _) = Sim::new(vec![spec("rpc", 1, false), spec("api", 2, true)], opts());
        sim.ready_all();
        let stop = sim.send(Event::Signal(Signal::SIGTERM));
        assert_eq!(
            sent(&stop, Signal::SIGTERM),
            [pid(102), pid(103)],
            "the APIs only"
        );
        assert!(sent(&sim.exit(pid(102), CLEAN), Signal::SIGTERM).is_empty());
        let later = sim.exit(pid(103), CLEAN);
        assert_eq!(sent(&later, Signal::SIGTERM), [pid(101)]);
        sim.exit(pid(101), CLEAN);
        assert_eq!(sim.m.done(), Some(Exit::Clean));
    }

    #[test]
    fn without_a_mix_every_service_stops_at_once() {
        let (mut sim, _) = Sim::new(vec![spec("a", 1, true), spec("b", 1, true)], opts());
        let stop = sim.send(Event::Signal(Signal::SIGTERM));
        assert_eq!(sent(&stop, Signal::SIGTERM), [pid(101), pid(102)]);
    }

    #[test]
    fn max_requests_replaces_workers_one_at_a_time() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        let first = sim.send(Event::WorkerRetireRequested(pid(101)));
        assert_eq!(forks(&first), [(0, 0)]);
        assert!(
            sent(&first, Signal::SIGTERM).is_empty(),
            "serves until replaced"
        );
        let second = sim.send(Event::WorkerRetireRequested(pid(102)));
        assert!(forks(&second).is_empty(), "one at a time");
        assert_eq!(sim.m.phase(pid(102)), Some(Phase::Serving));

        let ready = sim.send(Event::WorkerReady(pid(103)));
        assert_eq!(sent(&ready, Signal::SIGTERM), [pid(101)]);
        assert_eq!(forks(&ready), [(0, 1)]);
        let ready = sim.send(Event::WorkerReady(pid(104)));
        assert_eq!(sent(&ready, Signal::SIGTERM), [pid(102)]);
        assert!(forks(&sim.exit(pid(101), CLEAN)).is_empty());
        assert!(forks(&sim.exit(pid(102), CLEAN)).is_empty());
        assert_eq!(sim.current(0), [Some(pid(103)), Some(pid(104))]);
    }

    #[test]
    fn max_requests_waits_for_a_reload_and_a_failed_replacement_keeps_the_old() {
        let mut sim = Sim::serving(1, opts());
        sim.at(10.0);
        sim.send(Event::Signal(Signal::SIGHUP));
        let asked = sim.send(Event::WorkerRetireRequested(pid(101)));
        assert!(forks(&asked).is_empty(), "not during a reload");

        let mut sim = Sim::serving(1, opts());
        sim.at(10.0);
        sim.send(Event::WorkerRetireRequested(pid(101)));
        let died = sim.exit(pid(102), FAILED);
        assert!(forks(&died).is_empty());
        assert_eq!(sim.m.phase(pid(101)), Some(Phase::Serving));
        assert_eq!(sim.current(0), [Some(pid(101))]);
        assert!(sim.m.recycling.is_none());
    }

    #[test]
    fn a_failed_respawn_fork_is_retried_a_second_later() {
        let mut sim = Sim::serving(2, opts());
        sim.at(10.0);
        sim.fail_forks = true;
        sim.exit(pid(101), KILLED);
        assert_eq!(sim.current(0), [None, Some(pid(102))]);
        sim.fail_forks = false;
        assert!(forks(&sim.at(10.9)).is_empty());
        assert_eq!(forks(&sim.at(11.0)), [(0, 0)]);
    }

    #[test]
    fn upgrade_hands_over_once_the_new_master_serves() {
        let mut sim = Sim::serving(2, opts());
        assert_eq!(
            sim.send(Event::Signal(Signal::SIGUSR1)),
            [Action::StartUpgrade]
        );
        sim.send(Event::UpgradeStarted(pid(500)));
        assert!(
            sim.send(Event::Signal(Signal::SIGUSR1)).is_empty(),
            "one upgrade at a time"
        );
        let serving = sim.send(Event::UpgradeServing);
        assert_eq!(serving[0], Action::Notify(Notify::MainPid(pid(500))));
        assert!(
            !serving.contains(&Action::Notify(Notify::Stopping)),
            "systemd follows the new master"
        );
        assert!(serving.contains(&Action::CloseListeners));
        assert_eq!(sent(&serving, Signal::SIGTERM), [pid(101), pid(102)]);
        sim.exit(pid(101), CLEAN);
        sim.exit(pid(102), CLEAN);
        assert_eq!(sim.m.done(), Some(Exit::Clean));
    }

    #[test]
    fn a_failed_upgrade_keeps_the_old_workers_and_can_be_retried() {
        let mut sim = Sim::serving(2, opts());
        sim.send(Event::Signal(Signal::SIGUSR1));
        sim.send(Event::UpgradeStarted(pid(500)));
        assert!(sim.send(Event::UpgradeExited(Status::Exited(2))).is_empty());
        assert_eq!(sim.m.done(), None);
        assert_eq!(sim.m.phase(pid(101)), Some(Phase::Serving));
        assert_eq!(
            sim.send(Event::Signal(Signal::SIGUSR1)),
            [Action::StartUpgrade]
        );
        // Not during a reload.
        let mut sim = Sim::serving(1, opts());
        sim.send(Event::Signal(Signal::SIGHUP));
        assert!(sim.send(Event::Signal(Signal::SIGUSR1)).is_empty());
    }

    #[test]
    fn the_report_lists_workers_and_their_phase() {
        let (mut sim, _) = Sim::new(vec![spec("api", 2, false)], opts());
        sim.send(Event::WorkerReady(pid(101)));
        let report = match &sim.send(Event::Signal(Signal::SIGUSR2))[..] {
            [Action::Report(r)] => r.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            report.starts_with("fjord report: master pid=1 "),
            "{report}"
        );
        assert!(report.contains("state=running"), "{report}");
        assert!(report.contains("#0 pid=101 serving"), "{report}");
        assert!(report.contains("#1 pid=102 starting"), "{report}");
    }
}
