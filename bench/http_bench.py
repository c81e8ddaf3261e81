"""HTTP benchmark: GET /hello with wrk on loopback, side by side in one run:

  * fjord's `http_hello` example (2 workers),
  * bench/hyper-prefork: a bare pre-fork hyper 1 server (the baseline),
  * nginx returning the same body, if installed (generated config, 2 workers),
  * the demo's `demo-api` (full paste pipeline),
  * oslo.service's eventlet WSGI server (bench/oslo_wsgi_hello.py), if the
    venv exists.

Rounds are interleaved (BENCH_ROUNDS, default 3): in every round each server
is started once, warmed up, measured at each connection count (1 and 64),
and stopped; the order rotates from round to round. The table shows medians
over the rounds. Every load is bounded (BENCH_SECONDS per wrk run, default 5)
and stops by itself. BENCH_SERVERS=hyper,fjord runs only those (quick A/B).

Columns: requests/s, p50/p99 latency, server CPU per request (utime+stime of
the server's master and all its descendants from /proc/<pid>/stat, before
and after each wrk run, divided by the requests wrk completed; wrk shares the
2 cores, so this is the fairer figure) and RSS per worker (max VmRSS over the
worker processes, after the load). The target column checks fjord against
the issue's targets: req/s >= 95% of bare hyper, p99 <= nginx's, CPU per
request within 10% of bare hyper, RSS per worker <= 4 MiB (marks for
http_hello only; demo-api's row shows the same figures without marks).

p99 is shown with its range over the rounds and, against nginx, with the
number of rounds in which it was at or under nginx's. For every round at
more than one connection the connections per worker are read mid-run (ss):
how wrk's burst of connections fell between the workers sets the tail at 64
connections more than the server does (both workers and wrk's two threads
on two CPUs: ~7 ms for every server; nearly all on one worker: ~4 ms), so
the p99 figures are also given grouped by that split.

Prints a Markdown table and writes bench/results/http.json and http.md.
`--from-json bench/results/http.json` renders them again from saved
figures without measuring.
"""
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "1"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1,64").split(",")]
# A subset of servers for a quick A/B, e.g. BENCH_SERVERS=hyper,fjord (the
# keys: hyper, fjord, nginx, demo, oslo); the default runs them all.
ONLY = {s.strip() for s in os.environ.get("BENCH_SERVERS", "").split(",") if s.strip()}
CLK_TCK = os.sysconf("SC_CLK_TCK")

FJORD = "fjord http_hello"
HYPER = "bare hyper pre-fork"
NGINX = "nginx"
DEMO = "fjord demo-api (paste pipeline)"
OSLO = "oslo.service wsgi (eventlet)"


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


def proc_stat(pid):
    """(ppid, utime+stime ticks) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return int(fields[1]), int(fields[11]) + int(fields[12])


def descendants(pid):
    """pid's descendants (children, grandchildren, ...)."""
    parent = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            st = proc_stat(int(p))
            if st:
                parent[int(p)] = st[0]
    found, frontier = [], [pid]
    while frontier:
        nxt = [c for c, pp in parent.items() if pp in frontier]
        found += nxt
        frontier = nxt
    return found


def cpu_ticks(pids):
    total = 0
    for p in pids:
        st = proc_stat(p)
        if st:
            total += st[1]
    return total


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(port, conns, seconds):
    threads = min(2, conns)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": parse_ms(lat.get("50", "nan")),
        "p99_ms": parse_ms(lat.get("99", "nan")),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock.group(1) if sock else "",
    }


def split(port, pids):
    """Established connections on `port` per server process, largest first
    (from `ss -tnp`), e.g. [36, 28]; None if ss is missing or fails."""
    if not shutil.which("ss"):
        return None
    try:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    counts = {}
    for pid in re.findall(r"pid=(\d+)", out):
        if int(pid) in pids:
            counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


class Server:
    """How to start one server: argv, env, and an optional cleanup."""

    def __init__(self, name, argv_for_port, env=None, setup=None):
        self.name = name
        self.argv_for_port = argv_for_port
        self.env = env
        self.setup = setup  # port -> (argv, cleanup) for servers needing files


