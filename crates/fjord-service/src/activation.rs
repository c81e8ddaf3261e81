//! Listening sockets handed to this process by the one that started it,
//! by the protocol of sd_listen_fds(3): `LISTEN_PID` (this process's PID),
//! `LISTEN_FDS` (how many, from descriptor 3 on) and `LISTEN_FDNAMES`
//! (their names, `:`-separated). systemd socket activation uses it, and so
//! does fjord's binary upgrade (`SIGUSR1`) when it starts the new binary.
//!
//! A service takes its socket by name (systemd's `FileDescriptorName=`, or
//! the name fjord's upgrade gives: the service's name) or, failing that, by
//! the address it would bind. The launchers then check that every socket
//! handed over was taken: one that no service claims is an error, not a
//! silently idle port.
//!
//! The variables are read once and left in the environment: a child
//! process sees a `LISTEN_PID` that is not its own and ignores them.

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock, PoisonError};

use nix::sys::socket::{SockType, SockaddrStorage, getsockname, getsockopt, sockopt};

use crate::{Error, ErrorKind, Result};

/// The first descriptor handed over (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// One descriptor handed over.
#[derive(Debug)]
struct Handed {
    fd: RawFd,
    name: String,
    /// `None` once a service has taken it.
    owned: Option<OwnedFd>,
}

fn handed() -> &'static Mutex<Vec<Handed>> {
    static HANDED: OnceLock<Mutex<Vec<Handed>>> = OnceLock::new();
    HANDED.get_or_init(|| Mutex::new(read_environment()))
}

/// Whether `LISTEN_PID` names this process: what was handed over by its
/// starter is meant for it.
pub(crate) fn started_with_listen_pid() -> bool {
    std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id())
}

fn read_environment() -> Vec<Handed> {
    let var = |name| std::env::var(name).ok();
    if !started_with_listen_pid() {
        return Vec::new();
    }
    let count = var("LISTEN_FDS")
        .and_then(|n| n.trim().parse::<RawFd>().ok())
        .unwrap_or(0)
        .clamp(0, 4096);
    let names = var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':');
    (0..count)
        .filter_map(|i| {
            let fd = LISTEN_FDS_START + i;
            let name = names.next().unwrap_or("unknown").to_owned();
            // Not ours to take if it is not open.
            nix::fcntl::fcntl(
                // SAFETY: only borrowed for this call; the descriptor number
                // comes from LISTEN_FDS, which hands it to this process.
                unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
                nix::fcntl::FcntlArg::F_GETFD,
            )
            .ok()?;
            // SAFETY: LISTEN_PID names this process, so the descriptors
            // 3..3+LISTEN_FDS were handed to it to own; each is wrapped once
            // (this runs once, under the OnceLock).
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            // Not passed on to programs this one runs (as sd_listen_fds does).
            let _ = nix::fcntl::fcntl(
                owned.as_fd(),
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
            Some(Handed {
                fd,
                name,
                owned: Some(owned),
            })
        })
        .collect()
}

/// Takes the listening TCP socket handed over for the service `name`: the
/// one named `name`, else the one bound to `addr` (not matched when its
/// port is 0). `Ok(None)` when none was handed over for it: bind your own.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] when the matching descriptor is not a
/// listening TCP socket.
pub fn take_tcp_listener(name: &str, addr: SocketAddr) -> Result<Option<std::net::TcpListener>> {
    let mut handed = handed().lock().unwrap_or_else(PoisonError::into_inner);
    let by_name = handed
        .iter()
        .position(|h| h.owned.is_some() && h.name == name);
    let by_addr = || {
        (addr.port() != 0)
            .then(|| {
                handed.iter().position(|h| {
                    h.owned
                        .as_ref()
                        .is_some_and(|fd| local_addr(fd).is_some_and(|a| a == addr))
                })
            })
            .flatten()
    };
    let Some(i) = by_name.or_else(by_addr) else {
        return Ok(None);
    };
    let h = &mut handed[i];
    let fd = h.owned.as_ref().expect("matched an owned descriptor");
    let stream = getsockopt(fd, sockopt::SockType).is_ok_and(|t| t == SockType::Stream);
    let listening = getsockopt(fd, sockopt::AcceptConn).unwrap_or(false);
    let inet = local_addr(fd).is_some();
    if !(stream && listening && inet) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "inherited descriptor {} (name {:?}) for {name} is not a listening TCP socket",
                h.fd, h.name
            ),
        ));
    }
    let fd = h.owned.take().expect("matched an owned descriptor");
    tracing::info!(
        "{name}: listening on inherited socket {} (descriptor {}, name {:?})",
        local_addr(&fd).map_or_else(|| "?".to_owned(), |a| a.to_string()),
        fd.as_raw_fd(),
        h.name
    );
    Ok(Some(std::net::TcpListener::from(fd)))
}

/// Checks that every socket handed over was taken by a service.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] naming each descriptor no service took.
pub fn check_all_taken() -> Result<()> {
    let handed = handed().lock().unwrap_or_else(PoisonError::into_inner);
    let left: Vec<String> = handed
        .iter()
        .filter_map(|h| {
            let fd = h.owned.as_ref()?;
            let addr =
                local_addr(fd).map_or_else(|| "not a TCP socket".to_owned(), |a| a.to_string());
            Some(format!("descriptor {} (name {:?}, {addr})", h.fd, h.name))
        })
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!(
            "inherited socket(s) that no service takes: {}; name each after a service \
             (FileDescriptorName=) or make a service listen on its address",
            left.join(", ")
        ),
    ))
}

/// Whether sockets were handed to this process.
pub fn any_handed() -> bool {
    !handed()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
}

fn local_addr(fd: &OwnedFd) -> Option<SocketAddr> {
    let addr: SockaddrStorage = getsockname(fd.as_raw_fd()).ok()?;
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::from(std::net::SocketAddrV4::from(*v4)));
    }
    if let Some(v6) = addr.as_sockaddr_in6() {
        return Some(SocketAddr::from(std::net::SocketAddrV6::from(*v6)));
    }
    None
}
