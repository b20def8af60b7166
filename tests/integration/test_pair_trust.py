"""Trust between the units (issue 8, points 2 and 3; SPEC section 6 "Unit to unit").

Each test attacks a real active unit: a fake partner process answers its heartbeats with
forged ones, captured calls are replayed and reflected, a call claims to come from the unit
itself, a stale one arrives. Each shows the call refused and the unit unchanged: still active,
still serving the shared address, its Redis still a master.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hapair.engine import pairauth
from hapair.store.embedded import RedisPasswords, free_port
from tests.integration.conftest import PARTNER_HOST, log_events
from tests.integration.partner_attack import (
    DEMOTE,
    HEARTBEAT,
    OFF_HOST_REDIS,
    PAIR_KEY,
    assert_untouched,
    fake_partner,
    heartbeat_body,
    post,
    refused,
    snapshot,
    unit_with_partner,
)
from tests.support import HapairFactory, make_redis, poll, redis_client

pytestmark = pytest.mark.timeout(90)

# ---- (a) forged answers from a fake partner ----------------------------------------------------


@pytest.mark.parametrize("answer", ["unsigned", "wrong-key", "pair-key"])
def test_forged_partner_answers_are_refused_and_active_stays(
    hapair_factory: HapairFactory, tmp_path: Path, answer: str
) -> None:
    """A fake partner claims active, revision 99, its own Redis: the unit keeps its role.

    ``pair-key``: the fake holds the pair key but its Redis is on another host (192.0.2.1):
    the unit uses only Redis addresses on its partner's host.
    """
    # The attacker's Redis would let the unit's replica in (the password the unit derives from
    # PAIR_KEY): no connected replica below means the unit never followed it, not that it
    # tried and was refused.
    with make_redis(
        tmp_path / "attacker-redis", passwords=RedisPasswords.derived(PAIR_KEY)
    ) as attacker_redis:
        redis_url = OFF_HOST_REDIS if answer == "pair-key" else attacker_redis.public_url
        with fake_partner(tmp_path, answer, redis_url) as fake:
            unit = unit_with_partner(hapair_factory, tmp_path, fake.address)
            before = snapshot(unit)
            assert before["partner_role"] == "not_operational"
            # a dozen exchanges (0.2 s apart) with forged answers, each one refused
            start = len(fake.calls())
            poll(
                lambda: len(fake.calls()) >= start + 12,
                timeout=15,
                what="a dozen heartbeats answered by the fake partner",
            )
            calls = fake.calls()
            assert all(c["path"] == HEARTBEAT for c in calls)
            assert all(c["headers"][pairauth.FROM_HEADER] == "first" for c in calls)
            assert_untouched(before, snapshot(unit))
            expected = "redis-url-refused" if answer == "pair-key" else "partner-answer-refused"
            events = [e for e in log_events(unit.proc) if e.get("event") == expected]
            assert events and events[0]["level"] == "warning", events
            with redis_client(attacker_redis) as client:
                assert client.info("replication")["connected_slaves"] == 0


def test_signed_call_with_off_host_redis_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """A validly signed heartbeat whose Redis is not on the partner's host: 403, not heard."""
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    before = snapshot(unit)
    auth = pairauth.PairAuth(PAIR_KEY, "second")
    body = heartbeat_body(redis_url=OFF_HOST_REDIS)
    resp = post(unit, HEARTBEAT, body, auth.sign_call("POST", HEARTBEAT, body))
    assert resp.status_code == 403, resp.text
    assert_untouched(before, snapshot(unit))
    assert any(e.get("event") == "redis-url-refused" for e in log_events(unit.proc))


# ---- (b) replayed and reflected captured messages ----------------------------------------------


def test_captured_own_heartbeat_replayed_and_reflected_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """The unit's own heartbeat, captured on the wire, sent back to it on both endpoints."""
    with fake_partner(tmp_path, "unsigned") as fake:
        unit = unit_with_partner(hapair_factory, tmp_path, fake.address)
        captured = poll(fake.calls, timeout=10, what="a captured heartbeat")[-1]
    before = snapshot(unit)
    body = captured["body"].encode()
    headers = {k: v for k, v in captured["headers"].items() if k.startswith("x-hapair-")}
    assert headers[pairauth.FROM_HEADER] == "first" and headers[pairauth.TO_HEADER] == "second"
    for path in (HEARTBEAT, DEMOTE, HEARTBEAT, DEMOTE):
        refused(post(unit, path, body, headers))
    # relabelled as coming from the partner: the MAC covers sender and recipient
    relabelled = {**headers, pairauth.FROM_HEADER: "second", pairauth.TO_HEADER: "first"}
    for path in (HEARTBEAT, DEMOTE):
        refused(post(unit, path, body, relabelled))
    assert_untouched(before, snapshot(unit))


def test_partner_call_replayed_or_reflected_to_demote_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    """A validly signed heartbeat from the partner is accepted once; its replays are not.

    Signing with the pair key in the test stands for capturing one from the wire.
    """
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    auth = pairauth.PairAuth(PAIR_KEY, "second")
    body = heartbeat_body(role="standby", revision=0, shared=unit.shared_address)
    headers = auth.sign_call("POST", HEARTBEAT, body)
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
    refused(post(unit, DEMOTE, b'{"by":"second","boot_id":"x"}', headers))
    assert_untouched(before, snapshot(unit))


# ---- (c) a message claiming to come from this unit itself --------------------------------------


def test_call_claiming_to_come_from_this_unit_is_refused(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    before = snapshot(unit)
    key = pairauth.derive_key(PAIR_KEY)
    for path, body in ((HEARTBEAT, heartbeat_body()), (DEMOTE, b'{"by":"first","boot_id":"x"}')):
        for sender, recipient in (("first", "first"), ("first", "second"), ("third", "first")):
            ts, nonce = f"{time.time():.3f}", pairauth.new_nonce()
            signature = pairauth.mac(
                key,
                kind=pairauth.CALL,
                method="POST",
                path=path,
                sender=sender,
                recipient=recipient,
                timestamp=ts,
                nonce=nonce,
                body=body,
            )
            headers = {
                pairauth.FROM_HEADER: sender,
                pairauth.TO_HEADER: recipient,
                pairauth.TIMESTAMP_HEADER: ts,
                pairauth.NONCE_HEADER: nonce,
                pairauth.SIGNATURE_HEADER: signature,
            }
            refused(post(unit, path, body, headers))
    assert_untouched(before, snapshot(unit))


# ---- (d) stale messages ------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-10.5, -60.0, 10.5])
def test_stale_call_is_refused(hapair_factory: HapairFactory, tmp_path: Path, skew: float) -> None:
    unit = unit_with_partner(hapair_factory, tmp_path, f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}")
    before = snapshot(unit)
    auth = pairauth.PairAuth(PAIR_KEY, "second", clock=lambda: time.time() + skew)
    for path, body in ((HEARTBEAT, heartbeat_body()), (DEMOTE, b'{"by":"second","boot_id":"x"}')):
        resp = post(unit, path, body, auth.sign_call("POST", path, body))
        refused(resp)
        assert "stale" in resp.json()["detail"]
    assert_untouched(before, snapshot(unit))
