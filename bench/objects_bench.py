"""Versioned objects benchmark (named *_bench.py so it shadows no stdlib
module): fjord-objects against Python oslo.versionedobjects 3.12, in one run.

The object: a nova-Instance-sized object as the fixtures declare it
(Instance 2.8: 31 fields, a nested Flavor 1.2, a KeyPairList 1.3 of three
KeyPairs, a 5-key metadata and an 11-key system_metadata dict), the same
values on both sides. Measured, objects per second:
  * serialize: obj_to_primitive() + JSON text (jsonutils.dumps / obj_to_json);
  * deserialize: JSON text -> object (jsonutils.loads + obj_from_primitive /
    obj_from_json; and fjord's serde_json::Value + obj_from_primitive path);
  * an RPC argument on a fjord server: the arguments parsed to a Value,
    checked by ObjectSerializer.deserialize_entity, then the endpoint's
    typed object (against Python's deserialize: its serializer loads the
    object once and hands it to the endpoint);
  * round trip: both.
Python runs in the oslo venv (FJORD_OSLO_VENV, else .venv at the repository
root); fjord is `cargo bench -p fjord-objects --bench objects_bench -- --json`
(the release profile). Every loop is bounded by a count and BENCH_SECS
seconds; each is run 5 times and the median is shown. Prints a Markdown
table and writes bench/results/objects.md.
"""
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECS = float(os.environ.get("BENCH_SECS", "2"))
VENV = os.environ.get("FJORD_OSLO_VENV", os.path.join(ROOT, ".venv"))
TARGET = 20.0  # fjord / Python, objects per second

