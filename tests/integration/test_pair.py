"""The HA pair (SPEC section 5) with two real hapair processes, each with its own real Redis:
the pair key, writes and their acknowledgement, failover, return, preference, pacifying.

Boot: test_pair_boot.py; replication: test_pair_replication.py; CLI, hook and ``hapair up``:
test_pair_ops.py.
"""

from __future__ import annotations

import time

import httpx
import pytest

from hapair.domain.parameters import auto_virtual_id
from hapair.engine.pairlink import pairauth
from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair
from tests.support import poll

pytestmark = pytest.mark.timeout(90)


def test_heartbeat_with_wrong_key_is_refused(pair: Pair) -> None:
    pair.first.start()
    body = b'{"unit":"second","mode":"second","role":"active","revision":99}'
    path = "/internal/v1/heartbeat"
    url = f"{pair.first.url}{path}"
    shared = pair.shared_address
    pid = pairauth.pair_id(shared, auto_virtual_id(shared))
    forged = pairauth.PairAuth("not-the-key-0123456789", "second", pair=pid)
    for headers in ({}, forged.sign_call("POST", path, body)):
        resp = httpx.post(
            url, content=body, headers={"content-type": "application/json", **headers}
        )
        assert resp.status_code == 401
        assert resp.json()["type"] == "urn:hapair:problem:unauthorized"
    status = pair.status(pair.first)
    second = next(u for u in status["units"] if u["name"] == "second")
    assert second["role"] == "not_operational" and second["reason"] == "unreachable"
    # a correctly signed one is accepted once bound to a challenge the unit issued, and an
    # unknown field from a newer unit is ignored
    newer = b'{"unit":"second","mode":"second","role":"standby","revision":0,"future_field":1}'
    auth = pairauth.PairAuth(pair.pair_key, "second", pair=pid)
    unbound = httpx.post(
        url,
        content=newer,
        headers={"content-type": "application/json", **auth.sign_call("POST", path, newer)},
    )
    assert unbound.status_code == 401
    challenge = unbound.headers[pairauth.CHALLENGE_HEADER]
    signed = auth.sign_call("POST", path, newer, challenge=challenge)
    ok = httpx.post(url, content=newer, headers={"content-type": "application/json", **signed})
    assert ok.status_code == 200 and ok.json()["unit"] == "first"
    # the answer is signed by first for second and bound to this call
    auth.verify_answer("POST", path, signed[pairauth.NONCE_HEADER], ok.headers, ok.content)


def test_write_on_shared_is_readable_on_standby_when_acknowledged(pair: Pair) -> None:
    pair.start_both()
    # a write before the replica's link is up is honestly not acknowledged: start from in sync
    pair.wait_in_sync(via=pair.first)
    acknowledged = 0
    for i in range(20):
        resp = pair.patch({"initial_wait_time": i + 1})
        assert resp.status_code == 200, resp.text
        # the promise (SPEC 7) is about acknowledged writes; a loaded machine may let the
        # replica's acknowledgment miss its 1 s once, which the unit then says honestly
        if resp.headers["HA-Partner-Acknowledged"] != "true":
            assert resp.headers["HA-Partner-Acknowledged"] == "false"
            continue
        acknowledged += 1
        standby = pair.params(pair.second)
        assert standby["revision"] == resp.json()["revision"]
        assert standby["initial_wait_time"] == i + 1
    print(f"{acknowledged} of 20 writes acknowledged")
    assert acknowledged >= 10, f"only {acknowledged} of 20 writes acknowledged by an idle pair"
    # the standby's Redis is a replica: pair-wide writes on its direct address are refused
    direct = pair.patch({"initial_wait_time": 1}, url=pair.second.url)
    assert direct.status_code == 409
    assert direct.json()["type"] == "urn:hapair:problem:use-shared-address"


def test_write_commits_while_partner_is_down_and_partner_catches_up(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    pair.second.stop()
    started = time.monotonic()
    resp = pair.http.patch(
        f"{pair.shared_url}/api/v1/ha/parameters", json={"initial_wait_time": 7}, timeout=20
    )
    assert resp.status_code == 200
    assert resp.headers["HA-Partner-Acknowledged"] == "false"
    took = time.monotonic() - started
    print(f"write without the partner answered in {took:.2f} s (WAIT gives up after 1 s)")
    # bounded by WAIT's 1 s, never a hang: 10x that, which a loaded machine keeps (the figure
    # is printed; no bench measures a write with the partner down)
    assert took < 10
    revision = resp.json()["revision"]
    pair.second.start()
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second)
    poll(
        lambda: pair.params(pair.second)["revision"] == revision,
        timeout=10,
        what="standby catches up",
    )
    assert pair.params(pair.second)["initial_wait_time"] == 7


