"""Python oslo.messaging RPCServer that fjord clients call.

Usage: py_server.py URL TOPIC SERVER
Prints "ready" once consuming; runs until stdin closes or it is killed.
"""
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as om


class Endpoint(object):
    target = om.Target(version="1.3")

    def echo(self, ctxt, value):
        return value

    def add(self, ctxt, a, b):
        return a + b

    def fail(self, ctxt, message):
        raise ValueError(message)

    def ctx(self, ctxt):
        return ctxt

    def sleep(self, ctxt, seconds):
        time.sleep(seconds)
        return "slept %s" % seconds


def main():
    url, topic, server = sys.argv[1:4]
    # oslo.messaging registers its tracing options on the global CONF only.
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_rpc_transport(conf, url=url)
    target = om.Target(topic=topic, server=server)
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
