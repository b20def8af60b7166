"""Pair-wide parameter use cases: read, write (PUT, merge patch, rollback), history, conflicts.

Orchestrates the domain rules, the store's compare-and-set and the engine's role; holds no
HTTP and no Redis commands of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from hapair.clock import utc_now
from hapair.domain import parameters as dp
from hapair.domain.errors import FieldError, NotFound, RevisionMismatch, ValidationFailed
from hapair.domain.history import Conflict, ConflictsPage, HistoryItem, HistoryPage
from hapair.domain.parameter_forms import HAParametersResource
from hapair.domain.parameters import Snapshot
from hapair.domain.status import Role
from hapair.engine.control import HAControl
from hapair.metrics import Metrics
from hapair.services.events import Events
from hapair.store.redis import Store

_encode = msgspec.json.Encoder().encode

# SPEC: the write acknowledgment is Redis ``WAIT``, bounded by 1 s (``Store.wait_partner`` keeps
# the bound itself: the server expires a WAIT on its timer, up to a period late).
ACK_WITHIN_MS = 1000

WriteKind = Literal["put", "patch", "rollback"]


@dataclass(frozen=True)
class Current:
    """The current parameters with their wire form, encoded once."""

    epoch: int
    snap: Snapshot
    resource: HAParametersResource
    body: bytes


@dataclass(frozen=True)
class WriteResult:
    """The resource after a write and whether the partner's Redis acknowledged it."""

    resource: HAParametersResource
    acknowledged: bool | None  # None: nothing was committed (dry run)
    committed: bool


def _as_revision(value: object) -> int | FieldError:
    """A revision number from JSON (strict: no strings or booleans; ``9.0`` counts as 9)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return FieldError("/revision", f"revision must be a non-negative integer, got {value!r}")
    return value


def parse_rollback(raw: object) -> int:
    """The revision a ``POST /ha/parameters/rollback`` body names; 422 with every bad field."""
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("", "request body must be a JSON object")])
    errors = [FieldError(f"/{k}", f"unknown field '{k}'") for k in raw if k != "revision"]
    revision = _as_revision(raw.get("revision"))
    if isinstance(revision, FieldError):
        errors.append(revision)
    if errors or isinstance(revision, FieldError):
        raise ValidationFailed(errors)
    return revision


def _revision_of(raw: object) -> int | None:
    """The body's ``revision`` (read-only, but when given it must be current)."""
    if not isinstance(raw, dict) or raw.get("revision") is None:
        return None
    revision = _as_revision(raw["revision"])
    if isinstance(revision, FieldError):
        raise ValidationFailed([revision])
    return revision


