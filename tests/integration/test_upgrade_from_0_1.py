"""0.1.0 -> 0.2.0 (CHANGELOG.md, docs/operations.md "Upgrading from 0.1.0"): the two do not
pair (the unit-to-unit MAC changed; protocols 3 and 5), so they never both take the role, and
the documented one-window upgrade keeps the pair's data. 0.1.0 is the last commit of the
clone's history that spoke protocol 3 (``builds.LAST_0_1_0``), run from ``git archive``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from hapair.domain.version import PROTOCOL, VERSION
from tests.integration.builds import LAST_0_1_0, Build, commit_build, head
from tests.integration.conftest import MakePair
from tests.integration.handover import ready
from tests.integration.pairs import Pair, Unit
from tests.support import poll

pytestmark = pytest.mark.timeout(240)


def _old(directory: Path) -> Build:
    return commit_build(directory, LAST_0_1_0, "0.1.0", 3)


def _unit(pair: Pair, unit: Unit) -> dict[str, Any]:
    r = pair.http.get(f"{unit.url}/api/v1/unit", timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _start(unit: Unit, build: Build) -> None:
    unit.env = {**unit.env, **build.env()}
    unit.start(wait=False)
    assert unit.proc is not None
    unit.proc.wait_ready(unit.url, timeout=60, verify=False)  # a loaded machine starts slowly


def test_a_0_1_unit_and_a_0_2_unit_never_both_take_the_role(
    make_pair: MakePair, tmp_path: Path
) -> None:
    old = _old(tmp_path)
    pair = make_pair()
    _start(pair.first, old)
    pair.wait_roles({"first": "active"}, via=pair.first, timeout=30)
    _start(pair.second, head())
    assert (_unit(pair, pair.first)["version"], _unit(pair, pair.second)["version"]) == (
        "0.1.0",
        VERSION,
    )
    assert _unit(pair, pair.second)["protocol"] == PROTOCOL

    def second_refuses() -> dict[str, Any] | None:
        own = next(u for u in pair.status(pair.second)["units"] if u["name"] == "second")
        return own if own["reason"] == "partner-auth-failed" else None

    own = poll(second_refuses, timeout=30, what="second: partner-auth-failed beside 0.1.0")
    assert own["role"] == "not_operational"
    deadline = time.monotonic() + 10  # several ha_timeouts: second never takes the role
    while time.monotonic() < deadline:
        assert pair.shared_unit_name(timeout=5) in {"first", None}
        own = next(u for u in pair.status(pair.second)["units"] if u["name"] == "second")
        assert own["role"] == "not_operational", own
        time.sleep(0.5)
    assert pair.shared_unit_name(timeout=5) == "first"  # the 0.1.0 active kept serving


def test_the_one_window_upgrade_keeps_the_pairs_data(make_pair: MakePair, tmp_path: Path) -> None:
    old = _old(tmp_path)
    pair = make_pair()
    _start(pair.first, old)
    pair.wait_roles({"first": "active"}, via=pair.first, timeout=30)
    _start(pair.second, old)
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.first, timeout=30)
    assert pair.patch({"ha_timeout": 6, "initial_wait_time": 2}).status_code == 200
    r = pair.http.post(f"{pair.shared_url}/api/v1/tokens", json={"role": "viewer"})
    assert r.status_code == 201, r.text
    viewer = r.json()
    before = pair.params(pair.first)
    # the procedure: the standby stopped, the active restarted on 0.2.0, then the other
    pair.second.stop()
    pair.first.stop()
    _start(pair.first, head())
    pair.wait_roles({"first": "active"}, via=pair.first, timeout=30)
    assert pair.params(pair.first) == before  # the records read, nothing lost
    _start(pair.second, head())
    poll(lambda: ready(pair), timeout=60, what="second back as the standby, in sync")
    assert pair.params(pair.second) == before
    for unit in (pair.first, pair.second):
        assert _unit(pair, unit)["version"] == VERSION
    r = pair.http.get(
        f"{pair.shared_url}/api/v1/ha/parameters",
        headers={"Authorization": f"Bearer {viewer['token']}"},
    )
    assert r.status_code == 200, r.text
    # and it writes: the migrated records are this version's
    resp = pair.patch({"ha_timeout": 12})
    assert resp.status_code == 200, resp.text
    assert resp.headers["HA-Partner-Acknowledged"] == "true"
