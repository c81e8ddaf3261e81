"""Python oslo.messaging client sending an oslo.context RequestContext to a
fjord server (whose `context_fields` endpoint rebuilds it).

Usage: py_context_client.py URL TOPIC
Prints one JSON object: the context's attributes and the dict sent (nova's
to_dict: oslo.context's keys plus nova's own), what the fjord server
returned, and the remote error for a context with a malformed key.
"""
import json
import sys

from oslo_config import cfg
from oslo_context import context
import oslo_messaging as om

FIELDS = [
    "request_id", "global_request_id", "auth_token", "user_id",
    "project_id", "domain_id", "user_domain_id", "project_domain_id",
    "user_name", "project_name", "domain_name", "user_domain_name",
    "project_domain_name", "roles", "is_admin", "is_admin_project",
    "read_only", "show_deleted", "resource_uuid", "system_scope",
]


def main():
    url, topic = sys.argv[1:3]
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(conf, url=url)
    client = om.get_rpc_client(transport, om.Target(topic=topic), timeout=20)

    ctx = context.RequestContext(
        auth_token="gAAAAABpy-token", user_id="u-py", project_id="p-py",
        domain_id="d-py", user_domain_id="default", project_domain_id="pd-py",
        is_admin=True, read_only=True, show_deleted=True,
        request_id="req-0b9e1c2a-1111-4222-8333-444455556666",
        global_request_id="req-0b9e1c2a-aaaa-4bbb-8ccc-ddddeeeeffff",
        resource_uuid="res-1", roles=["admin", "member", "reader"],
        user_name="alice", project_name="demo", is_admin_project=False,
        system_scope="all",
    )
    sent = ctx.to_dict()
    # What nova's RequestContext.to_dict() adds (fjord keeps unknown keys).
    sent.update({
        "user_id": ctx.user_id, "user_name": ctx.user_name,
        "project_name": ctx.project_name, "read_deleted": "yes",
        "remote_address": "127.0.0.1", "timestamp": "2026-12-06T18:00:00.000000",
        "quota_class": None, "service_catalog": [{"type": "image", "name": "glance"}],
    })
    out = {
        "fields": {f: getattr(ctx, f) for f in FIELDS},
        "sent": sent,
        "got": client.call(sent, "context_fields"),
    }
    bad = dict(sent, roles="admin")
    try:
        client.call(bad, "context_fields")
        out["bad"] = "no error"
    except ValueError as e:
        out["bad"] = {"type": type(e).__name__, "first_line": str(e).split("\n")[0]}
    out["after_bad"] = client.call(sent, "context_fields")["fields"]["user_id"]
    print(json.dumps(out), flush=True)
    transport.cleanup()


if __name__ == "__main__":
    main()
