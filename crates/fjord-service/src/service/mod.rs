//! The service contract (oslo.service's `ServiceBase`).
//!
//! A [`Service`] is anything that can be started, stopped (gracefully or
//! not), waited on and reset. The launchers drive it; it never has to know
//! whether it runs in the launching process ([`crate::ServiceLauncher`]) or
//! in a forked worker ([`crate::ProcessLauncher`]).
//!
//! A service is built *before* the launcher runs it. For the process
//! launcher that means in the master, before fork and before any async
//! runtime exists: constructors must stay synchronous and must not touch
//! tokio. Bind sockets there (they are inherited by every worker); open
//! connections in [`Service::start`], which runs inside the worker's runtime.

use std::sync::Arc;

use async_trait::async_trait;

use crate::Result;

/// The lifecycle every fjord service implements (oslo.service `ServiceBase`).
///
/// All methods take `&self`: the launcher calls [`Service::stop`] while
/// another task is inside [`Service::wait`], so a service keeps its mutable
/// state behind interior mutability (a [`crate::TaskGroup`] usually holds
/// everything that runs).
///
/// # Examples
///
/// ```
/// use fjord_service::{async_trait, Service, TaskGroup, Result};
/// use std::time::Duration;
///
/// #[derive(Debug, Default)]
/// struct Ticker { tg: TaskGroup }
///
/// #[async_trait]
/// impl Service for Ticker {
///     fn name(&self) -> &str { "ticker" }
///     async fn start(&self) -> Result<()> {
///         self.tg.add_timer(Duration::from_secs(1), Duration::ZERO, || async {
///             println!("tick");
///         });
///         Ok(())
///     }
///     async fn stop(&self, graceful: bool) { self.tg.stop(graceful).await }
///     async fn wait(&self) { self.tg.wait().await }
///     async fn reset(&self) -> Result<()> { self.tg.reset(); Ok(()) }
/// }
/// ```
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// A short name for logs and process titles (`fjord: worker <name> #1`).
    fn name(&self) -> &str;

    /// Starts the service and returns once it is serving; the work itself
    /// runs in tasks the service spawned.
    ///
    /// In a worker process this runs inside the worker's own runtime, after
    /// fork. When every worker's `start` has returned `Ok`, the master
    /// reports the service ready (systemd `READY=1`).
    ///
    /// # Errors
    ///
    /// An error means the service could not start; the worker exits and the
    /// master backs off before trying again (and gives up past a limit).
    async fn start(&self) -> Result<()>;

    /// Stops the service.
    ///
    /// `graceful = true`: stop taking new work and let the work in flight
    /// finish (the launcher bounds how long with
    /// `graceful_shutdown_timeout`). `graceful = false`: abandon work in
    /// flight as fast as possible.
    ///
    /// # Cancel safety
    ///
    /// The launcher may drop this future when the graceful deadline passes
    /// and then call `stop(false)`.
    async fn stop(&self, graceful: bool);

    /// Waits until the service has stopped: every task it runs has ended.
    ///
    /// A service whose `wait` returns without `stop` having been called has
    /// ended by itself; its worker exits and the master replaces it.
    async fn wait(&self);

    /// Brings a stopped service back to a state where [`Service::start`]
    /// can be called again (SIGHUP restart). Listening sockets survive a
    /// reset. The default does nothing.
    ///
    /// # Errors
    ///
    /// An error stops the launcher: the service cannot be restarted.
    async fn reset(&self) -> Result<()> {
        Ok(())
    }

    /// Closes this process's listening sockets for good: the process is
    /// stopping and will not start the service again. Once no process
    /// holds a socket open, new clients are refused at once instead of
    /// waiting in a backlog nobody accepts from. Synchronous and free of
    /// any runtime: the master calls it too.
    ///
    /// The launchers call it before the final graceful stop: the master
    /// when it begins to stop, a worker when it is told to stop (also when
    /// it is retired while others go on serving; they hold their own
    /// copies). Connections a service has already taken are not affected.
    /// The default does nothing.
    fn close_listeners(&self) {}

    /// The listening sockets this process holds for the service, each with
    /// the name a new binary's service of the same kind takes it by (see
    /// [`crate::activation`]): what a binary upgrade (`SIGUSR1` to the
    /// master) hands to the new master. The descriptors stay owned by the
    /// service. The default has none.
    fn listeners(&self) -> Vec<(String, std::os::fd::RawFd)> {
        Vec::new()
    }

    /// Whether this service takes work from outside (an API) and is
    /// stopped before the others: when a master running several services
    /// stops, the workers of these drain first, and the others (the RPC
    /// services and tasks their requests call) are told to stop only once
    /// those have exited, so requests in flight can complete. The default
    /// is false.
    fn stops_first(&self) -> bool {
        false
    }
}

#[async_trait]
impl<S: Service + ?Sized> Service for Arc<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn start(&self) -> Result<()> {
        (**self).start().await
    }
    async fn stop(&self, graceful: bool) {
        (**self).stop(graceful).await
    }
    async fn wait(&self) {
        (**self).wait().await
    }
    async fn reset(&self) -> Result<()> {
        (**self).reset().await
    }
    fn close_listeners(&self) {
        (**self).close_listeners();
    }
    fn listeners(&self) -> Vec<(String, std::os::fd::RawFd)> {
        (**self).listeners()
    }
    fn stops_first(&self) -> bool {
        (**self).stops_first()
    }
}

#[async_trait]
impl<S: Service + ?Sized> Service for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn start(&self) -> Result<()> {
        (**self).start().await
    }
    async fn stop(&self, graceful: bool) {
        (**self).stop(graceful).await
    }
    async fn wait(&self) {
        (**self).wait().await
    }
    async fn reset(&self) -> Result<()> {
        (**self).reset().await
    }
    fn close_listeners(&self) {
        (**self).close_listeners();
    }
    fn listeners(&self) -> Vec<(String, std::os::fd::RawFd)> {
        (**self).listeners()
    }
    fn stops_first(&self) -> bool {
        (**self).stops_first()
    }
}
