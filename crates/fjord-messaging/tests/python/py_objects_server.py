"""Python oslo.messaging RPC server trading versioned objects: the same API
as fjord's `rpc_server` example (widget_rename, widget_make, machine_echo,
context_fields), on py_objects_schema's classes; with --conductor it also
answers the conductor's object_backport_versions (version 3.0).

Usage: py_objects_server.py URL TOPIC SERVER [--release old|current|newer] [--conductor]
Prints "ready" once consuming; runs until stdin closes or it is killed.
"""
import argparse
import os
import sys
import threading

from oslo_config import cfg
import oslo_messaging as om

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import py_objects_schema as schema  # noqa: E402


class WidgetEndpoint(object):
    target = om.Target(version="1.0")

    def __init__(self, classes):
        self.classes = classes

    def widget_rename(self, ctxt, widget, name):
        widget.obj_reset_changes()
        widget.name = name
        return widget

    def widget_make(self, ctxt, id, name, target_version=None):
        w = self.classes.DemoWidget(id=id, name=name)
        if self.classes.release != "old":
            w.tags = ["new"]
            w.owner = None
        if target_version is not None:
            # A primitive: the serializer passes dicts through unchanged.
            return w.obj_to_primitive(target_version=target_version)
        return w

    def machine_echo(self, ctxt, machine):
        return machine

    def context_fields(self, ctxt):
        return ctxt.to_dict()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("topic")
    p.add_argument("server")
    p.add_argument("--release", default="current")
    p.add_argument("--conductor", action="store_true")
    a = p.parse_args()
    classes = schema.define(a.release)
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(conf, url=a.url)
    endpoints = [WidgetEndpoint(classes)]
    if a.conductor:
        endpoints.append(schema.ConductorEndpoint())
    srv = om.get_rpc_server(
        transport, om.Target(topic=a.topic, server=a.server), endpoints,
        executor="threading", serializer=schema.serializer())
    srv.start()
    print("ready", flush=True)
    done = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    srv.stop()
    srv.wait()
    transport.cleanup()


if __name__ == "__main__":
    main()
