"""The cost of diagnostics on the hot path: `http_hello` (2 workers) with
the diagnostics endpoint on (the default: every request adds to the
worker's slot of the shared board) against the same binary with
`--no-diagnostics`, in the same run, GET /hello with wrk.

Uses bench/http_bench.py's measurement (wrk, server CPU from /proc,
interleaved rounds, medians; BENCH_ROUNDS, BENCH_SECONDS,
BENCH_CONNECTIONS apply). BENCH_PROFILE picks the build (default dist:
`cargo build --profile dist --example http_hello -p fjord`). Target: req/s
and CPU per request within 3% of each other.

Prints a Markdown table and writes bench/results/diagnostics.md.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench as hb  # noqa: E402

PROFILE = os.environ.get("BENCH_PROFILE", "dist")
ON = "http_hello, diagnostics on"
OFF = "http_hello, --no-diagnostics"


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(hb.ROOT, "target"))
    return os.path.join(target, PROFILE, "examples", "http_hello")


def main():
    exe = binary()
    if not os.path.exists(exe):
        sys.exit(f"{exe} is missing: cargo build --profile {PROFILE} --example http_hello -p fjord")
    servers = [
        hb.Server(ON, lambda port: [exe, "--workers", str(hb.WORKERS), "--port", str(port)]),
        hb.Server(OFF, lambda port: [exe, "--workers", str(hb.WORKERS), "--port", str(port),
                                     "--no-diagnostics"]),
    ]
    load_before = os.getloadavg()
    runs = {s.name: [] for s in servers}
    for rnd in range(hb.ROUNDS):
        order = servers[rnd % 2:] + servers[:rnd % 2]
        for s in order:
            hb.log(f"round {rnd + 1}/{hb.ROUNDS}: {s.name}")
            runs[s.name].append(hb.measure_once(s))
    res = {name: hb.summarize(r) for name, r in runs.items()}
    lines = [
        f"**Diagnostics on vs off: `http_hello` GET /hello, {hb.WORKERS} workers, wrk "
        f"(bench/diagnostics_bench.py, profile {PROFILE})**",
        "",
        f"{hb.ROUNDS} interleaved rounds (medians), {hb.SECONDS} s per run. Load average "
        f"before: {load_before[0]:.1f}, after: {os.getloadavg()[0]:.1f}.",
        "",
        "| conns | req/s on | req/s off | on vs off | CPU/req on (µs) | CPU/req off (µs) | on vs off | target (≤ 3%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for conns in hb.CONNECTIONS:
        on = res[ON]["by_connections"][str(conns)]
        off = res[OFF]["by_connections"][str(conns)]
        d_rps = (on["rps"] / off["rps"] - 1) * 100 if off["rps"] else float("nan")
        d_cpu = (on["cpu_us_per_req"] / off["cpu_us_per_req"] - 1) * 100 \
            if off["cpu_us_per_req"] else float("nan")
        ok = abs(d_rps) <= 3 and d_cpu <= 3
        lines.append(
            f"| {conns} | {on['rps']:.0f} | {off['rps']:.0f} | {d_rps:+.1f}% | "
            f"{on['cpu_us_per_req']:.1f} | {off['cpu_us_per_req']:.1f} | {d_cpu:+.1f}% | "
            f"{'✓' if ok else '✗'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(hb.ROOT, "bench", "results", "diagnostics.md")
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
