"""A standby that starts replicating from a partner that has just frozen (SIGSTOP: the kernel
still accepts its connections, nothing answers) waits on it no longer than the engine lets it.

The engine's loop waits for this action, and its failover deadline cannot be decided while it
does: with the archive's calls fixed at 5 s each, a SIGSTOP during the standby's first
replicate made a failover take 11 s in bench/failover.py (issue 23). The engine now passes the
time left before its deadline (``execute._until_deadline``).
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from hapair.domain.parameters import HAParameters
from hapair.engine.adapters.partner_store import PartnerStore
from hapair.engine.pairlink.partner import PartnerClient
from hapair.store.client import connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.redis import Store

pytestmark = pytest.mark.timeout(60)


def test_replicate_from_a_frozen_partner_waits_no_longer_than_asked(
    redis_server: EmbeddedRedis,
) -> None:
    frozen = socket.socket()  # listens, never accepts nor answers: a SIGSTOPped unit
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(8)
    address = f"127.0.0.1:{frozen.getsockname()[1]}"

    async def run() -> tuple[bool | None, float, int]:
        store = Store(connect(redis_server.url))
        client = PartnerClient(address, "k" * 32, own_name="second", tls=False, timeout=0.9)
        try:
            # a revision in this unit's history: the replicate asks the partner for its ids
            snap = await store.read()
            await store.commit(
                expected=snap.revision,
                params=HAParameters(ha_timeout=6),
                changes={},
                actor="test",
                now="2026-01-01T00:00:00Z",
            )
            partner_store = PartnerStore(store, redis_server.url, "second", None, lambda: client)
            start = time.monotonic()
            up = await partner_store.replicate_from("redis://127.0.0.1:1/0", wait=0.3)
            took = time.monotonic() - start
            role = (await store.replication()).get("role")
            return up, took, 0 if role == "master" else 1
        finally:
            await client.close()
            await store.close()

    try:
        up, took, replica = asyncio.run(run())
    finally:
        frozen.close()
    assert up is None  # not replicating: the archive did not happen, so neither did REPLICAOF
    assert replica == 0
    # asked for 0.3 s: well under the 5 s each call waited before (a bound load cannot break)
    assert took < 4.0, took
