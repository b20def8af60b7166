"""API tokens on both units of a real pair: revocation and expiry answer 401 on the active and
on the standby at the next request (no cache of token lookups); the standby refuses token
writes. The tokens of a lone unit: tests/inprocess/test_tokens.py."""

from __future__ import annotations

import httpx

from tests.api_checks import (
    TOKENS,
    problem,
)
from tests.integration.conftest import (
    MakePair,
)
from tests.support import poll


def test_revoked_and_expired_tokens_refused_on_both_units(make_pair: MakePair) -> None:
    pair = make_pair()
    pair.start_both()
    shared = pair.shared_url
    created = pair.http.post(f"{shared}{TOKENS}", json={"role": "viewer"}).json()
    short = pair.http.post(f"{shared}{TOKENS}", json={"role": "viewer", "expires_in_s": 2}).json()
    units = (pair.first, pair.second)

    def works_on(unit: object, token: str) -> int:
        url = f"{unit.url}/api/v1/unit"  # type: ignore[attr-defined]
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    for unit in units:  # the standby has it through replication
        poll(lambda u=unit: works_on(u, created["token"]) == 200, timeout=5, what="replica")
    r = pair.http.delete(f"{shared}{TOKENS}/{created['id']}")
    assert r.status_code == 204
    # HA-Partner-Acknowledged is not promised for token writes; replication is immediate
    for unit in units:
        poll(lambda u=unit: works_on(u, created["token"]) == 401, timeout=2, what="revoked")
    for unit in units:
        poll(lambda u=unit: works_on(u, short["token"]) == 401, timeout=5, what="expired")
    # the standby refuses token writes
    r = pair.http.post(f"{pair.second.url}{TOKENS}", json={"role": "viewer"})
    problem(r, 409, "use-shared-address")
