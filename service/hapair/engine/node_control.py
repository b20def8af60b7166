"""The API's side of a :class:`~hapair.engine.node.Node`: :class:`NodeControl` implements
:class:`~hapair.engine.control.HAControl` over one node.

Requests that move the role (takeover, demote, hand-over, switchover, maintenance) are put on
the node's one queue as events and wait for the machine's reply (``Node.ask``, bounded):
nothing here changes the node's state, ``step`` does. What a request reads beforehand (the
revisions, with writes held during a hand-over) travels in its event. The status is a pure
view (``status_view.pair_view``) of what the node knows and the revisions read now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from hapair.clock import iso
from hapair.domain import errors
from hapair.domain.applied import ParameterApplied, ParametersApplied, UnitApplied
from hapair.domain.errors import Check as CheckResult
from hapair.domain.parameters import Snapshot
from hapair.domain.status import PairStatus, Role, pair_state
from hapair.domain.tracks import TrackView
from hapair.domain.unit import Maintenance, UnitSettings, other_unit
from hapair.domain.version import VERSION
from hapair.engine.control import PartnerData
from hapair.engine.core import machine as m
from hapair.engine.core.state import HOLDING
from hapair.engine.dataplane import applied as dp_applied
from hapair.engine.netif.shared import SharedAddress, addressed
from hapair.engine.node import Node
from hapair.engine.pairlink.messages import (
    AppliedState,
    DemoteReply,
    DemoteRequest,
    HandoverReply,
    HandoverRequest,
    Heartbeat,
)
from hapair.engine.pairlink.pairauth import Challenges
from hapair.engine.pairlink.refusals import Refusals
from hapair.engine.ports import PartnerLink, PartnerStore
from hapair.engine.status_view import StatusFacts, pair_view
from hapair.settings import Settings

log = logging.getLogger("hapair.engine")

_ERRORS: dict[str, type[Exception]] = {
    "pacified": errors.Pacified,
    "partner-unavailable": errors.PartnerUnavailable,
    "not-active": errors.NotActive,
}
_STATES = ("applied", "pending", "unsupported", "failed")


def _raise(reply: m.Reply) -> None:
    if reply.error is not None:
        raise _ERRORS.get(reply.error, errors.NotActive)(reply.detail)


def _results(checks: tuple[m.Check, ...]) -> list[CheckResult]:
    return [CheckResult(name=c.name, ok=c.ok, detail=c.detail) for c in checks]


class PairStores(PartnerStore, PartnerData, Protocol):
    """Both sides of the pair's Redis servers (``adapters/partner_store.py``): the node's port,
    the partner's internal calls, and where the replica connects (the TLS tunnel's entry)."""

    target: Callable[[str], tuple[str, int]]


class NodeControl:
    """What the API and the services may ask of one unit's node."""

    def __init__(self, node: Node, *, partner_store: PairStores, shared: SharedAddress) -> None:
        self.node = node
        self.partner_store = partner_store
        self.shared = shared
        self.write_lock = asyncio.Lock()
        self.quiesced = False  # a hand-over holds the write lock: the demote must not wait

    # ---- facts ---------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.node.settings

    @property
    def unit(self) -> UnitSettings:
        return self.node.unit

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def address(self) -> str:
        return self.node.address

    @property
    def ha(self) -> bool:
        return self.node.ha

    @property
    def running(self) -> bool:
        return self.node.running

    @property
    def role(self) -> str:
        return self.node.role

    @property
    def public_role(self) -> str:
        """The role as the API shows it."""
        s = self.node.state
        return Role.NOT_OPERATIONAL if s is None else s.public_role

    @property
    def role_epoch(self) -> int:
        return self.node.role_epoch

    @property
    def maintenance(self) -> Maintenance:
        return self.node.maintenance

    @property
    def pacified(self) -> bool:
        return self.node.pacified

    @property
    def pending(self) -> dict[str, str | None] | None:
        return self.node.pending

    @pending.setter
    def pending(self, pending: dict[str, str | None] | None) -> None:
        self.node.pending = pending

    @property
    def boot_id(self) -> str:
        return self.node.boot_id

    @property
    def booted_at(self) -> str:
        return self.node.booted_at

    @property
    def redis_version(self) -> str | None:
        return self.node.redis_version

    @property
    def challenges(self) -> Challenges:
        return self.node.challenges

    @property
    def refusals(self) -> Refusals:
        return self.node.refusals

    @property
    def partner_link(self) -> PartnerLink | None:
        return self.node.link

    @property
    def serving_shared(self) -> bool:
        return self.shared.serving

    @property
    def app(self) -> Any:
        """The ASGI app the shared listener serves."""
        return self.shared.app

    @app.setter
    def app(self, app: Any) -> None:
        self.shared.app = app

    def now(self) -> float:
        return self.node.now()

    def pair_id(self) -> str:
        return self.node.pair_id()

    def recheck_pair(self) -> None:
        self.node.recheck_pair()

    def partner_fresh(self) -> Heartbeat | None:
        return self.node.partner_fresh()

    def partner_heard_age(self) -> float | None:
        """Seconds since the partner was last heard (None: never this boot)."""
        s = self.node.state
        heard = s.heard_at if s is not None else None
        return None if heard is None else max(0.0, self.now() - heard)

    def partner_host(self) -> str | None:
        """The configured partner's host (its direct address's), if any."""
        address = self.node.unit.partner_address
        if not address:
            return None
        return address.rpartition(":")[0].strip("[]") or None

    def boots_in_window(self) -> int:
        return self.node.boots_in_window()

    def track_views(self) -> list[TrackView]:
        return self.node.checks.views()

    def advertise_redis(self, url: str) -> None:
        """What the heartbeat advertises as this unit's Redis (the replication tunnel's)."""
        self.node.redis_url = url

    # ---- lifecycle -----------------------------------------------------------------------

    async def boot(self) -> None:
        await self.node.boot()

    async def close(self) -> None:
        await self.node.close()

    def served(self) -> None:
        """The direct listener is up: this boot counts."""
        self.node.served()

    def schedule_reboot(self) -> None:
        self.node.schedule_reboot()

    # ---- the write gate ------------------------------------------------------------------

    def check_ha(self) -> None:
        """HA resources exist only in an HA mode."""
        if not self.ha:
            raise errors.HADisabled

    def check_pair_write(self, *, via_shared: bool, data: bool = True) -> None:
        """Where a pair-wide write may be served (SPEC section 4); ``data``: a write of the
        pair's data, refused while the units run different versions."""
        self.check_ha()
        if self.pacified:
            raise errors.Pacified
        if not via_shared:
            raise errors.UseSharedAddress(self.unit.shared_address or "")
        if self.role != Role.ACTIVE:
            raise errors.NotActive
        if data:
            self.check_versions()

    def check_versions(self) -> None:
        """409 ``version-skew`` while the partner (heard within ``ha_timeout``) runs another
        hapair version. A partner that does not say (older than the field) is not refused."""
        p = self.partner_fresh()
        if p is not None and p.version and p.version != VERSION:
            raise errors.VersionSkew(VERSION, p.version)

    def is_shared(self, server: tuple[str, int | None] | None) -> bool:
        """Whether a request arrived on the shared address."""
        return addressed(self.unit.shared_address, server)

    def note_commit(self, snapshot: Snapshot, actor: str, fields: list[str]) -> None:
        """Takes in a committed revision at once and logs it: who and which fields."""
        self.node.note_commit(snapshot)
        extra = {"event": "commit", "revision": snapshot.revision, "actor": actor, "fields": fields}
        log.info("revision committed", extra=extra)

    @contextlib.asynccontextmanager
    async def writes_held(self) -> AsyncIterator[None]:
        """No write commits while the role is handed over: the standby can be seen to hold
        every revision, and a write that waited finds this unit no longer active (409)."""
        async with self.write_lock:
            self.quiesced = True
            try:
                yield
            finally:
                self.quiesced = False

    # ---- requests ------------------------------------------------------------------------

    async def _ask(self, make: Callable[[int], m.Event]) -> m.Reply:
        return await self.node.ask(make)

    async def on_heartbeat(self, hb: Heartbeat) -> Heartbeat:
        """Handles the partner's heartbeat; answers with ours."""
        return self.node.received(hb)

    async def takeover(self) -> None:
        """``POST /unit/takeover``: this standby becomes active; the partner standby. The
        machine refuses it when this unit is pacified, in maintenance or unfit (one rule)."""
        self.check_ha()
        now = self.now
        _raise(await self._ask(lambda r: m.TakeoverAsked(now=now(), request=r)))
        await self.node.exchange_now()  # the answer shows the pair as it now is

    async def demote(self, request: DemoteRequest) -> DemoteReply:
        """The partner takes over: step down, and tell it the last revision to wait for."""
        now = self.now
        reply = await self._ask(
            lambda r: m.DemoteAsked(now=now(), request=r, by=request.by, cause=request.cause)
        )
        store = self.node.ports.store
        if self.quiesced:  # this unit's own hand-over holds the writes already
            revision = await store.revision()
        else:
            async with self.write_lock:  # a write under way finishes first
                revision = await store.revision()
        return DemoteReply(revision=revision, demoted=reply.demoted)

    async def handover(self, request: HandoverRequest) -> HandoverReply:
        """The active hands the role over: take it, answer once serving the shared address."""
        now = self.now
        reply = await self._ask(
            lambda r: m.TakeoverAsked(now=now(), request=r, cause=request.cause)
        )
        if reply.error is not None:
            return HandoverReply(ok=False, error=reply.error, detail=reply.detail)
        return HandoverReply(ok=True)

    async def switchover(self, *, dry_run: bool) -> tuple[bool, list[CheckResult], str, float]:
        """``POST /ha/actions/switchover``: (ok, checks, new active, seconds taken)."""
        self.check_ha()
        if self.pacified:
            raise errors.Pacified
        now, start = self.now, self.now()
        s = self.node.state
        found = [] if s is None else _results(m.checks(s, now()))
        if dry_run:
            synced = await self._synced()
            reply = await self._ask(
                lambda r: m.SwitchoverAsked(now=now(), request=r, dry_run=True, synced=synced)
            )
        else:
            async with self.writes_held():
                synced = await self._synced()
                reply = await self._ask(
                    lambda r: m.SwitchoverAsked(now=now(), request=r, synced=synced)
                )
        if reply.checks:
            found = _results(reply.checks)
        if reply.error == "switchover-refused":
            raise errors.SwitchoverRefused(found)
        _raise(reply)
        if dry_run:
            return all(c.ok for c in found), found, self.name, 0.0
        await self.node.exchange_now()  # the answer shows the pair as it now is
        partner = other_unit(self.name)
        return True, found, partner, now() - start

    async def set_maintenance(self, *, enabled: bool, reason: str | None, force: bool) -> None:
        """``PUT /unit/maintenance``: hands over first when active (unless forced); the machine
        keeps the record, saves it in the data dir and tells the stream."""
        self.check_ha()
        now = self.now
        if enabled and self.role in HOLDING:
            async with self.writes_held():  # it hands over first, as a switchover does
                synced = await self._synced()
                reply = await self._ask(
                    lambda r: m.MaintenanceSet(
                        now=now(),
                        request=r,
                        enabled=True,
                        reason=reason,
                        force=force,
                        synced=synced,
                    )
                )
        else:
            reply = await self._ask(
                lambda r: m.MaintenanceSet(
                    now=now(), request=r, enabled=enabled, reason=reason, force=force
                )
            )
        if reply.error == "switchover-refused":
            found = _results(reply.checks)
            raise errors.SwitchoverRefused(
                found, "the hand-over checks failed; ?force=true skips them"
            )
        _raise(reply)
        await self.node.exchange_now()

    async def _synced(self) -> m.Synced:
        """This unit's revision and the partner's, read now (after a bounded ``WAIT`` for the
        replica), for the ``partner-in-sync`` check, as ``GET /ha/status`` reads them."""
        store = self.node.ports.store
        revision: int | None
        try:
            revision = await store.revision()
            await store.wait_partner(1000)
        except errors.StoreUnavailable:
            revision = None
        return m.Synced(revision=revision, partner_revision=await self.partner_revision())

    async def partner_revision(self) -> int | None:
        """The partner's revision read from its own Redis (fresh), else from its heartbeat."""
        p = self.partner_fresh()
        if p is None:
            return None
        return await self.partner_store.revision(p.redis_url, p.revision)

    async def force_partner_update(self) -> tuple[int, int, float]:
        """Resyncs the standby now; returns (revision, partner revision, seconds taken)."""
        p = self.partner_fresh()
        if p is None or p.role != Role.STANDBY or not p.redis_url:
            raise errors.PartnerUnavailable("the standby partner is not reachable")
        return await self.partner_store.force_update(p.redis_url)

    async def announce(self) -> tuple[str, str, int]:
        """``POST /ha/actions/announce``: the active re-announces its virtual IP now."""
        if self.role != Role.ACTIVE and self.settings.shared_interface is not None:
            raise errors.NotActive("this unit does not hold the virtual IP")
        return await self.shared.announce()

    # ---- the status ----------------------------------------------------------------------

    async def _view(self) -> tuple[PairStatus, bool]:
        if not self.ha:
            return PairStatus(pair=pair_state([]), units=[]), False
        node = self.node
        try:
            revision: int | None = await node.ports.store.revision()
        except errors.StoreUnavailable:
            revision = None
        p = self.partner_fresh()
        keys = self.settings.pair_keys
        facts = StatusFacts(
            name=self.name,
            state=node.state,
            now=self.now(),
            address=self.address,
            partner_address=self.unit.partner_address,
            revision=revision,
            partner=p,
            partner_revision=await self.partner_revision() if p is not None else None,
            serving_now=self.shared.serving,
            last_sent_at=node.last_sent_at,
            last_heard_at=node.last_heard_at,
            pair_keys=None if keys is None else (keys.current_id, keys.next_id),
        )
        return pair_view(facts)

    async def status(self) -> PairStatus:
        """``GET /ha/status``: both units as this unit sees them."""
        return (await self._view())[0]

    async def status_in_sync(
        self, revision: int | None, *, wait_s: float
    ) -> tuple[PairStatus, bool]:
        """The status, once the pair is in sync (``machine.sync``) at ``revision`` or later,
        or ``wait_s`` has passed; and whether it is. Without ``revision``: at once."""
        clock = self.node.clock
        deadline = clock.now() + wait_s
        while True:
            status, synced = await self._view()
            in_sync = synced and (
                revision is None
                or all(u.revision is not None and u.revision >= revision for u in status.units)
            )
            if in_sync or revision is None or clock.now() >= deadline:
                return status, in_sync
            await clock.sleep(min(0.02, max(0.0, deadline - clock.now())))

    def applied(self) -> ParametersApplied:
        """``GET /ha/parameters/applied``: this unit's part, then the partner's as its last
        heartbeat said."""
        self.check_ha()
        node = self.node
        mine = node.dataplane.report
        parameters = _wire(mine.parameters) or {
            name: ParameterApplied(state="pending", detail="not applied yet: the unit is starting")
            for name in dp_applied.parameters()
        }
        wall = node.clock.wall()
        units = [
            UnitApplied(
                name=self.name,
                observed_revision=mine.observed_revision,
                reported_at=iso(wall),
                parameters=parameters,
            )
        ]
        other = other_unit(self.name)
        s = node.state
        p = s.partner if s is not None else None
        heard = s.heard_at if s is not None else None
        if p is None or heard is None:
            units.append(
                UnitApplied(name=other, observed_revision=None, reported_at=None, parameters={})
            )
        else:
            report = p.dataplane
            units.append(
                UnitApplied(
                    name=p.unit or other,
                    observed_revision=report.observed_revision if report else None,
                    reported_at=iso(wall - (self.now() - heard)),
                    parameters=_wire(report.parameters) if report else {},
                )
            )
        return ParametersApplied(units=units)


def _wire(parameters: dict[str, AppliedState]) -> dict[str, ParameterApplied]:
    """The API's form; a state this version does not know (a newer partner's) is shown as
    ``pending`` with that state named, never as ``applied``."""
    out = {}
    for name, a in parameters.items():
        if a.state in _STATES:
            out[name] = ParameterApplied(state=a.state, detail=a.detail)  # type: ignore[arg-type]
        else:
            out[name] = ParameterApplied(state="pending", detail=f"{a.state}: {a.detail}")
    return out