PYTHON_SIDE = textwrap.dedent(r'''
    import datetime, json, statistics, sys, time, warnings
    warnings.simplefilter("ignore")
    from oslo_serialization import jsonutils
    from oslo_versionedobjects import base, fields

    SECS = float(sys.argv[1])

    @base.VersionedObjectRegistry.register
    class Flavor(base.VersionedObject):
        OBJ_SERIAL_NAMESPACE = "nova_object"; OBJ_PROJECT_NAMESPACE = "nova"
        VERSION = "1.2"
        fields = {
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

    @base.VersionedObjectRegistry.register
    class KeyPair(base.VersionedObject):
        OBJ_SERIAL_NAMESPACE = "nova_object"; OBJ_PROJECT_NAMESPACE = "nova"
        VERSION = "1.4"
        fields = {
            "id": fields.IntegerField(), "name": fields.StringField(nullable=False),
            "user_id": fields.StringField(nullable=True), "fingerprint": fields.StringField(nullable=True),
            "public_key": fields.StringField(nullable=True),
            "type": fields.EnumField(["ssh", "x509"]),
            "created_at": fields.DateTimeField(nullable=True),
            "updated_at": fields.DateTimeField(nullable=True),
            "deleted_at": fields.DateTimeField(nullable=True),
            "deleted": fields.BooleanField(default=False),
        }

    @base.VersionedObjectRegistry.register
    class KeyPairList(base.ObjectListBase, base.VersionedObject):
        OBJ_SERIAL_NAMESPACE = "nova_object"; OBJ_PROJECT_NAMESPACE = "nova"
        VERSION = "1.3"
        fields = {"objects": fields.ListOfObjectsField("KeyPair")}

    @base.VersionedObjectRegistry.register
    class Instance(base.VersionedObject):
        OBJ_SERIAL_NAMESPACE = "nova_object"; OBJ_PROJECT_NAMESPACE = "nova"
        VERSION = "2.8"
        fields = {
            "id": fields.IntegerField(), "uuid": fields.UUIDField(),
            "user_id": fields.StringField(nullable=True), "project_id": fields.StringField(nullable=True),
            "hostname": fields.StringField(nullable=True), "display_name": fields.StringField(nullable=True),
            "display_description": fields.StringField(nullable=True),
            "vm_state": fields.StringField(nullable=True), "task_state": fields.StringField(nullable=True),
            "power_state": fields.IntegerField(nullable=True),
            "memory_mb": fields.IntegerField(nullable=True), "vcpus": fields.IntegerField(nullable=True),
            "host": fields.StringField(nullable=True), "node": fields.StringField(nullable=True),
            "launched_at": fields.DateTimeField(nullable=True),
            "terminated_at": fields.DateTimeField(nullable=True),
            "access_ip_v4": fields.IPV4AddressField(nullable=True),
            "access_ip_v6": fields.IPV6AddressField(nullable=True),
            "locked": fields.BooleanField(default=False),
            "metadata": fields.DictOfStringsField(),
            "system_metadata": fields.DictOfNullableStringsField(),
            "flavor": fields.ObjectField("Flavor"),
            "old_flavor": fields.ObjectField("Flavor", nullable=True),
            "new_flavor": fields.ObjectField("Flavor", nullable=True),
            "keypairs": fields.ObjectField("KeyPairList"),
            "hidden": fields.BooleanField(default=False),
            "compute_id": fields.IntegerField(nullable=True),
            "created_at": fields.DateTimeField(nullable=True),
            "updated_at": fields.DateTimeField(nullable=True),
            "deleted_at": fields.DateTimeField(nullable=True),
            "deleted": fields.BooleanField(default=False),
        }

    dt = datetime.datetime(2024, 2, 29, 13, 45, 30, tzinfo=datetime.timezone.utc)
    f = Flavor(id=1, name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0,
               flavorid="1", swap=0, rxtx_factor=1.0, vcpu_weight=None, disabled=False,
               is_public=True, extra_specs={"hw:cpu_policy": "dedicated"}, projects=["p1", "p2"],
               description="tiny flavor", created_at=dt, deleted=False)
    kps = [KeyPair(id=i, name="key-%d" % i, user_id="user-123", fingerprint="aa:bb:cc:dd",
                   public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq5 user@host", type="ssh",
                   created_at=dt, deleted=False) for i in range(3)]
    inst = Instance(id=101, uuid="b2d6a1e4-3f57-4c7e-9d1a-0c8e5f6a7b91", user_id="user-123",
                    project_id="proj-456", hostname="vm-1", display_name="caf\u00e9 \u2603 \u5b9f\u4f8b",
                    vm_state="active", power_state=1, memory_mb=512, vcpus=1, host="compute-1",
                    node="node-1", launched_at=dt, access_ip_v4="192.0.2.10",
                    access_ip_v6="2001:db8::10", locked=False,
                    metadata={"key%d" % n: "value %d" % n for n in range(5)},
                    system_metadata=dict([("image_prop_%d" % n, "%d" % n) for n in range(10)]
                                         + [("image_kernel_id", None)]),
                    flavor=f, old_flavor=None, new_flavor=None,
                    keypairs=KeyPairList(objects=kps), hidden=False, compute_id=42,
                    created_at=dt, updated_at=dt, deleted=False)
    inst.obj_reset_changes(recursive=True)
    text = jsonutils.dumps(inst.obj_to_primitive())

    def rate(fn, max_ops=200000):
        rates = []
        for _ in range(5):
            start = time.perf_counter(); n = 0
            while n < max_ops:
                for _ in range(10):
                    fn()
                n += 10
                if time.perf_counter() - start > SECS:
                    break
            rates.append(n / (time.perf_counter() - start))
        return statistics.median(rates)

    def ser():
        jsonutils.dumps(inst.obj_to_primitive())

    def de():
        Instance.obj_from_primitive(jsonutils.loads(text))

    def both():
        Instance.obj_from_primitive(jsonutils.loads(jsonutils.dumps(inst.obj_to_primitive())))

    print(json.dumps({"serialize": rate(ser), "deserialize": rate(de), "round trip": rate(both),
                      "bytes": len(text)}))
''')