class ParametersService:
    """The HA parameters of the pair."""

    def __init__(
        self, store: Store, engine: HAControl, metrics: Metrics, *, events: Events | None = None
    ) -> None:
        self.store = store
        self.engine = engine
        self.metrics = metrics
        self.events = events
        self._cache: Current | None = None

    def resource(
        self, params: dp.HAParameters, revision: int, updated_at: str | None
    ) -> HAParametersResource:
        """The wire form: stored values, effective virtual ID, revision."""
        vid, source = dp.effective_virtual_id(params, self.engine.unit.shared_address)
        return HAParametersResource(
            **{**dp.to_dict(params), "virtual_id": vid, "virtual_id_source": source},
            revision=revision,
            updated_at=updated_at,
        )

    def _of(self, snap: Snapshot) -> HAParametersResource:
        return self.resource(snap.params, snap.revision, snap.updated_at)

    def _current_of(self, epoch: int, snap: Snapshot) -> Current:
        res = self._of(snap)
        return Current(epoch=epoch, snap=snap, resource=res, body=_encode(res))

    async def current(self) -> Current:
        """The current parameters.

        The active unit is the only writer of its Redis, so it keeps what it last read or
        committed in memory and serves reads from there, as long as its role has not changed
        since (``role_epoch``) and its Redis answered within ``DOWN_AFTER_S`` (1.5 s); after
        that every Redis command fails at once (see ``Link.guard``), so a Redis outage
        answers 503 within about 1.5 s. Every other unit reads its Redis, which
        replication changes underneath it.
        """
        cached = self._cache
        engine = self.engine
        if (
            cached is not None
            and cached.epoch == engine.role_epoch
            and engine.role == Role.ACTIVE
            and self.store.recently_ok()
        ):
            return cached
        epoch = engine.role_epoch
        current = self._current_of(epoch, await self.store.read())
        self._cache = current if engine.role == Role.ACTIVE else None
        return current

    async def get(self) -> Current:
        """The current parameters (the resource and its encoded body)."""
        self.engine.check_ha()
        return await self.current()

    async def write(
        self,
        kind: WriteKind,
        raw: object,
        *,
        if_match: tuple[int, ...] | None,
        actor: str,
        dry_run: bool,
        via_shared: bool,
    ) -> WriteResult:
        """Validates and commits one change as exactly one new revision.

        Where a write may be served (the active's shared address) is checked before the body is
        read (``api/serving.py``) and once more here under the write lock, where it counts: the
        role may have changed while the write waited for the lock.
        """
        body_revision: int | None = None
        target: int | None = None
        values: dict[str, Any] = {}
        if kind == "rollback":
            target = parse_rollback(raw)
        else:
            body_revision = _revision_of(raw)
            values = dp.decode_fields(raw, allow_null=(kind == "patch"))
        # One write at a time in this process, from the read to the commit: concurrent writers
        # queue instead of losing the compare-and-set to each other. The CAS still guards
        # against any other writer of this Redis. The partner's acknowledgement is awaited
        # outside the lock.
        async with self.engine.write_lock:
            self.engine.check_pair_write(via_shared=via_shared)
            current = await self.current()
            snap = current.snap
            # Preconditions count only for a request that would otherwise succeed (RFC 9110
            # 13.2.1): an invalid change answers 422 (or 404) whatever If-Match says.
            new = await self._build(kind, snap, values, target)
            if if_match is not None and snap.revision not in if_match:
                raise RevisionMismatch(if_match[0], snap.revision)
            if body_revision is not None and body_revision != snap.revision:
                raise RevisionMismatch(body_revision, snap.revision)
            changes = dp.diff(snap.params, new)
            if dry_run:
                next_rev = snap.revision + 1 if changes else snap.revision
                res = self.resource(new, next_rev, utc_now() if changes else snap.updated_at)
                return WriteResult(res, None, committed=False)
            if not changes:
                result = WriteResult(current.resource, None, committed=False)
            else:
                now = utc_now()
                revision = await self.store.commit(
                    expected=snap.revision, params=new, changes=changes, actor=actor, now=now
                )
                if revision is None:
                    self._cache = None
                    raise RevisionMismatch(snap.revision, await self.store.revision())
                committed = self.note_committed(
                    current.epoch,
                    Snapshot(revision=revision, params=new, updated_at=now),
                    actor=actor,
                    changes=changes,
                )
                result = WriteResult(committed.resource, None, committed=True)
        return WriteResult(result.resource, await self.acknowledged(), result.committed)

    def note_committed(
        self, epoch: int, snap: Snapshot, *, actor: str, changes: dict[str, list[Any]]
    ) -> Current:
        """After a commit (under the write lock): the cache, the metrics, the engine and the
        event stream learn of the new revision."""
        committed = self._current_of(epoch, snap)
        if self.engine.role == Role.ACTIVE and epoch == self.engine.role_epoch:
            self._cache = committed
        else:
            self._cache = None
        self.metrics.committed(snap.revision)
        self.engine.note_commit(committed.snap, actor, list(changes))
        if self.events is not None:
            # appended by a background task, in commit order: not on the write path
            self.events.emit(
                "revision",
                {"revision": snap.revision, "actor": actor, "changes": changes},
                at=snap.updated_at,
            )
        return committed

    async def _build(
        self, kind: WriteKind, snap: Snapshot, values: dict[str, Any], target: int | None
    ) -> dp.HAParameters:
        if kind == "put":
            return dp.build_put(values)
        if kind == "patch":
            return dp.build_patch(snap.params, values)
        assert target is not None
        entry = await self.store.at_revision(target)
        if entry is None:
            raise NotFound(f"revision {target} is not in the history")
        old = entry.params
        dp.check_rules(old)
        return old

    async def acknowledged(self) -> bool:
        """Whether the partner's Redis holds every write so far (``WAIT``, at most 1 s)."""
        p = self.engine.partner_fresh()
        if p is None or p.role != Role.STANDBY:
            return False
        return await self.store.wait_partner(ACK_WITHIN_MS)

    async def history(self, *, limit: int, before: int | None) -> HistoryPage:
        """A page of history, newest first."""
        self.engine.check_ha()
        entries = await self.store.history(limit=limit + 1, before=before)
        more = len(entries) > limit
        entries = entries[:limit]
        items = [
            HistoryItem(
                revision=x.revision, updated_at=x.updated_at, actor=x.actor, changes=x.changes
            )
            for x in entries
        ]
        return HistoryPage(
            items=items, next_before=entries[-1].revision if more and entries else None
        )

    async def at_revision(self, revision: int) -> HAParametersResource:
        """The full parameters as of one revision."""
        self.engine.check_ha()
        entry = await self.store.at_revision(revision)
        if entry is None:
            raise NotFound(f"revision {revision} is not in the history")
        return self.resource(entry.params, entry.revision, entry.updated_at)

    async def conflicts(self) -> ConflictsPage:
        """Archived split-brain revisions."""
        self.engine.check_ha()
        items = [
            Conflict(
                unit=c.unit,
                archived_at=c.archived_at,
                revision=c.revision,
                updated_at=c.updated_at,
                actor=c.actor,
                changes=c.changes,
                parameters=dp.to_dict(c.params),
            )
            for c in await self.store.conflicts()
        ]
        return ConflictsPage(items=items)
