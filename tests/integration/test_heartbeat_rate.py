"""One heartbeat exchange per interval per pair (issue 23 point 5): the active calls, the
standby answers and leaves its own call out while the active's keep coming (so the active's
heartbeat and its advert reach the standby at one phase, issue 23 point 4); both units still
show each other as heard; a killed active (``first``) is failed over, and with the roles
swapped ``second`` (now active) calls and ``first`` (now standby) answers."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair, Unit
from tests.support import poll

# "timing": its checks read timers against load (heartbeat ages, rates, a slow client's cost
# next to a baseline); the tests of that group run on one worker, one after another, never
# next to each other (tests/conftest.py, pyproject.toml's addopts)
pytestmark = pytest.mark.xdist_group("timing")

HEARTBEAT = "/internal/v1/heartbeat"


def heartbeats_served(pair: Pair, unit: Unit) -> float:
    """The heartbeat calls ``unit`` answered 200, from its /metrics."""
    text = pair.http.get(f"{unit.url}/metrics").text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "hapair_http_requests_total"
        and s.labels.get("route") == HEARTBEAT
        and s.labels.get("status") == "200"
    )


def test_one_exchange_per_interval_whatever_the_roles(
    make_pair: MakePair,
) -> None:
    pair = make_pair()  # heartbeat 0.5 s
    pair.start_both()
    on_second, on_first = heartbeats_served(pair, pair.second), heartbeats_served(pair, pair.first)
    # 20 of first's calls reach second (10 s at 0.5 s)
    poll(lambda: heartbeats_served(pair, pair.second) - on_second >= 20, timeout=60,
         what="20 heartbeat calls from first")  # fmt: skip
    from_second = heartbeats_served(pair, pair.first) - on_first
    # second called first only when first's call came late (a loaded machine); two calls
    # each interval (the old way) would be about 20
    assert from_second <= 6, from_second
    for unit in (pair.first, pair.second):
        for entry in pair.status(unit)["units"]:
            assert entry["last_heartbeat_at"] is not None, entry

    # first killed: second takes over; first comes back as the standby
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second, timeout=30)
    pair.first.start()
    pair.wait_roles({"second": "active", "first": "standby"}, via=pair.second, timeout=30)
    # and with the roles swapped, second (now active) calls and first (now standby) answers
    on_first = heartbeats_served(pair, pair.first)
    on_second = heartbeats_served(pair, pair.second)
    poll(lambda: heartbeats_served(pair, pair.first) - on_first >= 10, timeout=60,
         what="10 heartbeat calls from second, the active")  # fmt: skip
    assert heartbeats_served(pair, pair.second) - on_second <= 4
