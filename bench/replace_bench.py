"""Worker replacement under keep-alive load: how many requests fail, and
what the tail does, while the server replaces or stops its workers. Side by
side in one run:

  * fjord's `http_hello` example (2 workers): HUP reload (three HUPs two
    seconds apart), TERM graceful stop (one TERM in the middle of the run),
    USR1 binary upgrade (the same binary re-executed: the new master takes
    the listening sockets, then the old master and its workers leave) and
    --max-requests recycling, if the binary has them (--max-requests from
    `http_hello --help`, the upgrade from the binary holding its hand-over
    variable; otherwise a row says they are not available in this build);
    and, if the build has --reuse-port, the HUPs again with a SO_REUSEPORT
    listener per worker (a worker's own accept queue goes with it: the
    classic way a reload resets connections);
  * nginx (generated config as in bench/http_bench.py, 2 workers): reload,
    i.e. SIGHUP to the master, which is what `nginx -s reload` sends (it reads
    the pid file and signals the master); and, for comparison with fjord's
    TERM, QUIT (nginx's graceful stop; its TERM is a fast stop);
  * oslo.service's eventlet WSGI server (bench/oslo_wsgi_hello.py, 2
    workers), if the venv exists: HUP to the master (ProcessLauncher
    SIGTERMs its children and forks new ones; stdout is not a terminal, so
    it counts as a daemon and reloads rather than stops), and TERM.

Every server also gets a run with no signal ("steady"), so the tail a path
adds can be told from the tail the load has anyway.

The load is this script's own HTTP/1.1 client, not wrk: wrk counts a refused
connect (non-blocking connect, refused later) as a write error, the same
counter as a request lost on an established connection, so it cannot tell
"the server is gone, nothing was lost" from "a request was dropped". The
client (asyncio, one process, like wrk -t1) keeps BENCH_CONNECTIONS (32)
keep-alive connections busy: each sends GET /hello, reads the response
(Content-Length), and sends the next one at once, so every connection
always has a request in flight (as with wrk). Counted:

  * requests: responses received complete;
  * failed: requests sent that got no complete 2xx response: the connection
    closed or was reset before the response ended, no response within
    BENCH_TIMEOUT (2 s, wrk's default), or a non-2xx status;
  * refused: connect attempts refused (ECONNREFUSED; the connection tries
    again every 50 ms). A refused connect loses no request: nothing was
    sent. Other connect errors (timeouts, resets) are counted apart and
    shown in the notes;
  * a response with `Connection: close` ends its connection cleanly: the
    client connects again, nothing is counted as failed.

The notes say how requests were lost (EOF: the server closed the
connection; ConnectionResetError: a reset) and how many of them before any
byte of the answer: such a request is one an HTTP client may send again on
a new connection if it is idempotent (RFC 9110 9.2.2), a POST it may not.

Latency is from the write of a request to the last byte of its response, as
the client sees it (so it includes the client's own event loop turns: the
steady rows show that floor). p99 is over the whole run; "p99 after signal"
over the responses completed within 1 s after each signal (pooled over the
run's signals); max is the slowest response of the run.

Each (server, path) runs BENCH_ROUNDS times (default 3), interleaved: every
round runs every pair once, the order rotating from round to round; each run
starts a fresh server (free loopback port), waits until it answers and its
workers exist, loads it for BENCH_SECONDS (8) with the path's signals at
fixed times, and stops it. The table shows medians over the rounds, plus
the total of failed requests over all rounds. Process ids seen under the
master are sampled every 100 ms (the notes say how many processes a run
saw, and when the master exited after a stop or an upgrade). After each run
whatever is left is stopped: TERM to the master (or to a new master that
took over), SIGKILL for what is still there after the grace time; only
processes seen under a master this script started, by pid.

Prints a Markdown table and writes bench/results/replace.json and
replace.md. `--from-json bench/results/replace.json` renders them again
from saved figures. BENCH_SERVERS=fjord,nginx,oslo and
BENCH_PATHS=steady,hup,term,... run a subset (then bench/results is left as
it is). The fjord binary is read from BENCH_TARGET_DIR (default ROOT/target)
/ BENCH_PROFILE (default dist) / examples/http_hello; BENCH_FJORD_COMMIT=
<commit> says in the results that it was built from a copy of that commit
(git archive) rather than from this tree.
"""
import asyncio
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench  # noqa: E402  (its nginx config)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "2"))
RETRY = 0.05  # seconds between connect attempts after a refusal
WINDOW = 1.0  # the "p99 after signal" window, seconds after each signal
TARGET_DIR = os.environ.get("BENCH_TARGET_DIR", os.path.join(ROOT, "target"))
PROFILE = os.environ.get("BENCH_PROFILE", "dist")
FJORD_BIN = os.path.join(TARGET_DIR, PROFILE, "examples", "http_hello")
# fjord's --graceful-shutdown-timeout for every run (a stop or a replacement
# may take this long at most; the default is 60 s).
GRACE = int(os.environ.get("BENCH_GRACE", "10"))
# --max-requests for the recycling path: this client drives fjord at
# ~40-70k requests/s shared by two workers, so each worker is replaced every
# second or two (the notes give the processes seen: 2 + the replacements).
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "40000"))
ONLY_SERVERS = {s.strip() for s in os.environ.get("BENCH_SERVERS", "").split(",") if s.strip()}
ONLY_PATHS = {s.strip() for s in os.environ.get("BENCH_PATHS", "").split(",") if s.strip()}

