"""Launcher benchmark (named *_bench.py: a bench/http.py would shadow the
stdlib module for the Python baselines run from bench/): fjord's `workers` example against oslo.service.

Measures, for 2 and 8 workers:
  * exec -> all workers serving (every worker printed `worker started`),
  * respawn: SIGKILL of a worker -> its replacement serving,
  * RSS of the master and of one worker.
Both run in the same invocation, on the same machine, so the table compares
like with like. Prints a Markdown table and writes bench/results/launcher.json.
"""
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Run:
    def __init__(self, argv, workers):
        self.workers = workers
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.p.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.pids = []

    def next_started(self, timeout=30.0):
        deadline = time.perf_counter() + timeout
        while True:
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.startswith(b"worker started pid="):
                    pid = int(line.split(b"=")[1])
                    self.pids.append(pid)
                    return pid, time.perf_counter()
                continue
            left = deadline - time.perf_counter()
            if left <= 0 or not self.sel.select(left):
                raise TimeoutError("no worker started line")
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError("process closed stdout")
            self.buf += chunk

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def measure(argv, workers):
    starts, respawns, master_rss, worker_rss = [], [], [], []
    for _ in range(RUNS):
        r = Run(argv, workers)
        t = None
        for _ in range(workers):
            _, t = r.next_started()
        starts.append((t - r.t0) * 1000)
        time.sleep(0.3)
        master_rss.append(rss_kib(r.p.pid))
        worker_rss.append(rss_kib(r.pids[-1]))
        # Past the fork rate-limit window, a kill is respawned at once.
        time.sleep(workers + 0.5)
        victim = r.pids[0]
        t_kill = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        _, t_new = r.next_started()
        respawns.append((t_new - t_kill) * 1000)
        r.stop()
    return {
        "start_ms": statistics.median(starts),
        "respawn_ms": statistics.median(respawns),
        "master_rss_mib": statistics.median(master_rss) / 1024,
        "worker_rss_mib": statistics.median(worker_rss) / 1024,
    }


def main():
    fjord = os.path.join(ROOT, "target", "dist", "examples", "workers")
    venv = os.environ.get("FJORD_OSLO_VENV", os.path.join(ROOT, ".venv"))
    py = os.path.join(venv, "bin", "python")
    impls = {"fjord": lambda n: [fjord, "--workers", str(n), "--graceful-shutdown-timeout", "5"]}
    if os.path.exists(py) and subprocess.run([py, "-c", "import oslo_service"], capture_output=True).returncode == 0:
        impls["oslo.service"] = lambda n: [py, "-u", os.path.join(ROOT, "bench", "oslo_workers.py"), str(n)]
    else:
        print("oslo.service not installed in the venv: baseline skipped", file=sys.stderr)
    results = {}
    for name, argv in impls.items():
        for n in (2, 8):
            print(f"measuring {name} with {n} workers ({RUNS} runs)...", file=sys.stderr)
            results[f"{name}/{n}"] = measure(argv(n), n)
    rows = [
        ("exec -> all workers serving (ms)", "start_ms", "{:.1f}", "< 10 (2 workers)"),
        ("respawn: SIGKILL -> replacement serving (ms)", "respawn_ms", "{:.1f}", "< 5"),
        ("master RSS (MiB)", "master_rss_mib", "{:.1f}", "< 5"),
        ("worker RSS (MiB)", "worker_rss_mib", "{:.1f}", ""),
    ]
    cols = list(results)
    out = ["| metric | " + " | ".join(cols) + " | target |", "|---" * (len(cols) + 2) + "|"]
    for label, key, fmt, target in rows:
        out.append(f"| {label} | " + " | ".join(fmt.format(results[c][key]) for c in cols) + f" | {target} |")
    table = "\n".join(out)
    print(table)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "launcher.json"), "w") as f:
        json.dump({"runs": RUNS, "results": results, "cpus": os.cpu_count()}, f, indent=2)
    with open(os.path.join(ROOT, "bench", "results", "launcher.md"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
