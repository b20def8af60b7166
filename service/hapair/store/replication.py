"""Replication control of one unit's Redis: promote, replicate-from, INFO and WAIT."""

from __future__ import annotations

from typing import Any

from hapair.store.client import Link


class Replication:
    """Makes the unit's Redis a master or a replica and reports how replication stands."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def info(self) -> dict[str, Any]:
        """``INFO replication`` as a dict."""
        async with self.link.guard():
            info: dict[str, Any] = await self.link.client.info("replication")
        return info

    async def server_version(self) -> str:
        """The server's version as ``INFO server`` reports it (Valkey's own version when it
        is Valkey, which also reports a Redis compatibility version)."""
        async with self.link.guard():
            info: dict[str, Any] = await self.link.client.info("server")
        return str(info.get("valkey_version") or info.get("redis_version") or "")

    async def replicate_from(self, host: str, port: int) -> None:
        """Makes this Redis a replica of another (read-only)."""
        async with self.link.guard():
            await self.link.client.execute_command("REPLICAOF", host, port)  # type: ignore[no-untyped-call]

    async def promote(self) -> None:
        """Makes this Redis a master."""
        async with self.link.guard():
            await self.link.client.execute_command("REPLICAOF", "NO", "ONE")  # type: ignore[no-untyped-call]

    async def wait_partner(self, timeout_ms: int) -> bool:
        """Redis ``WAIT 1 timeout``: whether one replica acknowledged all writes so far."""
        async with self.link.guard():
            acked = await self.link.client.execute_command("WAIT", 1, timeout_ms)  # type: ignore[no-untyped-call]
        return int(acked) >= 1
