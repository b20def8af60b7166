"""Trust between the units (issue 8, points 2 and 3; SPEC section 6 "Unit to unit").

Each test attacks a real unit: a fake partner process answers its heartbeats with forged ones
(the unit then takes no role: ``partner-auth-failed``), captured calls are replayed and
reflected, a call claims to come from the unit itself, one was made before its boot, one comes
from another pair sharing the key, a signature is malformed, refusals arrive by the hundred.
Each shows the call refused and the unit unchanged: still active, still serving the shared
address, its Redis still a master (issue 16 points 1, 2 and 7).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hapair.domain.parameters import auto_virtual_id
from hapair.engine.pairlink import pairauth
from hapair.store.embedded import RedisPasswords
from tests.integration.conftest import (
    PARTNER_HOST,
    SHARED_HOST,
    log_events,
    wait_active_on_shared,
)
from tests.integration.partner_attack import (
    DEMOTE,
    HEARTBEAT,
    OFF_HOST_REDIS,
    PAIR_KEY,
    assert_untouched,
    challenge,
    fake_partner,
    heartbeat_body,
    partner_auth,
    post,
    redis_role,
    refused,
    signed_as,
    signed_call,
    snapshot,
    unit_with_partner,
)
from tests.ports import free_port
from tests.support import HapairFactory, make_redis, poll, redis_client

pytestmark = pytest.mark.timeout(90)

# ---- (a) forged answers from a fake partner ----------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ("unsigned", "not signed with the pair key"),
        ("wrong-key", "another pair key"),
        ("pair-key", "its Redis is not on the partner's host"),
    ],
)
def test_forged_partner_answers_are_refused_and_the_unit_takes_no_role(
    hapair_factory: HapairFactory, tmp_path: Path, answer: str, detail: str
) -> None:
    """A fake partner claims active, revision 99, its own Redis: the unit never follows it.

    It answers, so the unit never boots alone (SPEC 5: a partner that answers is alive); its
    answers fail authentication, so the unit shows ``partner-auth-failed`` with the detail and
    takes no role. ``pair-key``: the fake holds the pair key but its Redis is on another host
    (192.0.2.1): the unit uses only Redis addresses on its partner's host.
    """
    # The attacker's Redis would let the unit's replica in (the password the unit derives from
    # PAIR_KEY): no connected replica below means the unit never followed it, not that it
    # tried and was refused.
    shared = f"{SHARED_HOST}:{free_port(SHARED_HOST)}"
    with make_redis(
        tmp_path / "attacker-redis", passwords=RedisPasswords.derived(PAIR_KEY)
    ) as attacker_redis:
        redis_url = OFF_HOST_REDIS if answer == "pair-key" else attacker_redis.public_url
        with fake_partner(tmp_path, answer, redis_url, shared) as fake:
            unit = unit_with_partner(
                hapair_factory, tmp_path, fake.address, shared=shared, wait_active=False
            )

            def refused_partner() -> dict[str, Any] | None:
                with unit.client(shared=False) as client:
                    status = client.get("/api/v1/ha/status").json()
                me: dict[str, Any] = next(u for u in status["units"] if u["name"] == "first")
                assert me["role"] != "active"
                return me if me["reason"] == "partner-auth-failed" else None

            me = poll(
                refused_partner, timeout=15, what="first not_operational, partner-auth-failed"
            )
            assert me["detail"] == detail and not me["serving_shared"]
            calls = fake.calls()
            assert all(c["path"] == HEARTBEAT for c in calls)
            assert all(c["headers"][pairauth.FROM_HEADER] == "first" for c in calls)
            assert redis_role(unit)["role"] == "master"
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://{shared}/readyz", timeout=1)
            expected = "redis-url-refused" if answer == "pair-key" else "partner-answer-refused"
            events = [e for e in log_events(unit.proc) if e.get("event") == expected]
            assert events and events[0]["level"] == "warning", events
            alerts = [e for e in log_events(unit.proc) if e.get("event") == "alert"]
            assert alerts and alerts[0]["reason"] == "partner-auth-failed", alerts
            assert alerts[0]["detail"] == detail
            with redis_client(attacker_redis) as client:
                assert client.info("replication")["connected_slaves"] == 0


def test_signed_call_with_off_host_redis_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """A validly signed heartbeat whose Redis is not on the partner's host: 403, not heard."""
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    before = snapshot(unit)
    auth = partner_auth(unit)
    body = heartbeat_body(redis_url=OFF_HOST_REDIS)
    resp = post(unit, HEARTBEAT, body, signed_call(unit, auth, HEARTBEAT, body))
    assert resp.status_code == 403, resp.text
    assert_untouched(before, snapshot(unit))
    assert any(e.get("event") == "redis-url-refused" for e in log_events(unit.proc))


