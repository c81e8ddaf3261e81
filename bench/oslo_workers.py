"""Baseline for bench/launcher.py: the `workers` example, on oslo.service.

Each worker prints `worker started pid=<pid>` from Service.start(), like
fjord's `workers` example, and runs a 1-second job in a loop.
"""
import os
import sys

from oslo_config import cfg
from oslo_service import service


class Jobs(service.Service):
    def start(self):
        super().start()
        # One write(2) per line: workers share the pipe.
        os.write(1, f"worker started pid={os.getpid()}\n".encode())
        self.tg.add_timer(1.0, lambda: None)


def main():
    workers = int(sys.argv[1])
    conf = cfg.ConfigOpts()
    conf([], project="bench")
    launcher = service.launch(conf, Jobs(), workers=workers, restart_method="mutate")
    launcher.wait()


if __name__ == "__main__":
    main()
