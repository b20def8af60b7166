"""Ports for the tests' listeners, safe when pytest-xdist runs several workers at once.

``free_port`` (``hapair.store.embedded``) asks the kernel for a port free a moment ago; the
listener binds it a second or two later, when the process it is given to has started. With
one test at a time nothing else picks in that gap; with workers in parallel another worker
could be given the same port (a pair's port on 127.0.0.10 is then bound on .11 and .12 too).
So under xdist each worker picks from a range of its own, below the kernel's ephemeral range
(32768 and up, where ``bind(port 0)`` and outgoing connections take theirs): worker ``gwN``
takes ports ``10000 + 1500 * N`` to ``+ 1499`` in turn, skipping any it cannot bind now (a
service of the machine's), and reuses one only after the other 1499. Run alone (``-n 0``),
it is the kernel's choice, as before.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

from hapair.store.embedded import free_port as kernel_free_port

__all__ = ["PORTS_PER_WORKER", "free_port", "worker_ports"]

FIRST_PORT = 10_000
PORTS_PER_WORKER = 1_500
MAX_WORKERS = 8  # 10000..21999: clear of the ephemeral range and of the services' 25672
_cursor = itertools.count(random.randrange(PORTS_PER_WORKER))


def worker_ports() -> range | None:
    """This xdist worker's ports (``PYTEST_XDIST_WORKER`` is ``gw0``, ``gw1``...), or None."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit():
        return None
    index = int(worker[2:])
    if index >= MAX_WORKERS:
        return None
    start = FIRST_PORT + index * PORTS_PER_WORKER
    return range(start, start + PORTS_PER_WORKER)


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` a moment ago, no other xdist worker's (module docstring)."""
    ports = worker_ports()
    if ports is None:
        return kernel_free_port(host)
    for _ in range(len(ports)):
        port = ports[next(_cursor) % len(ports)]
        if _bindable(host, port):
            return port
    raise RuntimeError(f"no port of {ports} is free on {host}")