# ---- (b) replayed and reflected captured messages ----------------------------------------------


def test_captured_own_heartbeat_replayed_and_reflected_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """The unit's own heartbeat, captured on the wire, sent back to it on both endpoints."""
    with fake_partner(tmp_path, "unsigned") as fake:
        unit = unit_with_partner(hapair_factory, tmp_path, fake.address, wait_active=False)
        captured = poll(fake.calls, timeout=10, what="a captured heartbeat")[-1]
    wait_active_on_shared(unit)  # the fake is gone: nothing answers, it boots alone
    before = snapshot(unit)
    body = captured["body"].encode()
    headers = {k: v for k, v in captured["headers"].items() if k.startswith("x-hapair-")}
    assert headers[pairauth.FROM_HEADER] == "first" and headers[pairauth.TO_HEADER] == "second"
    for path in (HEARTBEAT, DEMOTE, HEARTBEAT, DEMOTE):
        refused(post(unit, path, body, headers))
    # relabelled as coming from the partner: the MAC covers sender and recipient
    relabelled = {**headers, pairauth.FROM_HEADER: "second", pairauth.TO_HEADER: "first"}
    for path in (HEARTBEAT, DEMOTE):
        refused(post(unit, path, body, relabelled), "bad-signature")
    assert_untouched(before, snapshot(unit))


def test_partner_call_replayed_or_reflected_to_demote_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """A validly signed heartbeat from the partner is accepted once; its replays are not.

    Signing with the pair key in the test stands for capturing one from the wire.
    """
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    auth = partner_auth(unit)
    body = heartbeat_body(role="standby", revision=0, shared=unit.shared_address)
    headers = signed_call(unit, auth, HEARTBEAT, body)
    first = post(unit, HEARTBEAT, body, headers)
    assert first.status_code == 200, first.text
    auth.verify_answer(
        "POST", HEARTBEAT, headers[pairauth.NONCE_HEADER], first.headers, first.content
    )
    before = snapshot(unit)
    assert before["role"] == "active"
    for path in (DEMOTE, HEARTBEAT, DEMOTE, HEARTBEAT):
        refused(post(unit, path, body, headers))
    # a demote body under the heartbeat's signature is refused too (the MAC covers the body)
    refused(post(unit, DEMOTE, b'{"by":"second","boot_id":"x"}', headers), "bad-signature")
    assert_untouched(before, snapshot(unit))


# ---- (c) a message claiming to come from this unit itself --------------------------------------


def test_call_claiming_to_come_from_this_unit_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    before = snapshot(unit)
    auth = partner_auth(unit)
    for path, body in ((HEARTBEAT, heartbeat_body()), (DEMOTE, b'{"by":"first","boot_id":"x"}')):
        for sender, recipient in (("first", "first"), ("first", "second"), ("third", "first")):
            headers = signed_as(auth, sender, recipient, path, body, challenge(unit, auth))
            refused(post(unit, path, body, headers))
    assert_untouched(before, snapshot(unit))


# ---- (d) freshness: the recipient's challenge, never the clocks --------------------------------


@pytest.mark.parametrize("skew", [-60.0, 300.0])
def test_call_from_a_skewed_clock_is_accepted_once_bound_to_a_challenge(
    hapair_factory: HapairFactory, tmp_path: Path, skew: float
) -> None:
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    shared = unit.shared_address
    vid = auto_virtual_id(shared)
    auth = pairauth.PairAuth(
        PAIR_KEY, "second", pair=pairauth.pair_id(shared, vid), clock=lambda: time.time() + skew
    )
    body = heartbeat_body(role="standby", revision=0, shared=shared)
    refused(post(unit, HEARTBEAT, body, auth.sign_call("POST", HEARTBEAT, body)), "challenge")
    resp = post(unit, HEARTBEAT, body, signed_call(unit, auth, HEARTBEAT, body))
    assert resp.status_code == 200, resp.text