FJORD = "fjord http_hello"
NGINX = "nginx"
OSLO = "oslo.service wsgi (eventlet)"
KEYS = {FJORD: "fjord", NGINX: "nginx", OSLO: "oslo"}

REQUEST = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered on {port}")


def proc_table():
    """{pid: (ppid, start time in ticks since boot)} of every live process
    (zombies left out: they are gone but for their exit status)."""
    table = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # fields[0] is field 3 (state): ppid is field 4, starttime 22.
            if fields[0] != "Z":
                table[int(p)] = (int(fields[1]), int(fields[19]))
        except (OSError, IndexError, ValueError):
            pass
    return table


def descendants(roots, table=None):
    """{pid: start time} of the descendants (children, grandchildren, ...)
    of a pid or a set of pids; the start time tells a process from a later
    one given the same pid."""
    table = table if table is not None else proc_table()
    frontier = {roots} if isinstance(roots, int) else set(roots)
    found = {}
    while frontier:
        nxt = {c for c, (pp, _) in table.items() if pp in frontier and c not in found}
        found.update({c: table[c][1] for c in nxt})
        frontier = nxt
    return found


def become_subreaper():
    """Makes this process the child subreaper of what it starts (Linux
    prctl PR_SET_CHILD_SUBREAPER): a process whose parent exits is adopted
    by this script rather than init. After a binary upgrade the new master
    (the old master's child) stays under this script when the old master
    exits (within ~0.1 s of USR1: quicker than the 100 ms sampling), so it
    is seen, counted and stopped after the run."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap(pids):
    """Collects the exit status of adopted processes (not the ones Popen
    waits for), so they do not stay zombies."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def alive(seen, table=None):
    """The pids of `seen` ({pid: start time}) that still name the same live
    process."""
    table = table if table is not None else proc_table()
    return {pid for pid, start in seen.items() if pid in table and table[pid][1] == start}


def stop_leftovers(seen, grace):
    """Stops what is left of the processes of `seen` (all started under a
    master this script started): SIGTERM to those whose parent is gone (a
    master that took over in a binary upgrade, adopted by init; or a worker
    a master left behind), up to `grace` seconds for all of them to exit,
    then SIGKILL to any still there."""
    table = proc_table()
    left = alive(seen, table)
    for pid in left:
        if table[pid][0] not in left:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    deadline = time.time() + grace
    while left and time.time() < deadline:
        time.sleep(0.05)
        reap(seen)
        left = alive(seen)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.05)
    reap(seen)


