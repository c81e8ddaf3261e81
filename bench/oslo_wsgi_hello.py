"""Baseline for bench/http.py: GET /hello on oslo.service's WSGI server
(eventlet.wsgi), N worker processes, as nova-api runs it."""
import sys

from oslo_config import cfg
from oslo_service import service, wsgi


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, World!"]


def main():
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    conf = cfg.ConfigOpts()
    conf([], project="bench")
    server = wsgi.Server(conf, "hello", hello, host="127.0.0.1", port=port, use_ssl=False)
    print(f"listening on http://127.0.0.1:{server.port}", flush=True)
    service.launch(conf, server, workers=workers).wait()


if __name__ == "__main__":
    main()
