//! Master-side signal handling: a self-pipe written by an async-signal-safe
//! handler, so the synchronous master loop wakes at once (no thread, no
//! runtime). The handler writes the signal number as one byte.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction};

use crate::{Error, Result};

/// Write end of the current self-pipe, read by the handler.
static PIPE_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = PIPE_W.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let saved = Errno::last_raw();
    let byte = sig as u8;
    // SAFETY: write(2) is async-signal-safe; `fd` is the non-blocking write
    // end of our self-pipe, alive for as long as PIPE_W holds it, and `byte`
    // is a valid one-byte buffer. A full pipe just drops the byte, which is
    // fine: the reader is awake already.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
    }
    Errno::set_raw(saved);
}

/// The signals the master handles.
pub(crate) const MASTER_SIGNALS: [Signal; 8] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGCHLD,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// Handlers installed on a self-pipe. Dropping it does not uninstall them
/// (a forked child calls [`reset_in_child`]), but it detaches them from the
/// pipe first: a signal caught afterwards writes nothing, instead of a byte
/// into a closed, or reused, descriptor.
#[derive(Debug)]
pub(crate) struct SelfPipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Drop for SelfPipe {
    fn drop(&mut self) {
        // Only if the handlers still write to this pipe (not a newer one's).
        let _ = PIPE_W.compare_exchange(
            self.write.as_raw_fd(),
            -1,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

impl SelfPipe {
    /// Creates the pipe and installs the handler for `signals`.
    pub(crate) fn install(signals: &[Signal]) -> Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| Error::os("cannot create the signal pipe", e))?;
        PIPE_W.store(write.as_raw_fd(), Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
            SigSet::empty(),
        );
        for &sig in signals {
            // SAFETY: the handler only reads an atomic and calls write(2),
            // both async-signal-safe.
            unsafe { sigaction(sig, &action) }
                .map_err(|e| Error::os(format!("cannot install a handler for {sig}"), e))?;
        }
        Ok(SelfPipe { read, write })
    }

    /// The end to poll for readability.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Raw descriptors a forked child must close.
    pub(crate) fn raw_fds(&self) -> [i32; 2] {
        [self.read.as_raw_fd(), self.write.as_raw_fd()]
    }

    /// Reads every pending signal, in arrival order.
    pub(crate) fn drain(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend(
                    buf[..n]
                        .iter()
                        .filter_map(|&b| Signal::try_from(i32::from(b)).ok()),
                ),
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        out
    }
}

/// Blocks every signal; returns the previous mask. Used around fork so no
/// handler runs in the child before it has reset them.
pub(crate) fn block_all() -> Result<SigSet> {
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    )
    .map_err(|e| Error::os("cannot block signals", e))?;
    Ok(old)
}

/// Restores a mask saved by [`block_all`].
pub(crate) fn restore_mask(mask: &SigSet) {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None);
}

/// In a freshly forked child (signals blocked): default dispositions for
/// everything the master handled, SIGINT ignored (the master turns a
/// terminal's Ctrl-C into SIGTERM for its workers, as oslo's children do),
/// and the handler's pipe forgotten.
pub(crate) fn reset_in_child(signals: &[Signal]) {
    PIPE_W.store(-1, Ordering::SeqCst);
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    let ign = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    for &sig in signals {
        let action = if sig == Signal::SIGINT { &ign } else { &dfl };
        // SAFETY: installing SIG_DFL / SIG_IGN runs no code of ours.
        let _ = unsafe { sigaction(sig, action) };
    }
}
