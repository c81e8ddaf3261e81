"""Messaging benchmark (named *_bench.py so it shadows no stdlib module):
fjord-messaging against Python oslo.messaging on the same RabbitMQ, in one run.

Measures, against RabbitMQ at 127.0.0.1:5672 (guest/guest):
  * fjord client -> fjord server (`rpc_bench` example): echo call round trips
    per second and p50/p99 latency with 1 and 16 concurrent callers; casts per
    second with 16 casters (first cast sent -> the server counted all N);
  * the same with a Python oslo.messaging client -> Python server
    (bench/rpc_python_peer.py, threading executor);
  * a raw AMQP publish/consume loop (lapin alone, `rpc_bench raw`): publisher
    confirms, 16 in flight, one consumer acking each message, a body the size
    of a fjord cast: the broker's own limit for casts; and a raw request/reply
    loop (`rpc_bench raw-call`, confirmed request and reply): its limit for calls;
    the same loop with caller and responder in two processes (`--role`), with
    one connection per side and with separate publishing and consuming
    connections per side (`--separate-connections`, fjord's and
    oslo.messaging's layout): what the process and connection layout costs;
    and the loop publishing as oslo.messaging does (`--oslo-wire`: requests
    through a topic exchange with an expiration, mandatory replies), in one
    process and in fjord's layout: what the oslo wire costs the broker;
  * the embedded transport (`embedded:///tmp/<dir>/broker.sock`): the same
    calls between two processes, no RabbitMQ.
Every load is bounded by a count and a time limit; every topic and queue name
is unique to the run. Besides calls/s, each Rust call phase reports its CPU
time per call (user + system of the client and server processes; the raw
loop's one process): steadier than calls/s on a shared machine. Prints a Markdown table and writes
bench/results/rpc.json and bench/results/rpc.md.
"""
import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("FJORD_RPC_BENCH_BIN", os.path.join(TARGET, "dist", "examples", "rpc_bench"))
PEER = os.path.join(ROOT, "bench", "rpc_python_peer.py")
RABBIT = os.environ.get("FJORD_BENCH_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
AMQP = os.environ.get("FJORD_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
SECS = float(os.environ.get("BENCH_SECS", "5"))  # most seconds per call phase
RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # the table shows the median run
# Which implementations to measure (default all); e.g. BENCH_IMPLS=fjord,raw.
IMPLS = set(os.environ.get("BENCH_IMPLS",
                           "fjord,fjordlent,python,raw,rawsplit,rawsep,rawoslo,rawseposlo,"
                           "embedded").split(","))
RUN_ID = "%d_%s" % (os.getpid(), uuid.uuid4().hex[:8])
LOG_DIR = tempfile.mkdtemp(prefix="fjord-rpc-bench-logs-")

# (calls cap, casts) per implementation: bounded counts, Python's smaller.
LOADS = {
    "fjord": {"calls": 100_000, "casts": 30_000},
    "fjordlent": {"calls": 100_000, "casts": 30_000},
    "python": {"calls": 20_000, "casts": 5_000},
    "embedded": {"calls": 100_000, "casts": 30_000},
}


def rabbit_up():
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
        return True
    except OSError:
        return False


class Server:
    """A benchmark server process: started, waited for `ready`, stopped by
    closing its stdin (then SIGTERM/SIGKILL of its own PID if needed)."""

    def __init__(self, name, argv):
        self.log = open(os.path.join(LOG_DIR, name + ".log"), "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log)
        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + 60
        while b"ready" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.stop()
                raise TimeoutError("%s server not ready (log: %s)" % (name, self.log.name))
            chunk = os.read(self.p.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                raise EOFError("%s server exited (log: %s)" % (name, self.log.name))
            buf += chunk

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.terminate()
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def run_json(name, argv, timeout):
    print("  " + name, file=sys.stderr, flush=True)
    with open(os.path.join(LOG_DIR, name.replace(" ", "_") + ".log"), "wb") as log:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d), log in %s" % (name, r.returncode, LOG_DIR))
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def rust_client(url, topic, concurrency, load, casts, runtime):
    return [BIN, "--runtime", runtime, "client", "--transport-url", url, "--topic", topic,
            "--concurrency", str(concurrency), "--calls", str(load["calls"]),
            "--max-secs", str(SECS), "--casts", str(casts), "--cast-concurrency", "16"]


def measure_rust(impl, url, runtime="multi"):
    """`runtime`: the tokio runtime of both ends, `multi` (two threads) or
    `current` (one thread, what fjord's launcher gives a service)."""
    load = LOADS[impl]
    topic = "bench_rpc_%s_%s_%s" % (impl, RUN_ID, uuid.uuid4().hex[:6])
    srv = Server(impl, [BIN, "--runtime", runtime, "server", "--transport-url", url,
                        "--topic", topic, "--max-secs", "600"])
    try:
        c1 = run_json(impl + " 1 caller", rust_client(url, topic, 1, load, 0, runtime), 120)
        c16 = run_json(impl + " 16 callers + casts",
                       rust_client(url, topic, 16, load, load["casts"], runtime), 180)
    finally:
        srv.stop()
    return {"c1": c1, "c16": c16}


def measure_python(py):
    load = LOADS["python"]
    topic = "bench_rpc_python_%s_%s" % (RUN_ID, uuid.uuid4().hex[:6])
    base = [py, "-W", "ignore", "-u", PEER]
    srv = Server("python", base + ["server", RABBIT, topic, "bench", "600"])

    def client(c, casts):
        return base + ["client", RABBIT, topic, str(c), str(load["calls"]), str(SECS),
                       str(casts), "16"]
    try:
        c1 = run_json("python 1 caller", client(1, 0), 120)
        c16 = run_json("python 16 callers + casts", client(16, load["casts"]), 180)
    finally:
        srv.stop()
    return {"c1": c1, "c16": c16}


def fjord_cast_body_bytes():
    # The size of the envelope a fjord cast of hit() puts on the wire.
    msg = json.dumps({"method": "hit", "args": {}, "_unique_id": uuid.uuid4().hex})
    return len(json.dumps({"oslo.version": "2.0", "oslo.message": msg}))


def fjord_call_body_bytes():
    # The size of the envelope a fjord call of echo(value=i) puts on the wire.
    msg = json.dumps({"method": "echo", "args": {"value": 12345}, "_unique_id": uuid.uuid4().hex,
                      "_msg_id": uuid.uuid4().hex, "_reply_q": "reply_" + uuid.uuid4().hex,
                      "_timeout": None})
    return len(json.dumps({"oslo.version": "2.0", "oslo.message": msg}))


def measure_raw(oslo=False):
    """The raw call loop in one process; with `oslo`, publishing as
    oslo.messaging does (`--oslo-wire`), and no casts."""
    flags = ["--oslo-wire"] if oslo else []

    def call(c):
        return run_json("raw AMQP calls%s, %d caller(s)" % (" (oslo wire)" if oslo else "", c), [
            BIN, "raw-call", "--amqp-url", AMQP, "--queue", "bench_rpc_rawcall%d_%s_%s" % (c, RUN_ID, uuid.uuid4().hex[:6]),
            "--concurrency", str(c), "--calls", str(LOADS["fjord"]["calls"]),
            "--max-secs", str(SECS), "--body-bytes", str(fjord_call_body_bytes())] + flags, 120)
    c1, c16 = call(1), call(16)
    if oslo:
        return {"c1": c1, "c16": c16}
    casts = measure_raw_casts()
    c16 = dict(c16, casts_per_s=casts["casts_per_s"], casts=casts["messages"])
    return {"c1": c1, "c16": c16, "casts": casts}


def proc_cpu_secs(pid):
    """User + system CPU seconds of process `pid` (every thread)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_raw_split(separate, oslo=False):
    """The raw call loop with the responder in a process of its own; with
    `oslo`, publishing as oslo.messaging does."""
    name = ("rawsep" if separate else "rawsplit") + ("oslo" if oslo else "")
    flags = (["--separate-connections"] if separate else []) + (["--oslo-wire"] if oslo else [])

    def call(c):
        q = "bench_rpc_%s%d_%s_%s" % (name, c, RUN_ID, uuid.uuid4().hex[:6])
        srv = Server("%s responder %d" % (name, c),
                     [BIN, "raw-call", "--amqp-url", AMQP, "--queue", q, "--role", "responder",
                      "--max-secs", "600"] + flags)
        try:
            cpu0 = proc_cpu_secs(srv.p.pid)
            r = run_json("%s calls, %d caller(s)" % (name, c), [
                BIN, "raw-call", "--amqp-url", AMQP, "--queue", q, "--role", "caller",
                "--concurrency", str(c), "--calls", str(LOADS["fjord"]["calls"]),
                "--max-secs", str(SECS), "--body-bytes", str(fjord_call_body_bytes())] + flags,
                120)
            server_cpu = proc_cpu_secs(srv.p.pid) - cpu0
        finally:
            srv.stop()
        n = max(r["calls"], 1)
        r["client_cpu_us_per_call"] = r["cpu_us_per_call"]
        r["server_cpu_us_per_call"] = server_cpu * 1e6 / n
        r["cpu_us_per_call"] += r["server_cpu_us_per_call"]
        return r
    return {"c1": call(1), "c16": call(16)}


def measure_raw_casts():
    return run_json("raw AMQP casts", [
        BIN, "raw", "--amqp-url", AMQP, "--queue", "bench_rpc_raw_%s_%s" % (RUN_ID, uuid.uuid4().hex[:6]),
        "--messages", str(LOADS["fjord"]["casts"]), "--window", "16",
        "--body-bytes", str(fjord_cast_body_bytes()), "--max-secs", "120"], 180)


def delete_run_queues():
    """Deletes the topic and server queues this run declared (oslo's are not
    auto-delete; reply queues expire by themselves). Best effort: needs
    rabbitmqctl, which the broker's host has."""
    if not shutil.which("rabbitmqctl"):
        print("rabbitmqctl not found: queues named bench_rpc_*_%s_* are left" % RUN_ID,
              file=sys.stderr)
        return
    try:
        names = subprocess.run(["rabbitmqctl", "list_queues", "-q", "name"],
                               capture_output=True, timeout=30).stdout.decode().split()
        for q in names:
            if q.startswith("bench_rpc_") and RUN_ID in q:
                subprocess.run(["rabbitmqctl", "delete_queue", "-q", q],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("cleaning queues up failed: %s" % e, file=sys.stderr)


def fmt(v, spec):
    return "-" if v is None else spec.format(v)


def median_runs(runs):
    """Per phase, the median of every number over the runs (the runs kept too)."""
    med = {}
    for phase in runs[0]:
        med[phase] = {k: statistics.median(r[phase][k] for r in runs)
                      for k, v in runs[0][phase].items() if isinstance(v, (int, float))}
    med["runs"] = runs
    return med


def gap_note(results):
    """A paragraph on what fjord's gap to the raw call loop at 16 callers is
    made of, from the same run's figures (None when a figure is missing)."""
    def g(impl, key):
        return results.get(impl, {}).get("c16", {}).get(key)
    names = ("raw", "rawsplit", "rawsep", "rawoslo", "rawseposlo", "fjord", "fjordlent")
    calls = {k: g(k, "calls_per_s") for k in names}
    cpu = {k: g(k, "cpu_us_per_call") for k in names}
    if not all(calls.values()) or not all(cpu.values()):
        return None
    raw = calls["raw"]

    def share(k):
        return calls[k] / raw * 100
    return (
        "At 16 callers fjord makes %.0f%% of the raw loop's calls/s (%.0f%% with "
        "publish_on_listener_connection): the 90%% target is %s. The gap, step by step in "
        "this run: the raw loop in two processes (as a client and a server are) makes "
        "%.0f%% of it (CPU per call %.0f -> %.0f us); with a publishing connection apart from "
        "the consuming one per side, as oslo.messaging and fjord by default, %.0f%% (%.0f us). "
        "Publishing as oslo.messaging does (requests through a topic exchange with an "
        "expiration, mandatory replies), which fjord must for wire compatibility, costs the "
        "broker more CPU per call: the raw loop so makes %.0f%% in one process and %.0f%% in "
        "fjord's layout (%.0f us). fjord %.0f%% (%.0f us), with the option %.0f%% (%.0f us): "
        "%.0f%% of the raw loop with the oslo wire in fjord's layout."
        % (share("fjord"), share("fjordlent"),
           "met" if calls["fjord"] >= 0.9 * raw else "not met",
           share("rawsplit"), cpu["raw"], cpu["rawsplit"], share("rawsep"), cpu["rawsep"],
           share("rawoslo"), share("rawseposlo"), cpu["rawseposlo"],
           share("fjord"), cpu["fjord"], share("fjordlent"), cpu["fjordlent"],
           calls["fjord"] / calls["rawseposlo"] * 100))


def embedded():
    emb_dir = tempfile.mkdtemp(prefix="fjord-rpc-bench-", dir="/tmp")
    try:
        # The runtime a fjord service gets from the launcher by default.
        return measure_rust("embedded", "embedded://" + os.path.join(emb_dir, "broker.sock"),
                            runtime="current")
    finally:
        shutil.rmtree(emb_dir, ignore_errors=True)


def main():
    if not rabbit_up():
        sys.exit("RabbitMQ is not reachable at 127.0.0.1:5672: start it first")
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--profile", "dist", "-p", "fjord-messaging",
                        "--example", "rpc_bench"], cwd=ROOT, check=True)
    venv = os.environ.get("FJORD_OSLO_VENV", os.path.join(ROOT, ".venv"))
    py = os.path.join(venv, "bin", "python")
    print("logs in %s" % LOG_DIR, file=sys.stderr)
    load_before = os.getloadavg()[0]
    impls = [("fjord", lambda: measure_rust("fjord", RABBIT)),
             # fjord with the option that publishes on the listener's connection.
             ("fjordlent", lambda: measure_rust(
                 "fjordlent", RABBIT + "?publish_on_listener_connection=true"))]
    if os.path.exists(py) and subprocess.run(
            [py, "-c", "import oslo_messaging"], capture_output=True).returncode == 0:
        impls.append(("python", lambda: measure_python(py)))
    else:
        print("oslo.messaging not installed in %s: baseline skipped "
              "(scripts/setup-oslo-venv.sh)" % venv, file=sys.stderr)
    impls += [("raw", measure_raw), ("rawsplit", lambda: measure_raw_split(False)),
              ("rawsep", lambda: measure_raw_split(True)),
              ("rawoslo", lambda: measure_raw(oslo=True)),
              ("rawseposlo", lambda: measure_raw_split(True, oslo=True)), ("embedded", embedded)]
    impls = [(name, m) for name, m in impls if name in IMPLS]
    # Interleaved, so that every implementation sees the same machine.
    runs = {name: [] for name, _ in impls}
    try:
        for i in range(RUNS):
            for name, measure in impls:
                print("%s, run %d of %d" % (name, i + 1, RUNS), file=sys.stderr, flush=True)
                runs[name].append(measure())
    finally:
        delete_run_queues()
    results = {name: median_runs(r) for name, r in runs.items()}

    def get(impl, phase, key):
        return results.get(impl, {}).get(phase, {}).get(key)

    cols = [("fjord", "fjord (RabbitMQ)"),
            ("fjordlent", "fjord, publish_on_listener_connection"),
            ("python", "oslo.messaging (RabbitMQ)"),
            ("raw", "raw AMQP (lapin)"), ("rawsplit", "raw, 2 processes"),
            ("rawsep", "raw, 2 processes, separate publishing connections"),
            ("rawoslo", "raw, oslo wire"),
            ("rawseposlo", "raw, oslo wire, 2 processes, separate publishing connections"),
            ("embedded", "fjord embedded (current-thread runtime)")]
    f16, p16 = get("fjord", "c16", "calls_per_s"), get("python", "c16", "calls_per_s")
    f1, p1 = get("fjord", "c1", "calls_per_s"), get("python", "c1", "calls_per_s")
    fc, rc = get("fjord", "c16", "casts_per_s"), get("raw", "c16", "casts_per_s")
    e50 = get("embedded", "c1", "p50_us")
    ratio16 = f16 / p16 if f16 and p16 else None
    ratio1 = f1 / p1 if f1 and p1 else None
    r16, r1 = get("raw", "c16", "calls_per_s"), get("raw", "c1", "calls_per_s")
    raw16 = f16 / r16 if f16 and r16 else None
    l16 = get("fjordlent", "c16", "calls_per_s")
    s16 = get("rawsplit", "c16", "calls_per_s")
    o16 = get("rawoslo", "c16", "calls_per_s")
    so16 = get("rawseposlo", "c16", "calls_per_s")
    shares = {"fjord_lent_vs_raw_16": l16 / r16 if l16 and r16 else None,
              "fjord_vs_rawsplit_16": f16 / s16 if f16 and s16 else None,
              "fjord_lent_vs_rawsplit_16": l16 / s16 if l16 and s16 else None,
              "fjord_vs_rawoslo_16": f16 / o16 if f16 and o16 else None,
              "fjord_vs_rawseposlo_16": f16 / so16 if f16 and so16 else None}
    cast_share = fc / rc if fc and rc else None

    def verdict(ok):
        return "met" if ok else "missed"

    targets = {
        "calls_16": None if ratio16 is None else
        "fjord >= 10x Python (%.0f/s): %.1fx, %s" % (10 * p16, ratio16, verdict(ratio16 >= 10)),
        "calls_16_raw": None if raw16 is None else
        "fjord >= 90%% of raw (%.0f/s): %.0f%%, %s" % (0.9 * r16, raw16 * 100,
                                                     verdict(raw16 >= 0.9)),
        "calls_1_raw": None if not (f1 and r1) else "fjord/raw: %.0f%%" % (f1 / r1 * 100),
        "calls_16_shares": "; ".join("%s %.0f%%" % (k, v * 100)
                                     for k, v in shares.items() if v) or None,
        "calls_1": None if ratio1 is None else
        "fjord >= 10x Python (%.0f/s): %.1fx, %s" % (10 * p1, ratio1, verdict(ratio1 >= 10)),
        "casts": None if cast_share is None else
        "fjord >= 80%% of raw: %.0f%%, %s" % (cast_share * 100, verdict(cast_share >= 0.8)),
        "embedded_p50": None if e50 is None else
        "embedded < 100 us: %s" % verdict(e50 < 100),
    }
    def both(*ts):
        return "; ".join(t for t in ts if t) or None

    rows = [
        ("calls/s, 1 caller", "c1", "calls_per_s", "{:.0f}",
         both(targets["calls_1"], targets["calls_1_raw"])),
        ("calls/s, 16 callers", "c16", "calls_per_s", "{:.0f}",
         both(targets["calls_16"], targets["calls_16_raw"], targets["calls_16_shares"])),
        ("CPU per call (us, client + server), 1 caller", "c1", "cpu_us_per_call", "{:.0f}", None),
        ("CPU per call (us, client + server), 16 callers", "c16", "cpu_us_per_call", "{:.0f}",
         None),
        ("call p50 (us), 1 caller", "c1", "p50_us", "{:.0f}", targets["embedded_p50"]),
        ("call p99 (us), 1 caller", "c1", "p99_us", "{:.0f}", None),
        ("call p50 (us), 16 callers", "c16", "p50_us", "{:.0f}", None),
        ("call p99 (us), 16 callers", "c16", "p99_us", "{:.0f}", None),
        ("casts/s, 16 casters (sent -> all received)", "c16", "casts_per_s", "{:.0f}",
         targets["casts"]),
    ]
    present = [(k, label) for k, label in cols if k in results]
    out = ["| metric | " + " | ".join(label for _, label in present) + " | target |",
           "|---" * (len(present) + 2) + "|"]
    for label, phase, key, spec, target in rows:
        vals = []
        for k, _ in present:
            vals.append(fmt(get(k, phase, key), spec))
        out.append("| %s | %s | %s |" % (label, " | ".join(vals), target or ""))
    load_after = os.getloadavg()[0]
    n = {k: get(k, "c16", "calls") for k in ("fjord", "fjordlent", "python", "raw", "rawsplit",
                                              "rawsep", "rawoslo", "rawseposlo", "embedded")}
    out.append("")
    out.append("Median of %d runs, %d CPUs (1-minute load average %.1f before, %.1f after), "
               "broker, servers and clients on the same host; each call "
               "phase at most %.0f s (calls made at 16 callers: %s); casts: %s fjord, %s "
               "Python, %s raw (%d-byte body, publisher confirms, 16 in flight). Raw AMQP "
               "calls: lapin alone, confirmed %d-byte request with reply_to, acked and "
               "answered by a confirmed reply, on one connection per side, caller and responder "
               "in one process: the broker's ceiling for a call; the 2-process columns run them "
               "as two processes, one with a publishing connection apart from the "
               "consuming one per side as fjord and oslo.messaging do; the oslo wire columns "
               "publish requests through a topic exchange with an expiration and replies with "
               "mandatory, as oslo.messaging does. CPU per call: user + "
               "system time of the client and server processes over the call phase. RabbitMQ runs use a two-thread tokio runtime; the embedded "
               "transport runs on a current-thread runtime, the one fjord's launcher gives a "
               "service by default." % (
                   RUNS, os.cpu_count(), load_before, load_after, SECS,
                   ", ".join("%s %s" % (k, v) for k, v in n.items() if v is not None),
                   get("fjord", "c16", "casts"), get("python", "c16", "casts"),
                   get("raw", "casts", "messages"), fjord_cast_body_bytes(),
                   fjord_call_body_bytes()))
    note = gap_note(results)
    if note:
        out += ["", note]
    table = "\n".join(out)
    print(table)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "rpc.json"), "w") as f:
        json.dump({"run_id": RUN_ID, "runs": RUNS, "cpus": os.cpu_count(), "max_secs_per_phase": SECS,
                   "loadavg_1m_before": load_before, "loadavg_1m_after": load_after,
                   "results": results, "targets": targets}, f, indent=2)
    with open(os.path.join(ROOT, "bench", "results", "rpc.md"), "w") as f:
        f.write(table + "\n")
    shutil.rmtree(LOG_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
