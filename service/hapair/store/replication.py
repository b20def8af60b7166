"""Replication control of one unit's Redis: promote, replicate-from, INFO and WAIT."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hapair.store.client import Link

# How old a ROLE answer the tick's replication action takes again (``Replication.info``'s
# ``max_age``): the tick's read asked it a moment before (``Store.read_if_changed``).
ROLE_REUSE_S = 0.2


class Replication:
    """Makes the unit's Redis a master or a replica and reports how replication stands."""

    def __init__(self, link: Link) -> None:
        self.link = link
        # What ``ROLE`` said last, for ``Store.read_if_changed``: (how many ROLE answers so
        # far, the role, the replication offset); and how many REPLICAOF this client sent.
        self.seen: tuple[int, str, int] = (0, "", -1)
        # the last ``info`` and when it was answered (``time.monotonic``), for ``max_age``
        self._answer: tuple[float, dict[str, Any]] | None = None
        self.switches = 0
        self.gave_up = 0  # WAITs given up at their bound (``wait_partner``)

    async def info(self, max_age: float = 0.0) -> dict[str, Any]:
        """How replication stands, in ``INFO replication``'s names (``role``, and on a replica
        ``master_host``, ``master_port``, ``master_link_status``, ``master_sync_in_progress``),
        read with ``ROLE``: a few words instead of INFO's whole section to format and parse,
        and the standby asks once a tick (issue 23, idle cost).

        ``max_age``: the last answer again when it came at most this many seconds ago and no
        REPLICAOF was sent since (the tick's read asked ROLE a moment before its action asks)."""
        last = self._answer
        if last is not None and time.monotonic() - last[0] <= max_age:
            return dict(last[1])
        switches = self.switches
        async with self.link.guard():
            reply = await self.link.client.execute_command("ROLE")  # type: ignore[no-untyped-call]
        info = role_info(reply)
        self.seen = (self.seen[0] + 1, info["role"], offset_of(reply))
        if switches == self.switches:  # else a REPLICAOF went out meanwhile: not to be reused
            self._answer = (time.monotonic(), info)
        return dict(info)

    async def server_version(self) -> str:
        """The server's version as ``INFO server`` reports it (Valkey's own version when it
        is Valkey, which also reports a Redis compatibility version)."""
        async with self.link.guard():
            info: dict[str, Any] = await self.link.client.info("server")
        return str(info.get("valkey_version") or info.get("redis_version") or "")

    async def replicate_from(self, host: str, port: int) -> None:
        """Makes this Redis a replica of another (read-only)."""
        self.switches += 1
        self._answer = None  # ROLE will say otherwise
        async with self.link.guard():
            await self.link.client.execute_command("REPLICAOF", host, port)  # type: ignore[no-untyped-call]
        self.seen = (self.seen[0] + 1, "slave", -1)  # its offset unknown until ROLE says it

    async def promote(self) -> None:
        """Makes this Redis a master."""
        self.switches += 1
        self._answer = None  # ROLE will say otherwise
        async with self.link.guard():
            await self.link.client.execute_command("REPLICAOF", "NO", "ONE")  # type: ignore[no-untyped-call]
        self.seen = (self.seen[0] + 1, "master", -1)

    async def wait_partner(self, within_ms: int) -> bool:
        """Redis ``WAIT``: whether one replica acknowledged all writes so far, answered within
        ``within_ms``, a window of the whole ``within_ms``.

        The server expires a WAIT on its timer, up to one period (``redis_config.HZ``) late,
        so the bound is kept here: ``WAIT 1 within_ms``, and at ``within_ms`` the wait is
        given up and the answer is "not acknowledged". Giving up cancels the read, and redis-py
        then drops that connection (``read_response``: any BaseException disconnects), so the
        late reply is never read as another command's; the pool makes a new one. A replica
        acknowledges at once when it is up: only a partner that stopped acknowledging waits."""
        async with self.link.guard():
            try:
                async with asyncio.timeout(within_ms / 1000):
                    acked = await self.link.client.execute_command("WAIT", 1, within_ms)  # type: ignore[no-untyped-call]
            except TimeoutError:
                self.gave_up += 1
                return False
        return int(acked) >= 1


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def offset_of(reply: Any) -> int:
    """The replication offset in ``ROLE``'s reply (a master's second word, a replica's fifth);
    -1 when there is none (a sentinel)."""
    try:
        return int(reply[1] if _text(reply[0]) == "master" else reply[4])
    except (IndexError, TypeError, ValueError):
        return -1


def role_info(reply: Any) -> dict[str, Any]:
    """``ROLE``'s reply in ``INFO replication``'s names: a master ``["master", offset,
    replicas]``; a replica ``["slave", host, port, state, offset]``, whose link is up when the
    state is ``connected`` (INFO's ``master_link_status:up``; a sync under way is ``sync``)."""
    role = _text(reply[0])
    if role != "slave":
        return {"role": role}
    state = _text(reply[3])
    return {
        "role": role,
        "master_host": _text(reply[1]),
        "master_port": int(reply[2]),
        "master_link_status": "up" if state == "connected" else "down",
        "master_sync_in_progress": 1 if state == "sync" else 0,
    }