def measure_once(server):
    """Starts server, measures every connection count, stops it."""
    port = free_port()
    cleanup = None
    if server.setup:
        argv, cleanup = server.setup(port)
    else:
        argv = server.argv_for_port(port)
    env = server.env(port) if server.env else None
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    workers = []
    try:
        wait_http(port, p)
        if WARMUP > 0:
            wrk(port, max(CONNECTIONS), WARMUP)
        workers = descendants(p.pid)
        by_conns = {}
        for conns in CONNECTIONS:
            pids = [p.pid] + descendants(p.pid)
            # How the connections are shared between the workers, read
            # mid-run: it moves the figures of a round more than anything
            # else (see the README's benchmark notes).
            seen = {}
            probe = threading.Timer(SECONDS / 2, lambda: seen.update(split=split(port, set(pids))))
            if conns > 1:
                probe.start()
            before = cpu_ticks(pids)
            r = wrk(port, conns, SECONDS)
            after = cpu_ticks(pids)
            if conns > 1:
                probe.cancel()
                probe.join()
            r["split"] = seen.get("split")
            cpu_s = (after - before) / CLK_TCK
            r["cpu_us_per_req"] = cpu_s * 1e6 / r["requests"] if r["requests"] else float("nan")
            r["cpu_s"] = cpu_s
            by_conns[conns] = r
        workers = descendants(p.pid)
        rss = [rss_mib(w) for w in workers] or [rss_mib(p.pid)]
        return {
            "by_connections": by_conns,
            "worker_processes": len(workers),
            "rss_worker_mib": max(rss),
            "rss_master_mib": rss_mib(p.pid),
        }
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        for w in workers:  # only if the master left them behind
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        if cleanup:
            cleanup()


