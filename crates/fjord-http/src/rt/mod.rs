//! The HTTP server's runtime primitives (README below is a placeholder,
//! filled in with the measured gains).

pub(crate) mod alarm;
pub(crate) mod clock;
pub(crate) mod pool;
pub(crate) mod signal;
pub(crate) mod stall;
pub(crate) mod timeout;

/// The atomics and locks of the lock-free parts: loom's under `--cfg
/// loom`, so that its model tests can schedule every access.
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::{Mutex, MutexGuard, atomic};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Mutex, MutexGuard, atomic};
}
