//! Benchmark baseline for `bench/http_bench.py`: the smallest pre-fork
//! hyper 1 server, answering every request with `200 Hello, World!` and
//! the same headers as fjord's `http_hello`.
//!
//! ```text
//! cargo run --release -p hyper-prefork -- --port 8080 --workers 2
//! curl -i http://127.0.0.1:8080/hello
//! ```
//!
//! The master binds `127.0.0.1:<port>` (port 0: any free port, printed as
//! `listening on http://127.0.0.1:<port>`), forks N workers before any
//! runtime exists, then blocks in `sigwait` until SIGTERM or SIGINT, kills
//! its workers and reaps them. Each worker runs a current-thread tokio
//! runtime accepting on the shared socket, HTTP/1.1 with keep-alive.
#![deny(unsafe_op_in_unsafe_fn)]

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork};
use socket2::{Domain, Socket, Type};

const BODY: &[u8] = b"Hello, World!";
const WORKER_PID: HeaderName = HeaderName::from_static("x-fjord-worker-pid");

struct Args {
    port: u16,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        workers: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => {
                args.port = value.parse().map_err(|e| format!("--port {value}: {e}"))?;
            }
            "--workers" => {
                args.workers = value
                    .parse()
                    .map_err(|e| format!("--workers {value}: {e}"))?;
                if args.workers == 0 {
                    return Err("--workers must be at least 1".into());
                }
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (use --port P --workers N)"
                ));
            }
        }
    }
    Ok(args)
}

fn bind(port: u16) -> std::io::Result<TcpListener> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The same response as fjord's `http_hello`, header for header (it names
/// the worker in `x-fjord-worker-pid`), so both encode the same bytes.
fn hello(pid: &HeaderValue) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp.headers_mut().insert(WORKER_PID, pid.clone());
    resp
}

/// Runs in a forked child: serves until killed.
fn worker(listener: TcpListener) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let pid = HeaderValue::from(std::process::id());
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                // EMFILE, ECONNABORTED...: keep accepting.
                Err(_) => continue,
            };
            let _ = stream.set_nodelay(true);
            let pid = pid.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<Incoming>| {
                    let resp = hello(&pid);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn stop(children: &[Pid]) {
    for &child in children {
        let _ = kill(child, Signal::SIGKILL);
    }
    for &child in children {
        let _ = waitpid(child, None);
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("hyper-prefork: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match bind(args.port) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hyper-prefork: bind 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(e) => {
            eprintln!("hyper-prefork: local_addr: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Block the stop signals before forking: the master takes them with
    // sigwait; the workers unblock them (default action: terminate).
    let mut stop_signals = SigSet::empty();
    stop_signals.add(Signal::SIGTERM);
    stop_signals.add(Signal::SIGINT);
    if let Err(e) = stop_signals.thread_block() {
        eprintln!("hyper-prefork: sigprocmask: {e}");
        return ExitCode::FAILURE;
    }
    let mut children = Vec::with_capacity(args.workers);
    for _ in 0..args.workers {
        // SAFETY: the process is single-threaded here (no runtime, no
        // thread has been spawned yet), so the child may run any code.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let code = match stop_signals
                    .thread_unblock()
                    .map_err(std::io::Error::from)
                    .and_then(|()| worker(listener))
                {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("hyper-prefork: worker: {e}");
                        1
                    }
                };
                std::process::exit(code);
            }
            Ok(ForkResult::Parent { child }) => children.push(child),
            Err(e) => {
                eprintln!("hyper-prefork: fork: {e}");
                stop(&children);
                return ExitCode::FAILURE;
            }
        }
    }
    drop(listener);
    println!("listening on http://127.0.0.1:{port}");
    let status = match stop_signals.wait() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper-prefork: sigwait: {e}");
            ExitCode::FAILURE
        }
    };
    stop(&children);
    status
}
