"""Connection floods (SPEC 6 "Limits", 7 "connection flood"; issue 16 point 2), each performed
against real processes: clients that pipeline requests for the 1.5 MB docs bundle and never read.

- such a client holds its connection at most 10 s past its last write progress;
- one client address holds at most ``--max-connections-per-client`` connections of a listener,
  and others are still served beside it;
- the kernel's send buffer of each connection is fixed (not autotuned to 4 MiB);
- a pair whose shared address is flooded from many addresses keeps one active, its heartbeats
  flow, an admin call on a direct address answers; with the direct listeners flooded too, a
  standby restarted meanwhile boots as standby (the partner's reserved connections).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from hapair.server.listener import SEND_BUFFER_BYTES
from tests.integration.conftest import DIRECT_HOST, MakePair, MakeUnit, log_events
from tests.integration.flood import Flooder, alive, send_buffers, served_by
from tests.integration.pairs import FIRST_HOST, SECOND_HOST, SHARED_HOST, Pair
from tests.support import poll

# "timing": its checks read timers against load (heartbeat ages, rates, a slow client's cost
# next to a baseline); the tests of that group run on one worker, one after another, never
# next to each other (tests/conftest.py, pyproject.toml's addopts)
pytestmark = pytest.mark.xdist_group("timing")

WRITE_TIMEOUT_S = 10.0
MARGIN_S = 5.0


def test_a_client_that_pipelines_and_never_reads_is_capped_and_dropped(
    make_unit: MakeUnit,
) -> None:
    unit = make_unit(ha=False, extra_args=["--max-connections-per-client", "4"])
    port = urlsplit(unit.direct).port
    assert port is not None
    flood = Flooder(DIRECT_HOST, port, ["127.0.0.1"], per_source=4)
    try:
        flood.fill()
        assert len(flood.held) == 4
        started = time.monotonic()
        # one more from the same address: refused with the per-client problem
        answer = served_by(DIRECT_HOST, port, "127.0.0.1")
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert b"--max-connections-per-client" in answer, answer
        # another address is served beside it
        assert served_by(DIRECT_HOST, port, "127.0.0.2").startswith(b"HTTP/1.1 200")

        # the kernel holds at most the fixed send buffer for each stalled connection
        buffers = poll(
            lambda: (b := send_buffers(DIRECT_HOST, port)) and max(q for q, _ in b) > 0 and b,
            timeout=5,
            what="the stalled connections' send queues",
        )
        assert all(size <= 2 * SEND_BUFFER_BYTES for _, size in buffers), buffers

        # no write progress for 10 s: every stalled connection is dropped
        poll(
            lambda: not any(alive(s) for s in flood.held),
            timeout=WRITE_TIMEOUT_S + MARGIN_S,
            interval=0.2,
            what="the stalled connections to be dropped",
        )
        assert time.monotonic() - started >= WRITE_TIMEOUT_S - 1
        assert served_by(DIRECT_HOST, port, "127.0.0.1").startswith(b"HTTP/1.1 200")
    finally:
        flood.close()
    # dropped under way, the responses end without an error: no traceback, no 'bug' line
    assert "Traceback" not in unit.proc.log_text()
    assert not [e for e in log_events(unit.proc) if e.get("event") == "bug"]


def _sources(third: int, n: int) -> list[str]:
    return [f"127.0.{third}.{i}" for i in range(1, n + 1)]


def _units_view(pair: Pair, via: str, port: int) -> dict[str, dict[str, object]]:
    """Each unit's entry of ``/ha/status`` as the unit on ``via`` sees it, asked from the other
    unit's host (the partner's reserved connections: the test's client stands on that host)."""
    source = SECOND_HOST if via == FIRST_HOST else FIRST_HOST
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(
        transport=transport, timeout=5, headers={"Authorization": f"Bearer {pair.token}"}
    ) as client:
        resp = client.get(f"http://{via}:{port}/api/v1/ha/status")
    assert resp.status_code == 200, resp.text
    return {u["name"]: u for u in resp.json()["units"]}


