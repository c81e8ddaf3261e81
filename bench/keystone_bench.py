"""Keystone token auth benchmark: what the authtoken filter costs on the
cached path, fjord vs Python keystonemiddleware, in one run.

Six servers, one worker process each, measured with wrk on loopback,
each with the token its pipeline takes in X-Auth-Token:

  * demo-api noauth2: the demo's API, `[api] auth_strategy = noauth2`,
                      `GET /v1/services` as `admin:admin` (the whole /v1
                      pipeline, the policy check, the service records read
                      from SQLite);
  * demo-api keystone: the same with `auth_strategy = keystone` and a
                      valid admin token from the throwaway Keystone, so
                      `authtoken keystonecontext` replace `noauth2`;
the anchor pair and the filter alone answer `GET /hello`:

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
noauth req/s (it costs <= 10%), for demo-api (keystone vs noauth2) and
for the hello app. The server's CPU time per request
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


def wrk(port, token, seconds, path="/hello"):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNS}", f"-d{seconds}s", "--latency",
         "-H", f"X-Auth-Token: {token}", f"http://127.0.0.1:{port}{path}"],
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


def get(port, path, token):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read().decode()


def demo_api(ks, strategy, state, port):
    """demo-api with one API worker on `port`, `[api] auth_strategy =
    strategy`, its state (the SQLite service records) under `state`."""
    exe = os.path.join(TARGET, PROFILE if PROFILE != "dev" else "debug", "demo-api")
    env = dict(os.environ, OS_DEFAULT__STATE_PATH=state,
               OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT=str(port),
               OS_DEFAULT__OSAPI_DEMO_WORKERS="1", OS_DEFAULT__LOG_OPTIONS="false",
               OS_API__AUTH_STRATEGY=strategy, NO_COLOR="1")
    if strategy == "keystone":
        auth_url = ks["KS_URL"].rstrip("/").removesuffix("/v3")
        env.update(OS_KEYSTONE_AUTHTOKEN__WWW_AUTHENTICATE_URI=auth_url,
                   OS_KEYSTONE_AUTHTOKEN__AUTH_URL=auth_url,
                   OS_KEYSTONE_AUTHTOKEN__AUTH_TYPE="password",
                   OS_KEYSTONE_AUTHTOKEN__USERNAME=ks["KS_SERVICE_USER"],
                   OS_KEYSTONE_AUTHTOKEN__PASSWORD=ks["KS_SERVICE_PASSWORD"],
                   OS_KEYSTONE_AUTHTOKEN__PROJECT_NAME=ks["KS_SERVICE_PROJECT"],
                   OS_KEYSTONE_AUTHTOKEN__USER_DOMAIN_NAME="Default",
                   OS_KEYSTONE_AUTHTOKEN__PROJECT_DOMAIN_NAME="Default")
    return [exe, "--config-file", os.path.join(ROOT, "etc", "demo", "demo.conf")], env


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
    state = os.path.join(TARGET, "bench-keystone-demo")
    os.makedirs(state, exist_ok=True)
    return [
        ("demo-api noauth2", lambda p: demo_api(ks, "noauth2", state, p)),
        ("demo-api keystone", lambda p: demo_api(ks, "keystone", state, p)),
        ("fjord noauth", lambda p: fjord(p, ["--noauth"])),
        ("fjord authtoken", lambda p: fjord(p, [])),
        ("python noauth", lambda p: py(p, True)),
        ("python authtoken (keystonemiddleware)", lambda p: py(p, False)),
    ]


def main():
    if os.environ.get("BENCH_BUILD", "1") != "0":
        subprocess.run(["cargo", "build", "-q", "--profile", PROFILE, "-p", "fjord-keystone",
                        "--example", "authtoken_hello", "-p", "fjord-demo", "--bin", "demo-api"],
                       cwd=ROOT, check=True)
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
                path, auth = "/hello", token
                if name.startswith("demo-api"):
                    # /v1 as the admin: noauth2 takes `user:project`.
                    path = "/v1/services"
                    auth = "admin:admin" if name.endswith("noauth2") else token
                    status, body = get(port, path, auth)
                    if status != 200 or '"services"' not in body:
                        raise RuntimeError(f"{name}: {status} {body!r}")
                elif "authtoken" in name and "Hello, admin!" not in answer:
                    raise RuntimeError(f"{name}: not authenticated: {answer!r}")
                wrk(port, auth, 1, path)  # warm-up
                before = cpu_ticks(proc.pid)
                res = wrk(port, auth, SECONDS, path)
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
        f"| server (1 worker, wrk -c{CONNS}, median of {ROUNDS} x {SECONDS} s) | path | req/s | p50 ms | p99 ms | server CPU µs/request | req/s vs its noauth |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    bases = {"demo-api": "demo-api noauth2", "fjord": "fjord noauth", "python": "python noauth"}
    for name, _ in table:
        base = med[bases[name.split(" ")[0]]]["rps"]
        m = med[name]
        path = "/v1/services" if name.startswith("demo-api") else "/hello"
        lines.append(f"| {name} | {path} | {m['rps']:.0f} | {m['p50']:.2f} | {m['p99']:.2f} | "
                     f"{m['cpu_us']:.1f} | {100 * m['rps'] / base:.0f}% |")
    lines.append("")
    for label, auth, noauth in (("demo-api's keystone strategy", "demo-api keystone", "demo-api noauth2"),
                                ("the authtoken filter alone (hello app)", "fjord authtoken", "fjord noauth")):
        cost = 100 * (1 - med[auth]["rps"] / med[noauth]["rps"])
        verdict = "met" if cost <= 10 else "NOT met"
        cpu = med[auth]["cpu_us"] - med[noauth]["cpu_us"]
        lines.append(f"- {label}: the cached token path costs {cost:.1f}% of req/s "
                     f"(target <= 10%: {verdict}) and {cpu:.1f} µs of server CPU per request.")
    lines.append("")
    lines.append(f"fjord authtoken serves {med['fjord authtoken']['rps'] / med['python authtoken (keystonemiddleware)']['rps']:.1f}x "
                 "keystonemiddleware's req/s.")
    table_md = "\n".join(lines)
    print(table_md)
    with open(os.path.join(ROOT, "bench", "results", "keystone.md"), "w") as f:
        f.write("# Keystone token auth: the cached authtoken path\n\n"
                "`bench/keystone_bench.py` (its docstring says what runs how). "
                f"fjord built with `--profile {PROFILE}`; machine: 2 cores shared by wrk and the "
                f"server (load average before the last round {os.getloadavg()[0]:.1f}), "
                "so compare rows of the same run only.\n\n"
                + table_md + "\n")


if __name__ == "__main__":
    main()
