"""Mixed versions on a real pair (SPEC 5 "Versions"): HEAD beside a build of the next protocol
("N+1", made in the test from a copy of the tree) pairs, passes a switchover and refuses
pair-wide writes while the versions differ; beside "N+2" both units are version-skew."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.domain.version import PROTOCOL, VERSION
from tests.integration.builds import newer_build
from tests.integration.conftest import MakePair, problem
from tests.integration.handover import ready, switchover
from tests.support import poll

pytestmark = pytest.mark.timeout(120)


def test_next_protocol_pairs_switches_over_and_refuses_writes(
    make_pair: MakePair, tmp_path: Path
) -> None:
    build = newer_build(tmp_path, 1)
    pair = make_pair()
    pair.second.env = {**pair.second.env, **build.env()}
    pair.start_both()
    unit = pair.http.get(f"{pair.second.url}/api/v1/unit").json()
    assert (unit["version"], unit["protocol"]) == (build.version, build.protocol)
    assert unit["redis_version"]
    units = {u["name"]: u for u in pair.status(pair.first)["units"]}
    assert (units["first"]["version"], units["first"]["protocol"]) == (VERSION, PROTOCOL)
    assert (units["second"]["version"], units["second"]["protocol"]) == (
        build.version,
        build.protocol,
    )
    # a pair-wide write while the versions differ: 409 naming both
    before = pair.params(pair.first)["revision"]
    body = problem(pair.patch({"ha_timeout": 3}), 409, "version-skew")
    assert VERSION in body["detail"] and build.version in body["detail"]
    assert pair.params(pair.first)["revision"] == before
    # a switchover still works: the newer unit takes the role
    poll(lambda: ready(pair), timeout=30, what="every switchover check passes")
    resp = switchover(pair)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["from"], resp.json()["to"]) == ("first", "second")
    pair.wait_roles({"first": "standby", "second": "active"}, via=pair.second, timeout=30)
    # and on the newer active the versions still differ
    body = problem(pair.patch({"ha_timeout": 3}), 409, "version-skew")
    assert VERSION in body["detail"] and build.version in body["detail"]


def test_two_protocols_apart_is_version_skew_on_both(make_pair: MakePair, tmp_path: Path) -> None:
    build = newer_build(tmp_path, 2)
    pair = make_pair()
    pair.second.env = {**pair.second.env, **build.env()}
    pair.first.start()
    pair.wait_roles({"first": "active"}, via=pair.first)
    pair.second.start()

    def skewed() -> bool:
        for via in (pair.first, pair.second):
            for u in pair.status(via)["units"]:
                if (u["role"], u["reason"]) != ("not_operational", "version-skew"):
                    return False
        return True

    poll(skewed, timeout=20, what="both units not_operational / version-skew on both views")
    for via in (pair.first, pair.second):
        body = pair.status(via)
        assert body["pair"] == {"state": "misconfigured", "active": None}
        own = next(u for u in body["units"] if u["name"] == via.name)
        assert own["last_transition"]["cause"] == "version-skew"
        assert own["serving_shared"] is False
    assert pair.shared_unit_name() is None  # neither took the role
