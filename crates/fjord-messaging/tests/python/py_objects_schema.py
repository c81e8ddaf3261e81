"""The test schema of fjord's objects-over-RPC interop, in
oslo.versionedobjects 3.12.0: the objects the `rpc_server` / `rpc_client`
examples serve and call, declared as a Python project would.

Serial namespace `fjord_object`, project namespace `fjord`. Three releases
of the same schema, one per process (oslo's registry is global):

* "old":    DemoWidget 1.0 (id, name), DemoPart 1.0, DemoMachine 1.0
* "current" (what fjord's examples declare):
            DemoWidget 1.2 (+ tags 1.1, owner 1.2), DemoPart 1.1
            (+ made_at 1.1), DemoMachine 1.1 (+ note 1.1)
* "newer":  DemoWidget 1.3 (+ color 1.3), the rest as "current"

DemoMachine is nova-like: a UUID, datetimes, a nested object, a list of
objects, a dict, fields left unset.

`define(release)` registers one release and returns its classes;
`FjordObjectSerializer` is the project's `VersionedObjectSerializer`
(`OBJ_BASE_CLASS = FjordObject`) and `RequestContextSerializer` wraps it
as nova's does (oslo.context's to_dict / from_dict). `ConductorAPI` is the
indirection API over RPC (nova's conductor client: version 3.0, no
namespace), `ConductorEndpoint` the conductor's side.
"""
import types

from oslo_context import context as oslo_context
import oslo_messaging as om
from oslo_utils import versionutils
from oslo_versionedobjects import base
from oslo_versionedobjects import fields as f


class FjordObject(base.VersionedObject):
    """The project's base class."""
    OBJ_SERIAL_NAMESPACE = "fjord_object"
    OBJ_PROJECT_NAMESPACE = "fjord"


class FjordObjectSerializer(base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = FjordObject


class RequestContextSerializer(om.Serializer):
    """nova.rpc.RequestContextSerializer: the context as oslo.context's
    dict, entities through the object serializer."""

    def __init__(self, base_serializer):
        self._base = base_serializer

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return oslo_context.RequestContext.from_dict(ctxt)


def serializer():
    return RequestContextSerializer(FjordObjectSerializer())


def _drop_below(primitive, target_version, field_versions):
    target = versionutils.convert_version_to_tuple(target_version)
    for name, since in field_versions:
        if target < since and name in primitive:
            del primitive[name]


def define(release="current"):
    """Registers the classes of `release` ("old", "current", "newer")."""
    if release not in ("old", "current", "newer"):
        raise ValueError("unknown release %r" % release)
    old = release == "old"

    @base.VersionedObjectRegistry.register
    class DemoWidget(FjordObject):
        if old:
            VERSION = "1.0"
            fields = {
                "id": f.IntegerField(),
                "name": f.StringField(),
            }
        else:
            # 1.1: tags. 1.2: owner. (newer) 1.3: color.
            VERSION = "1.3" if release == "newer" else "1.2"
            fields = {
                "id": f.IntegerField(),
                "name": f.StringField(),
                "tags": f.ListOfStringsField(),
                "owner": f.StringField(nullable=True),
            }
            if release == "newer":
                fields["color"] = f.StringField(nullable=True)

        def obj_make_compatible(self, primitive, target_version):
            super().obj_make_compatible(primitive, target_version)
            _drop_below(primitive, target_version,
                        [("tags", (1, 1)), ("owner", (1, 2)), ("color", (1, 3))])

    @base.VersionedObjectRegistry.register
    class DemoPart(FjordObject):
        VERSION = "1.0" if old else "1.1"
        fields = {
            "id": f.IntegerField(),
            "label": f.StringField(),
        }
        if not old:
            fields["made_at"] = f.DateTimeField(nullable=True)

        def obj_make_compatible(self, primitive, target_version):
            super().obj_make_compatible(primitive, target_version)
            _drop_below(primitive, target_version, [("made_at", (1, 1))])

    @base.VersionedObjectRegistry.register
    class DemoMachine(FjordObject):
        VERSION = "1.0" if old else "1.1"
        fields = {
            "uuid": f.UUIDField(),
            "name": f.StringField(),
            "created_at": f.DateTimeField(),
            "updated_at": f.DateTimeField(nullable=True),
            "widget": f.ObjectField("DemoWidget", nullable=True),
            "parts": f.ListOfObjectsField("DemoPart"),
            "metadata": f.DictOfStringsField(),
        }
        if not old:
            fields["note"] = f.StringField(nullable=True)
        obj_relationships = {
            "widget": [("1.0", "1.0"), ("1.1", "1.2")],
            "parts": [("1.0", "1.0"), ("1.1", "1.1")],
        }

        def obj_make_compatible(self, primitive, target_version):
            super().obj_make_compatible(primitive, target_version)
            _drop_below(primitive, target_version, [("note", (1, 1))])

    return types.SimpleNamespace(
        DemoWidget=DemoWidget, DemoPart=DemoPart, DemoMachine=DemoMachine,
        release=release)


class ConductorAPI(object):
    """The indirection API over RPC, as nova-compute's conductor client:
    `FjordObject.indirection_api = ConductorAPI(transport, topic)`."""

    def __init__(self, transport, topic):
        target = om.Target(topic=topic, version="3.0")
        self.client = om.get_rpc_client(
            transport, target, serializer=serializer(), timeout=20)
        self.backport_calls = []

    def object_backport_versions(self, context, objinst, object_versions):
        self.backport_calls.append(dict(object_versions))
        return self.client.call(context, "object_backport_versions",
                                objinst=objinst,
                                object_versions=object_versions)

    def object_class_action_versions(self, context, objname, objmethod,
                                     object_versions, args, kwargs):
        return self.client.call(context, "object_class_action_versions",
                                objname=objname, objmethod=objmethod,
                                object_versions=object_versions,
                                args=args, kwargs=kwargs)


class ConductorEndpoint(object):
    """The conductor's side of object_backport_versions (nova's
    ConductorManager): the object arrives loaded by the newest classes."""
    target = om.Target(version="3.0")

    def object_backport_versions(self, context, objinst, object_versions):
        target = object_versions[objinst.obj_name()]
        return objinst.obj_to_primitive(target_version=target,
                                        version_manifest=object_versions)
