"""Maintenance (SPEC section 5) on a real pair of processes: a unit in maintenance is yellow,
keeps replicating, survives a reboot, hands the role over first and blocks a switchover."""

from __future__ import annotations

import pytest

from tests.integration.handover import maintenance, own, started_and_ready, switchover
from tests.integration.pairs import Pair
from tests.integration.sse import Follower
from tests.support import poll


@pytest.fixture
def pair(pair: Pair) -> Pair:
    """conftest's pair, started, once every switchover check passes."""
    return started_and_ready(pair)


def test_maintenance_on_the_standby_is_yellow_survives_reboot_and_blocks_switchover(
    pair: Pair,
) -> None:
    resp = maintenance(pair, pair.second, True)
    assert resp.status_code == 200, resp.text
    unit = resp.json()
    assert unit["maintenance"]["enabled"] is True
    assert unit["maintenance"]["reason"] == "kernel upgrade"
    assert unit["maintenance"]["since"]
    second = own(pair, pair.second)
    assert (second["role"], second["icon"], second["reason"]) == (
        "not_operational",
        "yellow",
        "maintenance",
    )
    assert second["last_transition"]["cause"] == "maintenance"
    # the partner sees it too, and a switchover is refused
    poll(
        lambda: (
            next(u for u in pair.status(pair.first)["units"] if u["name"] == "second")["icon"]
            == "yellow"
        ),
        timeout=5,
        what="first sees second in maintenance",
    )
    resp = switchover(pair)
    assert resp.status_code == 409
    failed = [c["name"] for c in resp.json()["checks"] if not c["ok"]]
    assert failed == ["partner-not-in-maintenance"]
    # it keeps replicating: a write reaches it
    assert pair.patch({"initial_wait_time": 17}).status_code == 200
    poll(lambda: pair.params(pair.second)["initial_wait_time"] == 17, timeout=5, what="synced")
    # in sync as /ha/status says, and hapair_in_sync says the same (its alert stays quiet)
    for unit in (pair.first, pair.second):
        poll(
            lambda unit=unit: (
                next(u for u in pair.status(unit)["units"] if u["name"] == "second")["in_sync"]
                is True
                and "\nhapair_in_sync 1.0\n" in pair.http.get(f"{unit.url}/metrics").text
            ),
            timeout=10,
            what=f"{unit.name}: in sync in its status and its metric",
        )
    # kept across a reboot
    assert pair.http.post(f"{pair.second.url}/api/v1/unit/reboot").status_code == 202
    poll(
        lambda: pair.http.get(f"{pair.second.url}/api/v1/unit").json()["boots_in_window"] == 2,
        timeout=10,
        what="second rebooted",
    )
    poll(lambda: own(pair, pair.second)["icon"] == "yellow", timeout=10, what="still yellow")
    # off again: standby
    assert maintenance(pair, pair.second, False).status_code == 200
    poll(lambda: own(pair, pair.second)["role"] == "standby", timeout=10, what="standby again")


def test_maintenance_on_the_active_hands_over_first(pair: Pair) -> None:
    resp = maintenance(pair, pair.first, True)
    assert resp.status_code == 200, resp.text
    poll(lambda: pair.shared_unit_name() == "second", timeout=2, what="second serves")
    first = own(pair, pair.first)
    assert (first["role"], first["icon"]) == ("not_operational", "yellow")
    assert pair.wait_roles({"second": "active"}, via=pair.second)


def test_maintenance_on_a_lone_active_is_refused_unless_forced(pair: Pair) -> None:
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    pair.second.kill9()
    poll(
        lambda: pair.roles(pair.first)["second"] == "not_operational",
        timeout=10,
        what="second unreachable",
    )
    resp = maintenance(pair, pair.first, True)
    assert resp.status_code == 409, resp.text
    assert resp.json()["type"] == "urn:hapair:problem:switchover-refused"
    assert pair.shared_unit_name() == "first"
    resp = maintenance(pair, pair.first, True, force="true")
    assert resp.status_code == 200, resp.text
    assert own(pair, pair.first)["icon"] == "yellow"
    assert pair.shared_unit_name(timeout=0.5) is None


def test_maintenance_body_is_validated(pair: Pair) -> None:
    resp = pair.http.put(f"{pair.first.url}/api/v1/unit/maintenance", json={"enable": True})
    assert resp.status_code == 422
    assert resp.json()["type"] == "urn:hapair:problem:validation"
    assert own(pair, pair.first)["role"] == "active"


def test_the_maintenance_record_survives_a_reboot_as_it_was_and_is_told_once(pair: Pair) -> None:
    """The standby's record (reason, since) is the one its unit shows after a reboot, to the
    millisecond; the active writes its ``maintenance`` event once when it is set, not again
    when the standby reboots in maintenance, and once when it is cleared."""
    stream = Follower(pair.first.url, pair.token, params={"types": "maintenance"})
    try:
        resp = maintenance(pair, pair.second, True)
        assert resp.status_code == 200, resp.text
        record = resp.json()["maintenance"]
        poll(lambda: stream.of("maintenance"), timeout=10, what="the maintenance event")
        assert pair.http.post(f"{pair.second.url}/api/v1/unit/reboot").status_code == 202
        poll(
            lambda: pair.http.get(f"{pair.second.url}/api/v1/unit").json()["boots_in_window"] == 2,
            timeout=10,
            what="second rebooted",
        )
        assert pair.http.get(f"{pair.second.url}/api/v1/unit").json()["maintenance"] == record
        poll(lambda: own(pair, pair.second)["icon"] == "yellow", timeout=10, what="yellow again")
        assert maintenance(pair, pair.second, False).status_code == 200
        poll(lambda: len(stream.of("maintenance")) == 2, timeout=10, what="the end's event")
        told = [(e["unit"], e["enabled"], e["reason"]) for e in stream.of("maintenance")]
        assert told == [("second", True, "kernel upgrade"), ("second", False, None)]
    finally:
        stream.close()
