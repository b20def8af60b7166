"""The revision history of the HA parameters and the conflicts a split brain left behind."""

from __future__ import annotations

from typing import Any

import msgspec


class HistoryItem(msgspec.Struct, kw_only=True):
    """One committed revision: who changed what, and when."""

    revision: int
    updated_at: str
    actor: str
    changes: dict[str, list[Any]]


class HistoryPage(msgspec.Struct, kw_only=True):
    """Newest first; ``next_before`` continues the listing, null at the end."""

    items: list[HistoryItem]
    next_before: int | None


class Conflict(msgspec.Struct, kw_only=True):
    """A revision a unit held that the pair never saw (split brain), archived when it rejoined."""

    unit: str
    archived_at: str
    revision: int
    updated_at: str
    actor: str
    changes: dict[str, list[Any]]
    parameters: dict[str, Any]


class ConflictsPage(msgspec.Struct, kw_only=True):
    """Every archived conflict."""

    items: list[Conflict]
