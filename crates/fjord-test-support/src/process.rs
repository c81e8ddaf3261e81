//! Child processes under test, and what `/proc` says about others.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

type Lines = Arc<Mutex<Vec<String>>>;

/// A running process whose stdout and stderr lines are collected by two
/// reader threads. Dropping it kills the process if it still runs.
#[derive(Debug)]
pub struct Proc {
    /// The child itself.
    pub child: Child,
    out: Lines,
    err: Lines,
}

fn collect(stream: impl Read + Send + 'static, sink: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
    });
}

fn snapshot(lines: &Lines) -> Vec<String> {
    lines.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// The path of the workspace example `name`, built first (a no-op when
/// fresh): `cargo test` builds a package's examples before its tests, but
/// not another package's, nor with `--test NAME`.
///
/// # Panics
///
/// When the build fails.
pub fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("test exe path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "--workspace", "--example", name])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --example {name} failed");
        built.push(name.to_owned());
    }
    dir.join("examples").join(name)
}

impl Proc {
    /// Spawns the workspace example `name` (see [`example`]) with `args`.
    pub fn example(name: &str, args: &[&str]) -> Proc {
        let mut cmd = Command::new(example(name));
        cmd.args(args);
        Proc::spawn(cmd)
    }

    /// Spawns `cmd` with piped stdout and stderr and `NO_COLOR=1`.
    ///
    /// # Panics
    ///
    /// When the command cannot be spawned.
    pub fn spawn(mut cmd: Command) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.env("NO_COLOR", "1");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let out = Lines::default();
        let err = Lines::default();
        if let Some(s) = child.stdout.take() {
            collect(s, out.clone());
        }
        if let Some(s) = child.stderr.take() {
            collect(s, err.clone());
        }
        Proc { child, out, err }
    }

    /// The process id.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"))
    }

    /// Sends `sig` to the process.
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).expect("signal the process");
    }

    /// The stdout lines so far.
    pub fn stdout(&self) -> Vec<String> {
        snapshot(&self.out)
    }

    /// The stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        snapshot(&self.err)
    }

    /// Both streams, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout().join("\n"),
            self.stderr().join("\n")
        )
    }

    fn wait_lines(
        &self,
        lines: &Lines,
        what: &str,
        timeout: Duration,
        f: impl Fn(&[String]) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if f(&snapshot(lines)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "timed out after {timeout:?} waiting for {what}\n{}",
            self.output()
        );
    }

    /// Waits until `f` holds for the stdout lines.
    ///
    /// # Panics
    ///
    /// At the deadline, with both streams in the message.
    pub fn wait_stdout(&self, what: &str, timeout: Duration, f: impl Fn(&[String]) -> bool) {
        self.wait_lines(&self.out, what, timeout, f);
    }

    /// Waits until `f` holds for the stderr lines.
    ///
    /// # Panics
    ///
    /// At the deadline, with both streams in the message.
    pub fn wait_stderr(&self, what: &str, timeout: Duration, f: impl Fn(&[String]) -> bool) {
        self.wait_lines(&self.err, what, timeout, f);
    }

    /// Waits for the process to exit; its exit code (-1 when killed by a
    /// signal).
    ///
    /// # Panics
    ///
    /// At the deadline, after killing the process.
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return status.code().unwrap_or(-1);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("process did not exit within {timeout:?}\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the `listening on http://127.0.0.1:PORT` line fjord's
    /// HTTP examples print once all their workers serve; the port.
    ///
    /// # Panics
    ///
    /// When no such line comes within 30 s.
    pub fn listening_port(&self) -> u16 {
        const LINE: &str = "listening on http://127.0.0.1:";
        self.wait_stdout("the listening line", Duration::from_secs(30), |o| {
            o.iter().any(|l| l.starts_with(LINE))
        });
        self.stdout()
            .iter()
            .find_map(|l| l.strip_prefix(LINE)?.trim().parse().ok())
            .expect("port")
    }

    /// PIDs from `worker started pid=N` lines, in order.
    pub fn started_pids(&self) -> Vec<i32> {
        pids_with(&self.stdout(), "worker started pid=")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// PIDs of lines starting with `prefix` followed by a number.
pub fn pids_with(lines: &[String], prefix: &str) -> Vec<i32> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Whether `pid` is gone (or a zombie nobody reaped yet).
pub fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Live direct children of `pid`, from `/proc`: a master's workers. The
/// master's diagnostics process (title `fjord: diagnostics ...`) is not
/// one: see [`diagnostics_child_of`].
pub fn children_of(pid: i32) -> Vec<i32> {
    all_children_of(pid)
        .into_iter()
        .filter(|&p| !is_diagnostics(p))
        .collect()
}

/// The diagnostics process of the master `pid`, if it runs.
pub fn diagnostics_child_of(pid: i32) -> Option<i32> {
    all_children_of(pid)
        .into_iter()
        .find(|&p| is_diagnostics(p))
}

fn is_diagnostics(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.starts_with(b"fjord: diagnostics"))
}

/// The diagnostics endpoint's URL (`http://127.0.0.1:PORT`) from a
/// master's log lines (`diagnostics on http://...`).
pub fn diagnostics_url(stderr: &[String]) -> Option<String> {
    stderr.iter().find_map(|l| {
        let rest = &l[l.find("diagnostics on http://")? + "diagnostics on ".len()..];
        Some(rest.split_whitespace().next()?.to_owned())
    })
}

fn all_children_of(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(pid)
            }) && !is_gone(p)
        })
        .collect()
}
