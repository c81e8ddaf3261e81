//! systemd's notify protocol (`sd_notify`): `READY=1`, `RELOADING=1`,
//! `STOPPING=1`, `STATUS=...`, `WATCHDOG=1`.
//!
//! Every function is a no-op when `NOTIFY_SOCKET` is not set, so services
//! call them unconditionally. Only the process that systemd started (the
//! master, or the single process of a [`crate::ServiceLauncher`]) notifies.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (newline-separated `KEY=VALUE` lines) to `NOTIFY_SOCKET`.
/// Returns whether a message was sent; errors are logged, never fatal.
///
/// # Examples
///
/// ```
/// // Without NOTIFY_SOCKET this does nothing and returns false.
/// // (The test process does not run under systemd.)
/// if std::env::var_os("NOTIFY_SOCKET").is_none() {
///     assert!(!fjord_service::systemd::notify("READY=1"));
/// }
/// ```
pub fn notify(state: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    match send(&path, state) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("systemd notify {state:?} to {path:?} failed: {e}");
            false
        }
    }
}

fn send(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

/// `READY=1` with a status line.
pub fn ready(status: &str) -> bool {
    notify(&format!("READY=1\nSTATUS={status}"))
}

/// `RELOADING=1` with the monotonic timestamp systemd 253+ asks for.
pub fn reloading() -> bool {
    let usec = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000)
        .unwrap_or(0);
    notify(&format!("RELOADING=1\nMONOTONIC_USEC={usec}"))
}

/// systemd's watchdog (L12): when `WATCHDOG_USEC` is set (and
/// `WATCHDOG_PID`, if set, is this process), how often to send
/// `WATCHDOG=1`: half the interval, as `sd_watchdog_enabled(3)` advises.
/// `None` otherwise, or for a value that is not a positive integer.
///
/// # Examples
///
/// ```
/// if std::env::var_os("WATCHDOG_USEC").is_none() {
///     assert_eq!(fjord_service::systemd::watchdog_interval(), None);
/// }
/// ```
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim().parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    Some(std::time::Duration::from_micros(usec / 2))
}

/// `STOPPING=1`.
pub fn stopping() -> bool {
    notify("STOPPING=1")
}
