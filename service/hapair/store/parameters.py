"""The HA parameters: revisioned compare-and-set, coalesced reads and the history.

Every read-modify-write is one optimistic transaction (``WATCH`` the revision, check it,
``MULTI``/``EXEC`` the revision, the parameters and the history entry), so a reader never sees
half a change, a change makes exactly one revision, and of two writers that read the same
revision exactly one commits. No Lua: the ACL user runs none (SPEC 6, "Redis, v3").
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import msgspec
from redis.exceptions import WatchError

from hapair.domain.errors import VersionSkew
from hapair.domain.parameters import HAParameters

# Snapshot moved to the domain (the engine uses it too); re-exported for existing callers
from hapair.domain.parameters import Snapshot as Snapshot  # noqa: PLC0414
from hapair.domain.version import VERSION
from hapair.store import keys, records
from hapair.store.client import Link


class StoredParameters(msgspec.Struct, kw_only=True):
    """The current parameters as kept in Redis (the revision lives in its own key)."""

    params: HAParameters
    updated_at: str | None = None
    commit_id: str | None = None


class HistoryEntry(msgspec.Struct, kw_only=True):
    """One committed revision; ``id`` tells two units' revisions of the same number apart."""

    revision: int
    updated_at: str
    actor: str
    changes: dict[str, list[Any]]
    params: HAParameters
    id: str = ""


def decode_entry(raw: bytes | str) -> HistoryEntry:
    """A history entry as stored (tolerant: ``records``)."""
    return records.decode(raw, HistoryEntry).value


def revision_records(
    current: records.Decoded[StoredParameters] | None,
    *,
    revision: int,
    params: HAParameters,
    changes: dict[str, list[Any]],
    actor: str,
    now: str,
) -> tuple[bytes, bytes]:
    """The parameters record and the history entry of a new revision over ``current`` (the
    record stored now): members a newer hapair added are kept, and a record a newer hapair
    wrote is never rewritten (the commit and an import both write through this).

    Raises:
        VersionSkew: ``current`` was written by a newer hapair.
    """
    if current is not None and current.newer:
        raise VersionSkew(
            VERSION,
            "newer",
            f"the parameters were stored by a newer hapair (record schema {current.schema}, "
            f"this build, {VERSION}, writes {records.SCHEMA}): it does not rewrite them; "
            "upgrade this unit",
        )
    extra = current.extra if current is not None else {}
    commit_id = uuid.uuid4().hex
    stored = StoredParameters(params=params, updated_at=now, commit_id=commit_id)
    entry = HistoryEntry(
        revision=revision, updated_at=now, actor=actor, changes=changes, params=params,
        id=commit_id,
    )  # fmt: skip
    return (
        records.encode(stored, extra),
        records.encode(entry, {"params": extra["params"]} if "params" in extra else {}),
    )


