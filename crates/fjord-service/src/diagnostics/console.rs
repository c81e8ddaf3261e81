//! The operator console (oslo.service's eventlet backdoor, as a line
//! protocol instead of a Python REPL): `backdoor_port` /
//! `backdoor_socket`, bound by the master, served by the diagnostics
//! process.
//!
//! One command per line; each answer is followed by the prompt
//! [`PROMPT`] (`fjord> `, no newline). Errors are one line starting with
//! `error: `. Lines are at most [`MAX_LINE`] bytes (a longer one gets
//! `error: line too long` and is skipped; the connection stays usable);
//! a connection idle for [`IDLE`] is closed; at most [`MAX_CONNECTIONS`]
//! at once (one more is told `error: too many console connections` and
//! closed).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::board::{Board, PHASES};
use super::config_dump::ConfigDump;
use super::control::Control;
use super::render;

/// The prompt written after the greeting and after every answer.
pub(crate) const PROMPT: &str = "fjord> ";
/// Bytes of one command line.
pub(crate) const MAX_LINE: usize = 4096;
/// Console connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 16;
/// A connection that sends no complete line for this long is closed.
pub(crate) const IDLE: Duration = Duration::from_secs(600);
/// Workers one `scale` may add or retire.
const MAX_SCALE_STEP: i64 = 64;

/// Where the console listens (`[DEFAULT] backdoor_port` or
/// `backdoor_socket`, oslo.service's options). Loopback only.
///
/// # Examples
///
/// ```
/// use fjord_service::diagnostics::Backdoor;
/// assert_eq!(Backdoor::parse_port("0"), Ok(Backdoor::Port { start: 0, end: 0 }));
/// assert_eq!(
///     Backdoor::parse_port("4000:4010"),
///     Ok(Backdoor::Port { start: 4000, end: 4010 })
/// );
/// assert!(Backdoor::parse_port("4010:4000").is_err());
/// assert!(Backdoor::parse_port("http").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backdoor {
    /// TCP on 127.0.0.1: the first free port from `start` to `end`
    /// (inclusive); `0` takes any free port.
    Port {
        /// First port tried.
        start: u16,
        /// Last port tried.
        end: u16,
    },
    /// A Unix socket at this path, `{pid}` replaced by the master's PID;
    /// created with mode 0600, a stale socket file there is replaced.
    Socket(PathBuf),
}

impl Backdoor {
    /// Parses `backdoor_port`'s forms (oslo's `_parse_port_range`): `N`,
    /// `start:end`, `0`.
    ///
    /// # Errors
    ///
    /// A sentence saying what is wrong, for a configuration error.
    pub fn parse_port(text: &str) -> Result<Backdoor, String> {
        let text = text.trim();
        let (a, b) = text.split_once(':').unwrap_or((text, text));
        match (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            (Ok(start), Ok(end)) if start <= end => Ok(Backdoor::Port { start, end }),
            (Ok(_), Ok(_)) => Err(format!(
                "invalid port range {text:?}: the end is below the start"
            )),
            _ => Err(format!(
                "invalid port range {text:?}: expected 0 (any free port), a port (1-65535) \
                 or start:end (the first free port of the range)"
            )),
        }
    }
}

/// The console's listening socket, bound by the master.
#[derive(Debug)]
pub(crate) enum ConsoleListener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener, PathBuf),
}

impl ConsoleListener {
    /// Where it listens, for the log: `127.0.0.1:<port>` or the path.
    pub(crate) fn describe(&self) -> String {
        match self {
            ConsoleListener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".to_owned()),
            ConsoleListener::Unix(_, p) => p.display().to_string(),
        }
    }

    /// The TCP port (`get_backdoor_port`); `None` for a Unix socket.
    pub(crate) fn port(&self) -> Option<u16> {
        match self {
            ConsoleListener::Tcp(l) => l.local_addr().ok().map(|a| a.port()),
            ConsoleListener::Unix(..) => None,
        }
    }

    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            ConsoleListener::Tcp(l) => l.as_raw_fd(),
            ConsoleListener::Unix(l, _) => l.as_raw_fd(),
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<ConsoleListener> {
        Ok(match self {
            ConsoleListener::Tcp(l) => ConsoleListener::Tcp(l.try_clone()?),
            ConsoleListener::Unix(l, p) => ConsoleListener::Unix(l.try_clone()?, p.clone()),
        })
    }
}

