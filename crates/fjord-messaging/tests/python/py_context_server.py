"""Python oslo.messaging RPCServer whose endpoint rebuilds the request
context with oslo.context's RequestContext.from_dict, for fjord clients.

Usage: py_context_server.py URL TOPIC
Prints "ready" once consuming; runs until stdin closes or it is killed.
`context_fields()` returns the context as received ("raw"), the
attributes of RequestContext.from_dict(ctxt) ("fields"), its to_dict(),
and the service identity attributes and to_policy_values() of a subclass
that also reads the service identity through FROM_DICT_EXTRA_KEYS
("service_fields", "policy").
"""
import sys
import threading

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
SERVICE_FIELDS = [
    "service_user_id", "service_user_name", "service_user_domain_id",
    "service_user_domain_name", "service_project_id",
    "service_project_name", "service_project_domain_id",
    "service_project_domain_name", "service_roles",
]


class ServiceAwareContext(context.RequestContext):
    FROM_DICT_EXTRA_KEYS = SERVICE_FIELDS


class Endpoint(object):
    def context_fields(self, ctxt):
        raw = dict(ctxt)
        ctx = context.RequestContext.from_dict(raw)
        svc = ServiceAwareContext.from_dict(raw)
        return {
            "raw": raw,
            "fields": {f: getattr(ctx, f) for f in FIELDS},
            "to_dict": ctx.to_dict(),
            "policy": dict(svc.to_policy_values()),
            "service_fields": {f: getattr(svc, f) for f in SERVICE_FIELDS},
        }


def main():
    url, topic = sys.argv[1:3]
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(conf, url=url)
    target = om.Target(topic=topic, server="pyctx")
    srv = om.get_rpc_server(transport, target, [Endpoint()], executor="threading")
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
