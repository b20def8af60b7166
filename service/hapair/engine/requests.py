"""Requests of the API and of the partner that move the role: takeover, demote, hand-over,
switchover, maintenance.

Each is put on the engine's one event queue as an event and waits for the machine's ``Reply``:
nothing here changes the engine's state, ``step`` does. What a request reads beforehand (the
revisions, with writes held during a hand-over) travels in its event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from hapair.clock import utc_now
from hapair.domain.errors import Check as CheckResult
from hapair.domain.errors import (
    NotActive,
    Pacified,
    PartnerUnavailable,
    StoreUnavailable,
    SwitchoverRefused,
)
from hapair.domain.status import Role
from hapair.domain.unit import Maintenance
from hapair.engine import heartbeats
from hapair.engine import machine as m
from hapair.engine.messages import DemoteReply, DemoteRequest, HandoverReply, HandoverRequest
from hapair.engine.state import HOLDING

if TYPE_CHECKING:
    from hapair.engine.driver import Engine

log = logging.getLogger("hapair.engine")

_ERRORS: dict[str, type[Exception]] = {
    "pacified": Pacified,
    "partner-unavailable": PartnerUnavailable,
    "not-active": NotActive,
}


class Pending:
    """The requests waiting for the machine's reply, by number."""

    def __init__(self) -> None:
        self._futures: dict[int, asyncio.Future[m.Reply]] = {}
        self._last = 0

    def open(self) -> tuple[int, asyncio.Future[m.Reply]]:
        """A new request number and the future its reply completes."""
        self._last += 1
        fut: asyncio.Future[m.Reply] = asyncio.get_running_loop().create_future()
        self._futures[self._last] = fut
        return self._last, fut

    def answer(self, reply: m.Reply) -> None:
        """Completes the request ``reply`` answers (if it still waits)."""
        fut = self._futures.pop(reply.request, None)
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def refuse_all(self) -> None:
        """The engine stops: every waiting request is refused."""
        for fut in self._futures.values():
            if not fut.done():
                fut.set_result(m.Reply(0, "not-active", "the unit is stopping"))
        self._futures.clear()


async def ask(engine: Engine, make: Callable[[int], m.Event]) -> m.Reply:
    """Puts a request on the queue as an event and waits for its reply."""
    if engine.state is None or not engine.running:
        return m.Reply(0, "not-active", "the engine is not running")
    request, fut = engine.requests.open()
    engine.put(make(request))
    return await fut


def _raise(reply: m.Reply) -> None:
    if reply.error is not None:
        raise _ERRORS.get(reply.error, NotActive)(reply.detail)


def _results(checks: tuple[m.Check, ...]) -> list[CheckResult]:
    return [CheckResult(name=c.name, ok=c.ok, detail=c.detail) for c in checks]


async def takeover(engine: Engine) -> None:
    """``POST /unit/takeover``: this standby becomes active; the partner becomes standby."""
    engine.check_ha()
    if engine.pacified:
        raise Pacified
    reply = await ask(engine, lambda r: m.TakeoverAsked(now=engine.now(), request=r))
    _raise(reply)
    await heartbeats.exchange_now(engine)  # the answer shows the pair as it now is


async def demote(engine: Engine, request: DemoteRequest) -> DemoteReply:
    """The partner takes over: step down, and tell it the last revision to wait for."""
    reply = await ask(
        engine,
        lambda r: m.DemoteAsked(now=engine.now(), request=r, by=request.by, cause=request.cause),
    )
    if engine.quiesced:  # this unit's own hand-over holds the writes already
        revision = await engine.store.revision()
    else:
        async with engine.write_lock:  # a write under way finishes first
            revision = await engine.store.revision()
    return DemoteReply(revision=revision, demoted=reply.demoted)


async def handover(engine: Engine, request: HandoverRequest) -> HandoverReply:
    """The active hands the role over: take it, answer once serving the shared address."""
    reply = await ask(
        engine, lambda r: m.TakeoverAsked(now=engine.now(), request=r, cause=request.cause)
    )
    if reply.error is not None:
        return HandoverReply(ok=False, error=reply.error, detail=reply.detail)
    return HandoverReply(ok=True)