def wait_workers(proc, count, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(descendants(proc.pid)) >= count:
            return
        time.sleep(0.05)
    raise TimeoutError(f"fewer than {count} worker processes after {timeout} s")


# ---------------------------------------------------------------- the client


class Stats:
    def __init__(self):
        self.ok = 0
        self.non_2xx = 0
        self.closed = 0  # connection closed or reset with a request in flight
        self.closed_before_answer = 0  # ... of which before any byte of the answer
        self.timeouts = 0
        self.refused = 0
        self.connect_errors = 0
        self.clean_closes = 0  # responses with Connection: close
        self.lost_kinds = {}  # how in-flight requests were lost: "EOF", "ConnectionResetError", ...
        self.connect_error_kinds = {}  # connect errors other than refused, by kind
        self.latencies = []  # (completion time, latency), seconds since start


class Conn(asyncio.Protocol):
    """One keep-alive connection: a request always in flight."""

    def __init__(self, client):
        self.client = client
        self.transport = None
        self.buf = b""
        self.sent_at = None  # set while a request is in flight
        self.lost = client.loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.send()

    def send(self):
        if self.client.loop.time() >= self.client.end:
            self.transport.close()
            return
        self.sent_at = self.client.loop.time()
        self.transport.write(REQUEST)

    def data_received(self, data):
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1")
            m = re.search(r"(?im)^content-length:\s*(\d+)", head)
            length = int(m.group(1)) if m else 0
            end = head_end + 4 + length
            if len(self.buf) < end:
                return
            self.buf = self.buf[end:]
            if self.sent_at is None:  # timed out already: counted then
                continue
            now = self.client.loop.time()
            st = self.client.stats
            status = head[9:12]
            if status.startswith("2"):
                st.ok += 1
                st.latencies.append((now - self.client.start, now - self.sent_at))
            else:
                st.non_2xx += 1
            self.sent_at = None
            if re.search(r"(?im)^connection:\s*close", head):
                st.clean_closes += 1
                self.transport.close()
                return
            self.send()

    def connection_lost(self, exc):
        if self.sent_at is not None:
            self.client.stats.closed += 1
            kind = "EOF" if exc is None else type(exc).__name__
            self.client.stats.lost_kinds[kind] = self.client.stats.lost_kinds.get(kind, 0) + 1
            if not self.buf:
                self.client.stats.closed_before_answer += 1
            self.sent_at = None
        if not self.lost.done():
            self.lost.set_result(None)

    def check_timeout(self, now):
        if self.sent_at is not None and now - self.sent_at > TIMEOUT:
            self.client.stats.timeouts += 1
            self.sent_at = None
            self.transport.abort()


class Client:
    def __init__(self, port, seconds):
        self.port = port
        self.seconds = seconds
        self.stats = Stats()
        self.conns = set()
        self.loop = None
        self.start = self.end = 0.0

    async def slot(self):
        while self.loop.time() < self.end:
            try:
                _, conn = await asyncio.wait_for(
                    self.loop.create_connection(lambda: Conn(self), "127.0.0.1", self.port), timeout=TIMEOUT)
            except ConnectionRefusedError:
                self.stats.refused += 1
                await asyncio.sleep(RETRY)
                continue
            except (OSError, asyncio.TimeoutError) as e:
                self.stats.connect_errors += 1
                kind = "timeout" if isinstance(e, asyncio.TimeoutError) else type(e).__name__
                self.stats.connect_error_kinds[kind] = self.stats.connect_error_kinds.get(kind, 0) + 1
                await asyncio.sleep(RETRY)
                continue
            self.conns.add(conn)
            try:
                await conn.lost
            finally:
                self.conns.discard(conn)

    async def watchdog(self):
        while True:
            await asyncio.sleep(0.1)
            now = self.loop.time()
            for c in list(self.conns):
                c.check_timeout(now)

    async def run(self, schedule, on_tick=None):
        """Loads the server for self.seconds; schedule: [(t, fn)], fn
        called t seconds after the start. Returns the stats and the times
        (since the start) the scheduled calls ran."""
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()
        self.end = self.start + self.seconds
        fired = []

        def fire(fn):
            fired.append(self.loop.time() - self.start)
            fn()

        for t, fn in schedule:
            self.loop.call_at(self.start + t, fire, fn)
        dog = asyncio.ensure_future(self.watchdog())
        tick = asyncio.ensure_future(on_tick(self)) if on_tick else None
        # The slots stop sending at the end; a request in flight then is
        # still awaited (TIMEOUT at most).
        await asyncio.gather(*(self.slot() for _ in range(CONNECTIONS)))
        dog.cancel()
        if tick:
            tick.cancel()
        return self.stats, fired


# ---------------------------------------------------------------- servers


class Server:
    """How to start one server (argv, cleanup) for a port, and its paths."""

    def __init__(self, name, setup, paths):
        self.name = name
        self.setup = setup  # (port, path) -> (argv, cleanup or None)
        self.paths = paths  # [(path key, label, schedule kind)]


def nginx_setup(port, path):
    """nginx as http_bench.py runs it (the same config), with this bench's
    worker count; every path answers the same."""
    return http_bench.nginx_setup(port, WORKERS)


def fjord_features():
    """Which of the optional paths this http_hello build has: --max-requests
    from `--help`; the USR1 binary upgrade from the binary itself (the
    launcher handles USR1 for every fjord service, so --help does not name
    it: the build has it if it holds the upgrade's hand-over variable,
    FJORD_UPGRADE_FD)."""
    try:
        text = subprocess.run([FJORD_BIN, "--help"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        text = ""
    try:
        with open(FJORD_BIN, "rb") as f:
            upgrade = b"FJORD_UPGRADE_FD" in f.read()
    except OSError:
        upgrade = False
    return {"max_requests": "--max-requests" in text, "usr1": upgrade, "reuse_port": "--reuse-port" in text}


# Path keys, their labels, and when their signals go (seconds into the run).
HUPS = [1.5, 3.5, 5.5]
MIDDLE = [4.0]
UPGRADE = [3.0]
PATHS = {
    "steady": ("steady load, no signal", None, []),
    "hup": ("HUP reload ×3", signal.SIGHUP, HUPS),
    "term": ("TERM graceful stop", signal.SIGTERM, MIDDLE),
    "hup_reuse_port": ("HUP reload ×3, --reuse-port", signal.SIGHUP, HUPS),
    "usr1": ("USR1 binary upgrade", signal.SIGUSR1, UPGRADE),
    "max_requests": ("max_requests recycling", None, []),
    "reload": ("reload (SIGHUP, = nginx -s reload) ×3", signal.SIGHUP, HUPS),
    "quit": ("QUIT graceful stop", signal.SIGQUIT, MIDDLE),
}


def servers():
    out = []
    if os.path.exists(FJORD_BIN):
        feats = fjord_features()
        paths = ["steady", "hup", "term"]
        if feats["reuse_port"]:
            paths.append("hup_reuse_port")
        missing = []
        for key, have in (("usr1", feats["usr1"]), ("max_requests", feats["max_requests"])):
            (paths if have else missing).append(key)

        def fjord_setup(port, path):
            argv = [FJORD_BIN, "--workers", str(WORKERS), "--port", str(port),
                    "--graceful-shutdown-timeout", str(GRACE)]
            if path == "max_requests":
                argv += ["--max-requests", str(MAX_REQUESTS)]
            if path == "hup_reuse_port":
                argv += ["--reuse-port"]
            return argv, None

        s = Server(FJORD, fjord_setup, paths)
        s.missing = missing
        out.append(s)
    else:
        log(f"{FJORD_BIN} missing: fjord skipped (build it, or set BENCH_TARGET_DIR)")
    if shutil.which("nginx"):
        out.append(Server(NGINX, nginx_setup, ["steady", "reload", "quit"]))
    else:
        log("nginx not installed: nginx skipped")
    venv = os.environ.get("FJORD_OSLO_VENV", os.path.join(ROOT, ".venv"))
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py):
        out.append(Server(OSLO, lambda port, path: (
            [py, os.path.join(ROOT, "bench", "oslo_wsgi_hello.py"), str(port), str(WORKERS)], None),
            ["steady", "hup", "term"]))
    else:
        log("no venv: oslo.service skipped")
    if ONLY_SERVERS:
        out = [s for s in out if KEYS[s.name] in ONLY_SERVERS]
    if ONLY_PATHS:
        for s in out:
            s.paths = [p for p in s.paths if p in ONLY_PATHS]
    for s in out:
        if not hasattr(s, "missing"):
            s.missing = []
    return out


def fjord_build():
    """When the fjord binary was built, and the commit the tree was at when
    measured (the binary may be older: its mtime says when)."""
    if not os.path.exists(FJORD_BIN):
        return None

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.strip()
        except OSError:
            return ""

    out = {
        "profile": PROFILE,
        "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(FJORD_BIN))),
        "head": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "crates")),
    }
    # Built from a copy of a commit (git archive), not from this tree.
    if os.environ.get("BENCH_FJORD_COMMIT"):
        out["source"] = f"a copy of commit {os.environ['BENCH_FJORD_COMMIT']} (git archive)"
    return out


