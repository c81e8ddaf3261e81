"""Python oslo.messaging + oslo.versionedobjects client of a fjord server
that serves objects (tests/it/interop_python.rs).

Usage: py_objects_client.py URL TOPIC
Declares nova-like Flavor 1.2 (and a Flavor 1.3 in a second registry, as a
newer release would), calls the fjord server through a
VersionedObjectSerializer inside the RPC client, and prints one JSON
object: what came back for each call.
"""
import datetime
import json
import sys
import warnings

warnings.simplefilter("ignore")

from oslo_config import cfg
import oslo_messaging as om
from oslo_versionedobjects import base, exception, fields


class NovaObject(base.VersionedObject):
    OBJ_SERIAL_NAMESPACE = "nova_object"
    OBJ_PROJECT_NAMESPACE = "nova"


FLAVOR_FIELDS = {
    "id": fields.IntegerField(), "name": fields.StringField(nullable=True),
    "memory_mb": fields.IntegerField(), "vcpus": fields.IntegerField(),
    "root_gb": fields.IntegerField(), "ephemeral_gb": fields.IntegerField(),
    "flavorid": fields.StringField(), "swap": fields.IntegerField(),
    "rxtx_factor": fields.FloatField(nullable=True, default=1.0),
    "vcpu_weight": fields.IntegerField(nullable=True),
    "disabled": fields.BooleanField(), "is_public": fields.BooleanField(),
    "extra_specs": fields.DictOfStringsField(), "projects": fields.ListOfStringsField(),
    "description": fields.StringField(nullable=True),
    "created_at": fields.DateTimeField(nullable=True),
    "updated_at": fields.DateTimeField(nullable=True),
    "deleted_at": fields.DateTimeField(nullable=True),
    "deleted": fields.BooleanField(default=False),
}


class Flavor(NovaObject):
    VERSION = "1.2"
    fields = dict(FLAVOR_FIELDS)


base.VersionedObjectRegistry.register(Flavor)


class NovaSerializer(base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = NovaObject


def flavor():
    f = Flavor(id=1, name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0,
               flavorid="1", swap=0, rxtx_factor=1.0, vcpu_weight=None, disabled=False,
               is_public=True, extra_specs={"hw:cpu_policy": "dedicated"}, projects=[],
               description=None,
               created_at=datetime.datetime(2024, 2, 29, 13, 45, 30, 123456,
                                            tzinfo=datetime.timezone.utc),
               deleted=False)
    f.obj_reset_changes()
    return f


def err(e):
    return {"type": type(e).__name__, "module": type(e).__module__,
            "first_line": str(e).splitlines()[0] if str(e) else ""}


def main():
    url, topic = sys.argv[1:3]
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(conf, url=url, allowed_remote_exmods=[
        "oslo_versionedobjects.exception"])
    client = om.get_rpc_client(transport, om.Target(topic=topic), timeout=20,
                               serializer=NovaSerializer())
    ctx = {"request_id": "req-objects-1"}
    out = {}

    got = client.call(ctx, "flavor_rename", flavor=flavor(), name="m1.renamed")
    out["renamed"] = {
        "class": type(got).__name__, "version": got.VERSION, "name": got.name,
        "changed": sorted(got.obj_what_changed()), "id": got.id,
        "created_at": got.created_at.isoformat(), "extra_specs": got.extra_specs,
    }

    # A newer Flavor, as the next release would send it.
    newer = flavor().obj_to_primitive()
    newer["nova_object.version"] = "1.3"
    try:
        client.call(ctx, "flavor_rename", flavor=newer, name="x")
        out["newer"] = "accepted"
    except Exception as e:  # noqa: BLE001 - the error class is the result
        out["newer"] = err(e)
        out["newer"]["is_incompatible"] = isinstance(e, exception.IncompatibleObjectVersion)
        out["newer"]["kwargs"] = {k: e.kwargs.get(k) for k in ("objname", "objver", "supported")}

    # A field value the class refuses.
    bad = flavor().obj_to_primitive()
    bad["nova_object.data"]["vcpus"] = "many"
    try:
        client.call(ctx, "flavor_rename", flavor=bad, name="x")
        out["bad"] = "accepted"
    except Exception as e:  # noqa: BLE001
        out["bad"] = err(e)
        out["bad"]["is_value_error"] = isinstance(e, ValueError)

    # The server keeps serving; a backport on request.
    got = client.call(ctx, "flavor_make", target_version="1.1")
    out["made"] = {"version": got.VERSION, "has_description": got.obj_attr_is_set("description"),
                   "name": got.name}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
