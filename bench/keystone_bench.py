"""Keystone token auth benchmark: what the authtoken filter costs on the
cached path, fjord vs Python keystonemiddleware, in one run.

Four servers answer `GET /hello`, one worker process each, measured with
wrk on loopback with a valid admin token in X-Auth-Token:

  * fjord noauth:     crates/fjord-keystone's authtoken_hello example with
                      --noauth: the paste pipeline `request_id hello`;
  * fjord authtoken:  the same example with `request_id authtoken hello`,
                      as OpenStack pipelines put them (the token is
                      validated once by Keystone, then cached);
  * python noauth:    a trivial WSGI app on gunicorn (one sync worker),
                      bench/keystone_mw_app.py with KEYSTONE_NOAUTH=1;
  * python authtoken: the same app behind keystonemiddleware 13.0.1's
                      auth_token (default in-process cache), the anchor.

Needs the throwaway Keystone (scripts/keystone.sh start; started here when
it is not running) and its venv (gunicorn, keystonemiddleware). Rounds are
interleaved (BENCH_ROUNDS, default 3; the order rotates): each round starts
every server, warms it up with one authenticated request plus a short wrk
run, measures BENCH_SECONDS (default 5) at BENCH_CONNECTIONS (default 16),
and stops it. Each wrk run is bounded in time. The table shows medians over
the rounds; the target: fjord's cached authtoken path keeps >= 90% of the
noauth req/s (it costs <= 10%). The server's CPU time per request
(utime + stime of its processes from /proc, before and after each run,
over the requests wrk completed) is shown too: wrk and other work share
the 2 cores, so req/s moves with the machine's load more than CPU per
request does.

fjord is built with --profile dist (BENCH_PROFILE overrides; BENCH_BUILD=0
uses the binary already built). Prints a
Markdown table and writes bench/results/keystone.md.
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
PROFILE = os.environ.get("BENCH_PROFILE", "dist")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
VENV = os.environ.get("FJORD_KEYSTONE_VENV", os.path.join(ROOT, ".venv-keystone"))
ENV_FILE = os.environ.get("FJORD_KEYSTONE_ENV", os.path.join(ROOT, "target", "keystone", "env"))


def keystone_env():
    subprocess.run([os.path.join(ROOT, "scripts", "keystone.sh"), "start"],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)
    env = {}
    with open(ENV_FILE) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                env[k] = v
    return env


def admin_token(ks):
    body = ('{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s",'
            '"domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"%s",'
            '"domain":{"id":"default"}}}}}') % (ks["KS_ADMIN_USER"], ks["KS_ADMIN_PASSWORD"],
                                                ks["KS_ADMIN_PROJECT"])
    req = urllib.request.Request(ks["KS_URL"] + "/auth/tokens", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.headers["X-Subject-Token"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, token, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/hello",
                                         headers={"X-Auth-Token": token})
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.read().decode()
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(root):
    """utime + stime of `root` and its descendants (from /proc)."""
    parent, ticks = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(p)] = int(fields[1])
        ticks[int(p)] = int(fields[11]) + int(fields[12])
    total, frontier = ticks.get(root, 0), [root]
    while frontier:
        frontier = [c for c, pp in parent.items() if pp in frontier]
        total += sum(ticks.get(c, 0) for c in frontier)
    return total


def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(port, token, seconds):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNS}", f"-d{seconds}s", "--latency",
         "-H", f"X-Auth-Token: {token}", f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(rps.group(1)), "requests": int(total.group(1)), "p50": parse_ms(lat.get("50", "nan")),
            "p99": parse_ms(lat.get("99", "nan")),
            "non2xx": int(non2xx.group(1)) if non2xx else 0}


def servers(ks, conf_path):
    example = os.path.join(TARGET, PROFILE if PROFILE != "dev" else "debug", "examples",
                           "authtoken_hello")
    fjord = lambda port, extra: ([example, "--config-file", conf_path, "--port", str(port),
                                  "--workers", "1"] + extra, None)
    env = dict(os.environ, **ks, PYTHONWARNINGS="ignore")
    gunicorn = os.path.join(VENV, "bin", "gunicorn")
    py = lambda port, noauth: ([gunicorn, "--chdir", os.path.join(ROOT, "bench"),
                                "--no-control-socket", "--bind", f"127.0.0.1:{port}",
                                "--workers", "1", "--log-level", "warning",
                                "keystone_mw_app:application"],
                               dict(env, KEYSTONE_NOAUTH="1" if noauth else "0"))
    return [
        ("fjord noauth", lambda p: fjord(p, ["--noauth"])),
        ("fjord authtoken", lambda p: fjord(p, [])),
        ("python noauth", lambda p: py(p, True)),
        ("python authtoken (keystonemiddleware)", lambda p: py(p, False)),
    ]


def main():
    if os.environ.get("BENCH_BUILD", "1") != "0":
        subprocess.run(["cargo", "build", "-q", "--profile", PROFILE, "-p", "fjord-keystone",
                        "--example", "authtoken_hello"], cwd=ROOT, check=True)
    ks = keystone_env()
    token = admin_token(ks)
    conf_path = os.path.join(ROOT, "target", "keystone", "bench-authtoken.conf")
    with open(conf_path, "w") as f:
        f.write("[keystone_authtoken]\n"
                f"www_authenticate_uri = {ks['KS_URL']}\nauth_type = password\n"
                f"auth_url = {ks['KS_URL']}\nusername = {ks['KS_SERVICE_USER']}\n"
                f"password = {ks['KS_SERVICE_PASSWORD']}\n"
                f"project_name = {ks['KS_SERVICE_PROJECT']}\n"
                "user_domain_id = default\nproject_domain_id = default\n")
    table = servers(ks, conf_path)
    results = {name: [] for name, _ in table}
    for r in range(ROUNDS):
        order = table[r % len(table):] + table[:r % len(table)]
        for name, make in order:
            port = free_port()
            argv, env = make(port)
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                answer = wait_http(port, token)
                if "authtoken" in name and "Hello, admin!" not in answer:
                    raise RuntimeError(f"{name}: not authenticated: {answer!r}")
                wrk(port, token, 1)  # warm-up
                before = cpu_ticks(proc.pid)
                res = wrk(port, token, SECONDS)
                res["cpu_us"] = ((cpu_ticks(proc.pid) - before) / CLK_TCK * 1e6
                                 / max(res["requests"], 1))
                if res["non2xx"]:
                    raise RuntimeError(f"{name}: {res['non2xx']} non-2xx answers")
                results[name].append(res)
                print(f"round {r + 1} {name}: {res['rps']:.0f} req/s, p99 {res['p99']:.2f} ms, "
                      f"{res['cpu_us']:.1f} µs CPU/request",
                      file=sys.stderr)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    med = {n: {k: statistics.median(x[k] for x in rs) for k in ("rps", "p50", "p99", "cpu_us")}
           for n, rs in results.items()}
    lines = [
        f"| server (1 worker, wrk -c{CONNS}, median of {ROUNDS} x {SECONDS} s) | req/s | p50 ms | p99 ms | server CPU µs/request | req/s vs its noauth |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _ in table:
        base = med["fjord noauth" if name.startswith("fjord") else "python noauth"]["rps"]
        m = med[name]
        lines.append(f"| {name} | {m['rps']:.0f} | {m['p50']:.2f} | {m['p99']:.2f} | "
                     f"{m['cpu_us']:.1f} | {100 * m['rps'] / base:.0f}% |")
    cost = 100 * (1 - med["fjord authtoken"]["rps"] / med["fjord noauth"]["rps"])
    verdict = "met" if cost <= 10 else "NOT met"
    lines.append("")
    cpu = med["fjord authtoken"]["cpu_us"] - med["fjord noauth"]["cpu_us"]
    lines.append(f"fjord's cached authtoken path costs {cost:.1f}% of req/s (target <= 10%: {verdict}) "
                 f"and {cpu:.1f} µs of server CPU per request; "
                 f"fjord authtoken serves {med['fjord authtoken']['rps'] / med['python authtoken (keystonemiddleware)']['rps']:.1f}x "
                 "keystonemiddleware's req/s.")
    table_md = "\n".join(lines)
    print(table_md)
    with open(os.path.join(ROOT, "bench", "results", "keystone.md"), "w") as f:
        f.write("# Keystone token auth: the cached authtoken path\n\n"
                "`bench/keystone_bench.py` (its docstring says what runs how). "
                f"fjord built with `--profile {PROFILE}`; machine: 2 cores shared with wrk "
                "(and, for this run, other builds), so compare rows of the same run only.\n\n"
                + table_md + "\n")


if __name__ == "__main__":
    main()