def test_failover_within_ha_timeout_after_kill9(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == 3, timeout=5)
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second)
    pair.first.kill9()
    killed = time.monotonic()
    poll(
        lambda: pair.shared_unit_name(timeout=0.3) == "second",
        timeout=10 * 3,
        interval=0.05,
        what="failover",
    )
    elapsed = time.monotonic() - killed
    print(
        f"failover: shared address answered by second {elapsed:.2f} s after kill -9 (ha_timeout 3)"
    )
    # a takeover, not a hang (10x ha_timeout, which a loaded machine keeps). SPEC 7's "within
    # ha_timeout" is proven on a logical clock by tests/sim/invariants.py (expect_failover:
    # active within ha_timeout + 1 heartbeat of a kill or a freeze) and measured by
    # bench/failover.py (kill -9 of the active, medians)
    assert elapsed <= 10 * 3
    body = pair.status(pair.second)
    first = next(u for u in body["units"] if u["name"] == "first")
    assert (first["role"], first["icon"], first["reason"]) == (
        "not_operational",
        "red",
        "unreachable",
    )
    assert body["pair"] == {"state": "degraded", "active": "second"}


def test_returning_unit_stays_standby_until_takeover(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == 3, timeout=5)
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second, timeout=10)
    pair.first.start()
    pair.wait_roles({"first": "standby", "second": "active"}, via=pair.first)
    # it stays standby: watch it over more than two ha_timeouts' worth of heartbeats
    window_end = time.monotonic() + 2.0
    while time.monotonic() < window_end:
        assert pair.roles(pair.first)["first"] == "standby"
        time.sleep(0.2)
    resp = pair.http.post(f"{pair.first.url}/api/v1/unit/takeover")
    assert resp.status_code == 200, resp.text
    assert resp.json()["pair"] == {"state": "paired", "active": "first"}
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second)
    poll(
        lambda: pair.shared_unit_name() == "first",
        timeout=5,
        what="first serves the shared address",
    )
    # the pair still replicates, now the other way round
    resp = pair.patch({"initial_wait_time": 9})
    assert resp.headers["HA-Partner-Acknowledged"] == "true"
    assert pair.params(pair.second)["initial_wait_time"] == 9


def test_preferred_server_takes_over_when_it_returns(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3, "preferred_server": "first"}).status_code == 200
    poll(lambda: pair.params(pair.second)["preferred_server"] == "first", timeout=5)
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second, timeout=10)
    assert pair.patch({"initial_wait_time": 4}).status_code == 200  # a write while first is away
    pair.first.start()
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second, timeout=15)
    poll(
        lambda: pair.shared_unit_name() == "first",
        timeout=5,
        what="first back on the shared address",
    )
    assert pair.params(pair.first)["initial_wait_time"] == 4  # nothing lost in the double failover


def test_pacified_unit_takes_no_part(make_pair: MakePair) -> None:
    p = make_pair(
        env={"HAPAIR_PACIFY_MAX_BOOTS": "1", "HAPAIR_PACIFY_WINDOW_S": "600"},
    )
    p.start_both()
    assert p.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: p.params(p.second)["ha_timeout"] == 3, timeout=5)
    assert p.http.post(f"{p.second.url}/api/v1/unit/reboot").status_code == 202
    body = p.wait_roles({"second": "pacified", "first": "active"}, via=p.first)
    second = next(u for u in body["units"] if u["name"] == "second")
    assert second["icon"] == "blue"
    assert p.http.get(f"{p.second.url}/api/v1/unit").json()["pacified"] is True
    before = p.params(p.second)["revision"]
    resp = p.patch({"initial_wait_time": 3})
    assert resp.status_code == 200
    assert resp.headers["HA-Partner-Acknowledged"] == "false"
    assert p.params(p.second)["revision"] == before  # it replicates nothing
    write = p.patch({"initial_wait_time": 4}, url=p.second.url)
    assert write.json()["type"] == "urn:hapair:problem:pacified"
    p.first.kill9()
    # it never takes over: watch well past ha_timeout
    window_end = time.monotonic() + 3 + 1.5
    while time.monotonic() < window_end:
        assert p.shared_unit_name(timeout=0.3) is None
        time.sleep(0.2)
    assert p.roles(p.second)["second"] == "pacified"


@pytest.mark.parametrize(
    ("modes", "shared", "reason"),
    [
        (("first", "first"), None, "same-mode"),
        (("first", "second"), ("a", "b"), "shared-address-mismatch"),
    ],
)
def test_misconfigured_pair_is_not_operational(
    make_pair: MakePair,
    modes: tuple[str, str],
    shared: tuple[str, str] | None,
    reason: str,
) -> None:
    p = make_pair(modes=modes)
    if shared:
        p = make_pair(shared=(p.shared_address, f"127.0.0.13:{p.port}"))
    p.first.start()
    p.second.start()
    for unit in (p.first, p.second):

        def own(u=unit) -> bool:
            me = next(x for x in p.status(u)["units"] if x["address"] == u.address)
            return (
                me["role"] == "not_operational" and me["reason"] == reason and me["icon"] == "red"
            )

        poll(own, timeout=10, what=f"{unit.name} not_operational {reason}")
    assert p.status(p.first)["pair"]["state"] == "misconfigured"


def test_force_partner_update_answers_once_partner_holds_revision(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"initial_wait_time": 11}).status_code == 200
    resp = pair.http.post(f"{pair.shared_url}/api/v1/ha/actions/force-partner-update")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["revision"] == body["partner_revision"] == pair.params(pair.second)["revision"]
    assert body["duration_ms"] >= 0
    pair.second.stop()
    resp = pair.http.post(f"{pair.shared_url}/api/v1/ha/actions/force-partner-update")
    assert resp.status_code == 503
    assert resp.json()["type"] == "urn:hapair:problem:partner-unavailable"