/// Binds the console socket (synchronously: the master calls this before
/// its first fork). `pid` replaces `{pid}` in a socket path.
pub(crate) fn bind(backdoor: &Backdoor, pid: u32) -> io::Result<ConsoleListener> {
    match backdoor {
        Backdoor::Port { start, end } => {
            let mut last = None;
            for port in *start..=*end {
                match std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)) {
                    Ok(l) => return Ok(ConsoleListener::Tcp(l)),
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "no free port from {start} to {end} on 127.0.0.1 ({})",
                    last.map_or_else(|| "empty range".to_owned(), |e| e.to_string())
                ),
            ))
        }
        Backdoor::Socket(path) => {
            let path = PathBuf::from(path.to_string_lossy().replace("{pid}", &pid.to_string()));
            bind_unix(&path).map(|l| ConsoleListener::Unix(l, path))
        }
    }
}

fn bind_unix(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // The socket is created with mode 0600 (no window where others could
    // connect): the umask is process-wide, and the master is still
    // single-threaded here.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let l = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// What the console reads and whom it tells.
#[derive(Debug)]
pub(crate) struct Console {
    pub(crate) board: &'static Board,
    pub(crate) control: &'static Control,
    pub(crate) name: String,
    pub(crate) services: Vec<String>,
    /// Shared with the launcher's mutate hook in a single process; a copy
    /// taken at fork in the diagnostics process.
    pub(crate) config: Arc<std::sync::Mutex<ConfigDump>>,
    /// The write end of the master's wake-up pipe.
    pub(crate) wake: Option<OwnedFd>,
    /// Serialises `log` and `scale` (one writer of the mailbox).
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Served by a single-process launcher: no workers to list or scale.
    pub(crate) single: bool,
}

/// Serves `listener` until the runtime ends.
pub(crate) async fn serve(listener: ConsoleListener, console: Arc<Console>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    match listener {
        ConsoleListener::Tcp(l) => {
            let Ok(l) = l
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(l))
            else {
                tracing::error!("console: cannot use the listening socket");
                return;
            };
            loop {
                match l.accept().await {
                    Ok((s, _)) => spawn_session(s, &console, &slots),
                    Err(e) => accept_failed(e).await,
                }
            }
        }
        ConsoleListener::Unix(l, _) => {
            let Ok(l) = l
                .set_nonblocking(true)
                .and_then(|()| tokio::net::UnixListener::from_std(l))
            else {
                tracing::error!("console: cannot use the listening socket");
                return;
            };
            loop {
                match l.accept().await {
                    Ok((s, _)) => spawn_session(s, &console, &slots),
                    Err(e) => accept_failed(e).await,
                }
            }
        }
    }
}

async fn accept_failed(e: io::Error) {
    tracing::debug!("console: accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn spawn_session<S>(stream: S, console: &Arc<Console>, slots: &Arc<tokio::sync::Semaphore>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let console = Arc::clone(console);
    let permit = Arc::clone(slots).try_acquire_owned();
    tokio::spawn(async move {
        let mut stream = stream;
        let Ok(_permit) = permit else {
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                stream.write_all(b"error: too many console connections\n"),
            )
            .await;
            return;
        };
        session(stream, &console).await;
    });
}

