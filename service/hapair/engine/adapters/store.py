"""This unit's Redis as the node uses it (``store.redis.Store``)."""

from __future__ import annotations

from hapair.domain.parameters import Snapshot
from hapair.store.migrate import migrate
from hapair.store.redis import Store


class RedisStore:
    """The local store port over the unit's ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def read(self) -> Snapshot:
        return await self.store.read()

    async def read_if_changed(self) -> Snapshot:
        return await self.store.read_if_changed()

    async def revision(self) -> int:
        return await self.store.revision()

    async def promote(self) -> None:
        await self.store.promote()

    async def wait_partner(self, within_ms: int) -> bool:
        return await self.store.wait_partner(within_ms)

    async def server_version(self) -> str:
        return await self.store.server_version()

    async def is_master(self) -> bool:
        return (await self.store.replication()).get("role") == "master"

    async def migrate(self) -> None:
        await migrate(self.store.link)
