"""The partner's heartbeat is answered by the fast path in front of Litestar
(``api/fastpath.py`` ``fast_heartbeat``), and only the calls it passes: here its
``heartbeat_answer`` is counted in the unit's own process. That its answers equal Litestar's,
refusals included, is tests/integration/test_heartbeat_fastpath.py's."""

from __future__ import annotations

from typing import Any

import pytest

from hapair.api import fastpath
from hapair.engine.pairlink import pairauth
from tests.integration.partner_attack import (
    HEARTBEAT,
    PAIR_KEY,
    challenge,
    heartbeat_body,
    partner_auth,
    post,
)
from tests.units import MakeUnit


def test_the_fast_path_answers_an_accepted_heartbeat_and_hands_on_a_refused_one(
    make_unit: MakeUnit, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = make_unit("hb", extra_args=["--pair-key", PAIR_KEY])
    answered: list[bool] = []
    answer = fastpath.heartbeat_answer

    async def counted(*args: Any) -> Any:
        got = await answer(*args)
        answered.append(got is not None)
        return got

    monkeypatch.setattr(fastpath, "heartbeat_answer", counted)
    auth = partner_auth(unit)
    body = heartbeat_body(role="standby", revision=0, shared=unit.shared_address)
    answered.clear()  # the challenge's call: refused, so handed on
    headers = auth.sign_call("POST", HEARTBEAT, body, challenge=challenge(unit, auth))
    assert answered == [False]
    resp = post(unit, HEARTBEAT, body, headers)
    assert resp.status_code == 200, resp.text
    auth.verify_answer(
        "POST", HEARTBEAT, headers[pairauth.NONCE_HEADER], resp.headers, resp.content
    )
    assert answered == [False, True]  # answered in front of Litestar
    replayed = post(unit, HEARTBEAT, body, headers)
    assert replayed.status_code == 401
    assert replayed.headers[pairauth.REFUSED_HEADER] == "replayed"  # the nonce was recorded
    assert answered == [False, True, False]
