"""Python oslo.messaging side of the messaging benchmark (bench/rpc_bench.py).

Same protocol and output as fjord's `rpc_bench` example:

  rpc_python_peer.py server URL TOPIC SERVER [MAX_SECS]
      serves echo(value), hit() (the cast target), reset_casts() and
      wait_casts(n, timeout); prints "ready"; stops when stdin closes or
      after MAX_SECS (default 600).
  rpc_python_peer.py client URL TOPIC CONCURRENCY CALLS MAX_SECS CASTS CAST_CONCURRENCY
      warms up, makes at most CALLS echo calls from CONCURRENCY threads
      within MAX_SECS, then sends CASTS casts from CAST_CONCURRENCY threads
      and waits until the server counted them all; prints one JSON line.

  --objects (either mode): the calls are widget_rename(widget, name) with
      a DemoWidget oslo.versionedobject (the schema of fjord's rpc_server
      example, crates/fjord-messaging/tests/python/py_objects_schema.py)
      through the project's serializer on both sides, as `rpc_bench
      --objects` does.

Uses the threading executor (oslo.messaging's default since eventlet's
deprecation).
"""
import json
import os
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as om


class Endpoint(object):
    def __init__(self):
        self.cond = threading.Condition()
        self.casts = 0

    def echo(self, ctxt, value):
        return value

    def widget_rename(self, ctxt, widget, name):
        widget.obj_reset_changes()
        widget.name = name
        return widget

    def hit(self, ctxt):
        with self.cond:
            self.casts += 1
            self.cond.notify_all()

    def reset_casts(self, ctxt):
        with self.cond:
            self.casts = 0

    def wait_casts(self, ctxt, n, timeout):
        end = time.monotonic() + min(float(timeout), 3600.0)
        with self.cond:
            while self.casts < n:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.casts


def transport_for(url):
    # oslo.messaging registers its tracing options on the global CONF only.
    conf = cfg.CONF
    conf([], project="fjord-bench")
    return om.get_rpc_transport(conf, url=url)


def server(url, topic, name, max_secs=600.0):
    transport = transport_for(url)
    srv = om.get_rpc_server(transport, om.Target(topic=topic, server=name),
                            [Endpoint()], executor="threading",
                            serializer=SCHEMA.serializer() if SCHEMA else None)
    srv.start()
    print("ready", flush=True)
    done = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait(max_secs)
    srv.stop()
    srv.wait()
    transport.cleanup()


def pct(sorted_lat, p):
    if not sorted_lat:
        return 0.0
    i = min(len(sorted_lat) - 1, int(round((len(sorted_lat) - 1) * p)))
    return sorted_lat[i] * 1e6


def one_call(rpc, ctx, i):
    """Call number i: echo(value=i), or with --objects widget_rename of a
    DemoWidget with id i; checks the result."""
    if SCHEMA is None:
        v = rpc.call(ctx, "echo", value=i)
        if v != i:
            raise ValueError("echo(%d) returned %r" % (i, v))
        return
    w = CLASSES.DemoWidget(id=i, name="widget %d" % i,
                           tags=["bench", "objects"], owner=None)
    v = rpc.call(ctx, "widget_rename", widget=w, name="w%d" % i)
    if v.id != i or v.name != "w%d" % i:
        raise ValueError("widget_rename(%d) returned %r" % (i, v))


def client(url, topic, concurrency, calls, max_secs, casts, cast_concurrency):
    transport = transport_for(url)
    rpc = om.get_rpc_client(transport, om.Target(topic=topic), timeout=90,
                            serializer=SCHEMA.serializer() if SCHEMA else None)
    ctx = SCHEMA.oslo_context.RequestContext() if SCHEMA else {}
    for i in range(50):
        one_call(rpc, ctx, i)
    lock = threading.Lock()
    counter = [0]
    errors = []
    lats = []
    deadline = time.monotonic() + max_secs

    def take(total):
        with lock:
            i = counter[0]
            counter[0] += 1
        return i if i < total else None

    def caller():
        mine = []
        try:
            while time.monotonic() < deadline:
                i = take(calls)
                if i is None:
                    break
                t = time.perf_counter()
                one_call(rpc, ctx, i)
                mine.append(time.perf_counter() - t)
        except Exception as e:  # reported, not hidden
            errors.append(repr(e))
        with lock:
            lats.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=caller) for _ in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    call_secs = time.perf_counter() - t0
    if errors:
        raise SystemExit("calls failed: %s" % errors[:3])
    lats.sort()
    out = {
        "concurrency": concurrency,
        "calls": len(lats),
        "call_secs": call_secs,
        "calls_per_s": len(lats) / call_secs,
        "p50_us": pct(lats, 0.50),
        "p99_us": pct(lats, 0.99),
    }
    if casts > 0:
        rpc.call(ctx, "reset_casts")
        counter[0] = 0

        def caster():
            try:
                while take(casts) is not None:
                    rpc.cast(ctx, "hit")
            except Exception as e:
                errors.append(repr(e))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=caster) for _ in range(max(1, cast_concurrency))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent_secs = time.perf_counter() - t0
        if errors:
            raise SystemExit("casts failed: %s" % errors[:3])
        got = rpc.call(ctx, "wait_casts", n=casts, timeout=60)
        secs = time.perf_counter() - t0
        if got < casts:
            raise SystemExit("only %d of %d casts arrived within 60 s" % (got, casts))
        out.update({
            "casts": casts,
            "cast_concurrency": cast_concurrency,
            "casts_sent_per_s": casts / sent_secs,
            "casts_per_s": casts / secs,
        })
    transport.cleanup()
    print(json.dumps(out), flush=True)


SCHEMA = None
CLASSES = None


def main():
    global SCHEMA, CLASSES
    argv = [x for x in sys.argv if x != "--objects"]
    if len(argv) != len(sys.argv):
        sys.path.insert(0, os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            "crates", "fjord-messaging", "tests", "python"))
        import py_objects_schema
        SCHEMA = py_objects_schema
        CLASSES = py_objects_schema.define("current")
    mode = argv[1] if len(argv) > 1 else ""
    a = argv[2:]
    if mode == "server" and len(a) in (3, 4):
        server(a[0], a[1], a[2], float(a[3]) if len(a) == 4 else 600.0)
    elif mode == "client" and len(a) == 7:
        client(a[0], a[1], int(a[2]), int(a[3]), float(a[4]), int(a[5]), int(a[6]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