class Parameters:
    """The parameters, their revision and their history in one unit's Redis."""

    def __init__(self, link: Link) -> None:
        self.link = link
        # Read coalescing (see ``read``): callers waiting for the next MGET, and the task
        # issuing MGETs one after another while there are callers waiting.
        self._next_read: asyncio.Future[Snapshot] | None = None
        self._reader: asyncio.Task[None] | None = None
        # the record as last read, with its revision: what a commit keeps of it (the members
        # a newer unit wrote) and whether it may rewrite it at all
        self._current: tuple[int, records.Decoded[StoredParameters] | None] | None = None

    async def stop_reader(self) -> None:
        """Cancels the coalescing reader, if it runs."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def read(self) -> Snapshot:
        """The current parameters; revision 0 (the defaults) before the first commit.

        Concurrent readers share MGETs: a caller waits for the next MGET that starts after it
        arrived (never one already on the wire), so it sees every write committed or
        replicated before its call, as if it had read alone. Under load this turns N
        concurrent reads into one Redis round trip, the biggest cost of a read. When the MGET
        on the wire fails, the callers waiting for the next one fail with it (Redis was
        unreachable while they waited), so a hung Redis costs at most one socket timeout.
        """
        self.link.fail_fast_if_down()  # rather than queue behind an MGET hanging on a dead Redis
        waiter = self._next_read
        if waiter is None:
            waiter = self._next_read = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_batches())
        return await asyncio.shield(waiter)

    async def _read_batches(self) -> None:
        """Serves the waiting readers with one MGET per batch until nobody waits."""
        waiter: asyncio.Future[Snapshot] | None = None
        try:
            while (waiter := self._next_read) is not None:
                self._next_read = None
                try:
                    snap = await self._read_once()
                except Exception as exc:
                    # Those who arrived while this read was failing get its error too rather
                    # than a read of their own: with a hung Redis that would make them wait out
                    # two socket timeouts instead of at most one.
                    waiter.set_exception(exc)
                    pending, self._next_read = self._next_read, None
                    if pending is not None:
                        pending.set_exception(exc)
                else:
                    waiter.set_result(snap)
        finally:
            for left in (waiter, self._next_read):
                if left is not None and not left.done():
                    left.cancel()

    async def _read_once(self) -> Snapshot:
        async with self.link.guard():
            raw_rev, raw_params = await self.link.client.mget(keys.REVISION, keys.PARAMETERS)
        if raw_params is None:
            self._current = (int(raw_rev or 0), None)
            return Snapshot(revision=int(raw_rev or 0), params=HAParameters(), updated_at=None)
        found = records.decode(raw_params, StoredParameters)
        self._current = (int(raw_rev or 0), found)
        stored = found.value
        return Snapshot(
            revision=int(raw_rev or 0), params=stored.params, updated_at=stored.updated_at
        )

    async def _record_at(self, revision: int) -> records.Decoded[StoredParameters] | None:
        """The stored record, as last read when that was at ``revision``, else read now."""
        if self._current is not None and self._current[0] == revision:
            return self._current[1]
        async with self.link.guard():
            raw = await self.link.client.get(keys.PARAMETERS)
        return None if raw is None else records.decode(raw, StoredParameters)

    async def revision(self) -> int:
        """The current revision only."""
        async with self.link.guard():
            raw = await self.link.client.get(keys.REVISION)
        return int(raw or 0)

    async def commit(
        self,
        *,
        expected: int,
        params: HAParameters,
        changes: dict[str, list[Any]],
        actor: str,
        now: str,
    ) -> int | None:
        """Commits ``params`` as revision ``expected + 1`` if the revision is still ``expected``.

        Returns:
            The new revision, or None when another write got there first.
        """
        stored, entry = revision_records(
            await self._record_at(expected),
            revision=expected + 1,
            params=params,
            changes=changes,
            actor=actor,
            now=now,
        )
        async with self.link.guard():
            return await self._compare_and_set(expected, stored, entry)

    async def _compare_and_set(self, expected: int, stored: bytes, entry: bytes) -> int | None:
        """``WATCH`` the revision; if it is ``expected``, write revision ``expected + 1``, the
        parameters and the history entry in one ``MULTI``/``EXEC`` (which fails, committing
        nothing, if the revision changed meanwhile)."""
        new = expected + 1
        async with self.link.client.pipeline(transaction=True) as pipe:
            await pipe.watch(keys.REVISION)
            current = int(await pipe.get(keys.REVISION) or 0)
            if current != expected:
                await pipe.unwatch()  # type: ignore[no-untyped-call]
                return None
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(keys.REVISION, new)
            pipe.set(keys.PARAMETERS, stored)
            pipe.zadd(keys.HISTORY, {entry: new})
            pipe.zremrangebyrank(keys.HISTORY, 0, -(keys.HISTORY_KEEP + 1))
            self.link.wrote()
            try:
                await pipe.execute()
            except WatchError:
                return None
        return new

    async def history(self, *, limit: int, before: int | None) -> list[HistoryEntry]:
        """Newest first, revisions strictly below ``before`` when given."""
        top: str | int = "+inf" if before is None else f"({before}"
        async with self.link.guard():
            raw = await self.link.client.zrevrangebyscore(
                keys.HISTORY, top, "-inf", start=0, num=limit
            )
        return [decode_entry(item) for item in raw]  # type: ignore[arg-type]

    async def at_revision(self, revision: int) -> HistoryEntry | None:
        """The history entry of one revision, if it is still kept."""
        async with self.link.guard():
            raw = await self.link.client.zrangebyscore(keys.HISTORY, revision, revision)
        return decode_entry(raw[0]) if raw else None  # type: ignore[arg-type]
