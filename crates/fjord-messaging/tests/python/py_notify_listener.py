"""Python oslo.messaging notification listener reading what fjord sends.

Usage: py_notify_listener.py URL TOPIC COUNT
Prints "ready", then one JSON line per notification, exits after COUNT.
"""
import json
import sys
import threading

from oslo_config import cfg
import oslo_messaging as om


def main():
    url, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conf = cfg.CONF
    conf([], project="fjord-interop")
    transport = om.get_notification_transport(conf, url=url)
    got = []
    done = threading.Event()

    class Endpoint(object):
        def _record(self, priority, ctxt, publisher_id, event_type, payload, metadata):
            got.append({"priority": priority, "ctxt": ctxt, "publisher_id": publisher_id,
                        "event_type": event_type, "payload": payload, "metadata": metadata})
            print(json.dumps(got[-1]), flush=True)
            if len(got) >= count:
                done.set()

        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            self._record("info", ctxt, publisher_id, event_type, payload, metadata)

        def error(self, ctxt, publisher_id, event_type, payload, metadata):
            self._record("error", ctxt, publisher_id, event_type, payload, metadata)

    listener = om.get_notification_listener(
        transport, [om.Target(topic=topic)], [Endpoint()], executor="threading")
    listener.start()
    print("ready", flush=True)
    done.wait(60)
    listener.stop()
    listener.wait()
    transport.cleanup()


if __name__ == "__main__":
    main()
