"""The Python anchor of bench/keystone_bench.py: a trivial WSGI app
(`Hello, <user>!`) behind keystonemiddleware 13's auth_token, served by
gunicorn from scripts/keystone.sh's venv. KEYSTONE_NOAUTH=1 serves the app
alone. Options come from the environment: KS_URL, KS_SERVICE_USER,
KS_SERVICE_PASSWORD, KS_SERVICE_PROJECT (target/keystone/env), CACHE
(token_cache_time, default 300), CATALOG (include_service_catalog).
"""
import os
import sys

sys.argv = sys.argv[:1]  # oslo.config must not see gunicorn's arguments
from keystonemiddleware import auth_token  # noqa: E402


def app(environ, start_response):
    body = ("Hello, %s!" % environ.get("HTTP_X_USER_NAME", "World")).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


conf = {
    "www_authenticate_uri": os.environ["KS_URL"],
    "auth_type": "password",
    "auth_url": os.environ["KS_URL"],
    "username": os.environ["KS_SERVICE_USER"],
    "password": os.environ["KS_SERVICE_PASSWORD"],
    "project_name": os.environ.get("KS_SERVICE_PROJECT", "service"),
    "user_domain_id": "default",
    "project_domain_id": "default",
    "token_cache_time": os.environ.get("CACHE", "300"),
    "include_service_catalog": os.environ.get("CATALOG", "true"),
    "http_connect_timeout": os.environ.get("TIMEOUT", "5"),
}
if os.environ.get("KEYSTONE_NOAUTH") == "1":
    application = app
else:
    application = auth_token.filter_factory({}, **conf)(app)
