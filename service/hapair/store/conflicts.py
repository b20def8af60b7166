"""Conflicting revisions: what a unit held that the pair never saw, archived on rejoin."""

from __future__ import annotations

import msgspec

from hapair.store import keys, records
from hapair.store.client import Link
from hapair.store.parameters import HistoryEntry


class ConflictEntry(HistoryEntry, kw_only=True):
    """A revision a unit held that the pair never saw, archived when the unit rejoined."""

    unit: str
    archived_at: str

    @classmethod
    def of(cls, entry: HistoryEntry, *, unit: str, archived_at: str) -> ConflictEntry:
        """The conflict record of one history entry."""
        return cls(unit=unit, archived_at=archived_at, **msgspec.structs.asdict(entry))


class Conflicts:
    """The archive of conflicting revisions in one unit's Redis."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def archived(self) -> list[ConflictEntry]:
        """Every archived conflicting revision, oldest archive first."""
        async with self.link.guard():
            raw = await self.link.client.hvals(keys.CONFLICTS)
        items = [records.decode(v, ConflictEntry).value for v in raw]
        items.sort(key=lambda c: (c.archived_at, c.revision))
        return items

    async def archive(self, entries: list[ConflictEntry]) -> None:
        """Adds conflict records (idempotent: keyed by the revision's commit id)."""
        if not entries:
            return
        mapping = {f"{e.unit}:{e.id or e.revision}": records.encode(e) for e in entries}
        async with self.link.guard():
            await self.link.client.hset(keys.CONFLICTS, mapping=mapping)  # type: ignore[arg-type]