/// One line read from a client.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads up to a newline; past `max` bytes the rest of the line is read
/// and dropped.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::Eof
            } else {
                Line::Text(line)
            });
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if !too_long {
            line.extend_from_slice(&buf[..take]);
            if line.len() > max {
                too_long = true;
                line = Vec::new();
            }
        }
        r.consume(if done { take + 1 } else { take });
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            });
        }
    }
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(stream: S, console: &Console) {
    let (r, mut w) = tokio::io::split(stream);
    let mut r = BufReader::with_capacity(MAX_LINE, r);
    let greeting = format!(
        "fjord console of {} (master pid={}); type help\n{PROMPT}",
        console.name,
        super::board::get(&console.board.master_pid)
    );
    if !send(&mut w, &greeting).await {
        return;
    }
    loop {
        let line = match tokio::time::timeout(IDLE, read_line(&mut r, MAX_LINE)).await {
            Ok(Ok(line)) => line,
            Ok(Err(_)) | Err(_) => return,
        };
        let answer = match line {
            Line::Eof => return,
            Line::TooLong => format!("error: line too long (at most {MAX_LINE} bytes)\n"),
            Line::Text(bytes) => match console.command(&String::from_utf8_lossy(&bytes)).await {
                Some(a) => a,
                None => {
                    let _ = send(&mut w, "bye\n").await;
                    return;
                }
            },
        };
        if !send(&mut w, &format!("{answer}{PROMPT}")).await {
            return;
        }
    }
}

/// Writes `text`; false if the client is gone or does not read.
async fn send<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(30), w.write_all(text.as_bytes())).await,
        Ok(Ok(()))
    )
}

const HELP: &str = "\
help                  this list
report                the SIGUSR2 report (services, workers, counters)
workers               each worker: pid, service, index, state, uptime, requests, memory
conns                 connections and requests in flight, per worker
tasks                 periodic tasks and their runs
config [group]        the configuration (secrets as ****), all or one group
log                   the current log filter
log <filter>          set the log filter in every process (tracing EnvFilter syntax)
scale <service> +N|-N add or retire N workers of a service (never below 1)
quit                  close this connection
";