def run_once(server, path):
    """Starts server, loads it for SECONDS with the path's signals, stops it."""
    label, signo, times = PATHS[path]
    port = free_port()
    argv, cleanup = server.setup(port, path)
    errlog = tempfile.TemporaryFile()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errlog, cwd=ROOT)
    seen = {}  # {pid: start time} of every process seen under the master
    exited = {}
    spawned_before = set(descendants(os.getpid()))  # none expected: every run cleans up
    waiter = None
    try:
        wait_http(port, p)
        wait_workers(p, WORKERS)
        seen.update(descendants(p.pid))
        start_workers = set(seen)

        # When the master exits (a stop, or the old master leaving after an
        # upgrade), to the millisecond.
        def wait_exit():
            p.wait()
            exited["at"] = time.monotonic()

        waiter = threading.Thread(target=wait_exit, daemon=True)
        waiter.start()

        # Process ids under the master, sampled off the event loop's thread
        # (a /proc scan takes a few ms).
        stop_sampling = threading.Event()

        def sample():
            # Under the master and under every process seen under it that
            # is still there: after a binary upgrade the new master (the
            # old one's child) outlives the old one, and its workers count.
            while not stop_sampling.wait(0.1):
                table = proc_table()
                seen.update(descendants({p.pid} | alive(seen, table), table))
                # Adopted by this script (subreaper) after their parent
                # exited: children of ours that are not the master.
                seen.update({c: st for c, st in descendants(os.getpid(), table).items()
                             if table[c][0] == os.getpid() and c != p.pid and c not in spawned_before})

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        schedule = [(t, lambda: os.kill(p.pid, signo)) for t in times] if signo else []
        client = Client(port, SECONDS)
        stats, fired = asyncio.run(client.run(schedule))
        stop_sampling.set()
        sampler.join()
    finally:
        if waiter is not None and waiter.is_alive():
            p.send_signal(signal.SIGTERM)
            waiter.join(GRACE + 20)
            if waiter.is_alive():
                p.kill()
                waiter.join()
        elif waiter is None:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=GRACE + 20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        seen.update(descendants(p.pid))
        stop_leftovers(seen, GRACE + 10)  # a new master after USR1, or what a master left behind
        if cleanup:
            cleanup()
        errlog.seek(0)
        stderr_tail = errlog.read()[-2000:].decode("utf-8", "replace")
        errlog.close()

    lats = [l for _, l in stats.latencies]
    after = [l for t, l in stats.latencies if any(f <= t < f + WINDOW for f in fired)]
    # When the master started exited, from the first signal (TERM, QUIT: the
    # stop; USR1: the old master leaving to the new one); only if it exited
    # during the load (not when stopped after it). asyncio's clock is
    # time.monotonic().
    stop_at = None
    if exited.get("at") is not None and fired and exited["at"] < client.end:
        stop_at = exited["at"] - (client.start + fired[0])
    return {
        "requests": stats.ok,
        "failed": stats.closed + stats.timeouts + stats.non_2xx,
        "failed_closed": stats.closed,
        "failed_closed_before_answer": stats.closed_before_answer,
        "failed_timeout": stats.timeouts,
        "non_2xx": stats.non_2xx,
        "refused": stats.refused,
        "connect_errors": stats.connect_errors,
        "lost_kinds": stats.lost_kinds,
        "connect_error_kinds": stats.connect_error_kinds,
        "clean_closes": stats.clean_closes,
        "p50_ms": pct(lats, 50) * 1e3,
        "p99_ms": pct(lats, 99) * 1e3,
        "p99_after_signal_ms": pct(after, 99) * 1e3 if fired else float("nan"),
        "max_ms": max(lats) * 1e3 if lats else float("nan"),
        "signals_at_s": [round(f, 3) for f in fired],
        "workers_seen": len(seen),
        "workers_at_start": len(start_workers),
        "exited_after_signal_s": stop_at,
        "stderr_tail": stderr_tail if (stats.closed + stats.timeouts + stats.non_2xx) else "",
    }


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q / 100))]


