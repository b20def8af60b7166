"""``Store``: one unit's Redis, the concern objects composed behind one client.

The concerns live in their own modules, each with its keys from ``keys.py`` and the client
injected through one ``Link`` (``client.py``: connecting, the fail-fast probe, the guarded
call): ``parameters.py`` (revisioned compare-and-set, history), ``conflicts.py``,
``replication.py`` (promote, replicate-from, INFO, WAIT); ``tokens.py`` and ``events.py``
beside them. ``Store`` only delegates, so a caller holds one object per Redis (one pool, one
probe, one ``close``) and reads as ``store.read()``, ``store.promote()``.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from hapair.domain.parameters import HAParameters, Snapshot
from hapair.store.client import DOWN_AFTER_S, Link
from hapair.store.conflicts import ConflictEntry, Conflicts
from hapair.store.parameters import HistoryEntry, Parameters
from hapair.store.replication import Replication

# read_if_changed: what the last read knew of this Redis before it was sent: the parameter
# writes this client sent, its REPLICAOF commands, the probe's failed PINGs, and what ROLE said
# last (how many ROLE answers so far, the role, the replication offset).
_Marks = tuple[int, int, int, tuple[int, str, int]]
FULL_READ_EVERY = 10  # read_if_changed reads again at least every this many calls


class Store:
    """Typed access to one unit's Redis."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.link = Link(client)
        self.parameters = Parameters(self.link)
        self.conflict_archive = Conflicts(self.link)
        self.replication_control = Replication(self.link)
        # read_if_changed: the last read's snapshot, what it knew before it (``_marks``), and
        # how many times it was given again since
        self._last_read: tuple[Snapshot, _Marks, int] | None = None

    # The client and its probe (client.py).

    def start_probe(self, *, interval: float = 0.2, timeout: float = 0.4) -> None:
        """Pings Redis in the background so ``recently_ok`` knows whether it answers."""
        self.link.start_probe(interval=interval, timeout=timeout)

    def recently_ok(self, within: float = DOWN_AFTER_S) -> bool:
        """Whether Redis answered the probe within the last ``within`` seconds."""
        return self.link.recently_ok(within)

    def fail_fast_if_down(self) -> None:
        """StoreUnavailable at once while the probe knows Redis is down (``Link.guard``)."""
        self.link.fail_fast_if_down()

    async def ping(self) -> bool:
        """True when Redis answers."""
        return await self.link.ping()

    async def close(self) -> None:
        """Stops the probe and the coalescing reader, then closes the connection pool."""
        await self.link.stop_probe()
        await self.parameters.stop_reader()
        await self.client.aclose()

    # Parameters and history (parameters.py).

    async def read(self) -> Snapshot:
        """The current parameters (``Parameters.read``: concurrent reads share MGETs)."""
        return await self.parameters.read()

    async def read_if_changed(self) -> Snapshot:
        """``read``, or the last read's snapshot again when nothing can have changed since:
        Redis answered within ``DOWN_AFTER_S`` (a command or the probe's PING), this client
        sent no write of the parameters (``Link.wrote``) and no REPLICAOF since, no PING of
        the probe failed since (a Redis restarted from its append-only file may have lost the
        last second of writes; an active steps aside before its Redis is restarted), and either
        this Redis is a master (only this unit writes it) or, as a replica, ``ROLE`` asked now
        finds the offset a ``ROLE`` before the last read found (nothing replicated since). At
        least every ``FULL_READ_EVERY`` calls it reads anyway.

        On a replica the ``ROLE`` is asked here, each call: a ``ROLE`` of the last tick would
        let a write replicated after it go unseen for another tick (a standby held the pair's
        last virtual ID a tick longer than it needed to, and the units refused each other as
        another pair). The tick's replication action then takes this answer
        (``replication.ROLE_REUSE_S``), so the standby still asks once a tick.

        The engine's tick reads through this (issue 23 point 5: no parameters read per tick
        when nothing changed), and the probe keeps knowing whether Redis answers."""
        if self.replication_control.seen[1] == "slave":
            await self.replication_control.info()
        last = self._last_read
        if last is not None and last[2] + 1 < FULL_READ_EVERY and self._unchanged(last[1]):
            self._last_read = (last[0], last[1], last[2] + 1)
            return last[0]
        marks = self._marks()
        self._last_read = None
        snapshot = await self.parameters.read()
        self._last_read = (snapshot, marks, 0)
        return snapshot

    def _marks(self) -> _Marks:
        control = self.replication_control
        return self.link.writes, control.switches, self.link.failures, control.seen

    def _unchanged(self, before: _Marks) -> bool:
        now = self._marks()
        if not self.link.recently_ok() or now[:3] != before[:3]:
            return False
        seq, role, offset = before[3]
        now_seq, now_role, now_offset = now[3]
        if role == "master":
            return now_role == "master"
        return role == now_role == "slave" and now_seq > seq and now_offset == offset >= 0

    async def revision(self) -> int:
        """The current revision only."""
        return await self.parameters.revision()

    async def commit(
        self,
        *,
        expected: int,
        params: HAParameters,
        changes: dict[str, list[Any]],
        actor: str,
        now: str,
    ) -> int | None:
        """The new revision, or None when the revision is no longer ``expected``."""
        return await self.parameters.commit(
            expected=expected, params=params, changes=changes, actor=actor, now=now
        )

    async def history(self, *, limit: int, before: int | None) -> list[HistoryEntry]:
        """Newest first, revisions strictly below ``before`` when given."""
        return await self.parameters.history(limit=limit, before=before)

    async def at_revision(self, revision: int) -> HistoryEntry | None:
        """The history entry of one revision, if it is still kept."""
        return await self.parameters.at_revision(revision)

    # Conflicts (conflicts.py).

    async def conflicts(self) -> list[ConflictEntry]:
        """Every archived conflicting revision, oldest archive first."""
        return await self.conflict_archive.archived()

    async def archive_conflicts(self, entries: list[ConflictEntry]) -> None:
        """Adds conflict records (idempotent: keyed by the revision's commit id)."""
        await self.conflict_archive.archive(entries)

    # Replication control (replication.py).

    async def replication(self, max_age: float = 0.0) -> dict[str, Any]:
        """How replication stands, in ``INFO replication``'s names (``Replication.info``: read
        with ``ROLE``; an answer at most ``max_age`` seconds old may be given again)."""
        return await self.replication_control.info(max_age)

    async def server_version(self) -> str:
        """The Redis (or Valkey) server's version, as ``INFO server`` reports it."""
        return await self.replication_control.server_version()

    async def replicate_from(self, host: str, port: int) -> None:
        """Makes this Redis a replica of another (read-only)."""
        await self.replication_control.replicate_from(host, port)

    async def promote(self) -> None:
        """Makes this Redis a master."""
        await self.replication_control.promote()

    async def wait_partner(self, within_ms: int) -> bool:
        """Redis ``WAIT``: whether one replica acknowledged all writes so far, answered within
        ``within_ms`` (``Replication.wait_partner``)."""
        return await self.replication_control.wait_partner(within_ms)
