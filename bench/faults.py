#!/usr/bin/env python3
"""The fault table: runs the fault tests (crates/*/tests/it/fault_*.rs) with
their output shown, collects the `FAULT ...` lines they print (fjord and,
beside it, Python oslo.messaging in the same scenario) and writes
bench/results/faults.md.

Needs what the tests need: the throwaway RabbitMQ cluster
(scripts/rabbitmq-cluster.sh start), RabbitMQ on 127.0.0.1:5672, root for
the throwaway PostgreSQL, the oslo.messaging venv. Nothing may skip
(FJORD_REQUIRE_SERVICES=1). Bounded: each cargo run has 15 minutes.

Usage: bench/faults.py [--runs N] [--out bench/results/faults.md]
  --runs  how many times to run the tests (default 3): the table shows
          every run's figure, as faults move a lot from one run to the next
          (which connections the lost node held, where a heartbeat check
          fell)
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUNS = [
    ["cargo", "test", "-q", "-p", "fjord-messaging", "--test", "it", "fault_", "--", "--nocapture"],
    ["cargo", "test", "-q", "-p", "fjord-servicegroup", "--test", "it", "fault_", "--", "--nocapture"],
]

RPC = re.compile(
    r"FAULT (?P<who>fjord|python) (?P<scenario>.+?): calls (?P<calls>\d+) failed (?P<failed>\d+) "
    r"\(in flight (?P<inflight>\d+) failed (?P<inflight_failed>\d+)\) hung (?P<hung>\d+) "
    r"longest (?P<longest>[\d.]+)s; no call succeeded for (?P<outage>[\d.]+)s; "
    r"recovered in (?P<recovery>never|[\d.]+s);(?: failed after recovery \d+;)? "
    r"casts confirmed (?P<casts>\d+) lost (?P<lost>\d+)"
)

# What each implementation did, by scenario (the tests assert fjord's).
DID = {
    ("fjord", "node loss"): "server and client reconnect to another node by themselves (round-robin from the next host), re-declare their queues and consume; quorum queues keep every confirmed cast",
    ("python", "node loss"): "kombu reconnects to another node; calls in flight at the loss time out",
    ("fjord", "silent broker, same host"): "AMQP heartbeat gives the silent connections up at the threshold (fjord proposes half of it); new connections wait on the proxy until it forwards; calls end at their timeout",
    ("fjord", "silent broker, next host"): "heartbeat gives the silent host up at the threshold; the next attempt goes to the other host",
    ("python", "silent broker, next host"): "py-amqp gives the connection up after two heartbeat intervals (2x the threshold); calls wait past their timeout meanwhile",
    ("fjord", "broker restart"): "calls end at their timeout (no-retry calls fail in ~1 ms); the server and the reply listener reconnect and re-declare by themselves when the broker is back",
    ("python", "broker restart"): "calls block in the publish retry loop past their timeout until the broker is back",
}


def did(who, scenario):
    for (w, s), text in DID.items():
        if w == who and scenario.startswith(s):
            return text
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results/faults.md"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    env = dict(os.environ, FJORD_REQUIRE_SERVICES="1")
    lines = []
    for cmd in RUNS * a.runs:
        print("+", " ".join(cmd), flush=True)
        p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=900)
        sys.stdout.write("".join(l + "\n" for l in p.stdout.splitlines() if l.startswith(("FAULT", "test result"))))
        if p.returncode != 0:
            sys.stdout.write(p.stdout[-4000:])
            sys.exit("faults.py: %s failed" % " ".join(cmd))
        lines += [l for l in p.stdout.splitlines() if l.startswith("FAULT ")]

    groups, other = {}, []
    for l in lines:
        m = RPC.match(l)
        if m:
            r = m.groupdict()
            key = (r["scenario"].split(" (")[0], r["who"])
            groups.setdefault(key, []).append(r)
        else:
            other.append(l[len("FAULT "):])
    out = []
    out.append("# Faults: what fjord does, and Python oslo.messaging beside it\n")
    out.append("Measured by `bench/faults.py` (the fault tests, `crates/*/tests/it/fault_*.rs`, "
               "run with `--nocapture`; each test asserts fjord's side and prints these figures) on %s, "
               "%d runs (each cell: run 1 · run 2 · ...), 2 cores shared with other work. Calls: `echo` in a "
               "loop from several callers (node loss 4 callers, 5 s timeout; the others 2 callers, 3 s "
               "timeout), plus one caster sending a numbered `note` every 20 ms. Counted from the fault's "
               "start to the end of the window (recovery plus a few seconds of steady load).\n"
               % (datetime.date.today().isoformat(), a.runs))
    out.append("| scenario | who | what it did | calls | failed | of them in flight at the fault | hung | "
               "longest call (s) | no call succeeded for (s) | casts confirmed after the fault | casts lost |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for (scenario, who), rs in sorted(groups.items()):
        col = lambda k: " · ".join(r[k] for r in rs)  # noqa: E731
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            scenario, "fjord" if who == "fjord" else "oslo.messaging", did(who, scenario),
            col("calls"), col("failed"), " · ".join("%s of %s" % (r["inflight_failed"], r["inflight"]) for r in rs),
            col("hung"), col("longest"), col("outage"), col("casts"), col("lost")))
    out.append("")
    out.append("Scenarios: **node loss**: a three-node cluster (`scripts/rabbitmq-cluster.sh`), "
               "`rabbit_quorum_queue = true`, every node in `transport_url`, `rabbitmqctl stop_app` on the node "
               "the server consumes through (for fjord also the client's reply queue); fjord's test does it "
               "twice (the node returns, then the node the server moved to goes). **silent broker**: a loopback "
               "proxy stops forwarding without closing (`heartbeat_timeout_threshold = 4`); *same host*: the "
               "proxy forwards again after 6 s; *next host*: two proxies in the URL, the busier one stays silent. "
               "**broker restart**: `stop_app`, 5 s, `start_app` on the only node of the URL "
               "(`amqp_durable_queues = true`).\n")
    out.append("PostgreSQL (service records, `report_interval` 0.3 s, `service_down_time` 3 s, a throwaway "
               "server of the test's own, a reader polling the record every 50 ms):\n")
    for l in other:
        out.append("- " + l)
    out.append("")
    out.append("Raw lines:\n\n```")
    out += lines
    out.append("```")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print("faults.py: wrote", a.out)


if __name__ == "__main__":
    main()
