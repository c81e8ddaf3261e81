"""Python oslo.messaging RPCClient driving a fjord RPC server.

Usage: py_client.py URL TOPIC SERVER
Prints one JSON object with what each call returned or raised.
"""
import json
import sys

from oslo_config import cfg
import oslo_messaging as om


def main():
    url, topic, server = sys.argv[1:4]
    # oslo.messaging registers its tracing options on the global CONF only.
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(conf, url=url)
    client = om.get_rpc_client(transport, om.Target(topic=topic), timeout=20)
    ctx = {"user_id": "u1", "roles": ["admin"], "auth_token": "dummy"}
    out = {}
    out["echo"] = client.call(ctx, "echo", value={"a": [1, "h\u00e9llo"], "n": None})
    out["add"] = client.call(ctx, "add", a=2, b=40)
    out["whoami"] = client.prepare(server=server).call(ctx, "whoami")
    out["ctx"] = client.call(ctx, "ctx")
    out["versioned"] = client.prepare(version="1.0").call(ctx, "echo", value=3)
    client.cast(ctx, "record")
    client.prepare(fanout=True).cast(ctx, "record")
    client.prepare(server=server).cast(ctx, "record")
    try:
        client.call(ctx, "fail", message="bad thing")
    except ValueError as e:
        out["fail"] = {"type": type(e).__name__, "first_line": str(e).split("\n")[0]}
    for name, c, method in [
        ("nope", client, "nope"),
        ("private", client, "_private"),
        ("version", client.prepare(version="3.0"), "echo"),
    ]:
        try:
            c.call(ctx, method, value=1)
        except om.RemoteError as e:
            out[name] = {"exc_type": e.exc_type, "value": e.value}
    out["monitored"] = client.prepare(call_monitor_timeout=2, timeout=30).call(
        ctx, "sleep", seconds=2.5)
    transport.cleanup()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
