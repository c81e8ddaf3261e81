//! The listening socket (H1, H2): bound in the master, before fork, with
//! std and socket2 only (no runtime), and inherited by every worker.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use super::error::Error;
use super::options::ServerOptions;

/// How often bind is retried while the address is in use.
const BIND_RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// Resolves `listen:port` to the first address.
pub(crate) fn resolve(listen: &str, port: u16) -> Result<SocketAddr, Error> {
    let host = listen.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let resolve_err = |source| Error::Resolve {
        host: listen.to_owned(),
        source,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(resolve_err)?
        .next()
        .ok_or_else(|| resolve_err(io::Error::new(io::ErrorKind::NotFound, "no address")))
}

/// Binds the listening socket as oslo.service does: SO_REUSEADDR,
/// SO_KEEPALIVE, TCP_KEEPIDLE, `backlog`, retrying while the address is in
/// use for up to `bind_timeout` (a warning says so at the first refusal).
///
/// Synchronous, touches no runtime: safe in the master before fork.
///
/// A socket handed over by systemd socket activation or a binary upgrade
/// (see [`fjord_service::activation`]) for this API, by name or by
/// address, is used instead of binding.
///
/// Returns the socket and whether it was inherited.
pub(crate) fn bind(options: &ServerOptions) -> Result<(TcpListener, bool), Error> {
    let addr = resolve(&options.listen, options.port);
    let any = SocketAddr::from(([0, 0, 0, 0], 0));
    if let Some(listener) =
        fjord_service::activation::take_tcp_listener(&options.name, *addr.as_ref().unwrap_or(&any))
            .map_err(Error::Inherited)?
    {
        set_keepalive(&SockRef::from(&listener), options.tcp_keepidle).map_err(|source| {
            Error::Bind {
                addr: addr.unwrap_or(any),
                source,
            }
        })?;
        return Ok((listener, true));
    }
    let addr = addr?;
    let started = Instant::now();
    let mut warned = false;
    loop {
        match try_bind(addr, options) {
            Ok(listener) => return Ok((listener, false)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                if !warned {
                    warned = true;
                    tracing::warn!(
                        api = %options.name,
                        "{}: address {addr} is already in use; retrying for up to {} s",
                        options.name,
                        options.bind_timeout.as_secs_f64()
                    );
                }
                if started.elapsed() >= options.bind_timeout {
                    return Err(Error::AddrInUse {
                        addr,
                        waited: options.bind_timeout,
                    });
                }
                std::thread::sleep(BIND_RETRY_INTERVAL);
            }
            Err(source) => return Err(Error::Bind { addr, source }),
        }
    }
}

fn try_bind(addr: SocketAddr, options: &ServerOptions) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    set_keepalive(&SockRef::from(&socket), options.tcp_keepidle)?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        // The master's copy holds the address; each worker listens on its
        // own socket (`bind_worker`).
        return Ok(socket.into());
    }
    socket.bind(&addr.into())?;
    let backlog = i32::try_from(options.backlog).unwrap_or(i32::MAX);
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// With `reuse_port`: this worker's own listening socket on `addr` (the
/// address the master holds), SO_REUSEPORT like the master's.
pub(crate) fn bind_worker(addr: SocketAddr, options: &ServerOptions) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    set_keepalive(&SockRef::from(&socket), options.tcp_keepidle)?;
    socket.bind(&addr.into())?;
    let backlog = i32::try_from(options.backlog).unwrap_or(i32::MAX);
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// SO_KEEPALIVE on, and TCP_KEEPIDLE (whole seconds, at least 1).
pub(crate) fn set_keepalive(socket: &SockRef<'_>, idle: Duration) -> io::Result<()> {
    socket.set_keepalive(true)?;
    let idle = idle.max(Duration::from_secs(1));
    socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_with_socket_options_and_port_zero() {
        let options = ServerOptions::new("t")
            .listen("127.0.0.1")
            .port(0)
            .tcp_keepidle(Duration::from_secs(42));
        let (listener, _) = bind(&options).unwrap();
        let sock = SockRef::from(&listener);
        assert!(sock.reuse_address().unwrap());
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(42));
        assert_ne!(listener.local_addr().unwrap().port(), 0);
    }

    #[test]
    fn address_in_use_is_retried_then_a_clear_error() {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        let options = ServerOptions::new("t")
            .listen("127.0.0.1")
            .port(port)
            .bind_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = bind(&options).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(matches!(err, Error::AddrInUse { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
    }

    #[test]
    fn bad_host_is_a_clear_error() {
        let err = resolve("no such host.invalid", 1).unwrap_err();
        assert!(err.to_string().contains("no such host.invalid"), "{err}");
    }
}