def median(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


def summarize(runs):
    res = {"rounds": len(runs)}
    for k in ("requests", "failed", "refused", "connect_errors", "clean_closes", "p50_ms", "p99_ms",
              "p99_after_signal_ms", "max_ms", "workers_seen", "exited_after_signal_s"):
        res[k] = median([r[k] for r in runs])
    for k in ("failed", "failed_closed", "failed_closed_before_answer", "failed_timeout", "non_2xx", "refused",
              "connect_errors"):
        res[k + "_total"] = sum(r[k] for r in runs)
    for k in ("requests", "failed", "refused", "p99_ms", "p99_after_signal_ms", "max_ms", "workers_seen"):
        res["rounds_" + k] = [r[k] for r in runs]
    for k in ("lost_kinds", "connect_error_kinds"):
        total = {}
        for r in runs:
            for kind, n in r.get(k, {}).items():
                total[kind] = total.get(kind, 0) + n
        res[k + "_total"] = total
    return res


def fmt(v, spec=".1f"):
    return "—" if v is None or v != v else format(v, spec)


def notes(path, r):
    out = []
    fails = "/".join(str(x) for x in r["rounds_failed"])
    if r["failed_total"]:
        kinds = []
        if r["failed_closed_total"]:
            how = ", ".join(f"{kind} {n}" for kind, n in sorted(r.get("lost_kinds_total", {}).items()))
            kinds.append(f"{r['failed_closed_total']} closed/reset in flight{f' ({how})' if how else ''}, "
                         f"{r.get('failed_closed_before_answer_total', 0)} of them before any byte of the answer")
        for k, name in (("failed_timeout_total", "timed out"), ("non_2xx_total", "non-2xx")):
            if r[k]:
                kinds.append(f"{r[k]} {name}")
        out.append(f"failed per round {fails} ({', '.join(kinds)})")
    else:
        out.append(f"0 failed in {r['rounds']} rounds")
    if path == "max_requests":
        out.append(f"{fmt(r['workers_seen'], '.0f')} workers seen ({WORKERS} at start: "
                   f"{fmt(r['workers_seen'] - WORKERS, '.0f')} replaced after {MAX_REQUESTS} requests each)")
    elif path != "steady":
        out.append(f"{fmt(r['workers_seen'], '.0f')} processes seen under the master ({WORKERS} at start)")
    if r["exited_after_signal_s"] == r["exited_after_signal_s"]:
        who = "old master exited" if path == "usr1" else "master exited"
        out.append(f"{who} {r['exited_after_signal_s'] * 1000:.0f} ms after the signal")
    if r["connect_errors_total"]:
        how = ", ".join(f"{kind} {n}" for kind, n in sorted(r.get("connect_error_kinds_total", {}).items()))
        out.append(f"{r['connect_errors_total']} other connect errors{f' ({how})' if how else ''}")
    if r["clean_closes"]:
        out.append(f"{fmt(r['clean_closes'], '.0f')} `Connection: close` answers")
    return "; ".join(out)


def table(results, missing):
    out = [
        "| server | path | requests | failed (total) | refused connects | p99 (ms) | p99 1 s after signal (ms) | max (ms) | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_path in results.items():
        for path, r in by_path.items():
            out.append(
                f"| {name} | {PATHS[path][0]} | {r['requests']:.0f} | {r['failed']:.0f} ({r['failed_total']}) "
                f"| {r['refused']:.0f} | {fmt(r['p99_ms'], '.2f')} | {fmt(r['p99_after_signal_ms'], '.2f')} "
                f"| {fmt(r['max_ms'], '.1f')} | {notes(path, r)} |")
        for path in missing.get(name, []):
            why = ("`http_hello --help` has no --max-requests" if path == "max_requests"
                   else "the binary has no FJORD_UPGRADE_FD hand-over")
            out.append(f"| {name} | {PATHS[path][0]} | — | — | — | — | — | — | not available in this build ({why}) |")
    return "\n".join(out)


def write_results(results, missing, meta, extra):
    md = table(results, missing)
    print(md)
    if ONLY_SERVERS or ONLY_PATHS:
        log("BENCH_SERVERS/BENCH_PATHS set: a partial run, bench/results left as they are")
        return
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "replace.json"), "w") as f:
        json.dump(dict(extra, note=meta, missing=missing, results=results), f, indent=2)
    with open(os.path.join(ROOT, "bench", "results", "replace.md"), "w") as f:
        f.write(meta + "\n\n" + md + "\n")