impl Console {
    fn config(&self) -> ConfigDump {
        self.config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn snapshot(&self) -> render::Snapshot {
        render::snapshot(self.board, &self.name, &self.services)
    }

    /// The answer to one command line; `None`: close the connection.
    pub(crate) async fn command(&self, line: &str) -> Option<String> {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        let mut words = line.split_whitespace();
        let Some(cmd) = words.next() else {
            return Some(String::new());
        };
        let args: Vec<&str> = words.collect();
        let answer = match (cmd, args.as_slice()) {
            ("help", []) => HELP.to_owned(),
            ("quit" | "exit", []) => return None,
            ("report", []) => render::report(&self.snapshot()),
            ("workers", []) => self.workers(),
            ("conns", []) => render::report_conns(&self.snapshot()),
            ("tasks", []) => render::report_tasks(&self.snapshot()),
            ("config", []) => one_line(render::report_config(&self.config(), None)),
            ("config", [group]) => one_line(render::report_config(&self.config(), Some(group))),
            ("log", []) => format!("log filter: {}\n", crate::logging::current_filter()),
            ("log", _) => {
                // The directives are the rest of the line, spaces included.
                let filter = line["log".len()..].trim();
                self.log(filter).await
            }
            ("scale", [service, step]) => self.scale(service, step).await,
            ("scale", _) => "error: usage: scale <service> +N|-N\n".to_owned(),
            ("help" | "report" | "workers" | "conns" | "tasks" | "config" | "quit", _) => {
                format!("error: {cmd} takes no such arguments; type help\n")
            }
            _ => format!("error: unknown command {:?}; type help\n", clip(cmd)),
        };
        Some(answer)
    }

    fn workers(&self) -> String {
        if self.single {
            return format!(
                "no worker processes: services {} run in this process pid={}\n",
                self.services.join(" "),
                std::process::id()
            );
        }
        let snap = self.snapshot();
        let mut out = String::new();
        for w in &snap.workers {
            out.push_str(&format!(
                "pid={} service={} index={} state={} uptime={:.1}s requests={} rss={}\n",
                w.pid,
                snap.services
                    .get(w.service)
                    .map_or("?", |s| s.name.as_str()),
                w.index,
                PHASES[w.phase],
                snap.now_ms.saturating_sub(w.started_ms) as f64 / 1000.0,
                w.requests,
                w.rss_bytes.map_or("?".to_owned(), |b| format!(
                    "{:.1}MiB",
                    b as f64 / 1048576.0
                )),
            ));
        }
        if out.is_empty() {
            out.push_str("no workers\n");
        }
        out
    }

    async fn log(&self, filter: &str) -> String {
        if filter.len() > super::control::FILTER_MAX {
            return format!(
                "error: a filter is at most {} bytes\n",
                super::control::FILTER_MAX
            );
        }
        if let Err(e) = crate::logging::check_filter(filter) {
            return format!("error: bad filter: {}\n", first_line(&e));
        }
        if !crate::logging::reloadable() {
            return "error: this program's log filter is not reloadable (it does not set up \
                    logging with fjord_service::logging)\n"
                .to_owned();
        }
        let _guard = self.lock.lock().await;
        if let Err(e) = self.control.set_log_filter(filter) {
            return format!("error: {e}\n");
        }
        let _ = crate::logging::set_filter(filter);
        super::control::mark_applied();
        self.wake_master();
        tracing::info!("console: log filter is now {filter:?}");
        format!(
            "log filter is now {filter:?} here; the master and every worker apply it within a \
             second\n"
        )
    }

    async fn scale(&self, service: &str, step: &str) -> String {
        if self.single {
            return "error: scale needs worker processes (a ProcessLauncher); this program runs \
                    its services in one process\n"
                .to_owned();
        }
        let Some(s) = self.services.iter().position(|n| n == service) else {
            return format!(
                "error: no service {:?}; services: {}\n",
                clip(service),
                self.services.join(" ")
            );
        };
        let delta = match (step.chars().next(), step.get(1..).map(str::parse::<i64>)) {
            (Some('+'), Some(Ok(n))) if (1..=MAX_SCALE_STEP).contains(&n) => n,
            (Some('-'), Some(Ok(n))) if (1..=MAX_SCALE_STEP).contains(&n) => -n,
            _ => {
                return format!(
                    "error: the step is +N or -N with N from 1 to {MAX_SCALE_STEP}, not {:?}\n",
                    clip(step)
                );
            }
        };
        let _guard = self.lock.lock().await;
        let id = self.control.post_scale(s, delta);
        self.wake_master();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(workers) = self.control.scale_answer(id) {
                return format!("service {service}: {workers} workers\n");
            }
            if tokio::time::Instant::now() >= deadline {
                return "error: the master did not answer within 5 seconds\n".to_owned();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn wake_master(&self) {
        if let Some(fd) = &self.wake {
            let _ = nix::unistd::write(fd.as_fd(), b"c");
        }
    }
}

fn one_line(r: Result<String, String>) -> String {
    r.unwrap_or_else(|e| format!("error: {}\n", first_line(&e)))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// At most 64 characters of client text, for an error line.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_the_connection_goes_on() {
        let mut input: &[u8] = b"help\nxxxxxxxxxxxx\nquit\r\nlast";
        let mut r = BufReader::with_capacity(4, &mut input);
        assert_eq!(
            read_line(&mut r, 8).await.unwrap(),
            Line::Text(b"help".to_vec())
        );
        assert_eq!(read_line(&mut r, 8).await.unwrap(), Line::TooLong);
        assert_eq!(
            read_line(&mut r, 8).await.unwrap(),
            Line::Text(b"quit\r".to_vec())
        );
        assert_eq!(
            read_line(&mut r, 8).await.unwrap(),
            Line::Text(b"last".to_vec())
        );
        assert_eq!(read_line(&mut r, 8).await.unwrap(), Line::Eof);
    }

    #[test]
    fn port_forms() {
        assert_eq!(
            Backdoor::parse_port(" 4444 "),
            Ok(Backdoor::Port {
                start: 4444,
                end: 4444
            })
        );
        for bad in ["", "a:b", "70000", "1:2:3", "-1", "5:4"] {
            assert!(Backdoor::parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_unix_socket_is_0600_and_replaces_a_stale_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fjord-console-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = Backdoor::Socket(dir.join("c-{pid}.sock"));
        let first = bind(&spec, 7).unwrap();
        assert_eq!(first.describe(), dir.join("c-7.sock").display().to_string());
        drop(first);
        let again = bind(&spec, 7).unwrap();
        let mode = std::fs::metadata(dir.join("c-7.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(again.port(), None);
        std::fs::write(dir.join("plain"), b"x").unwrap();
        assert!(bind(&Backdoor::Socket(dir.join("plain")), 7).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
