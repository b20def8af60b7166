"""The partner's heartbeat answered in front of Litestar (``api/fastpath.py`` ``fast_heartbeat``,
issue 23 point 5) answers as Litestar does.

Two units, each paired with a partner that never calls (a free port): ``fast`` as every unit
runs, and ``plain`` with ``HAPAIR_FASTPATH=off`` (both fast paths left out: every call goes
through Litestar's handler). The same calls go to both, signed with the pair key as the
partner signs them: an accepted heartbeat (its answer signed and bound to the call), the same
call replayed (the fast path records the nonce as the handler does), one bound to no
challenge, one whose body is not a heartbeat, one claiming to come from the unit itself, one
with a header repeated, one over the fast path's body size. Status, refusal reason, problem
type and the names of the headers must be equal (a signature, a challenge and ``date``
differ by nature), and both count the calls under the route's label.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hapair.engine.pairlink import pairauth
from tests.integration.conftest import PARTNER_HOST, Unit, start_unit, wait_active_on_shared
from tests.integration.partner_attack import (
    HEARTBEAT,
    PAIR_KEY,
    challenge,
    heartbeat_body,
    partner_auth,
    post,
    signed_as,
)
from tests.ports import free_port
from tests.support import HapairFactory

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def units(hapair_factory: HapairFactory, tmp_path: Path) -> dict[str, Unit]:
    started = {}
    for name, env in (("fast", {}), ("plain", {"HAPAIR_FASTPATH": "off"})):
        extra = ["--partner", f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}", "--pair-key", PAIR_KEY]
        unit = start_unit(
            hapair_factory, tmp_path / name, env=env, extra_args=extra, wait_active=False
        )
        wait_active_on_shared(unit)
        started[name] = unit
    return started


def calls(unit: Unit) -> list[tuple[str, bytes, dict[str, str] | list[tuple[str, str]]]]:
    """The calls, each as (what, body, headers), signed for ``unit``."""
    auth = partner_auth(unit)
    body = heartbeat_body(role="standby", revision=0, shared=unit.shared_address)
    accepted = auth.sign_call("POST", HEARTBEAT, body, challenge=challenge(unit, auth))
    big = body[:-1] + b', "padding": "' + b"x" * 20_000 + b'"}'
    repeated = auth.sign_call("POST", HEARTBEAT, body, challenge=challenge(unit, auth))
    return [
        ("accepted", body, accepted),
        ("replayed", body, accepted),
        ("no challenge", body, auth.sign_call("POST", HEARTBEAT, body)),
        (
            "not a heartbeat",
            b'{"unit": 1}',
            auth.sign_call("POST", HEARTBEAT, b'{"unit": 1}', challenge=challenge(unit, auth)),
        ),
        (
            "from itself",
            body,
            signed_as(auth, "first", "first", HEARTBEAT, body, challenge(unit, auth)),
        ),
        (
            "a header repeated",
            body,
            [*repeated.items(), (pairauth.NONCE_HEADER, repeated[pairauth.NONCE_HEADER])],
        ),
        (
            "over the fast path's size",
            big,
            auth.sign_call("POST", HEARTBEAT, big, challenge=challenge(unit, auth)),
        ),
    ]


def outcome(unit: Unit, auth: pairauth.PairAuth, what: str, body: bytes, headers: object) -> dict:
    if isinstance(headers, dict):
        resp = post(unit, HEARTBEAT, body, headers)
    else:
        resp = httpx.post(
            f"{unit.direct}{HEARTBEAT}",
            content=body,
            headers=[("content-type", "application/json"), *headers],  # type: ignore[list-item]
            timeout=5,
        )
    assert resp.status_code < 500, (what, resp.status_code, resp.text)
    seen = {
        "status": resp.status_code,
        "refused": resp.headers.get(pairauth.REFUSED_HEADER),
        "headers": sorted(k for k in resp.headers if k != "date"),
        "problem": resp.json().get("type") if resp.status_code >= 400 else None,
    }
    if resp.status_code == 200:
        nonce = dict(headers)[pairauth.NONCE_HEADER]  # type: ignore[call-overload]
        auth.verify_answer("POST", HEARTBEAT, nonce, resp.headers, resp.content)
        answer = json.loads(resp.content)
        seen["answer"] = (answer["unit"], answer["role"])
    return seen


def heartbeats_counted(unit: Unit) -> dict[str, float]:
    text = httpx.get(f"{unit.direct}/metrics", timeout=5).text
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hapair_http_requests_total" and sample.labels["route"] == HEARTBEAT
    }


def test_heartbeat_fast_path_answers_as_litestar(units: dict[str, Unit]) -> None:
    seen = {}
    for name, unit in units.items():
        auth = partner_auth(unit)
        seen[name] = [(what, outcome(unit, auth, what, b, h)) for what, b, h in calls(unit)]
    assert seen["fast"] == seen["plain"]
    got = dict(seen["fast"])
    assert got["accepted"]["status"] == 200 and got["accepted"]["answer"] == ("first", "active")
    assert got["replayed"]["refused"] == "replayed"
    assert got["no challenge"]["refused"] == "challenge"
    assert got["not a heartbeat"]["status"] == 400
    assert got["over the fast path's size"]["status"] == 200
    counted = {name: heartbeats_counted(unit) for name, unit in units.items()}
    assert counted["fast"] == counted["plain"]
    assert counted["fast"]["200"] >= 2