async def switchover(
    engine: Engine, *, dry_run: bool
) -> tuple[bool, list[CheckResult], str, float]:
    """``POST /ha/actions/switchover``: (ok, checks, new active, seconds taken)."""
    engine.check_ha()
    if engine.pacified:
        raise Pacified
    start = time.monotonic()
    found = [] if engine.state is None else _results(m.checks(engine.state, engine.now()))
    if dry_run:
        synced = await _synced(engine)
        reply = await ask(
            engine,
            lambda r: m.SwitchoverAsked(now=engine.now(), request=r, dry_run=True, synced=synced),
        )
    else:
        async with writes_held(engine):
            synced = await _synced(engine)
            reply = await ask(
                engine, lambda r: m.SwitchoverAsked(now=engine.now(), request=r, synced=synced)
            )
    if reply.checks:
        found = _results(reply.checks)
    if reply.error == "switchover-refused":
        raise SwitchoverRefused(found)
    _raise(reply)
    if dry_run:
        return all(c.ok for c in found), found, engine.name, 0.0
    await heartbeats.exchange_now(engine)  # the answer shows the pair as it now is
    partner = "second" if engine.name == "first" else "first"
    return True, found, partner, time.monotonic() - start


async def set_maintenance(
    engine: Engine, *, enabled: bool, reason: str | None, force: bool
) -> None:
    """``PUT /unit/maintenance``: hands over first when active (unless forced), keeps it in
    the data dir."""
    engine.check_ha()
    if enabled and engine.role in HOLDING:
        async with writes_held(engine):  # it hands over first, as a switchover does
            synced = await _synced(engine)
            reply = await ask(
                engine,
                lambda r: m.MaintenanceSet(
                    now=engine.now(), request=r, enabled=True, force=force, synced=synced
                ),
            )
    else:
        reply = await ask(
            engine,
            lambda r: m.MaintenanceSet(now=engine.now(), request=r, enabled=enabled, force=force),
        )
    if reply.error == "switchover-refused":
        found = _results(reply.checks)
        raise SwitchoverRefused(found, "the hand-over checks failed; ?force=true skips them")
    _raise(reply)
    kept = engine.maintenance
    if enabled != kept.enabled or (enabled and reason != kept.reason):
        engine.maintenance = Maintenance(
            enabled=enabled,
            reason=reason if enabled else None,
            since=utc_now() if enabled else None,
        )
        engine.files.save_maintenance(engine.maintenance)
        if engine.role == Role.ACTIVE or engine.partner_fresh() is None:
            # otherwise the active partner publishes it, learned by heartbeat
            engine.announcer.emit(
                "maintenance",
                {"unit": engine.name, "enabled": enabled, "reason": engine.maintenance.reason},
            )
        log.info(
            "maintenance", extra={"event": "maintenance", "unit": engine.name, "enabled": enabled}
        )
    await heartbeats.exchange_now(engine)


@contextlib.asynccontextmanager
async def writes_held(engine: Engine) -> AsyncIterator[None]:
    """No write commits while the role is handed over: the standby can be seen to hold every
    revision, and a write that waited finds this unit no longer active (409)."""
    async with engine.write_lock:
        engine.quiesced = True
        try:
            yield
        finally:
            engine.quiesced = False


async def _synced(engine: Engine) -> m.Synced:
    """This unit's revision and the partner's, read now (after a bounded ``WAIT`` for the
    replica), for the ``partner-in-sync`` check: as ``GET /ha/status`` reads them (None: this
    unit's Redis did not answer, never in sync)."""
    revision: int | None
    try:
        revision = await engine.store.revision()
        await engine.store.wait_partner(1000)
    except StoreUnavailable:
        revision = None
    return m.Synced(revision=revision, partner_revision=await engine.partner_revision())
