"""RPC with versioned objects: calls per second when each call carries an
object, fjord against Python oslo.messaging + oslo.versionedobjects on the
same RabbitMQ, in one run.

Each call is `widget_rename(widget, name)`: the client builds a DemoWidget
1.2 (id, name, tags, owner: the schema of fjord's `rpc_server` example) and
sends it through its object serializer; the server's serializer loads and
checks it, the endpoint renames it, the reply is loaded by the client's
serializer and checked. fjord: `rpc_bench --objects` (both ends);
Python: bench/rpc_python_peer.py --objects (both ends, threading
executor). The plain `echo(value=i)` calls of the same implementations run
in the same run as the reference for the objects' cost.

Uses bench/rpc_bench.py's process handling; BENCH_SECS (most seconds per
phase, default 5) and BENCH_RUNS (runs, the table shows the median; default
3) as there. Every load is bounded by a count and a time limit; topics are
unique to the run. Prints a Markdown table and writes
bench/results/objects-rpc.json and the section `## RPC with objects` of
bench/results/objects.md (the rest of that file is kept).
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpc_bench as rb  # noqa: E402

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(rb.ROOT, "target"))
BIN = os.path.join(TARGET, "dist", "examples", "rpc_bench")
LOADS = {"fjord": 100_000, "python": 20_000}
HEADING = "## RPC with objects"


def topic(impl):
    return "bench_rpc_obj_%s_%s_%s" % (impl, rb.RUN_ID, uuid.uuid4().hex[:6])


def measure_fjord(objects):
    flag = ["--objects"] if objects else []
    t = topic("fjord")
    srv = rb.Server("fjord", [BIN, "server", "--transport-url", rb.RABBIT, "--topic", t,
                              "--max-secs", "600"] + flag)

    def client(c):
        return [BIN, "client", "--transport-url", rb.RABBIT, "--topic", t,
                "--concurrency", str(c), "--calls", str(LOADS["fjord"]),
                "--max-secs", str(rb.SECS)] + flag
    try:
        what = "objects" if objects else "echo"
        return {"c1": rb.run_json("fjord %s 1 caller" % what, client(1), 120),
                "c16": rb.run_json("fjord %s 16 callers" % what, client(16), 180)}
    finally:
        srv.stop()


def measure_python(py, objects):
    flag = ["--objects"] if objects else []
    t = topic("python")
    base = [py, "-W", "ignore", "-u", rb.PEER]
    srv = rb.Server("python", base + ["server", rb.RABBIT, t, "bench", "600"] + flag)

    def client(c):
        return base + ["client", rb.RABBIT, t, str(c), str(LOADS["python"]), str(rb.SECS),
                       "0", "1"] + flag
    try:
        what = "objects" if objects else "echo"
        return {"c1": rb.run_json("python %s 1 caller" % what, client(1), 120),
                "c16": rb.run_json("python %s 16 callers" % what, client(16), 180)}
    finally:
        srv.stop()


def write_section(path, text):
    """Replaces (or appends) the `## RPC with objects` section of `path`."""
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    section = HEADING + "\n\n" + text.rstrip() + "\n"
    pattern = re.compile(r"^" + re.escape(HEADING) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _m: section + "\n", old).rstrip() + "\n"
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + section
    with open(path, "w") as f:
        f.write(new)


def main():
    if not rb.rabbit_up():
        sys.exit("RabbitMQ is not reachable at 127.0.0.1:5672: start it first")
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--profile", "dist", "-p", "fjord-messaging",
                        "--example", "rpc_bench"], cwd=rb.ROOT, check=True)
    venv = os.environ.get("FJORD_OSLO_VENV", os.path.join(rb.ROOT, ".venv"))
    py = os.path.join(venv, "bin", "python")
    if subprocess.run([py, "-c", "import oslo_versionedobjects"],
                      capture_output=True).returncode != 0:
        sys.exit("oslo.versionedobjects is not in %s (scripts/setup-oslo-venv.sh)" % venv)
    print("logs in %s" % rb.LOG_DIR, file=sys.stderr)
    load_before = os.getloadavg()[0]
    impls = [
        ("fjord_objects", lambda: measure_fjord(True)),
        ("python_objects", lambda: measure_python(py, True)),
        ("fjord_echo", lambda: measure_fjord(False)),
        ("python_echo", lambda: measure_python(py, False)),
    ]
    runs = {name: [] for name, _ in impls}
    try:
        for i in range(rb.RUNS):
            for name, measure in impls:
                print("%s, run %d of %d" % (name, i + 1, rb.RUNS), file=sys.stderr, flush=True)
                runs[name].append(measure())
    finally:
        rb.delete_run_queues()
    results = {name: rb.median_runs(r) for name, r in runs.items()}

    def get(impl, phase, key):
        return results.get(impl, {}).get(phase, {}).get(key)

    cols = [("fjord_objects", "fjord, object"), ("python_objects", "Python, object"),
            ("fjord_echo", "fjord, echo (no object)"),
            ("python_echo", "Python, echo (no object)")]
    rows = [
        ("calls/s, 1 caller", "c1", "calls_per_s"),
        ("calls/s, 16 callers", "c16", "calls_per_s"),
        ("call p50 (us), 1 caller", "c1", "p50_us"),
        ("call p99 (us), 1 caller", "c1", "p99_us"),
        ("call p50 (us), 16 callers", "c16", "p50_us"),
        ("call p99 (us), 16 callers", "c16", "p99_us"),
    ]
    out = ["| metric | " + " | ".join(label for _, label in cols) + " | fjord / Python, object |",
           "|---" * (len(cols) + 2) + "|"]
    for label, phase, key in rows:
        vals = [rb.fmt(get(k, phase, key), "{:.0f}") for k, _ in cols]
        f, p = get("fjord_objects", phase, key), get("python_objects", phase, key)
        if f and p:
            ratio = "%.1fx" % (f / p if key == "calls_per_s" else p / f)
        else:
            ratio = "-"
        out.append("| %s | %s | %s |" % (label, " | ".join(vals), ratio))
    load_after = os.getloadavg()[0]
    out.append("")
    out.append(
        "Median of %d runs, %d CPUs (1-minute load average %.1f before, %.1f after), broker, "
        "servers and clients on the same host, each phase at most %.0f s. A call: "
        "`widget_rename(widget=DemoWidget 1.2 {id, name, tags, owner}, name)`, the object "
        "built, serialized, loaded and checked on each side; the echo columns are plain "
        "`echo(value=i)` calls of the same programs in the same run. fjord: "
        "`rpc_bench --objects` (two-thread tokio runtime); Python: oslo.messaging 18.3.1 + "
        "oslo.versionedobjects 3.12.0, threading executor (bench/objects_rpc_bench.py). "
        "The ratio column is fjord's advantage (calls/s: fjord / Python; latency: Python / "
        "fjord)." % (rb.RUNS, os.cpu_count(), load_before, load_after, rb.SECS))
    table = "\n".join(out)
    print(table)
    res = os.path.join(rb.ROOT, "bench", "results")
    os.makedirs(res, exist_ok=True)
    with open(os.path.join(res, "objects-rpc.json"), "w") as f:
        json.dump({"run_id": rb.RUN_ID, "runs": rb.RUNS, "cpus": os.cpu_count(),
                   "max_secs_per_phase": rb.SECS, "loadavg_1m_before": load_before,
                   "loadavg_1m_after": load_after, "results": results}, f, indent=2)
    write_section(os.path.join(res, "objects.md"), table)
    shutil.rmtree(rb.LOG_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