def test_a_flooded_pair_keeps_one_active_and_its_heartbeats(make_pair: MakePair) -> None:
    limits = ["--max-connections", "24", "--max-connections-per-client", "8"]
    pair = make_pair(extra={"first": limits, "second": limits})
    pair.start_both()
    port = pair.port
    admin = {"Authorization": f"Bearer {pair.token}"}
    before = {n: u["last_transition"] for n, u in _units_view(pair, FIRST_HOST, port).items()}
    shared = Flooder(SHARED_HOST, port, _sources(7, 4), per_source=8)  # 32 tries, 24 slots
    floods = [shared]
    try:
        # 1. Every slot of the shared listener held for 30 s (refilled as they are dropped)
        shared.fill()
        assert len(shared.held) >= 24
        assert served_by(SHARED_HOST, port, "127.0.8.1").startswith(b"HTTP/1.1 503")
        until = time.monotonic() + 30
        while time.monotonic() < until:
            shared.fill()
            # an admin call on the flooded unit's direct address answers (a new connection)
            r = httpx.get(f"http://{FIRST_HOST}:{port}/api/v1/unit", headers=admin, timeout=5)
            assert r.status_code == 200, r.text
            units = _units_view(pair, SECOND_HOST, port)
            assert units["first"]["role"] == "active", units
            assert units["second"]["role"] == "standby", units
            assert {n: u["last_transition"] for n, u in units.items()} == before
            # the active's heartbeats reach the standby (ha_timeout is 3 s; heartbeats 0.5 s)
            heard = datetime.fromisoformat(str(units["first"]["last_heartbeat_at"]))
            assert (datetime.now(UTC) - heard).total_seconds() < 2, units["first"]
            time.sleep(1)

        # 2. The direct listeners flooded too; the standby restarts under it
        for host in (FIRST_HOST, SECOND_HOST):
            direct = Flooder(host, port, _sources(9 if host == FIRST_HOST else 10, 4), 8)
            direct.fill()
            floods.append(direct)
        assert served_by(FIRST_HOST, port, "127.0.8.1").startswith(b"HTTP/1.1 503")
        pair.second.stop()
        pair.second.start(wait=False)

        def second_standby() -> bool:
            for flood in floods:
                flood.fill()
            assert pair.second.proc is not None
            roles = [
                e.get("to") for e in log_events(pair.second.proc) if e.get("event") == "role-change"
            ]
            assert "active" not in roles, roles
            return "standby" in roles

        poll(second_standby, timeout=40, interval=0.5, what="the restarted second as standby")
        units = _units_view(pair, FIRST_HOST, port)
        assert units["first"]["role"] == "active", units
        assert units["second"]["role"] == "standby", units
    finally:
        for flood in floods:
            flood.close()


def _revision_calls(pair: Pair, unit_url: str) -> float:
    """Signed ``/internal/v1/revision`` calls the unit at ``unit_url`` has answered."""
    text = pair.http.get(f"{unit_url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("hapair_http_requests_total{")
        and 'route="/internal/v1/revision"' in line
    )


def test_a_flood_of_the_open_status_page_costs_the_partner_nothing_per_request(
    make_pair: MakePair,
) -> None:
    """``GET /`` needs no token: 300 of them on the active cost the standby (its Redis, its
    signed revision call) at most one status reading a second, not one per request."""
    pair = make_pair()
    pair.start_both()
    before = _revision_calls(pair, pair.second.url)
    started = time.monotonic()
    with httpx.Client(timeout=5) as client:
        for _ in range(300):
            r = client.get(f"{pair.first.url}/")
            assert r.status_code == 200
            assert 'id="pair-state"' in r.text
    seconds = time.monotonic() - started
    calls = _revision_calls(pair, pair.second.url) - before
    assert calls <= seconds + 2, (calls, seconds)
