"""Python oslo.messaging under a fault, for comparison with fjord
(tests/it/fault_*.rs): an RPCServer and an RPCClient in one process on URL
(oslo's defaults but for the options below), CALLERS threads calling `echo`
(timeout --timeout s) and one casting numbered `note`s every 20 ms.

Usage: py_fault_peer.py URL TOPIC [--queues quorum|durable|plain]
                       [--heartbeat SECONDS] [--timeout SECONDS] [--callers N]
  --queues     quorum: rabbit_quorum_queue; durable: amqp_durable_queues;
               plain: neither (default quorum)
  --heartbeat  heartbeat_timeout_threshold (default 10)
  --interval-max  rabbit_interval_max (default 30, oslo's)
Prints "ready" once a call succeeded. Then reads commands on stdin:
  fault   marks the fault's start (the test stops a node right after);
          prints "marked"
  stopped marks the end of the stop command (recovery counts from it);
          prints "recovered" once a call started after it succeeded
  report  stops the load, waits up to 10 s for the casts, prints one line
          of JSON with the figures of the fault, and exits
"""
import argparse
import json
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as om

HANG_MARGIN = 5


class Endpoint(object):
    def __init__(self):
        self.notes = set()
        self.lock = threading.Lock()

    def echo(self, ctxt, value):
        return value

    def note(self, ctxt, n):
        with self.lock:
            self.notes.add(n)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("topic")
    p.add_argument("--queues", default="quorum", choices=["quorum", "durable", "plain"])
    p.add_argument("--heartbeat", type=int, default=10)
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("--callers", type=int, default=4)
    p.add_argument("--interval-max", type=int, default=30)
    a = p.parse_args()
    url, topic, call_timeout = a.url, a.topic, a.timeout
    conf = cfg.CONF
    conf([], project="fjord-fault")
    transport = om.get_rpc_transport(conf, url=url)
    group = "oslo_messaging_rabbit"
    conf.set_override("rabbit_quorum_queue", a.queues == "quorum", group=group)
    conf.set_override("amqp_durable_queues", a.queues == "durable", group=group)
    conf.set_override("heartbeat_timeout_threshold", a.heartbeat, group=group)
    conf.set_override("rabbit_interval_max", a.interval_max, group=group)
    endpoint = Endpoint()
    srv = om.get_rpc_server(transport, om.Target(topic=topic, server="pys1"),
                            [endpoint], executor="threading")
    srv.start()
    client = om.get_rpc_client(transport, om.Target(topic=topic), timeout=call_timeout)

    calls = []  # (started, ended, ok, error)
    busy = {}  # thread -> start of the call in progress
    casts = []  # (n, confirmed at)
    stop = threading.Event()
    lock = threading.Lock()

    def caller(i):
        k = 0
        while not stop.is_set():
            k += 1
            started = time.monotonic()
            busy[i] = started
            try:
                ok = client.call({}, "echo", value=[i, k]) == [i, k]
                err = None
            except Exception as e:  # noqa: B902 - every failure is counted
                ok, err = False, "%s: %s" % (type(e).__name__, str(e)[:120])
            busy.pop(i, None)
            with lock:
                calls.append((started, time.monotonic(), ok, err))
            if not ok:
                time.sleep(0.05)

    def caster():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                client.cast({}, "note", n=n)
                with lock:
                    casts.append((n, time.monotonic()))
            except Exception:  # noqa: B902 - an unconfirmed cast is not counted
                pass
            time.sleep(0.02)

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(a.callers)]
    threads.append(threading.Thread(target=caster, daemon=True))
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(c[2] for c in calls):
        time.sleep(0.05)
    print("ready", flush=True)

    def watch_recovery(since):
        # Prints "recovered" once a call started after `since` succeeded.
        while not stop.is_set():
            with lock:
                done = any(c[2] and c[0] >= since for c in calls)
            if done:
                print("recovered", flush=True)
                return
            time.sleep(0.05)

    t_fault = t_back = None
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "fault":
            t_fault = t_back = time.monotonic()
            print("marked", flush=True)
        elif cmd == "stopped":
            t_back = time.monotonic()
            threading.Thread(target=watch_recovery, args=(t_back,), daemon=True).start()
        elif cmd == "report":
            break
    until = time.monotonic()
    stop.set()
    for t in threads:
        t.join(call_timeout + HANG_MARGIN)
    now = time.monotonic()
    hung = sum(1 for s in busy.values() if now - s > call_timeout + HANG_MARGIN)
    with lock:
        window = [c for c in calls if c[1] >= t_fault and c[0] < until]
        oks = sorted(c[1] for c in calls if c[2])
        confirmed_after = [n for n, at in casts if at >= t_fault]
        confirmed = [n for n, _ in casts]
    first_ok = min((c[1] for c in calls if c[0] >= t_back and c[2]), default=None)
    prev = max((e for e in oks if e < t_fault), default=t_fault)
    gap = 0.0
    for e in oks:
        if prev <= e <= until:
            gap = max(gap, e - prev)
            prev = e
    gap = max(gap, until - prev)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        with endpoint.lock:
            lost = [n for n in confirmed if n not in endpoint.notes]
        if not lost:
            break
        time.sleep(0.1)
    lost_after = [n for n in lost if n in set(confirmed_after)]
    errors = sorted(set(c[3] for c in window if c[3]))
    print(json.dumps({
        "calls": len(window),
        "failed": sum(1 for c in window if not c[2]),
        "in_flight": sum(1 for c in window if c[0] < t_fault),
        "in_flight_failed": sum(1 for c in window if c[0] < t_fault and not c[2]),
        "hung": hung,
        "longest": max((c[1] - c[0] for c in window), default=0.0),
        "outage": gap,
        "recovery": None if first_ok is None else first_ok - t_back,
        "casts_confirmed_after": len(confirmed_after),
        "casts_lost_after": len(lost_after),
        "casts_lost": len(lost),
        "errors": errors[:5],
    }), flush=True)
    # The connections may be stuck on the lost node: do not wait for them.
    import os
    os._exit(0)


if __name__ == "__main__":
    main()
