//! Binary upgrade (`SIGUSR1` to the master): the master starts the binary
//! now at its own path as a new master, handing it the listening sockets
//! by the socket-activation protocol ([`crate::activation`]) and the
//! write end of a pipe (`FJORD_UPGRADE_FD`). The new master writes one byte
//! to it once all its workers serve; the old one then stops its own
//! workers gracefully and exits. If the new master exits first (it could
//! not start: a configuration error, a broken binary), the old workers go
//! on serving. The sockets are never closed, so no client is refused.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::unistd::{ForkResult, Pid, fork};

use crate::activation::LISTEN_FDS_START;
use crate::signal::{self as sig, MASTER_SIGNALS};
use crate::{Error, ErrorKind, Result};

/// The environment variable naming the new master's end of the pipe.
const UPGRADE_FD: &str = "FJORD_UPGRADE_FD";

/// The byte the new master writes once all its workers serve.
const SERVING: u8 = b'S';

/// How this master was started: what an upgrade runs again.
#[derive(Debug)]
pub(crate) struct Program {
    pub(crate) path: PathBuf,
    args: Vec<OsString>,
}

impl Program {
    /// This process's executable path and arguments, read at start (before
    /// the file can have been replaced).
    pub(crate) fn current() -> Option<Program> {
        let path = std::env::current_exe().ok()?;
        // Replaced or removed already: the path it was at.
        let path = match path.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
            Some(p) => PathBuf::from(p),
            None => path,
        };
        Some(Program {
            path,
            args: std::env::args_os().collect(),
        })
    }
}

/// An upgrade under way, seen from the old master.
#[derive(Debug)]
pub(crate) struct Upgrade {
    pub(crate) pid: Pid,
    /// Read end of the pipe; `None` once it reached end of file.
    pub(crate) serving: Option<OwnedFd>,
}

/// What the old master learned from the pipe.
pub(crate) enum Heard {
    Serving,
    /// The new master closed the pipe without serving (it exited).
    Closed,
    Nothing,
}