def rerender(path):
    saved = json.load(open(path))
    extra = {k: v for k, v in saved.items() if k not in ("note", "missing", "results")}
    write_results(saved["results"], saved["missing"], saved["note"], extra)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--from-json":
        rerender(sys.argv[2])
        return
    if not become_subreaper():
        log("could not become a child subreaper: a new master after USR1 may be missed and left running")
    load_before = os.getloadavg()
    srv = servers()
    jobs = [(s, p) for s in srv for p in s.paths]
    runs = {}
    for rnd in range(ROUNDS):
        k = rnd * max(1, len(jobs) // ROUNDS) % max(1, len(jobs))
        for s, path in jobs[k:] + jobs[:k]:
            log(f"round {rnd + 1}/{ROUNDS}: {s.name}, {PATHS[path][0]} ({WORKERS} workers, "
                f"{CONNECTIONS} connections, {SECONDS:g} s)")
            try:
                r = run_once(s, path)
            except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired) as e:
                log(f"  failed: {e}")
                continue
            runs.setdefault(s.name, {}).setdefault(path, []).append(r)
            log(f"  {r['requests']} requests, {r['failed']} failed ({r['failed_closed']} closed, "
                f"{r['failed_timeout']} timed out, {r['non_2xx']} non-2xx), {r['refused']} refused, "
                f"p99 {r['p99_ms']:.2f} ms, after signal {r['p99_after_signal_ms']:.2f} ms, "
                f"max {r['max_ms']:.1f} ms, worker pids seen {r['workers_seen']}, signals at {r['signals_at_s']}"
                + (f", exited {r['exited_after_signal_s']:.2f} s after" if r["exited_after_signal_s"] else ""))
            if r["stderr_tail"] and s.name == FJORD:
                log("  server stderr (end): " + r["stderr_tail"][-600:].replace("\n", "\n    "))
    load = os.getloadavg()
    results = {s.name: {p: summarize(runs[s.name][p]) for p in s.paths if p in runs.get(s.name, {})}
               for s in srv}
    for s in srv:
        for p in s.paths:
            for r in runs.get(s.name, {}).get(p, []):
                r.pop("stderr_tail", None)
    missing = {s.name: s.missing for s in srv if s.missing}
    meta = (f"Keep-alive load from bench/replace_bench.py's own client ({CONNECTIONS} connections, one asyncio "
            f"process, a request always in flight on each), {WORKERS} workers per server, {SECONDS:g} s per run, "
            f"{ROUNDS} interleaved rounds: medians, failed also as the total over the rounds. Signals: HUP/reload "
            f"at {', '.join(f'{t:g}' for t in HUPS)} s; TERM/QUIT at {MIDDLE[0]:g} s"
            + (f"; USR1 at {UPGRADE[0]:g} s" if any("usr1" in s.paths for s in srv) else "")
            + (f"; max_requests {MAX_REQUESTS}" if any("max_requests" in s.paths for s in srv) else "")
            + f". fjord runs with --graceful-shutdown-timeout {GRACE}. Failed = requests sent that got no complete "
            f"2xx answer (connection closed or reset in flight, > {TIMEOUT:g} s, or non-2xx); refused = connect "
            f"attempts refused (retried every {RETRY * 1000:.0f} ms; nothing was sent, nothing lost). Latency is "
            f"the client's, write to last byte (a Python client: the steady rows show its floor). "
            f"{os.cpu_count()} CPUs shared by the client and the server; load average before the run "
            f"{load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, at the end "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.")
    build = fjord_build()
    if build:
        if build.get("source"):
            meta += f" fjord binary: {build['profile']} profile, built {build['built']} from {build['source']}."
        else:
            meta += (f" fjord binary: {build['profile']} profile, built {build['built']}, tree at {build['head']}"
                     f"{' with uncommitted changes under crates/' if build['dirty'] else ''} when measured.")
    extra = {"fjord_build": build, "seconds": SECONDS, "rounds": ROUNDS, "workers": WORKERS, "connections": CONNECTIONS,
             "timeout_s": TIMEOUT, "grace_s": GRACE, "max_requests": MAX_REQUESTS, "cpus": os.cpu_count(),
             "fjord_bin": FJORD_BIN, "loadavg_before": load_before, "loadavg": load, "runs": runs}
    write_results(results, missing, meta, extra)


if __name__ == "__main__":
    main()
