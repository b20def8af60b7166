"""Never two actives from an ordinary mistake (issue 16 point 1; SPEC 5 "A partner that answers
is alive", "Clocks"): a real pair given two different pair keys, and real pairs whose clocks
are 30 s and 5 minutes apart (the ``HAPAIR_TEST_CLOCK_OFFSET_S`` test hook of hapair.clock).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair
from tests.integration.sse import Follower
from tests.support import poll
from tests.units import Unit

pytestmark = pytest.mark.timeout(120)


def _self_view(pair: Pair, unit: Unit) -> dict[str, Any]:
    """The unit as it sees itself (its own entry of its ``/ha/status``)."""
    return next(u for u in pair.status(unit)["units"] if u["address"] == unit.address)


def _actives(pair: Pair) -> list[str]:
    """The units that say they are active, each asked itself."""
    out = []
    for unit in (pair.first, pair.second):
        try:
            me = _self_view(pair, unit)
        except (AssertionError, OSError):
            continue
        if me["role"] == "active":
            out.append(unit.name)
    return out


def test_different_pair_keys_never_two_actives_and_say_why(make_pair: MakePair) -> None:
    """first runs alone (active); second starts with another pair key. Both see a partner
    that answers but fails authentication: neither is active, each shows
    ``partner-auth-failed`` / ``another pair key`` and raises an ``alert`` event."""
    pair = make_pair(extra={"second": ["--pair-key", "another-pair-key-0123456789"]})
    pair.first.start()
    pair.wait_roles({"first": "active"}, via=pair.first)
    alerts = Follower(pair.first.url, pair.token, params={"types": "alert"})
    try:
        assert alerts.error is None, alerts.error
        pair.second.start()
        seen: dict[str, dict[str, Any]] = {}

        def both_refuse() -> bool:
            assert len(_actives(pair)) <= 1, "two actives"
            for unit in (pair.first, pair.second):
                seen[unit.name] = _self_view(pair, unit)
            return all(u["reason"] == "partner-auth-failed" for u in seen.values())

        poll(both_refuse, timeout=20, interval=0.1, what="both units partner-auth-failed")
        for me in seen.values():
            assert me["role"] == "not_operational" and me["icon"] == "red"
            assert me["detail"] == "another pair key"
            assert me["last_transition"]["cause"] == "partner-auth-failed"
        poll(lambda: alerts.of("alert"), timeout=10, what="an alert event")
        alert = alerts.of("alert")[0]
        assert {k: alert[k] for k in ("unit", "reason", "detail")} == {
            "unit": "first",
            "reason": "partner-auth-failed",
            "detail": "another pair key",
        }
        for _ in range(10):  # and it stays so: never two actives, nobody takes the role
            assert _actives(pair) == []
    finally:
        alerts.close()


@pytest.mark.parametrize("offset", [30.0, 300.0])
def test_clocks_apart_pair_and_work_and_the_skew_is_shown(
    make_pair: MakePair, offset: float
) -> None:
    """second's clock runs ``offset`` seconds ahead: the pair pairs, a write reaches the
    standby, both units show the ``clock-skew`` alert."""
    pair = make_pair()
    pair.second.env["HAPAIR_TEST_CLOCK_OFFSET_S"] = str(offset)
    pair.start_both()
    pair.wait_in_sync(via=pair.first)  # a write acknowledges once the replica's link is up
    resp = pair.patch({"initial_wait_time": 7})
    assert resp.status_code == 200, resp.text
    assert resp.headers["HA-Partner-Acknowledged"] == "true"
    assert pair.params(pair.second)["initial_wait_time"] == 7

    def skew_shown() -> dict[str, Any] | None:
        units = {u["name"]: u for u in pair.status(pair.first)["units"]}
        reasons = {n: [a["reason"] for a in u["alerts"]] for n, u in units.items()}
        return units if reasons == {"first": ["clock-skew"], "second": ["clock-skew"]} else None

    units = poll(skew_shown, timeout=10, what="clock-skew on both units")
    shown = float(re.findall(r"([0-9.]+) s", units["first"]["alerts"][0]["detail"])[0])
    assert abs(shown - offset) < 2.0, units["first"]["alerts"]
    assert "ahead" in units["first"]["alerts"][0]["detail"]
    assert "behind" in units["second"]["alerts"][0]["detail"]
    assert pair.status(pair.first)["pair"]["state"] == "paired"


def _views(pair: Pair) -> dict[str, dict[str, Any]]:
    """Each unit as it sees itself."""
    return {unit.name: _self_view(pair, unit) for unit in (pair.first, pair.second)}


def test_virtual_id_changes_keep_the_roles(make_pair: MakePair) -> None:
    """The pair id covers the virtual ID, so for a moment after a change the active (which
    committed it) and the standby (which reads it from its replica) name two pairs and refuse
    each other as ``another pair``. The standby read its Redis only at its tick, and a write
    replicated after the tick's ROLE a tick later still: changes one after another kept the
    two refusing past ``AUTH_GRACE_S`` and both stepped down (CI, 2026-12-04). Now a
    refusal as another pair makes the unit read its Redis at once: the roles stay, with no
    transition, through a new virtual ID every 0.3 s, at a 0.5 s heartbeat."""
    pair = make_pair(heartbeat=0.5)
    pair.start_both()
    pair.wait_in_sync(via=pair.first)
    before = {n: u["last_transition"] for n, u in _views(pair).items()}

    def steady() -> None:
        views = _views(pair)
        assert (views["first"]["role"], views["second"]["role"]) == ("active", "standby"), views
        assert {n: u["last_transition"] for n, u in views.items()} == before

    revision = 0
    for virtual_id in (*range(20, 34), 42):
        steady()
        resp = pair.patch({"virtual_id": virtual_id})
        assert resp.status_code == 200, resp.text
        revision = resp.json()["revision"]
        time.sleep(0.3)  # the pace of the changes, not a wait for state

    def settled() -> bool:
        return bool(pair.params(pair.second)["revision"] == revision)

    poll(settled, timeout=10, what="the last change on the standby")
    # watched for longer than AUTH_GRACE_S (2 s) and two heartbeats past the last change
    until = time.monotonic() + 2.0 + 2 * pair.heartbeat
    while time.monotonic() < until:
        steady()
        time.sleep(0.2)
    assert pair.params(pair.first)["virtual_id"] == 42
