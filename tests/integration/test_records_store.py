"""Stored records on a real Redis (SPEC 5 "Versions"): older records are migrated to this
build's schema, a record a newer unit wrote keeps its unknown members through this build's
commit, and one of a newer schema is never rewritten (409 ``version-skew``)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
import redis as redis_sync

from hapair.domain.errors import VersionSkew
from hapair.domain.parameters import HAParameters
from hapair.store import keys, records
from hapair.store.backup import Held, Writes, apply_import
from hapair.store.client import connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.migrate import migrate
from hapair.store.redis import Store

NOW = "2026-12-02T00:00:00Z"


async def _commit(store: Store, expected: int, **values: int) -> int | None:
    return await store.commit(
        expected=expected,
        params=HAParameters(**values),  # type: ignore[arg-type]
        changes={},
        actor="test",
        now=NOW,
    )


def test_older_records_are_migrated_and_newer_ones_kept(redis_server: EmbeddedRedis) -> None:
    r = redis_sync.Redis.from_url(redis_server.url)
    old_params = {"params": {"ha_timeout": 6}, "updated_at": NOW, "commit_id": "a"}
    old_entry = {"revision": 1, "updated_at": NOW, "actor": "x", "changes": {},
                 "params": {"ha_timeout": 6}, "id": "a"}  # fmt: skip
    old_token = {"id": "t1", "role": "admin", "created_at": NOW}
    newer_token = {"id": "t2", "role": "viewer", "created_at": NOW, "schema": 99, "scope": "x"}
    r.set(keys.REVISION, 1)
    r.set(keys.PARAMETERS, msgspec.json.encode(old_params))
    r.zadd(keys.HISTORY, {msgspec.json.encode(old_entry): 1})
    r.hset(keys.TOKENS, mapping={"d1": msgspec.json.encode(old_token),
                                 "d2": msgspec.json.encode(newer_token)})  # fmt: skip

    async def run() -> int:
        store = Store(connect(redis_server.url))
        try:
            return await migrate(store.link)
        finally:
            await store.close()

    assert asyncio.run(run()) == 3
    params = msgspec.json.decode(r.get(keys.PARAMETERS))
    assert params == {**old_params, "params": params["params"], "schema": records.SCHEMA}
    assert params["params"]["ha_timeout"] == 6
    (entry,) = r.zrange(keys.HISTORY, 0, -1)
    assert msgspec.json.decode(entry)["schema"] == records.SCHEMA
    assert msgspec.json.decode(r.hget(keys.TOKENS, "d1"))["schema"] == records.SCHEMA
    assert msgspec.json.decode(r.hget(keys.TOKENS, "d2")) == newer_token  # never rewritten
    assert asyncio.run(run()) == 0  # nothing left to do
    r.close()


def test_commit_keeps_unknown_members_and_never_rewrites_a_newer_record(
    redis_server: EmbeddedRedis,
) -> None:
    r = redis_sync.Redis.from_url(redis_server.url)
    same_schema = {"params": {"ha_timeout": 6, "quorum_witness": "w"}, "updated_at": NOW,
                   "commit_id": "a", "signed_by": "second", "schema": records.SCHEMA}  # fmt: skip
    r.set(keys.REVISION, 1)
    r.set(keys.PARAMETERS, msgspec.json.encode(same_schema))

    async def run() -> None:
        store = Store(connect(redis_server.url))
        try:
            assert (await store.read()).params.ha_timeout == 6  # readable, not an error
            assert await _commit(store, 1, ha_timeout=3) == 2
            now = msgspec.json.decode(r.get(keys.PARAMETERS))
            assert now["params"]["ha_timeout"] == 3
            assert now["params"]["quorum_witness"] == "w" and now["signed_by"] == "second"
            newer = {**now, "schema": records.SCHEMA + 1}
            r.set(keys.PARAMETERS, msgspec.json.encode(newer))
            with pytest.raises(VersionSkew, match="newer hapair"):
                await _commit(store, 2, ha_timeout=12)
            assert msgspec.json.decode(r.get(keys.PARAMETERS)) == newer
            assert int(r.get(keys.REVISION)) == 2
        finally:
            await store.close()

    try:
        asyncio.run(run())
    finally:
        r.close()


def test_import_keeps_unknown_members_and_never_rewrites_a_newer_record(
    redis_server: EmbeddedRedis,
) -> None:
    """An import (``store/backup.apply_import``) writes the parameters as the commit does:
    with the schema, a newer unit's members kept, and never over a newer schema's record."""
    r = redis_sync.Redis.from_url(redis_server.url)
    same_schema = {"params": {"ha_timeout": 6, "quorum_witness": "w"}, "updated_at": NOW,
                   "commit_id": "a", "signed_by": "second", "schema": records.SCHEMA}  # fmt: skip
    r.set(keys.REVISION, 1)
    r.set(keys.PARAMETERS, msgspec.json.encode(same_schema))

    def decide(held: Held) -> Writes:
        return Writes(params=HAParameters(ha_timeout=9), changes={"ha_timeout": [6, 9]},
                      put={}, delete=[])  # fmt: skip

    async def run() -> None:
        store = Store(connect(redis_server.url))
        try:
            _, _, after = await apply_import(
                store.link, decide, actor="import", now=NOW, dry_run=False
            )
            assert after == 2
            now = msgspec.json.decode(r.get(keys.PARAMETERS))
            assert now["schema"] == records.SCHEMA
            assert now["params"]["ha_timeout"] == 9
            assert now["params"]["quorum_witness"] == "w" and now["signed_by"] == "second"
            (entry, _) = r.zrange(keys.HISTORY, -1, -1, withscores=True)[0]
            assert msgspec.json.decode(entry)["schema"] == records.SCHEMA
            newer = {**now, "schema": records.SCHEMA + 1}
            r.set(keys.PARAMETERS, msgspec.json.encode(newer))
            history = r.zcard(keys.HISTORY)
            with pytest.raises(VersionSkew, match="newer hapair"):
                await apply_import(store.link, decide, actor="import", now=NOW, dry_run=False)
            assert msgspec.json.decode(r.get(keys.PARAMETERS)) == newer
            assert int(r.get(keys.REVISION)) == 2 and r.zcard(keys.HISTORY) == history
        finally:
            await store.close()

    try:
        asyncio.run(run())
    finally:
        r.close()