HEADER = """# Versioned objects: fjord-objects against oslo.versionedobjects

`bench/objects_bench.py` (BENCH_SECS=%(secs)s): objects per second for a
nova-Instance-sized object (Instance 2.8: 31 fields, a nested Flavor, a
KeyPairList of three KeyPairs, metadata dicts), the same values on both
sides, in one run on the same machine. fjord: `cargo bench -p fjord-objects
--bench objects_bench` (release profile, one thread); Python 3.11 with
oslo.versionedobjects 3.12.0 and oslo.serialization's jsonutils (one
thread). Median of 5 runs per case. Load average at the end of the run:
%(load)s (2 shared cores; both sides ran under the same load).

"""


READING = """Reading the table: "serialize" is `obj_to_json` (the primitive written
straight to text, Python's key order) against `jsonutils.dumps(
obj.obj_to_primitive())`; "deserialize" is `obj_from_json` (text straight
into the typed object; any non-canonical value takes the general path)
against `Instance.obj_from_primitive(jsonutils.loads(text))`. The "via
serde_json::Value" rows parse or write a `serde_json::Value` in between,
as fjord-messaging hands the serializer a parsed `Value`: parsing the text
into the `Value` is most of that row's time. "RPC argument" is what a
fjord server does with an object argument: the text parsed to a `Value`,
`ObjectSerializer::deserialize_entity` loading and checking the object
(Python's errors), and the endpoint's `obj_from_primitive`; Python's
column there is its own deserialize (a Python server decodes the object
once, in its serializer). Compare the columns of one run.
"""


def python_side():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        sys.exit("no oslo venv at %s (scripts/setup-oslo-venv.sh, or set FJORD_OSLO_VENV)" % VENV)
    out = subprocess.run([py, "-c", PYTHON_SIDE, str(SECS)], check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fjord_side():
    env = dict(os.environ, BENCH_SECS=str(SECS))
    out = subprocess.run(["cargo", "bench", "-q", "-p", "fjord-objects", "--bench", "objects_bench",
                          "--", "--json"], cwd=ROOT, check=True, capture_output=True,
                         text=True, timeout=1800, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    fj = fjord_side()
    py = python_side()
    rows = [
        ("serialize (obj_to_primitive + JSON text)", fj["serialize: obj_to_json (text, Python key order)"],
         py["serialize"]),
        ("serialize, via serde_json::Value", fj["serialize: obj_to_primitive + serde_json::to_string"],
         py["serialize"]),
        ("deserialize (JSON text -> object)",
         fj["deserialize: obj_from_json (text straight to the typed object)"], py["deserialize"]),
        ("deserialize, via serde_json::Value",
         fj["deserialize: serde_json::from_str + obj_from_primitive"], py["deserialize"]),
        ("RPC argument (parse, serializer check, endpoint's object)",
         fj["rpc argument: serde_json::from_str + ObjectSerializer::deserialize_entity"
            " + obj_from_primitive"], py["deserialize"]),
        ("round trip", fj["round trip: serialize + deserialize"], py["round trip"]),
    ]
    lines = [
        "| objects/s, Instance 2.8 (%d bytes of JSON) | fjord | oslo.versionedobjects | fjord / Python | target |"
        % py["bytes"],
        "|---|---|---|---|---|",
    ]
    for name, f, p in rows:
        ratio = f / p
        lines.append("| %s | %.0f | %.0f | %.1f× | ≥ %.0f× %s |"
                     % (name, f, p, ratio, TARGET, "met" if ratio >= TARGET else "missed"))
    table = "\n".join(lines)
    print(table)
    out = os.path.join(ROOT, "bench", "results", "objects.md")
    load = os.getloadavg()
    # The `## RPC with objects` section (bench/objects_rpc_bench.py) is kept.
    rest = ""
    if os.path.exists(out):
        with open(out) as f:
            old = f.read()
        at = old.find("\n## RPC with objects")
        if at >= 0:
            rest = old[at:]
    with open(out, "w") as f:
        f.write(HEADER % {"secs": SECS, "load": "%.1f / %.1f / %.1f" % load})
        f.write(table + "\n\n" + READING)
        f.write(rest)
    print("wrote", out)
    return table


if __name__ == "__main__":
    main()
