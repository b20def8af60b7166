"""Operations of a unit that need its process: the JSON lines hapair serve logs, the
TCP options of the sockets it accepts (tests/inprocess/test_ops.py: metrics)."""

from __future__ import annotations

import socket
import time

from tests.api_checks import (
    PARAMS,
    log_events,
    revision_of,
)
from tests.procfs import accepted_socket_option
from tests.support import poll
from tests.units import (
    Unit,
)


def test_keepalive_requests_answer_without_nagle_delay(ha_unit: Unit) -> None:
    """A response split in two writes must not wait for a delayed ACK (~40 ms each).

    Proven by its cause, not a stopwatch: the sockets the unit accepts, on the shared and on
    the direct address, have ``TCP_NODELAY``. The time of 100 keep-alive GETs is printed (a
    bound on it broke on a loaded machine; keep-alive throughput is bench/throughput.py's).
    """
    client = ha_unit.client()
    client.get(PARAMS)
    start = time.monotonic()
    for _ in range(100):
        assert client.get(PARAMS).status_code == 200
    print(f"100 keep-alive GETs took {time.monotonic() - start:.2f} s (Nagle: 4 s or more)")
    assert ha_unit.shared is not None
    for base in (ha_unit.shared, ha_unit.direct):
        host, port = base.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert conn.recv(65536).startswith(b"HTTP/1.1 200"), base
            nodelay = accepted_socket_option(
                ha_unit.proc.pid, conn, socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            assert nodelay, f"{base}: accepted socket without TCP_NODELAY"


def test_logs_are_json_lines_with_role_change_and_commit_events(ha_unit: Unit) -> None:
    client = ha_unit.client()
    r = client.patch(PARAMS, json={"l4_sync_refresh_period": 1 + revision_of(client) % 10})
    assert r.status_code == 200, r.text
    revision = r.json()["revision"]

    def commit_logged() -> list[dict[str, object]]:
        return [
            e
            for e in log_events(ha_unit.proc)
            if e.get("event") == "commit" and e.get("revision") == revision
        ]

    (commit,) = poll(commit_logged, timeout=5, what="the commit log line")
    assert commit["actor"] == "bootstrap-admin"
    assert commit["fields"] == ["l4_sync_refresh_period"]
    events = log_events(ha_unit.proc)
    for e in events:
        assert {"ts", "level", "logger", "msg"} <= set(e), e
    assert any(e.get("event") == "role-change" and e.get("to") == "active" for e in events), events
