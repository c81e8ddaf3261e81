"""Python oslo.messaging client trading versioned objects with a server of
the `rpc_server` API (fjord's example, or py_objects_server.py): the same
calls against either give the same output.

Usage: py_objects_client.py URL TOPIC current
       py_objects_client.py URL TOPIC old CONDUCTOR_TOPIC

"current": py_objects_schema's current release. Sends widgets (at 1.2 and,
as a raw primitive, at 1.1) and a nova-like DemoMachine (nested widget,
list of parts, datetimes, unset fields); makes widgets at 1.2, 1.1 and
1.0; sends a full oslo.context RequestContext; then malformed primitives
(each must be a remote error), and a call after them.

"old": the old release (DemoWidget 1.0): a widget made at 1.0 by the
server loads directly; one made at 1.2 fails without an indirection API
and, with one (`ConductorAPI` on CONDUCTOR_TOPIC), is backported by that
conductor to the manifest {"DemoWidget": "1.0"}.

Prints one JSON object.
"""
import datetime
import json
import os
import sys

from oslo_config import cfg
from oslo_context import context as oslo_context
import oslo_messaging as om

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import py_objects_schema as schema  # noqa: E402

S = "fjord_object"


def normal(prim):
    """A primitive with every `changes` list sorted (they come from sets)."""
    if isinstance(prim, dict):
        out = {k: normal(v) for k, v in prim.items()}
        if S + ".changes" in out:
            out[S + ".changes"] = sorted(out[S + ".changes"])
        return out
    if isinstance(prim, list):
        return [normal(v) for v in prim]
    return prim


def describe(obj):
    """What a Python receiver sees of an object: class, instance version,
    changes, and its primitive."""
    if not isinstance(obj, schema.FjordObject):
        return {"not_an_object": repr(obj)}
    return {
        "class": type(obj).__name__,
        "version": obj.VERSION,
        "changed": sorted(obj.obj_what_changed()),
        "set": sorted(k for k in obj.fields if obj.obj_attr_is_set(k)),
        "primitive": normal(obj.obj_to_primitive()),
    }


def same(a, b):
    """Two loaded objects are equal field by field (datetimes by instant,
    unset vs None kept apart, nested objects recursively)."""
    if isinstance(a, schema.FjordObject) or isinstance(b, schema.FjordObject):
        if type(a) is not type(b) or a.VERSION != b.VERSION:
            return False
        if set(a.obj_what_changed()) != set(b.obj_what_changed()):
            return False
        for k in a.fields:
            if a.obj_attr_is_set(k) != b.obj_attr_is_set(k):
                return False
            if a.obj_attr_is_set(k) and not same(getattr(a, k), getattr(b, k)):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def error(e):
    """A remote error as the caller reads it: the exception class (without
    oslo.messaging's `_Remote` suffix) and the first line of its message
    (the rest is the remote traceback)."""
    msg = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
    name = type(e).__name__
    if name.endswith("_Remote"):
        name = name[:-len("_Remote")]
    return {"type": name, "first_line": msg.split("\n")[0]}


def widget_prim(**data):
    return {S + ".name": "DemoWidget", S + ".namespace": "fjord",
            S + ".version": "1.2", S + ".data": data}


