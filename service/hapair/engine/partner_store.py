"""This unit's Redis and its partner's: replicating from the active, archiving what only this
unit holds before it does, reading the partner's revision, a forced resync.

The partner's Redis is reached at the URL its heartbeat advertises (never with credentials in
it) with this unit's own credentials (both units share the pair-key-derived password).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from hapair.clock import utc_now
from hapair.domain.errors import PartnerUnavailable, StoreUnavailable
from hapair.services.events import Events
from hapair.store.client import connect, host_port
from hapair.store.conflicts import ConflictEntry
from hapair.store.keys import HISTORY_KEEP
from hapair.store.redis import Store
from hapair.store.urls import partner_store_url

log = logging.getLogger("hapair.engine")


class PartnerStore:
    """One unit's view of the two Redis servers of the pair."""

    def __init__(self, store: Store, redis_url: str, name: str, events: Events | None) -> None:
        self.store = store
        self.redis_url = redis_url
        self.name = name
        self.events = events
        self._remote: tuple[str, Store] | None = None

    async def close(self) -> None:
        """Closes the connection to the partner's Redis."""
        if self._remote is not None:
            await self._remote[1].close()
            self._remote = None

    async def remote(self, url: str) -> Store:
        """The partner's Redis at its advertised ``url`` (one cached connection pool)."""
        if self._remote is not None and self._remote[0] == url:
            return self._remote[1]
        await self.close()
        try:
            full = partner_store_url(url, self.redis_url)  # this unit's credentials
        except ValueError as exc:
            raise StoreUnavailable(str(exc)) from exc
        store = Store(connect(full, max_connections=4))
        self._remote = (url, store)
        return store

    async def replicate_from(self, url: str) -> bool:
        """Points this unit's Redis at the partner's (archiving first what only it holds);
        whether it replicates from it now."""
        target = host_port(url)
        try:
            info = await self.store.replication()
        except StoreUnavailable:
            return False
        master = (str(info.get("master_host", "")), int(info.get("master_port", 0) or 0))
        if info.get("role") == "slave" and master == target:
            return True
        try:
            remote = await self.remote(url)
            archived = await self.archive_divergent(remote)
            await self.store.replicate_from(*target)
        except StoreUnavailable as exc:
            log.warning(
                "cannot replicate yet", extra={"event": "replicate-failed", "error": str(exc)}
            )
            return False
        master_text = f"{target[0]}:{target[1]}"
        extra: dict[str, object] = {
            "event": "replicaof",
            "master": master_text,
            "archived": archived,
        }
        log.info("replicating", extra=extra)
        return True

    async def archive_divergent(self, remote: Store) -> int:
        """Archives into the active's Redis the revisions only this unit holds (and tells the
        active's event stream); how many."""
        mine = await self.store.history(limit=HISTORY_KEEP, before=None)
        if not mine:
            return 0
        theirs = await remote.history(limit=HISTORY_KEEP, before=None)
        their_ids = {e.id for e in theirs}
        complete = len(theirs) < HISTORY_KEEP
        oldest = min((e.revision for e in theirs), default=0)
        now = utc_now()
        divergent = [
            ConflictEntry.of(e, unit=self.name, archived_at=now)
            for e in mine
            if e.id not in their_ids and (complete or e.revision >= oldest)
        ]
        if not divergent:
            return 0
        await remote.archive_conflicts(divergent)
        revisions = [c.revision for c in divergent]
        if self.events is not None:
            # into the active's stream (this unit's Redis is about to become its replica)
            data: dict[str, object] = {"unit": self.name, "revisions": revisions}
            with contextlib.suppress(Exception):
                await self.events.append_to(remote.client, "conflict", data)
        extra = {"event": "conflicts-archived", "revisions": revisions}
        log.warning("archived conflicting revisions", extra=extra)
        return len(divergent)

    async def revision(self, url: str, advertised: int) -> int:
        """The partner's revision read from its own Redis, else the one it advertised."""
        if url:
            with contextlib.suppress(StoreUnavailable):
                return await (await self.remote(url)).revision()
        return advertised

    async def force_update(self, url: str) -> tuple[int, int, float]:
        """Re-points the standby at ``url`` now and waits until it holds this unit's
        revision: (revision, partner revision, seconds taken)."""
        start = time.monotonic()
        revision = await self.store.revision()
        try:
            remote = await self.remote(url)
            me_host, me_port = host_port(self.redis_url)
            # Re-point the standby: it drops its link and syncs again from the active now.
            await remote.promote()
            await remote.replicate_from(me_host, me_port)
            await self.store.wait_partner(1000)
            deadline = time.monotonic() + 5.0
            while True:
                partner_revision = await remote.revision()
                if partner_revision >= revision or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.01)
        except StoreUnavailable as exc:
            raise PartnerUnavailable(f"the partner's Redis is not reachable: {exc}") from exc
        if partner_revision < revision:
            raise PartnerUnavailable(
                f"the partner holds revision {partner_revision}, not {revision}, after 5 s"
            )
        return revision, partner_revision, time.monotonic() - start