impl Upgrade {
    /// Forks and execs `program` with `listeners` (name, descriptor)
    /// handed over. The master is single-threaded (checked by
    /// `ProcessLauncher::wait`).
    pub(crate) fn start(program: &Program, listeners: &[(String, RawFd)]) -> Result<Upgrade> {
        let (serving_r, serving_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| Error::os("upgrade: cannot make a pipe", e))?;
        let n = RawFd::try_from(listeners.len()).unwrap_or(RawFd::MAX);
        let cstr = |b: &[u8]| {
            CString::new(b).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "upgrade: a NUL byte in the command or environment",
                )
            })
        };
        let path = cstr(program.path.as_os_str().as_bytes())?;
        let argv = program
            .args
            .iter()
            .map(|a| cstr(a.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        let names: Vec<&str> = listeners.iter().map(|(name, _)| name.as_str()).collect();
        let mut env = std::env::vars_os()
            .filter(|(k, _)| {
                !matches!(
                    k.to_str(),
                    Some("LISTEN_PID" | "LISTEN_FDS" | "LISTEN_FDNAMES" | UPGRADE_FD)
                )
            })
            .map(|(k, v)| {
                let mut kv = k.into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstr(&kv)
            })
            .collect::<Result<Vec<_>>>()?;
        env.push(cstr(format!("LISTEN_FDS={n}").as_bytes())?);
        env.push(cstr(
            format!("LISTEN_FDNAMES={}", names.join(":")).as_bytes(),
        )?);
        env.push(cstr(
            format!("{UPGRADE_FD}={}", LISTEN_FDS_START + n).as_bytes(),
        )?);
        // The descriptors as the new program must find them: the listeners
        // from 3 on, then the pipe.
        let mut wanted: Vec<RawFd> = listeners.iter().map(|(_, fd)| *fd).collect();
        wanted.push(serving_w.as_raw_fd());
        let error = cstr(
            format!(
                "fjord: upgrade: cannot execute {}\n",
                program.path.display()
            )
            .as_bytes(),
        )?;

        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mask = sig::block_all()?;
        // SAFETY: the master is single-threaded (checked in
        // `ProcessLauncher::wait`), so the child is a consistent copy in which
        // no lock can be held. The child only resets signal dispositions,
        // moves descriptors, formats its PID into the environment and calls
        // execve; if execve fails it writes a prepared message and leaves
        // through _exit, never returning into the master's code.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                sig::reset_in_child(&MASTER_SIGNALS);
                place_descriptors(&wanted);
                env.push(
                    CString::new(format!("LISTEN_PID={}", std::process::id())).unwrap_or_default(),
                );
                sig::restore_mask(&mask);
                let _ = nix::unistd::execve(&path, &argv, &env);
                // SAFETY: write(2) and _exit(2) are async-signal-safe; the
                // buffer is a valid C string prepared before fork.
                unsafe {
                    libc::write(2, error.as_ptr().cast(), error.as_bytes().len());
                    libc::_exit(127);
                }
            }
            Ok(ForkResult::Parent { child }) => {
                sig::restore_mask(&mask);
                drop(serving_w);
                Ok(Upgrade {
                    pid: child,
                    serving: Some(serving_r),
                })
            }
            Err(e) => {
                sig::restore_mask(&mask);
                Err(Error::os("upgrade: fork failed", e))
            }
        }
    }

    /// Reads what the new master said, without blocking.
    pub(crate) fn hear(&mut self) -> Heard {
        let Some(fd) = &self.serving else {
            return Heard::Nothing;
        };
        let mut buf = [0u8; 8];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => {
                self.serving = None;
                Heard::Closed
            }
            Ok(n) if buf[..n].contains(&SERVING) => {
                self.serving = None;
                Heard::Serving
            }
            Ok(_) | Err(_) => Heard::Nothing,
        }
    }
}

/// In the forked child: `wanted[i]` becomes descriptor `3 + i`, without
/// close-on-exec; every other copy made here is closed on exec.
fn place_descriptors(wanted: &[RawFd]) {
    let first_free = LISTEN_FDS_START + RawFd::try_from(wanted.len()).unwrap_or(0);
    // First out of the way (a target may be another one's source) ...
    let moved: Vec<RawFd> = wanted
        .iter()
        .map(|&fd| {
            // SAFETY: a descriptor of the master's, open for this call.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(first_free)).unwrap_or(-1)
        })
        .collect();
    // ... then into place; dup2 leaves the new descriptor open across exec.
    for (i, &fd) in moved.iter().enumerate() {
        let target = LISTEN_FDS_START + RawFd::try_from(i).unwrap_or(0);
        if fd >= 0 {
            // SAFETY: dup2 onto a descriptor number this child reserves for
            // the new program; whatever was there is replaced on purpose.
            unsafe {
                libc::dup2(fd, target);
            }
        }
    }
}

/// In a new master started by an upgrade: the pipe to tell the old master
/// it serves, if this process was started that way.
pub(crate) fn take_serving_pipe() -> Option<OwnedFd> {
    if !crate::activation::started_with_listen_pid() {
        return None;
    }
    let fd: RawFd = std::env::var(UPGRADE_FD).ok()?.trim().parse().ok()?;
    // SAFETY: only borrowed to check that it is open.
    fcntl(
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        FcntlArg::F_GETFD,
    )
    .ok()?;
    // SAFETY: LISTEN_PID names this process, so the old master handed this
    // descriptor to it; it is taken once (the launcher's `wait` runs once).
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = fcntl(owned.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    Some(owned)
}

/// Tells the old master that this one serves.
pub(crate) fn tell_serving(pipe: OwnedFd) {
    if let Err(e) = nix::unistd::write(&pipe, &[SERVING]) {
        tracing::warn!("upgrade: cannot tell the old master this one serves: {e}");
    }
}
