"""How a pair boots (SPEC section 5): following an active partner, the tie-break when both
start (preference, then revision, then first), alone after ``initial_wait_time``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import pytest

from hapair.domain.parameters import HAParameters
from hapair.store.client import connect
from hapair.store.embedded import RedisPasswords
from hapair.store.redis import Store
from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair
from tests.support import make_redis

pytestmark = pytest.mark.timeout(90)


def seed(url: str, commits: list[dict[str, object]]) -> None:
    """Commits revisions straight into a unit's Redis with hapair's own store (before it boots)."""

    async def run() -> None:
        store = Store(connect(url))
        try:
            for values in commits:
                snap = await store.read()
                new = HAParameters(**{**_asdict(snap.params), **values})
                await store.commit(
                    expected=snap.revision,
                    params=new,
                    changes={},
                    actor="seed",
                    now="2026-01-01T00:00:00Z",
                )
        finally:
            await store.close()

    asyncio.run(run())


def _asdict(p: HAParameters) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__struct_fields__}


def test_boot_follows_an_active_partner(pair: Pair) -> None:
    pair.start_both(first_active=False)
    body = pair.wait_roles({"second": "active", "first": "standby"}, via=pair.first)
    assert body["pair"] == {"state": "paired", "active": "second"}
    assert pair.shared_unit_name() == "second"


@pytest.mark.parametrize(
    ("first_commits", "second_commits", "expected_active"),
    [
        (
            [{"initial_wait_time": 60, "preferred_server": "second"}],
            [{"initial_wait_time": 60, "preferred_server": "second"}],
            "second",
        ),
        (
            [{"initial_wait_time": 60}],
            [{"initial_wait_time": 60}, {"use_broadcast": True}],
            "second",
        ),
        ([{"initial_wait_time": 60}], [{"initial_wait_time": 60}], "first"),
    ],
    ids=["preferred-wins", "higher-revision-wins", "tie-first-wins"],
)
def test_boot_tie_break_when_both_start(
    make_pair: MakePair,
    tmp_path: Path,
    first_commits: list[dict[str, object]],
    second_commits: list[dict[str, object]],
    expected_active: str,
) -> None:
    # the units' Redis servers as ``hapair serve`` would start them for this pair: each one's
    # replica gets into the other with the password both derive from the pair key
    key = secrets.token_hex(16)
    servers = {
        name: make_redis(tmp_path / f"redis-{name}", passwords=RedisPasswords.derived(key))
        for name in ("first", "second")
    }
    try:
        for server in servers.values():
            server.start()
        seed(servers["first"].url, first_commits)
        seed(servers["second"].url, second_commits)
        p = make_pair(redis={k: v.url for k, v in servers.items()}, pair_key=key)
        p.first.start(wait=False)
        p.second.start(wait=False)
        other = "first" if expected_active == "second" else "second"
        # initial_wait_time is 60 s: a role within 15 s can only come from meeting the partner
        p.wait_roles({expected_active: "active", other: "standby"}, via=p.units[other], timeout=15)
    finally:
        for server in servers.values():
            server.stop()


def test_boot_alone_becomes_active_after_initial_wait(make_pair: MakePair, tmp_path: Path) -> None:
    with make_redis(tmp_path / "redis") as server:
        seed(server.url, [{"initial_wait_time": 2}])
        p = make_pair(redis={"first": server.url})
        started = time.monotonic()
        p.first.start()
        p.wait_roles({"first": "active"}, via=p.first, timeout=10)
        assert time.monotonic() - started >= 2.0
