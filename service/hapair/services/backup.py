"""Backup and restore of the pair: ``GET /ha/export`` and ``POST /ha/import``.

The bundle holds what the pair replicates and a person would rebuild by hand: the HA parameters
as written (an auto virtual ID stays auto) and the API tokens (metadata and digests). It holds no
unit setting (mode, addresses: per unit, in the data dir), no history, no conflicts and no
secret file (pair key, admin token). The form and the checks are ``domain/backup.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.clock import utc_now
from hapair.domain import backup as db
from hapair.domain import parameters as dp
from hapair.domain.errors import RevisionMismatch, StoreUnavailable
from hapair.domain.parameters import Snapshot
from hapair.domain.version import VERSION
from hapair.services.parameters import ParametersService
from hapair.store import backup as store_backup
from hapair.store import tokens as token_store
from hapair.store.tokens import TokenRecord

IMPORT_ACTOR = "import"


@dataclass(frozen=True)
class Imported:
    """An import's answer and whether the partner's Redis acknowledged it (None: nothing was
    written)."""

    result: db.ImportResult
    acknowledged: bool | None


def _bundle_token(digest: str, record: TokenRecord) -> db.BundleToken:
    return db.BundleToken(
        id=record.id,
        role=record.role,  # type: ignore[arg-type]  # only roles in TOKEN_ROLES are stored
        description=record.description,
        created_at=record.created_at,
        expires_at=record.expires_at,
        digest=digest,
    )


def _record(token: db.BundleToken) -> TokenRecord:
    expires = db.unix_of(token.expires_at) if token.expires_at is not None else None
    return TokenRecord(
        id=token.id,
        role=token.role,
        created_at=token.created_at,
        description=token.description,
        expires_at=token.expires_at,
        expires_unix=expires,
    )


class BackupService:
    """Export and import of the pair's parameters and tokens."""

    def __init__(self, parameters: ParametersService) -> None:
        self.parameters = parameters
        self.store = parameters.store
        self.engine = parameters.engine

    async def export(self) -> db.Bundle:
        """The pair's bundle: the current parameters (as written) and every token."""
        self.engine.check_ha()
        snap = (await self.parameters.current()).snap
        records = await token_store.all_by_digest(self.store)
        tokens = [
            _bundle_token(d, r)
            for d, r in sorted(records.items(), key=lambda x: (x[1].created_at, x[1].id))
        ]
        return db.make_bundle(
            version=VERSION,
            exported_at=utc_now(),
            revision=snap.revision,
            params=snap.params,
            tokens=tokens,
        )

    async def import_bundle(
        self,
        raw: object,
        *,
        actor: str,
        dry_run: bool,
        via_shared: bool,
        if_match: tuple[int, ...] | None,
    ) -> Imported:
        """Checks a bundle and makes the pair hold what it holds, in one transaction.

        The parameters become one new revision (actor ``import``, whoever sent it; the sender
        is in the audit log) unless they already equal the bundle's; the token set becomes the
        bundle's, except that a revoked token stays revoked.

        Raises:
            ValidationFailed: The bundle fails a check (``domain.backup.check_bundle``).
            RevisionMismatch: ``If-Match`` names another revision.
        """
        self.engine.check_ha()
        restored = db.check_bundle(raw, VERSION)
        async with self.engine.write_lock:
            self.engine.check_pair_write(via_shared=via_shared)
            current = await self.parameters.current()
            if if_match is not None and current.snap.revision not in if_match:
                raise RevisionMismatch(if_match[0], current.snap.revision)
            plans: list[db.TokenPlan] = []

            def decide(held: store_backup.Held) -> store_backup.Writes:
                if held.revision != current.snap.revision:
                    raise _Moved(held.revision)
                plan = db.plan_tokens(
                    restored.tokens, {d: r.id for d, r in held.tokens.items()}, held.revoked
                )
                plans.append(plan)
                changes = dp.diff(current.snap.params, restored.params)
                return store_backup.Writes(
                    params=restored.params if changes else None,
                    changes=changes,
                    put={t.digest: _record(t) for t in plan.write},
                    delete=plan.delete,
                )

            now = utc_now()
            try:
                _held, writes, revision = await store_backup.apply_import(
                    self.store.link, decide, actor=IMPORT_ACTOR, now=now, dry_run=dry_run
                )
            except _Moved as moved:
                raise RevisionMismatch(current.snap.revision, moved.revision) from None
            except store_backup.Busy:
                raise StoreUnavailable(
                    "the pair's tokens kept changing during the import: try again"
                ) from None
            result = db.ImportResult(
                changes=writes.changes,
                tokens=plans[-1].changes,
                revision=revision,
                dry_run=dry_run,
            )
            if dry_run:
                return Imported(result, None)
            if writes.params is not None:
                self.parameters.note_committed(
                    current.epoch,
                    Snapshot(revision=revision, params=writes.params, updated_at=now),
                    actor=IMPORT_ACTOR,
                    changes=writes.changes,
                )
            wrote = writes.params is not None or writes.put or writes.delete
        return Imported(result, await self.parameters.acknowledged() if wrote else None)


class _Moved(Exception):
    """The revision changed after the import read it (another writer of this Redis)."""

    def __init__(self, revision: int) -> None:
        super().__init__(revision)
        self.revision = revision
