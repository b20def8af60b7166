"""This unit's Redis and its partner's data: replicating from the active, archiving what only
this unit holds before it does, the partner's revision, a forced resync.

No unit logs into its partner's Redis (SPEC 6, "Redis, v3"): what it needs of the partner's
data it asks the partner for, in signed unit-to-unit calls (``PartnerClient``), and the
partner answers from its own Redis. The only connection to the partner's Redis is the
replica's, as the replication-only ACL user. Both sides live here: the asking side
(``replicate_from``, ``revision``, ``force_update``) and the answering side
(``own_revision``, ``resync``, ``history_ids``, ``archive_from_partner``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

import msgspec

from hapair.clock import utc_now
from hapair.domain.errors import PartnerUnavailable, StoreUnavailable
from hapair.engine.pairlink.messages import HistoryIdsReply
from hapair.engine.pairlink.partner import PartnerClient, PartnerError
from hapair.store import tokens as token_store
from hapair.store.conflicts import ConflictEntry
from hapair.store.keys import HISTORY_KEEP
from hapair.store.parameters import decode_entry
from hapair.store.redis import Store
from hapair.store.replication import ROLE_REUSE_S
from hapair.urls import host_port

log = logging.getLogger("hapair.engine")

MIN_PARTNER_WAIT_S = 0.05  # less than this before the deadline: archive at a later tick
RESYNC_WAIT_S = 5.0  # how long the standby waits for the active's revision on a forced update
_encoder = msgspec.json.Encoder()


class Publisher(Protocol):
    """The event stream, written now (``services.events.Events``)."""

    async def publish(
        self, type: str, data: dict[str, object], *, at: str | None = None
    ) -> None: ...

    def end_streams_of(self, token_ids: list[str]) -> None:
        """Ends the streams of these (revoked) tokens at once."""
        ...


def replication_target(advertised_url: str) -> tuple[str, int]:
    """Where this unit's replica connects for the partner's advertised Redis URL: its host and
    port (the hook for a tunnel that would carry replication over TLS)."""
    return host_port(advertised_url)


class PartnerStore:
    """One unit's view of the two Redis servers of the pair."""

    def __init__(
        self,
        store: Store,
        redis_url: str,
        name: str,
        events: Publisher | None,
        client: Callable[[], PartnerClient | None] = lambda: None,
    ) -> None:
        self.store = store
        self.redis_url = redis_url
        self.name = name
        self.events = events
        self.client = client
        self.target: Callable[[str], tuple[str, int]] = replication_target

    async def close(self) -> None:
        """Nothing to close: the partner is reached through the engine's client."""

    def _partner(self) -> PartnerClient:
        client = self.client()
        if client is None:
            raise PartnerError("no partner")
        return client

    # ---- asking the partner ----------------------------------------------------------------

    async def replicate_from(self, url: str, wait: float = 5.0) -> bool | None:
        """Points this unit's Redis at the partner's (archiving first what only it holds).
        None: it does not replicate from it; else whether its replication link is up.

        ``wait``: how long each call to the partner may take. The engine's loop waits for
        this action, so it passes the time left before its failover deadline: a partner that
        froze mid-call must not hold the standby past it (issue 23: a SIGSTOP during the
        standby's first replicate made a failover 11 s)."""
        target = self.target(url)
        try:
            info = await self.store.replication(ROLE_REUSE_S)  # the tick's read asked it
        except StoreUnavailable:
            return None
        master = (str(info.get("master_host", "")), int(info.get("master_port", 0) or 0))
        if info.get("role") == "slave" and master == target:
            return link_up(info)
        try:
            archived = await self.archive_divergent(wait)
            await self.store.replicate_from(*target)
        except (StoreUnavailable, PartnerError) as exc:
            log.warning(
                "cannot replicate yet", extra={"event": "replicate-failed", "error": str(exc)}
            )
            return None
        master_text = f"{target[0]}:{target[1]}"
        extra: dict[str, object] = {
            "event": "replicaof",
            "master": master_text,
            "archived": archived,
        }
        log.info("replicating", extra=extra)
        return False

    async def link_up(self, url: str) -> bool | None:
        """Whether this unit's Redis replicates from ``url`` with its link up (None: it does
        not replicate from it, or does not answer)."""
        try:
            info = await self.store.replication()
        except StoreUnavailable:
            return None
        master = (str(info.get("master_host", "")), int(info.get("master_port", 0) or 0))
        if info.get("role") != "slave" or master != self.target(url):
            return None
        return link_up(info)

    async def archive_divergent(self, wait: float = 5.0) -> int:
        """Sends the revisions only this unit holds to the active partner, which archives them
        in its conflict archive (and tells its event stream), and this unit's token
        revocations, which it keeps (a revocation is never undone, SPEC 4); how many
        revisions. Each call to the partner waits ``wait`` at most."""
        mine = await self.store.history(limit=HISTORY_KEEP, before=None)
        revoked = await token_store.revocations(self.store)
        if not mine and not revoked:
            return 0
        if wait < MIN_PARTNER_WAIT_S:
            raise PartnerError("no time left before the failover deadline")
        partner = self._partner()
        divergent = []
        if mine:
            theirs = await partner.history_ids(wait)
            their_ids = set(theirs.ids)
            divergent = [
                e
                for e in mine
                if e.id not in their_ids and (theirs.complete or e.revision >= theirs.oldest)
            ]
        if not divergent and not revoked:
            return 0
        revisions = await partner.archive(
            [_encoder.encode(e) for e in divergent], wait, revoked=revoked
        )
        if divergent:
            extra = {"event": "conflicts-archived", "revisions": revisions}
            log.warning("archived conflicting revisions", extra=extra)
        return len(divergent)

    async def revision(self, url: str, advertised: int) -> int:
        """The partner's revision, asked of the partner (read from its Redis by itself), else
        the one it advertised."""
        client = self.client()
        if url and client is not None:
            try:
                return await client.revision()
            except PartnerError:
                pass
        return advertised

    async def force_update(self, url: str) -> tuple[int, int, float]:
        """Asks the standby to re-point its replica at this unit now and to wait until it
        holds this unit's revision: (revision, partner revision, seconds taken)."""
        del url  # the standby replicates from the address this unit advertises to it
        start = time.monotonic()
        revision = await self.store.revision()
        try:
            partner_revision = await self._partner().resync(revision, wait=RESYNC_WAIT_S + 2.0)
        except PartnerError as exc:
            raise PartnerUnavailable(f"the partner did not resync: {exc}") from exc
        if partner_revision < revision:
            raise PartnerUnavailable(
                f"the partner holds revision {partner_revision}, not {revision}, after "
                f"{RESYNC_WAIT_S:g} s"
            )
        return revision, partner_revision, time.monotonic() - start

    # ---- answering the partner ---------------------------------------------------------------

    async def own_revision(self) -> int:
        """This unit's revision (``/internal/v1/revision``)."""
        return await self.store.revision()

    async def resync(self, active_url: str | None, revision: int) -> int:
        """``/internal/v1/resync`` on the standby: drop the replication link, sync again from
        the active now, and wait (``RESYNC_WAIT_S`` at most) until this unit holds
        ``revision``; the revision it holds then."""
        if not active_url:
            raise StoreUnavailable("the active partner advertises no Redis")
        target = self.target(active_url)
        await self.store.promote()
        await self.store.replicate_from(*target)
        deadline = time.monotonic() + RESYNC_WAIT_S
        while True:
            held = await self.store.revision()
            if held >= revision or time.monotonic() > deadline:
                return held
            await asyncio.sleep(0.01)

    async def history_ids(self) -> HistoryIdsReply:
        """``/internal/v1/history-ids``: the commit ids this unit's history keeps."""
        theirs = await self.store.history(limit=HISTORY_KEEP, before=None)
        return HistoryIdsReply(
            ids=[e.id for e in theirs],
            oldest=min((e.revision for e in theirs), default=0),
            complete=len(theirs) < HISTORY_KEEP,
        )

    async def merge_revocations(self, revoked: dict[str, bytes]) -> list[str]:
        """``/internal/v1/conflicts`` on the active: keeps the partner's token revocations (the
        tokens are deleted here too) and ends the event streams of the tokens this removed;
        their ids."""
        removed = await token_store.merge_revocations(self.store, revoked)
        if removed:
            if self.events is not None:
                self.events.end_streams_of(removed)
            log.warning(
                "the partner's token revocations kept",
                extra={"event": "revocations-merged", "tokens": removed},
            )
        return removed

    async def archive_from_partner(self, unit: str, raw: list[bytes]) -> list[int]:
        """``/internal/v1/conflicts`` on the active: archives the partner's divergent revisions
        (idempotent: keyed by unit and commit id) and tells the event stream."""
        now = utc_now()
        entries = [ConflictEntry.of(decode_entry(r), unit=unit, archived_at=now) for r in raw]
        if not entries:
            return []
        await self.store.archive_conflicts(entries)
        revisions = [c.revision for c in entries]
        if self.events is not None:
            await self.events.publish("conflict", {"unit": unit, "revisions": revisions})
        log.warning(
            "archived the partner's conflicting revisions",
            extra={"event": "conflicts-archived", "unit": unit, "revisions": revisions},
        )
        return revisions


def link_up(info: dict[str, object]) -> bool:
    """A replica's ``INFO replication``: its link to the master is up, no sync under way."""
    syncing = str(info.get("master_sync_in_progress", 0)) != "0"
    return info.get("master_link_status") == "up" and not syncing
