"""An import (``POST /ha/import``) as one Redis transaction: the parameters as one new revision
and the token set, or nothing.

``WATCH`` on the revision, the tokens and the revocations, read them, let the caller decide what
to write from what is there, then ``MULTI``/``EXEC``: a revision committed or a token revoked
meanwhile fails the ``EXEC`` and the import decides again on the new state (a revocation made
during an import is never undone by it). No Lua.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import WatchError

from hapair.domain.parameters import HAParameters
from hapair.store import keys, records
from hapair.store import tokens as token_store
from hapair.store.client import Link
from hapair.store.parameters import StoredParameters, revision_records
from hapair.store.tokens import TokenRecord

ATTEMPTS = 5


@dataclass(frozen=True)
class Held:
    """What the pair holds when an import decides: the revision, tokens and revocations."""

    revision: int
    tokens: dict[str, TokenRecord]  # digest -> record
    revoked: dict[str, str]  # digest -> id


@dataclass(frozen=True)
class Writes:
    """What an import writes: the parameters (None: unchanged) and the token set's changes."""

    params: HAParameters | None
    changes: dict[str, list[Any]]
    put: dict[str, TokenRecord]  # digest -> record
    delete: list[str]  # digests


class Busy(Exception):
    """The state kept changing under the import (``ATTEMPTS`` transactions failed)."""


async def apply_import(
    link: Link,
    decide: Callable[[Held], Writes],
    *,
    actor: str,
    now: str,
    dry_run: bool,
) -> tuple[Held, Writes, int]:
    """Reads the pair's state, asks ``decide`` what to write and writes it atomically.

    Returns:
        What was held, what was (or in a dry run, would be) written, and the revision after.

    Raises:
        Busy: Every attempt lost to a concurrent change.
        hapair.domain.errors.StoreUnavailable: Redis failed.
    """
    async with link.guard():
        for _ in range(ATTEMPTS):
            async with link.client.pipeline(transaction=True) as pipe:
                await pipe.watch(keys.REVISION, keys.PARAMETERS, keys.TOKENS, keys.TOKENS_REVOKED)
                raw = await pipe.get(keys.PARAMETERS)
                current = None if raw is None else records.decode(raw, StoredParameters)
                held = Held(
                    revision=int(await pipe.get(keys.REVISION) or 0),
                    tokens=token_store.decode_all(await pipe.hgetall(keys.TOKENS)),
                    revoked=token_store.decode_revoked(await pipe.hgetall(keys.TOKENS_REVOKED)),
                )
                writes = decide(held)
                after = held.revision + (1 if writes.params is not None else 0)
                if dry_run:
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
                    return held, writes, after
                pipe.multi()  # type: ignore[no-untyped-call]
                if writes.params is not None:
                    _commit(pipe, after, writes, current, actor=actor, now=now)
                if writes.delete:
                    pipe.hdel(keys.TOKENS, *writes.delete)
                if writes.put:
                    put = {d: token_store.encode(r) for d, r in writes.put.items()}
                    pipe.hset(keys.TOKENS, mapping=put)  # type: ignore[arg-type]
                try:
                    link.wrote()
                    await pipe.execute()
                except WatchError:
                    continue
                return held, writes, after
    raise Busy


def _commit(
    pipe: Any,
    revision: int,
    writes: Writes,
    current: records.Decoded[StoredParameters] | None,
    *,
    actor: str,
    now: str,
) -> None:
    """The same keys and records as ``Parameters.commit``: one revision with its history entry
    (``revision_records``: a newer hapair's members kept, its record never rewritten)."""
    assert writes.params is not None
    stored, entry = revision_records(
        current, revision=revision, params=writes.params, changes=writes.changes,
        actor=actor, now=now,
    )  # fmt: skip
    pipe.set(keys.REVISION, revision)
    pipe.set(keys.PARAMETERS, stored)
    pipe.zadd(keys.HISTORY, {entry: revision})
    pipe.zremrangebyrank(keys.HISTORY, 0, -(keys.HISTORY_KEEP + 1))