def run_current(client, c):
    ctx = oslo_context.RequestContext(
        user_id="u-py", project_id="p-py", roles=["member"],
        request_id="req-11111111-2222-4333-8444-555555555555",
        global_request_id="req-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        auth_token="tok-py", is_admin=False, read_only=True,
        system_scope=None, user_name="alice", project_name="demo")
    out = {}

    w = c.DemoWidget(id=1, name="gear", tags=["a", "b"], owner="alice")
    out["rename"] = describe(client.call(ctx, "widget_rename", widget=w,
                                         name="cog"))
    # A 1.1 sender's widget (no owner) stays 1.1; as a raw primitive: the
    # serializer passes dicts through.
    w11 = c.DemoWidget(id=2, name="old", tags=["x"])
    out["rename_11"] = describe(client.call(
        ctx, "widget_rename", widget=w11.obj_to_primitive(target_version="1.1"),
        name="older"))
    out["make"] = describe(client.call(ctx, "widget_make", id=7, name="gear"))
    out["make_11"] = describe(client.call(ctx, "widget_make", id=7,
                                          name="gear", target_version="1.1"))
    out["make_10"] = describe(client.call(ctx, "widget_make", id=7,
                                          name="gear", target_version="1.0"))

    utc = datetime.timezone.utc
    m = c.DemoMachine(
        uuid="0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", name="m1",
        created_at=datetime.datetime(2024, 2, 29, 13, 45, 30, tzinfo=utc),
        widget=c.DemoWidget(id=3, name="inner", tags=[], owner=None),
        parts=[c.DemoPart(id=1, label="p1",
                          made_at=datetime.datetime(2023, 1, 2, 3, 4, 5,
                                                    tzinfo=utc)),
               c.DemoPart(id=2, label="p2")],  # made_at unset
        metadata={"k": "v", "empty": ""}, note=None)
    # updated_at unset. A nested object with no changes of its own:
    m.parts[1].obj_reset_changes()
    got = client.call(ctx, "machine_echo", machine=m)
    out["machine"] = describe(got)
    out["machine_same"] = same(m, got)
    out["machine_part2_made_at_set"] = got.parts[1].obj_attr_is_set("made_at")
    out["machine_updated_at_set"] = got.obj_attr_is_set("updated_at")
    # A machine with no widget and no parts.
    bare = c.DemoMachine(uuid="u", name="bare",
                         created_at=datetime.datetime(2024, 1, 1, tzinfo=utc),
                         widget=None, parts=[], metadata={})
    got = client.call(ctx, "machine_echo", machine=bare)
    out["machine_bare_same"] = same(bare, got)

    out["context_sent"] = ctx.to_dict()
    out["context_got"] = client.call(ctx, "context_fields")

    bad = {
        "missing_data": {k: v for k, v in widget_prim(id=1, name="x").items()
                         if k != S + ".data"},
        "missing_name_key": {k: v for k, v in widget_prim(id=1).items()
                             if k != S + ".namespace"},
        "wrong_namespace": dict(widget_prim(id=1, name="x"),
                                **{S + ".namespace": "nova"}),
        "unknown_object": dict(widget_prim(id=1, name="x"),
                               **{S + ".name": "DemoGizmo"}),
        "bad_version": dict(widget_prim(id=1, name="x"),
                            **{S + ".version": "one.two"}),
        "newer_version": dict(widget_prim(id=1, name="x", color="red"),
                              **{S + ".version": "1.3"}),
        "wrong_field_type": widget_prim(id="abc", name="x"),
        "null_name": widget_prim(id=1, name=None),
        "tags_not_list": widget_prim(id=1, name="x", tags=5),
    }
    out["bad"] = {}
    for label, prim in bad.items():
        try:
            r = client.call(ctx, "widget_rename", widget=prim, name="y")
            out["bad"][label] = {"no_error": describe(r)}
        except Exception as e:  # noqa: BLE001 - every failure is recorded
            out["bad"][label] = error(e)
    out["after_bad"] = describe(client.call(ctx, "widget_rename", widget=w,
                                            name="still"))
    return out


def run_old(transport, client, c, conductor_topic):
    ctx = oslo_context.RequestContext(user_id="u-old", project_id="p-old")
    out = {}
    out["make_10"] = describe(client.call(ctx, "widget_make", id=7,
                                          name="gear", target_version="1.0"))
    try:
        r = client.call(ctx, "widget_make", id=7, name="gear")
        out["make_no_indirection"] = {"no_error": describe(r)}
    except Exception as e:  # noqa: BLE001
        out["make_no_indirection"] = error(e)
    api = schema.ConductorAPI(transport, conductor_topic)
    schema.FjordObject.indirection_api = api
    out["make_backported"] = describe(client.call(ctx, "widget_make", id=7,
                                                  name="gear"))
    out["backport_calls"] = api.backport_calls
    # An old machine to a newer server comes back at the old version.
    m = c.DemoMachine(uuid="u", name="old-m",
                      created_at=datetime.datetime(2024, 1, 1,
                                                   tzinfo=datetime.timezone.utc),
                      widget=c.DemoWidget(id=1, name="w"),
                      parts=[c.DemoPart(id=1, label="p")], metadata={})
    got = client.call(ctx, "machine_echo", machine=m)
    out["machine"] = describe(got)
    out["machine_same"] = same(m, got)
    return out


def main():
    url, topic, mode = sys.argv[1:4]
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(
        conf, url=url, allowed_remote_exmods=["oslo_versionedobjects.exception"])
    client = om.get_rpc_client(transport, om.Target(topic=topic, version="1.0"),
                               serializer=schema.serializer(), timeout=20)
    if mode == "current":
        out = run_current(client, schema.define("current"))
    elif mode == "old":
        out = run_old(transport, client, schema.define("old"), sys.argv[4])
    else:
        raise SystemExit("unknown mode %r" % mode)
    print(json.dumps(out, sort_keys=True), flush=True)
    transport.cleanup()


if __name__ == "__main__":
    main()