def test_call_made_before_the_recipients_boot_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """A call captured just before the unit reboots is refused by its new boot."""
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    auth = partner_auth(unit)
    body = heartbeat_body(role="standby", revision=0, shared=unit.shared_address)
    captured = signed_call(unit, auth, HEARTBEAT, body)  # captured, never delivered
    with unit.client(shared=False) as client:
        boot_id = client.get("/api/v1/unit").json()["boot_id"]
        assert client.post("/api/v1/unit/reboot").status_code == 202

        def rebooted() -> bool:
            return client.get("/api/v1/unit").json()["boot_id"] != boot_id

        poll(rebooted, timeout=10, what="a new boot")
    wait_active_on_shared(unit)
    refused(post(unit, HEARTBEAT, body, captured), "challenge")


def test_call_of_another_pair_sharing_the_key_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """Another pair (another shared address) with the same pair key: refused, unit unchanged."""
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    before = snapshot(unit)
    other = pairauth.PairAuth(PAIR_KEY, "second", pair=pairauth.pair_id("127.0.0.99:8080", 99))
    body = heartbeat_body(role="active", revision=99, shared="127.0.0.99:8080")
    resp = post(unit, HEARTBEAT, body, other.sign_call("POST", HEARTBEAT, body))
    refused(resp, "another-pair")
    assert_untouched(before, snapshot(unit))


@pytest.mark.parametrize(
    "signature",
    ["\u00e9" * 64, "\u00ff" * 3, "zz" * 32, "a" * 65],
)
def test_malformed_signature_is_a_401_never_a_500(
    hapair_factory: HapairFactory, tmp_path: Path, signature: str
) -> None:
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    auth = partner_auth(unit)
    body = heartbeat_body(shared=unit.shared_address)
    headers = {**auth.sign_call("POST", HEARTBEAT, body), pairauth.SIGNATURE_HEADER: signature}
    for path in (HEARTBEAT, DEMOTE):
        # httpx refuses non-latin-1 header values: send the raw bytes
        raw = {k: v.encode("utf-8") for k, v in headers.items()}
        resp = httpx.post(
            f"{unit.direct}{path}",
            content=body,
            headers={"content-type": "application/json", **raw},  # type: ignore[dict-item]
            timeout=5,
        )
        refused(resp, "malformed-signature")
    assert not [e for e in log_events(unit.proc) if e.get("event") == "bug"]


def test_refusals_are_logged_once_a_minute_per_reason_and_counted(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """Thousands of refused calls with attacker-chosen text: a line per fixed reason, counted."""
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    body = heartbeat_body()
    with httpx.Client(base_url=unit.direct, timeout=5) as client:
        for i in range(300):
            headers = {
                pairauth.FROM_HEADER: f"attacker-{i}",
                pairauth.TO_HEADER: "first",
                pairauth.TIMESTAMP_HEADER: "1.000",
                pairauth.NONCE_HEADER: f"{i:032x}",
                pairauth.SIGNATURE_HEADER: f"{i:064x}",
                pairauth.PAIR_HEADER: "0" * 16,
                pairauth.KEY_HEADER: f"{i:016x}",
            }
            resp = client.post(HEARTBEAT, content=body, headers=headers)
            assert resp.status_code == 401
        for i in range(100):
            resp = client.post(HEARTBEAT, content=body, headers={pairauth.FROM_HEADER: f"x{i}"})
            assert resp.status_code == 401
        metrics = client.get("/metrics").text
    refusals = [e for e in log_events(unit.proc) if e.get("event") == "partner-call-refused"]
    assert sorted(e["reason"] for e in refusals) == ["not-from-partner", "unsigned"], refusals
    assert 'hapair_refused_total{reason="not-from-partner"} 300.0' in metrics
    assert 'hapair_refused_total{reason="unsigned"} 100.0' in metrics
    # each refusal counted once, under its fixed reason (not again as a 401 problem)
    assert 'hapair_refused_total{reason="unauthorized"} 0.0' in metrics
