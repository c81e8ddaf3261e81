#!/usr/bin/env python3
"""A/B of two builds of the same HTTP server in one run.

    python3 bench/ab_http.py OLD_BINARY NEW_BINARY

Both binaries take `--workers N --port P` (http_hello, hyper-prefork) and
answer GET /hello. Rounds alternate the two (BENCH_ROUNDS, default 5), each
round runs wrk at every connection count (BENCH_CONNECTIONS, default 1,64)
for BENCH_SECONDS (default 4) with 2 workers, and the table gives the
medians over the rounds: requests/s, p99, and the server's CPU time (user
+ system, every process of the server) per request. Use it to check that a
change costs nothing on the hot path: the same machine, the same moment,
the only difference the binary. Every load is bounded in time.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench as hb  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = (os.path.abspath(p) for p in sys.argv[1:])
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    hb.SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
    servers = {
        name: hb.Server(name, lambda port, b=binary: [b, "--workers", str(hb.WORKERS), "--port", str(port)])
        for name, binary in (("old", old), ("new", new))
    }
    runs = {name: [] for name in servers}
    for r in range(rounds):
        order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
        for name in order:
            runs[name].append(hb.measure_once(servers[name]))
        hb.log(f"round {r + 1}/{rounds} done")
    print(f"old: {old}\nnew: {new}\n{rounds} interleaved rounds, {hb.SECONDS} s each, {hb.WORKERS} workers\n")
    print("| conns | metric | old | new | new/old | new lower in |")
    print("|---|---|---|---|---|---|")
    for conns in hb.CONNECTIONS:
        for metric, label in (("rps", "req/s"), ("p99_ms", "p99 ms"), ("cpu_us_per_req", "CPU µs/req")):
            a = [run["by_connections"][conns][metric] for run in runs["old"]]
            b = [run["by_connections"][conns][metric] for run in runs["new"]]
            lower = sum(1 for x, y in zip(a, b) if y < x)
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"| {conns} | {label} | {ma:.2f} | {mb:.2f} | {mb / ma:.3f} | {lower}/{rounds} |")


if __name__ == "__main__":
    main()
