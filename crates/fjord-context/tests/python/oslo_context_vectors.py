"""Runs oslo.context on the cases given as JSON on stdin, prints the results.

Input: a JSON list of cases, each
  {"dict": {...}}                                 RequestContext.from_dict
  {"headers": [[name, value], ...], "environ": {...}}  RequestContext.from_environ
(headers become HTTP_* environ keys as a WSGI server makes them, repeated
ones joined with ","; "environ" adds keys such as openstack.request_id).
Output: a JSON list, one object per case: to_dict, to_policy_values,
get_logging_values and every attribute ("fields").
"""
import json
import sys

from oslo_context import context

FIELDS = [
    "request_id", "global_request_id", "auth_token", "user_id",
    "project_id", "domain_id", "user_domain_id", "project_domain_id",
    "user_name", "project_name", "domain_name", "user_domain_name",
    "project_domain_name", "roles", "is_admin", "is_admin_project",
    "read_only", "show_deleted", "resource_uuid", "system_scope",
    "service_token", "service_user_id", "service_user_name",
    "service_user_domain_id", "service_user_domain_name",
    "service_project_id", "service_project_name",
    "service_project_domain_id", "service_project_domain_name",
    "service_roles",
]


def build(case):
    if "dict" in case:
        return context.RequestContext.from_dict(case["dict"])
    environ = {}
    for name, value in case["headers"]:
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = environ[key] + "," + value if key in environ else value
    environ.update(case.get("environ", {}))
    return context.RequestContext.from_environ(environ)


def main():
    out = []
    for case in json.load(sys.stdin):
        ctx = build(case)
        out.append({
            "to_dict": ctx.to_dict(),
            "to_policy_values": dict(ctx.to_policy_values()),
            "get_logging_values": ctx.get_logging_values(),
            "fields": {f: getattr(ctx, f) for f in FIELDS},
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
