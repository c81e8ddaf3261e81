"""HTTP benchmark: GET /hello on fjord (the http_hello example and the
demo's demo-api pipeline) against oslo.service's eventlet WSGI server, in
the same run, with wrk on loopback.

Every load is bounded (BENCH_SECONDS per run, default 5) and stops by itself.
The machine has 2 cores shared by wrk and the server: compare the columns,
not the absolute numbers with other machines.
Prints a Markdown table and writes bench/results/http.json and http.md.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered on {port}")


def rss_total_mib(pid):
    pids = [pid]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(port):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNS}", f"-d{SECONDS}s", "--latency", f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, timeout=SECONDS + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": parse_ms(lat.get("50", "nan")),
        "p99_ms": parse_ms(lat.get("99", "nan")),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock.group(1) if sock else "",
    }


def run(name, argv, port, env=None):
    print(f"measuring {name} ({WORKERS} workers, {CONNS} connections, {SECONDS} s)...", file=sys.stderr)
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    try:
        wait_http(port)
        wrk(port) if os.environ.get("BENCH_WARMUP", "1") == "1" else None
        r = wrk(port)
        r["rss_mib"] = rss_total_mib(p.pid)
        return r
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    results = {}
    port = free_port()
    results["fjord http_hello"] = run(
        "fjord http_hello",
        [os.path.join(ROOT, "target/release/examples/http_hello"), "--workers", str(WORKERS), "--port", str(port)],
        port,
    )
    port = free_port()
    state = tempfile.mkdtemp(prefix="fjord-bench-")
    env = dict(os.environ, OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT=str(port), OS_DEFAULT__OSAPI_DEMO_WORKERS=str(WORKERS),
               OS_DEFAULT__STATE_PATH=state, OS_DEFAULT__LOG_OPTIONS="false", RUST_LOG="warn")
    results["fjord demo-api (paste pipeline)"] = run(
        "fjord demo-api",
        [os.path.join(ROOT, "target/release/demo-api"), "--config-file", os.path.join(ROOT, "etc/demo/demo.conf")],
        port, env,
    )
    venv = os.environ.get("FJORD_OSLO_VENV", os.path.join(ROOT, ".venv"))
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py):
        port = free_port()
        results["oslo.service wsgi (eventlet)"] = run(
            "oslo.service wsgi",
            [py, os.path.join(ROOT, "bench", "oslo_wsgi_hello.py"), str(port), str(WORKERS)],
            port,
        )
    else:
        print("no venv: oslo.service baseline skipped", file=sys.stderr)
    out = ["| server | requests/s | p50 (ms) | p99 (ms) | non-2xx | RSS all processes (MiB) |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        out.append(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['non_2xx']} | {r['rss_mib']:.1f} |")
    table = "\n".join(out)
    print(table)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "http.json"), "w") as f:
        json.dump({"seconds": SECONDS, "connections": CONNS, "workers": WORKERS, "cpus": os.cpu_count(), "results": results}, f, indent=2)
    with open(os.path.join(ROOT, "bench", "results", "http.md"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
