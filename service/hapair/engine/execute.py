"""Carrying out the machine's actions: Redis, the shared address, the partner, announcements.

An action whose result decides something is answered by an event: the quick ones (promote,
replicate, serve) are stepped at once, before anything else, so the status never lags the
world; the ones that wait on the partner (asking it to step down or to take over) run in the
background and put their answer on the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from hapair.domain.errors import StoreUnavailable
from hapair.domain.parameters import effective_virtual_id
from hapair.domain.status import Role
from hapair.engine import heartbeats
from hapair.engine import machine as m
from hapair.engine.messages import DemoteRequest, HandoverRequest
from hapair.engine.partner import PartnerError
from hapair.store.migrate import migrate

if TYPE_CHECKING:
    from hapair.engine.driver import Engine

log = logging.getLogger("hapair.engine")


async def execute(engine: Engine, actions: list[m.Action]) -> None:
    """Carries out ``actions`` in order."""
    for action in actions:
        match action:
            case m.SendHeartbeat():
                heartbeats.send(engine)
            case m.Promote():
                try:
                    await engine.store.promote()
                except StoreUnavailable:
                    continue
                await engine.step(m.Promoted(now=engine.now()))
                engine.background.spawn(_migrate(engine), "migrate-records")
            case m.ReplicateFrom(url=url):
                up = await engine.partner_store.replicate_from(url, _until_deadline(engine))
                await engine.step(
                    m.ReplicateFailed(now=engine.now())
                    if up is None
                    else m.Replicating(now=engine.now(), url=url, link_up=up)
                )
                if up is False:
                    _watch_link(engine, url)
            case m.ServeShared():
                error = await engine.shared.serve(
                    engine.unit.shared_address, engine.snapshot.params
                )
                await engine.step(
                    m.SharedServed(now=engine.now())
                    if error is None
                    else m.SharedFailed(now=engine.now(), error=error)
                )
            case m.StopShared():
                await engine.shared.release(drain=not engine.closed)
            case m.RenewShared():
                if not await engine.shared.renew(engine.snapshot.params):
                    await engine.step(m.LeaseLost(now=engine.now()))
            case m.AskDemote(request=request, cause=cause):
                engine.background.spawn(_ask_demote(engine, request, cause), "ask-demote")
            case m.AskHandover(request=request, cause=cause):
                engine.background.spawn(_ask_handover(engine, request, cause), "ask-handover")
            case m.Reply():
                engine.requests.answer(action)
            case m.Transitioned(transition=t, role=role):
                shared = engine.unit.shared_address
                vid, _ = effective_virtual_id(engine.snapshot.params, shared)
                engine.announcer.transitioned(t, role, shared=shared, virtual_id=vid)
            case m.Reboot(cause=cause):
                log.warning(
                    "rebooting",
                    extra={"event": "reboot-asked", "unit": engine.name, "cause": cause},
                )
                engine.schedule_reboot()
            case m.TrackReported(name=name, ok=ok, detail=detail):
                engine.announcer.track(name, ok, detail, publish=_publishes(engine))
            case m.Alert(reason=reason, detail=detail, raised=raised):
                data: dict[str, object] = {
                    "unit": engine.name,
                    "reason": reason,
                    "detail": detail,
                    "ended": not raised,
                }
                log.warning("alert", extra={"event": "alert", **data})
                engine.announcer.emit("alert", data)
            case m.Note(event=event, fields=fields):
                log.info(event, extra={"event": event, "unit": engine.name, **dict(fields)})
            case _:
                raise AssertionError(f"unknown action {action!r}")


def _until_deadline(engine: Engine) -> float:
    """How long an action the loop waits for may wait on the partner: until shortly before
    the machine's next deadline (its failover), 5 s at most."""
    if engine.deadline_due is None:
        return 5.0
    return min(5.0, engine.deadline_due - engine.now() - 0.02)


def _publishes(engine: Engine) -> bool:
    """Whether this unit writes its own events to the stream now (otherwise the active
    partner does, from this unit's heartbeat)."""
    return engine.role == Role.ACTIVE or engine.partner_fresh() is None


async def _migrate(engine: Engine) -> None:
    """Its Redis is a master now: older records to this build's schema (``store/migrate``)."""
    with contextlib.suppress(StoreUnavailable):
        await migrate(engine.store.link)


def _watch_link(engine: Engine, url: str) -> None:
    """The replication link is configured but not up yet: watch it (every 50 ms, 10 s at
    most) and tell the engine, and the partner, as soon as it is, rather than at the next tick
    (``in_sync`` waits for it)."""
    if engine.link_watch:
        return

    async def watch() -> None:
        try:
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                up = await engine.partner_store.link_up(url)
                if up is None:
                    return
                if up:
                    engine.put(m.Replicating(now=engine.now(), url=url, link_up=True))
                    heartbeats.send(engine)
                    return
        finally:
            engine.link_watch = False

    engine.link_watch = True
    engine.background.spawn(watch(), "replication-link")


async def _ask_handover(engine: Engine, request: int, cause: str) -> None:
    """Asks the standby partner to take the role over; answers ``HandoverDone``."""
    client = engine.client
    try:
        if client is None:
            raise PartnerError("no partner")  # noqa: TRY301 - one refusal path for both
        reply = await client.handover(HandoverRequest(cause=cause), wait=20.0)
    except PartnerError as exc:
        detail = f"the partner did not take over: {exc}"
        engine.put(
            m.HandoverDone(
                now=engine.now(), request=request, error="partner-unavailable", detail=detail
            )
        )
        return
    error = None if reply.ok else (reply.error or "partner-unavailable")
    engine.put(m.HandoverDone(now=engine.now(), request=request, error=error, detail=reply.detail))


async def _ask_demote(engine: Engine, request: int | None, cause: str) -> None:
    """Asks the active partner to step down and waits (5 s at most) until this unit's Redis
    holds its last revision; answers ``PartnerDemoted`` or ``PartnerDemoteFailed``."""
    client = engine.client
    if client is None:
        engine.put(m.PartnerDemoteFailed(now=engine.now(), request=request, error="no partner"))
        return
    try:
        reply = await client.demote(DemoteRequest(by=engine.name, cause=cause), wait=5.0)
    except PartnerError as exc:
        error = f"the partner did not step down: {exc}"
        engine.put(m.PartnerDemoteFailed(now=engine.now(), request=request, error=error))
        return
    log.info(
        "partner stepped down",
        extra={
            "event": "partner-demoted",
            "unit": engine.name,
            "was_active": reply.demoted,
            "revision": reply.revision,
        },
    )
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            if await engine.store.revision() >= reply.revision:
                break
        except StoreUnavailable:
            pass
        await asyncio.sleep(0.02)
    with contextlib.suppress(StoreUnavailable):
        engine.snapshot = await engine.store.read()
        engine.put(heartbeats.store_read(engine, engine.snapshot))
    engine.put(m.PartnerDemoted(now=engine.now(), request=request))
