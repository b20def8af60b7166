"""A Redis connection reset mid-command answers 503 ``store-unavailable``, never a 500 (issue 16
point 7). A TCP relay between the unit and its Redis (a real Redis, real sockets) resets every
connection (RST) again and again while a client keeps asking."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from hapair.store.embedded import EmbeddedRedis
from tests.integration.conftest import PARAMS, MakeUnit, log_events
from tests.ports import free_port

pytestmark = pytest.mark.timeout(90)


class ResettingRelay:
    """Relays 127.0.0.1:port to a Redis; ``reset()`` aborts every relayed connection (RST)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port("127.0.0.1")
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        self.hostile = False  # reset each connection as soon as it sends a command
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.closed:  # closed while this one connected: nobody else would close it
                    client.close()
                    upstream.close()
                    return
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                if self.hostile:
                    self.reset()
                    return
                b.sendall(data)
        except OSError:
            pass

    def reset(self) -> None:
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
        self.listener.close()
        self.reset()


@pytest.fixture
def relay(redis_server: EmbeddedRedis) -> Iterator[ResettingRelay]:
    parts = urlsplit(redis_server.url)
    r = ResettingRelay((parts.hostname or "127.0.0.1", parts.port or 6379))
    try:
        yield r
    finally:
        r.close()


def test_reset_redis_connections_answer_503_never_500(
    make_unit: MakeUnit, redis_server: EmbeddedRedis, relay: ResettingRelay
) -> None:
    parts = urlsplit(redis_server.url)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{relay.port}"
    unit = make_unit(redis_url=urlunsplit(parts._replace(netloc=netloc)))
    client = unit.client()
    statuses: dict[int, int] = {}
    for i in range(60):
        relay.hostile = i % 10 < 4  # stretches where every command meets a reset, the retry too
        if i % 3 == 0:
            relay.reset()
        for method, path, body in (
            ("GET", PARAMS, None),
            ("PATCH", PARAMS, {"ha_timeout": 3 if i % 2 else 6}),
            ("GET", "/api/v1/tokens", None),
            ("GET", "/api/v1/ha/status", None),
        ):
            r = client.request(method, path, json=body)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code in (200, 503), (method, path, r.status_code, r.text)
            if r.status_code == 503:
                assert r.json()["type"] == "urn:hapair:problem:store-unavailable", r.text
    assert statuses.get(200), statuses  # it kept working between the resets
    assert statuses.get(503), statuses  # and the resets did reach the requests
    bugs = [e for e in log_events(unit.proc) if e.get("event") == "bug"]
    assert not bugs, bugs
    print(f"answers while connections were reset: {statuses}")
