//! Several services in this process (oslo.service `ServiceLauncher`).

use std::sync::Arc;
use std::time::Instant;

use tokio::signal::unix::{SignalKind, signal};

use super::worker::{build_runtime, stop_bounded};
use super::{Exit, LauncherOptions, ReadyHook, ReloadHook, RestartMethod, SharedService};
use crate::{Error, ErrorKind, Result, Service, systemd};

/// Runs several services in this process, each in its own task of one tokio
/// runtime, and waits for them (oslo.service `ServiceLauncher`).
///
/// Signals: TERM/INT stop every service gracefully, bounded by
/// `graceful_shutdown_timeout` (a second one forces); HUP runs the reload
/// hook, then stops, resets and starts every service in place; USR2 prints
/// a report to stderr. systemd is told `READY=1` once every service has
/// started.
///
/// # Examples
///
/// ```no_run
/// use fjord_service::{LauncherOptions, ServiceLauncher};
/// # #[derive(Debug)] struct Api;
/// # #[fjord_service::async_trait] impl fjord_service::Service for Api {
/// #   fn name(&self) -> &str { "api" }
/// #   async fn start(&self) -> fjord_service::Result<()> { Ok(()) }
/// #   async fn stop(&self, _: bool) {}
/// #   async fn wait(&self) {}
/// # }
/// let mut launcher = ServiceLauncher::new(LauncherOptions::default());
/// launcher.launch_service(Api);
/// std::process::exit(launcher.wait()?.code());
/// # Ok::<(), fjord_service::Error>(())
/// ```
pub struct ServiceLauncher {
    options: LauncherOptions,
    services: Vec<SharedService>,
    hook: Option<ReloadHook>,
    ready_hook: Option<ReadyHook>,
    config: Option<super::process::SharedDumpHandle>,
    app_version: Option<String>,
}