def nginx_setup(port, workers=None):
    """nginx answering "Hello, World!" on `port` with `workers` worker
    processes (default WORKERS): (argv, cleanup)."""
    workers = workers or WORKERS
    tmp = tempfile.mkdtemp(prefix="fjord-bench-nginx-")
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""user root;
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type text/plain;
            return 200 "Hello, World!";
        }}
    }}
}}
""")
    argv = [shutil.which("nginx"), "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")]
    return argv, lambda: shutil.rmtree(tmp, ignore_errors=True)


def servers():
    out = [
        Server(HYPER, lambda port: [os.path.join(ROOT, "target/dist/hyper-prefork"),
                                    "--port", str(port), "--workers", str(WORKERS)]),
        Server(FJORD, lambda port: [os.path.join(ROOT, "target/dist/examples/http_hello"),
                                    "--workers", str(WORKERS), "--port", str(port)]),
    ]
    if shutil.which("nginx"):
        out.append(Server(NGINX, None, setup=nginx_setup))
    else:
        log("nginx not installed: nginx column skipped")
    state = tempfile.mkdtemp(prefix="fjord-bench-")
    out.append(Server(
        DEMO,
        lambda port: [os.path.join(ROOT, "target/dist/demo-api"),
                      "--config-file", os.path.join(ROOT, "etc/demo/demo.conf")],
        env=lambda port: dict(os.environ, OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT=str(port),
                              OS_DEFAULT__OSAPI_DEMO_WORKERS=str(WORKERS), OS_DEFAULT__STATE_PATH=state,
                              OS_DEFAULT__LOG_OPTIONS="false", RUST_LOG="warn"),
    ))
    venv = os.environ.get("FJORD_OSLO_VENV", os.path.join(ROOT, ".venv"))
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py):
        out.append(Server(OSLO, lambda port: [py, os.path.join(ROOT, "bench", "oslo_wsgi_hello.py"),
                                              str(port), str(WORKERS)]))
    else:
        log("no venv: oslo.service baseline skipped")
    if ONLY:
        keys = {HYPER: "hyper", FJORD: "fjord", NGINX: "nginx", DEMO: "demo", OSLO: "oslo"}
        out = [s for s in out if keys[s.name] in ONLY]
    return out


def median(values):
    values = [v for v in values if v == v]  # drop NaN
    return statistics.median(values) if values else float("nan")


def summarize(runs):
    """Medians over the rounds of one server."""
    res = {"rounds": len(runs)}
    res["rss_worker_mib"] = median([r["rss_worker_mib"] for r in runs])
    res["rss_master_mib"] = median([r["rss_master_mib"] for r in runs])
    res["worker_processes"] = max(r["worker_processes"] for r in runs)
    res["by_connections"] = {}
    for conns in CONNECTIONS:
        rs = [r["by_connections"][conns] for r in runs]
        res["by_connections"][str(conns)] = {
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "p99_ms_min": min(r["p99_ms"] for r in rs),
            "p99_ms_max": max(r["p99_ms"] for r in rs),
            "cpu_us_per_req": median([r["cpu_us_per_req"] for r in rs]),
            "non_2xx": sum(r["non_2xx"] for r in rs),
            "socket_errors": "; ".join(r["socket_errors"] for r in rs if r["socket_errors"]),
            "rounds_rps": [r["rps"] for r in rs],
            "rounds_p99_ms": [r["p99_ms"] for r in rs],
            "rounds_split": [r.get("split") for r in rs],
        }
    # Top-level keys (read by bench/chart.py): the highest connection count.
    res.update({k: v for k, v in res["by_connections"][str(max(CONNECTIONS))].items() if not k.startswith("rounds_")})
    return res


def targets(name, conns, results):
    """The target column for a fjord row: marks for http_hello (the issue's
    targets are its own), the same figures without marks for demo-api (what
    the full pipeline costs on top)."""
    if not name.startswith("fjord") or HYPER not in results:
        return "—"
    r = results[name]["by_connections"][str(conns)]
    h = results[HYPER]["by_connections"][str(conns)]
    checks = []  # (text, met)
    ratio = r["rps"] / h["rps"] if h["rps"] else float("nan")
    checks.append((f"req/s {ratio:.0%} of hyper", ratio >= 0.95))
    if NGINX in results:
        n = results[NGINX]["by_connections"][str(conns)]
        # Paired by round (the servers of one round run minutes apart at
        # most): how often this server's p99 was at or under nginx's.
        pairs = list(zip(r["rounds_p99_ms"], n["rounds_p99_ms"]))
        under = sum(1 for a, b in pairs if a <= b)
        met = r["p99_ms"] <= n["p99_ms"]
        checks.append((f"p99 {'≤' if met else '>'} nginx (≤ in {under}/{len(pairs)} rounds)", met))
    cpu = r["cpu_us_per_req"] / h["cpu_us_per_req"] - 1 if h["cpu_us_per_req"] else float("nan")
    checks.append((f"CPU {cpu:+.0%} vs hyper", cpu <= 0.10))
    rss = results[name]["rss_worker_mib"]
    checks.append((f"RSS {rss:.1f} MiB", rss <= 4.0))
    if name != FJORD:
        return "no targets (http_hello's); " + "; ".join(text for text, _ in checks)
    return "; ".join(f"{text} {'✓' if met else '✗'}" for text, met in checks)


def table(results):
    out = [
        "| server | conns | requests/s | p50 (ms) | p99 (ms) | p99 range (ms) | CPU/request (µs) | RSS/worker (MiB) | non-2xx | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for conns in CONNECTIONS:
        for name, res in results.items():
            r = res["by_connections"][str(conns)]
            out.append(
                f"| {name} | {conns} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                f"| {r['p99_ms_min']:.2f}–{r['p99_ms_max']:.2f} "
                f"| {r['cpu_us_per_req']:.1f} | {res['rss_worker_mib']:.1f} | {r['non_2xx']} "
                f"| {targets(name, conns, results)} |"
            )
    return "\n".join(out)


def split_note(results):
    """The p99 at the highest connection count grouped by how unevenly the
    connections fell between the workers, over every round of the HTTP
    servers (hyper, fjord, nginx): the split sets the tail more than the
    server does."""
    conns = max(CONNECTIONS)
    if conns < 2:
        return ""
    buckets = {}
    for name, res in results.items():
        if name == OSLO:
            continue
        r = res["by_connections"][str(conns)]
        for p99, shares in zip(r.get("rounds_p99_ms", []), r.get("rounds_split", [])):
            if not shares or p99 != p99:
                continue
            top = max(shares) / conns
            key = 0 if top <= 0.625 else (1 if top <= 0.8125 else 2)
            buckets.setdefault(key, {}).setdefault(name, []).append(p99)
    labels = {0: "even (largest share <= 62%)", 1: "uneven (63-81%)", 2: "one worker (> 81%)"}
    short = {HYPER: "hyper", FJORD: "http_hello", NGINX: "nginx", DEMO: "demo-api"}
    parts = []
    for k, by_server in sorted(buckets.items()):
        pooled = [p for v in by_server.values() for p in v]
        each = ", ".join(f"{short.get(n, n)} {statistics.median(v):.2f} ({len(v)})" for n, v in by_server.items())
        parts.append(f"{labels[k]}: median {statistics.median(pooled):.2f} ms over {len(pooled)} rounds [{each}]")
    if not parts:
        return ""
    return (f"p99 at {conns} connections by how the connections fell between the workers (read mid-run, every "
            f"round of hyper, fjord and nginx pooled; per server: median (rounds)): " + "; ".join(parts) + ".")


def write_results(results, meta, load_before, load):
    md = table(results)
    note = split_note(results)
    print(md)
    if note:
        print("\n" + note)
    if ONLY:
        log("BENCH_SERVERS set: a partial run, bench/results left as they are")
        return
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "http.json"), "w") as f:
        json.dump({"seconds": SECONDS, "rounds": ROUNDS, "connections": CONNECTIONS, "workers": WORKERS,
                   "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg": load, "note": meta, "results": results}, f, indent=2)
    with open(os.path.join(ROOT, "bench", "results", "http.md"), "w") as f:
        f.write(meta + "\n\n" + md + "\n" + ("\n" + note + "\n" if note else ""))


def rerender(path):
    """--from-json FILE: the table and notes again from a saved http.json
    (after a change to this script's tables), without measuring."""
    global SECONDS, ROUNDS, CONNECTIONS, WORKERS
    saved = json.load(open(path))
    SECONDS, ROUNDS, CONNECTIONS, WORKERS = saved["seconds"], saved["rounds"], saved["connections"], saved["workers"]
    write_results(saved["results"], saved["note"], saved["loadavg_before"], saved["loadavg"])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--from-json":
        rerender(sys.argv[2])
        return
    load_before = os.getloadavg()
    srv = servers()
    runs = {s.name: [] for s in srv}
    for rnd in range(ROUNDS):
        order = srv[rnd % len(srv):] + srv[:rnd % len(srv)]
        for s in order:
            log(f"round {rnd + 1}/{ROUNDS}: {s.name} ({WORKERS} workers, {CONNECTIONS} connections, {SECONDS} s each)")
            try:
                r = measure_once(s)
                runs[s.name].append(r)
                for conns, m in r["by_connections"].items():
                    shared = "/".join(map(str, m["split"])) if m.get("split") else "?"
                    log(f"  {conns} conns: {m['rps']:.0f} req/s, p99 {m['p99_ms']:.2f} ms, "
                        f"{m['cpu_us_per_req']:.1f} us CPU/request"
                        + (f", connections per worker {shared}" if conns > 1 else ""))
            except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired) as e:
                log(f"  {s.name} failed: {e}")
    load = os.getloadavg()
    results = {name: summarize(r) for name, r in runs.items() if r}
    meta = (f"wrk, {WORKERS} workers per server, {ROUNDS} interleaved rounds (medians), {SECONDS} s per run, "
            f"{os.cpu_count()} CPUs shared by wrk and the server; CPU/request = server utime+stime / requests; "
            f"RSS/worker = max VmRSS over worker processes. Load average (1/5/15 min) before the run: "
            f"{load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, at the end: "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (the run itself keeps both CPUs busy, so ~3-4 at "
            f"the end is its own load; other work shows before the run and in the spread between rounds: "
            f"compare columns of the same run only).")
    write_results(results, meta, load_before, load)


if __name__ == "__main__":
    main()
