"""A revocation is never undone (SPEC 4 ``DELETE /tokens/{id}``, issue 16 point 5), shown on a
real pair: the answer waits for the partner's Redis (``HA-Partner-Acknowledged``), so a kill -9
of the active right after it leaves the token refused on the survivor; open event streams of
the token end at once on both units, and a token's stream ends at its expiry. The partition
case (revoked on one side, the other side wins the split brain) is in
tests/integration/test_pair_network.py.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair, Unit
from tests.support import poll

TOKENS = "/api/v1/tokens"


def _stream(unit: Unit, token: str) -> socket.socket:
    """An open ``/ha/events`` stream of ``token`` on the unit's direct address (its head read)."""
    host, port = unit.address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        f"GET /api/v1/ha/events HTTP/1.1\r\nHost: {unit.address}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    sock.settimeout(0.2)
    return sock


def _ended(sock: socket.socket) -> bool:
    """Whether the unit ended the stream (EOF or reset); events received meanwhile are read."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _status(unit: Unit, token: str) -> int:
    return httpx.get(
        f"{unit.url}/api/v1/unit", headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).status_code


def _create(pair: Pair, **body: Any) -> dict[str, Any]:
    r = pair.http.post(f"{pair.shared_url}{TOKENS}", json={"role": "viewer", **body})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    for unit in (pair.first, pair.second):  # the standby has it through replication
        poll(lambda u=unit: _status(u, created["token"]) == 200, timeout=5, what="replicated")
    return created


def test_revocation_ends_streams_waits_for_the_partner_and_survives_a_kill9(
    make_pair: MakePair,
) -> None:
    pair = make_pair()
    pair.start_both()
    revoked, short, victim = _create(pair), _create(pair, expires_in_s=6), _create(pair)
    streams = {
        "first": _stream(pair.first, revoked["token"]),
        "second": _stream(pair.second, revoked["token"]),
    }
    expiring = _stream(pair.second, short["token"])
    try:
        r = pair.http.delete(f"{pair.shared_url}{TOKENS}/{revoked['id']}")
        assert r.status_code == 204, r.text
        assert r.headers["HA-Partner-Acknowledged"] == "true"
        for name, sock in streams.items():
            poll(lambda s=sock: _ended(s), timeout=3, what=f"the revoked stream on {name} to end")
        assert not _ended(expiring)  # another token's stream goes on
        for unit in (pair.first, pair.second):
            assert _status(unit, revoked["token"]) == 401
        poll(lambda: _ended(expiring), timeout=15, what="the stream to end at the token's expiry")
        expires_at = datetime.fromisoformat(short["expires_at"])
        assert datetime.now(UTC) >= expires_at - timedelta(seconds=0.5), short
    finally:
        for sock in [*streams.values(), expiring]:
            sock.close()

    # revoke, then kill -9 the active at once: the survivor refuses the token
    r = pair.http.delete(f"{pair.shared_url}{TOKENS}/{victim['id']}")
    assert r.status_code == 204, r.text
    pair.first.kill9()
    assert r.headers["HA-Partner-Acknowledged"] == "true"
    assert _status(pair.second, victim["token"]) == 401
    pair.wait_roles({"second": "active"}, via=pair.second)
    assert _status(pair.second, victim["token"]) == 401
    r = httpx.get(
        f"{pair.shared_url}/api/v1/unit",
        headers={"Authorization": f"Bearer {victim['token']}"},
        timeout=5,
    )
    assert r.status_code == 401, r.text
