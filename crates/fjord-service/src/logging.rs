//! Logging set up with a log filter that can change at run time: the
//! console's `log <filter>` (see `docs/operations.md`) sets it in the
//! master, every worker and the diagnostics process.
//!
//! [`init`] installs the usual `tracing_subscriber` text output on stderr
//! with a reloadable [`EnvFilter`] (`RUST_LOG`, or a default directive
//! string). A binary that builds its own subscriber registers how to
//! change its filter with [`set_reloader`] instead; one that does neither
//! keeps its filter, and the console says so.
//!
//! # Examples
//!
//! ```no_run
//! fjord_service::logging::init("info");
//! tracing::debug!("not shown");
//! fjord_service::logging::set_filter("debug").unwrap();
//! tracing::debug!("shown");
//! assert!(fjord_service::logging::set_filter("=nonsense=").is_err());
//! ```

use std::sync::{Mutex, OnceLock, PoisonError};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How this process changes its filter.
type Reloader = Box<dyn Fn(EnvFilter) -> Result<(), String> + Send + Sync>;

static RELOADER: OnceLock<Reloader> = OnceLock::new();
/// The directives last set (by [`init`] or [`set_filter`]).
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// Installs the global subscriber: text lines on stderr (colours when it
/// is a terminal) filtered by `RUST_LOG`, or by `default` when that is
/// unset or invalid; the filter can be changed later with [`set_filter`].
/// Does nothing if a global subscriber is already installed.
pub fn init(default: &str) {
    let (filter, directives) = match std::env::var("RUST_LOG") {
        Ok(v) if EnvFilter::try_new(&v).is_ok() => (EnvFilter::new(&v), v),
        _ => (
            EnvFilter::try_new(default).unwrap_or_else(|_| EnvFilter::new("info")),
            default.to_owned(),
        ),
    };
    let (layer, handle) = tracing_subscriber::reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if tracing_subscriber::registry()
        .with(layer)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        set_reloader(move |f| handle.reload(f).map_err(|e| e.to_string()));
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = directives;
    }
}

/// Registers how this process replaces its log filter (for binaries with
/// their own subscriber built around a `tracing_subscriber::reload`
/// layer). The first registration wins.
pub fn set_reloader(reload: impl Fn(EnvFilter) -> Result<(), String> + Send + Sync + 'static) {
    let _ = RELOADER.set(Box::new(reload));
}

/// Whether [`set_filter`] can change this process's filter.
pub fn reloadable() -> bool {
    RELOADER.get().is_some()
}

/// Checks an [`EnvFilter`] directive string (`info,fjord_http=debug`).
///
/// # Errors
///
/// The parser's message when a directive is invalid.
pub fn check_filter(directives: &str) -> Result<(), String> {
    EnvFilter::try_new(directives)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Replaces this process's log filter by `directives`.
///
/// # Errors
///
/// An invalid directive string (nothing changes), or no reloadable filter
/// in this process (neither [`init`] nor [`set_reloader`] was called).
pub fn set_filter(directives: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
    let reload = RELOADER
        .get()
        .ok_or_else(|| "this process's log filter is not reloadable".to_owned())?;
    reload(filter)?;
    *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = directives.to_owned();
    Ok(())
}

/// The directives last set by [`init`] or [`set_filter`] (empty if
/// neither ran).
pub fn current_filter() -> String {
    CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_are_checked() {
        for good in [
            "info",
            "info,workers::jobs=debug",
            "warn,fjord_http[request]=trace",
            "",
        ] {
            assert!(super::check_filter(good).is_ok(), "{good}");
        }
        for bad in ["info,workers=notalevel", "=nonsense=", "a=b=c"] {
            assert!(super::check_filter(bad).is_err(), "{bad}");
        }
    }
}
