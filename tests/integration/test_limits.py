"""Connection and request limits (SPEC section 6), each shown by the attack against a real unit.

Slow clients (half a head, a trickled head, a slow body) are closed within 10 s; the number of
connections is capped; a method outside the fixed set is refused and leaves no metrics label;
a body over 64 KiB is refused before it is sent whole.
"""

from __future__ import annotations

import random
import socket
import string
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx

from tests.api_checks import (
    PARAMS,
    problem,
)
from tests.support import poll
from tests.units import (
    ADMIN_TOKEN,
    MakeUnit,
    Unit,
)

HEAD_TIMEOUT_S = 10.0
MARGIN_S = 3.0


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=2)
    sock.settimeout(0.5)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Reads what the server sent; True once it closed the connection (EOF or reset)."""
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return data == b""


def _wait_closed(sock: socket.socket, *, trickle: bytes = b"") -> float:
    """Seconds until the server closes ``sock``, sending ``trickle`` byte by byte meanwhile."""
    start = time.monotonic()
    sent = 0

    def closed() -> bool:
        nonlocal sent
        if sent < len(trickle):
            try:
                sock.sendall(trickle[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                return True
            sent += 1
        return _closed_by_server(sock)

    poll(closed, timeout=HEAD_TIMEOUT_S + MARGIN_S, interval=0, what="the server to close")
    return time.monotonic() - start


def _half_a_request_head_is_closed_within_10s(ha_unit: Unit) -> None:
    with _connect(ha_unit.direct) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: unit\r\n")  # no blank line: head not done
        elapsed = _wait_closed(sock)
    assert HEAD_TIMEOUT_S - 1 <= elapsed <= HEAD_TIMEOUT_S + MARGIN_S, elapsed


def _trickled_request_head_is_closed_within_10s(ha_unit: Unit) -> None:
    # one byte every 0.5 s: each byte arrives long before any idle timeout would fire
    head = b"GET /healthz HTTP/1.1\r\nHost: unit\r\nX-Slow: " + b"a" * 100
    with _connect(ha_unit.direct) as sock:
        elapsed = _wait_closed(sock, trickle=head)
    assert elapsed <= HEAD_TIMEOUT_S + MARGIN_S, elapsed


def _slow_request_body_is_closed_within_10s(ha_unit: Unit) -> None:
    body = b'{"ha_timeout": 3}'
    head = (
        f"PATCH {PARAMS} HTTP/1.1\r\nHost: unit\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with _connect(ha_unit.shared or ha_unit.direct) as sock:
        sock.sendall(head + body[:5])  # the rest of the body never comes
        elapsed = _wait_closed(sock)
    assert HEAD_TIMEOUT_S - 1 <= elapsed <= HEAD_TIMEOUT_S + MARGIN_S, elapsed
    # nothing was committed from the half body
    assert ha_unit.client().get(PARAMS).json()["ha_timeout"] != 3


def _keep_alive_connection_serves_requests_after_the_head_deadline(ha_unit: Unit) -> None:
    # the deadline is per request head, not per connection: a busy keep-alive client lives on
    with httpx.Client(base_url=ha_unit.direct, timeout=5) as client:
        deadline = time.monotonic() + HEAD_TIMEOUT_S + 1
        n = 0
        while time.monotonic() < deadline:
            assert client.get("/healthz").status_code == 200
            n += 1
    assert n > 10


SLOW_CLIENTS = {
    "half-head": _half_a_request_head_is_closed_within_10s,
    "trickled-head": _trickled_request_head_is_closed_within_10s,
    "slow-body": _slow_request_body_is_closed_within_10s,
    "keep-alive": _keep_alive_connection_serves_requests_after_the_head_deadline,
}


def test_slow_clients_are_closed_within_10s_each_and_a_busy_keep_alive_lives_on(
    ha_unit: Unit,
) -> None:
    """The four clients at once on one unit (each waits out the 10 s deadline: side by side
    they cost 10 s, not 40): every one is judged on its own, as if it were alone."""
    with ThreadPoolExecutor(max_workers=len(SLOW_CLIENTS)) as pool:
        running = {name: pool.submit(check, ha_unit) for name, check in SLOW_CLIENTS.items()}
        failed = {}
        for name, future in running.items():
            error = future.exception()
            if error is not None:
                failed[name] = error
    assert not failed, failed


def test_connections_over_max_connections_are_refused(make_unit: MakeUnit) -> None:
    unit = make_unit(ha=False, extra_args=["--max-connections", "4"])
    held = [_connect(unit.direct) for _ in range(4)]
    try:

        def refused() -> httpx.Response | None:
            r = httpx.get(f"{unit.direct}/healthz", timeout=2)
            return r if r.status_code == 503 else None

        r = poll(refused, timeout=5, what="the fifth connection to be refused")
        body = problem(r, 503, "too-many-connections")
        assert "connection limit" in body["detail"]
        held.pop().close()

        def served() -> bool:
            return httpx.get(f"{unit.direct}/healthz", timeout=2).status_code == 200

        poll(served, timeout=5, what="a free slot to serve again")
    finally:
        for sock in held:
            sock.close()


def test_odd_methods_are_refused_and_leave_metrics_bounded(make_unit: MakeUnit) -> None:
    unit = make_unit(ha=False)
    rng = random.Random(8)
    with httpx.Client(base_url=unit.direct, timeout=5) as client:
        client.get("/healthz")
        client.get("/metrics")
        before = len(client.get("/metrics").content)
        for i in range(1000):
            method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 2000)))
            path = "/healthz" if i % 2 else f"/api/v1/nothing/{i}"
            r = client.request(method, path)
            assert r.status_code == 405, (method[:20], r.status_code)
            if i == 0:
                problem(r, 405, "method-not-allowed")
        for method in ("TRACE", "CONNECT", "PROPFIND"):
            assert client.request(method, "/healthz").status_code == 405
        after = client.get("/metrics").text
    assert len(after) - before < 2048, len(after) - before
    assert "TRACE" not in after
    assert "PROPFIND" not in after


def test_body_over_64k_is_refused_before_it_is_sent(ha_unit: Unit) -> None:
    head = (
        f"PUT {PARAMS} HTTP/1.1\r\nHost: unit\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    with _connect(ha_unit.shared or ha_unit.direct) as sock:
        sock.sendall(head + b"{" + b" " * 1000)  # 50 MB announced, 1 KB sent
        answer = b""

        def answered() -> bool:
            nonlocal answer
            try:
                answer += sock.recv(65536)
            except TimeoutError:
                return False
            return b"\r\n\r\n" in answer

        poll(answered, timeout=5, interval=0, what="a 413 before the body is sent")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"urn:hapair:problem:too-large" in answer or b"problem+json" in answer