impl std::fmt::Debug for ServiceLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceLauncher")
            .field("options", &self.options)
            .field(
                "services",
                &self.services.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ServiceLauncher {
    /// A launcher with no services yet.
    pub fn new(options: LauncherOptions) -> Self {
        ServiceLauncher {
            options,
            services: Vec::new(),
            hook: None,
            ready_hook: None,
            config: None,
            app_version: None,
        }
    }

    /// The application's configuration, for the console's `config`
    /// command (secrets shown as `****`), kept up to date on reload (a
    /// mutate hook on `conf`).
    pub fn config(&mut self, conf: &fjord_config::ConfigOpts) -> &mut Self {
        self.config = Some(super::process::shared_dump(conf));
        self
    }

    /// The application's version, shown in the SIGUSR2 report.
    pub fn app_version(&mut self, version: impl Into<String>) {
        self.app_version = Some(version.into());
    }

    /// Adds a service. It starts in [`ServiceLauncher::wait`].
    pub fn launch_service<S: Service>(&mut self, service: S) {
        self.services.push(Arc::new(service));
    }

    /// Sets the SIGHUP reload hook (see [`super::ReloadHook`]).
    pub fn on_reload(&mut self, hook: impl FnMut() -> Result<()> + Send + 'static) {
        self.hook = Some(Box::new(hook));
    }

    /// Sets the hook run once every service has started (see
    /// [`super::ReadyHook`]).
    pub fn on_ready(&mut self, hook: impl FnMut() + Send + 'static) {
        self.ready_hook = Some(Box::new(hook));
    }

    /// Builds a runtime, starts every service and runs until they stop.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] with no service, or with an inherited
    /// socket (see [`crate::activation`]) that no service took;
    /// [`ErrorKind::Os`] when the runtime or signal handlers cannot be had,
    /// or the [`LauncherOptions::pid_file`] cannot be written. A service that fails to
    /// start stops the others and gives [`Exit::StartFailed`].
    pub fn wait(self) -> Result<Exit> {
        if self.services.is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "no service to launch"));
        }
        crate::activation::check_all_taken()?;
        let _pid_file = self
            .options
            .pid_file
            .as_deref()
            .map(super::pidfile::PidFile::create)
            .transpose()?;
        let console = self.bind_console()?;
        let rt = build_runtime(self.options.worker_threads)
            .map_err(|e| Error::with_source(ErrorKind::Os, "cannot build the runtime", e))?;
        if let Some((l, c)) = console {
            rt.spawn(crate::diagnostics::console::serve(l, Arc::new(c)));
        }
        let exit = rt.block_on(self.run());
        rt.shutdown_timeout(std::time::Duration::from_secs(1));
        exit
    }

    /// The console (`backdoor_port` / `backdoor_socket`), served on this
    /// process's runtime: no workers to list or scale; `log` changes this
    /// process's filter, `config` shows the configuration.
    #[allow(clippy::type_complexity)]
    fn bind_console(
        &self,
    ) -> Result<
        Option<(
            crate::diagnostics::console::ConsoleListener,
            crate::diagnostics::console::Console,
        )>,
    > {
        use crate::diagnostics::{board, console, control};
        let Some(b) = &self.options.backdoor else {
            return Ok(None);
        };
        let os = |what: &str, e: std::io::Error| {
            Error::new(
                ErrorKind::Os,
                format!("cannot {what} for the console ({b:?}): {e}"),
            )
        };
        let l = console::bind(b, std::process::id()).map_err(|e| os("listen", e))?;
        let board = board::map().map_err(|e| os("map a board", e))?;
        board.master_pid.store(
            u64::from(std::process::id()),
            std::sync::atomic::Ordering::Relaxed,
        );
        let control = control::install().map_err(|e| os("map the mailbox", e))?;
        tracing::info!("console on {}", l.describe());
        crate::diagnostics::set_backdoor_port(l.port());
        let c = console::Console {
            board,
            control,
            name: self.options.name.clone(),
            services: self.services.iter().map(|s| s.name().to_owned()).collect(),
            config: self.config.clone().unwrap_or_default(),
            wake: None,
            lock: tokio::sync::Mutex::new(()),
            single: true,
        };
        Ok(Some((l, c)))
    }

    async fn run(mut self) -> Result<Exit> {
        let sig = |kind| {
            signal(kind)
                .map_err(|e| Error::with_source(ErrorKind::Os, "cannot install signal handlers", e))
        };
        let mut term = sig(SignalKind::terminate())?;
        let mut int = sig(SignalKind::interrupt())?;
        let mut hup = sig(SignalKind::hangup())?;
        let mut usr1 = sig(SignalKind::user_defined1())?;
        let mut usr2 = sig(SignalKind::user_defined2())?;
        let started = Instant::now();

        if let Err(e) = start_all(&self.services).await {
            tracing::error!("{e}");
            stop_bounded(
                &self.services,
                self.options.graceful_deadline(),
                term.recv(),
            )
            .await;
            return Ok(Exit::StartFailed);
        }
        systemd::ready(&format!("{} service(s) running", self.services.len()));
        if let Some(hook) = &mut self.ready_hook {
            hook();
        }

        // Built once per start, not on every wake-up of the loop.
        let wait_all = |services: Vec<SharedService>| {
            Box::pin(async move {
                futures_util::future::join_all(services.iter().map(|s| s.wait())).await;
            })
        };
        let mut all_done = wait_all(self.services.clone());
        loop {
            tokio::select! {
                _ = &mut all_done => {
                    tracing::info!("every service ended");
                    return Ok(Exit::Clean);
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => {
                    if let Err(e) = self.reload().await {
                        tracing::error!("{e}");
                        stop_bounded(&self.services, self.options.graceful_deadline(), term.recv()).await;
                        return Ok(Exit::StartFailed);
                    }
                    all_done = wait_all(self.services.clone());
                }
                _ = usr1.recv() => {
                    tracing::warn!(
                        "caught SIGUSR1: a binary upgrade needs worker processes under a master \
                         (ProcessLauncher); ignored"
                    );
                }
                _ = usr2.recv() => {
                    let names: Vec<&str> = self.services.iter().map(|s| s.name()).collect();
                    eprintln!(
                        "fjord report: pid={} uptime={:.1}s services={names:?} version={} fjord-service={}",
                        std::process::id(),
                        started.elapsed().as_secs_f64(),
                        self.app_version.as_deref().unwrap_or("(not given)"),
                        env!("CARGO_PKG_VERSION"),
                    );
                }
            }
        }
        tracing::info!("stopping {} service(s) gracefully", self.services.len());
        for s in &self.services {
            s.close_listeners();
        }
        systemd::stopping();
        let second = async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        Ok(stop_bounded(&self.services, self.options.graceful_deadline(), second).await)
    }

    /// SIGHUP: hook, then stop (graceful, bounded), reset and start in place.
    async fn reload(&mut self) -> Result<()> {
        tracing::info!("caught SIGHUP, reloading");
        systemd::reloading();
        if let Some(hook) = &mut self.hook
            && let Err(e) = hook()
        {
            tracing::error!("reload failed, keeping the running services: {e}");
            systemd::ready("reload failed");
            return Ok(());
        }
        if self.options.restart_method == RestartMethod::Mutate {
            tracing::info!(
                "configuration re-read; the services apply it in place (restart_method = mutate)"
            );
            systemd::ready("reloaded");
            return Ok(());
        }
        stop_bounded(
            &self.services,
            self.options.graceful_deadline(),
            std::future::pending::<()>(),
        )
        .await;
        for s in &self.services {
            s.reset().await.map_err(|e| {
                Error::with_source(
                    ErrorKind::Stop,
                    format!("cannot reset service {}", s.name()),
                    e,
                )
            })?;
        }
        start_all(&self.services).await?;
        tracing::info!("reload complete");
        systemd::ready("reloaded");
        Ok(())
    }
}

/// Starts every service, each in its own task.
async fn start_all(services: &[SharedService]) -> Result<()> {
    let starts: Vec<_> = services
        .iter()
        .map(|s| {
            let s = Arc::clone(s);
            tokio::spawn(async move {
                let name = s.name().to_owned();
                s.start().await.map_err(|e| (name, e))
            })
        })
        .collect();
    for task in starts {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err((name, e))) => {
                return Err(Error::with_source(
                    ErrorKind::Start,
                    format!("service {name} failed to start"),
                    e,
                ));
            }
            Err(e) => {
                return Err(Error::with_source(
                    ErrorKind::Start,
                    "a service panicked while starting",
                    e,
                ));
            }
        }
    }
    Ok(())
}
