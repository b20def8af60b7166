"""The HA engine's I/O shell: one event queue into ``machine.step``, actions carried out.

Nothing changes the engine's state but ``step``: heartbeats, store reads, API calls (takeover,
demote from the partner, reboot) and the results of actions all arrive as events on one queue,
so a takeover and a tick can never interleave. Actions are carried out in order by the one loop
that steps; the slow ones that wait on the partner (heartbeat exchange, asking it to step down)
run beside it and report back as events.

:class:`Engine` holds what one unit's engine knows and runs the loop; its concerns live beside
it: ``lifecycle`` (boot, shutdown, reboot), ``heartbeats`` (the tick, the exchange with the
partner, what a tick observes), ``execute`` (the actions), ``requests`` (takeover, demote,
hand-over, switchover, maintenance: events that wait for the machine's reply) and
``status_view`` (``GET /ha/status``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from hapair.clock import iso, utc_now, wall
from hapair.domain import errors
from hapair.domain.applied import ParameterApplied, ParametersApplied, UnitApplied
from hapair.domain.parameters import HAParameters, effective_virtual_id
from hapair.domain.status import PairStatus, Role
from hapair.domain.unit import (
    BootRecord,
    Maintenance,
    UnitSettings,
    boots_in_window,
    unit_name,
)
from hapair.domain.version import VERSION
from hapair.engine import execute, heartbeats, lifecycle, requests, status_view
from hapair.engine import machine as m
from hapair.engine.announce import Announcer
from hapair.engine.dataplane import applied as dp_applied
from hapair.engine.dataplane import peers, plane
from hapair.engine.messages import (
    AppliedState,
    DemoteReply,
    DemoteRequest,
    HandoverReply,
    HandoverRequest,
    Heartbeat,
)
from hapair.engine.pairauth import Challenges, pair_id
from hapair.engine.partner import PartnerClient
from hapair.engine.partner_store import PartnerStore
from hapair.engine.refusals import Refusals
from hapair.engine.shared import SharedAddress, addressed
from hapair.engine.state import STANDALONE, STARTING
from hapair.engine.tracks import Tracks
from hapair.metrics import Metrics
from hapair.services.events import Events
from hapair.settings import Settings
from hapair.store.parameters import Snapshot
from hapair.store.redis import Store
from hapair.store.unitfile import UnitFiles

log = logging.getLogger("hapair.engine")


class Engine:
    """One unit's HA engine: boots, feeds the state machine, carries out its actions."""

    def __init__(
        self,
        *,
        settings: Settings,
        files: UnitFiles,
        store: Store,
        redis_url: str,
        metrics: Metrics,
        events: Events | None = None,
    ) -> None:
        self.settings = settings
        self.events = events
        self.files = files
        self.store = store
        self.redis_url = redis_url
        # what the heartbeat advertises when it is not ``redis_url`` (the replication tunnel)
        self.advertised_redis_url: str | None = None
        self.metrics = metrics
        self.address = settings.listen
        self.unit = UnitSettings()
        self.pending: dict[str, str | None] | None = None
        self.boots = BootRecord()
        self.boot_id = ""
        self.booted_at = ""
        self.pacified = False
        self.maintenance = Maintenance()
        self.state: m.State | None = None
        self.snapshot = Snapshot(revision=0, params=HAParameters(), updated_at=None)
        self.last_heard_at: str | None = None
        self.last_sent_at: str | None = None
        self.partner_called_at: float | None = None  # the partner's last heartbeat call (now())
        self.write_lock = asyncio.Lock()
        self.role_epoch = 0  # +1 on every role change and boot: cached reads are per epoch
        self.queue: asyncio.Queue[m.Event] = asyncio.Queue()
        self.loop_task: asyncio.Task[None] | None = None
        self.ticker: asyncio.Task[None] | None = None
        self.deadline_due: float | None = None  # the machine's next deadline, timer set
        self.deadline_timer: asyncio.TimerHandle | None = None
        self.requests = requests.Pending()
        self.background = lifecycle.Background()
        self.shared = SharedAddress(settings, self.background.spawn)
        self.partner_store = PartnerStore(store, redis_url, "", events, client=lambda: self.client)
        self.announcer = Announcer(
            "",
            metrics=metrics,
            events=events,
            hook=settings.on_role_change,
            spawn=self.background.spawn,
        )
        self.tracks = Tracks(settings.tracks)  # replaced, and started, at each HA boot
        self.client: PartnerClient | None = None
        self.dataplane = plane.DataPlane(
            settings, on_change=self._applied_changed, on_state_sync=self._state_sync_seen
        )
        self.redis_version: str | None = None  # INFO's, read while Redis answers
        self.link_watch = False  # a task waits for the replication link to come up
        self.challenges = Challenges()  # issued to the partner by this boot (a new one each boot)
        self.refusals = Refusals(metrics.count_refused)
        self.exchanges = 0  # heartbeat exchanges under way
        self.quiesced = False  # a hand-over holds the write lock: the demote must not wait
        self.rebooting = False
        self.reboots_queued = 0  # reboots asked for while one ran: each boots after it
        self.closed = False
        self.standalone = False
        self.serving = False  # the direct listener is up: boots are kept (``lifecycle.served``)

    # ---- facts ---------------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The ASGI app the shared listener serves."""
        return self.shared.app

    @app.setter
    def app(self, app: Any) -> None:
        self.shared.app = app

    @property
    def name(self) -> str:
        """``first``, ``second`` or ``standalone``."""
        return unit_name(self.unit.mode)

    @property
    def ha(self) -> bool:
        """Whether the unit is in an HA mode."""
        return self.unit.mode != "non_ha"

    @property
    def running(self) -> bool:
        """Whether the engine is running (the non-HA engine has no loop to run)."""
        if not self.ha:
            return self.standalone
        return self.loop_task is not None and not self.loop_task.done()

    @property
    def role(self) -> str:
        """The role this unit decided (``standalone`` outside HA)."""
        if not self.ha:
            return STANDALONE
        return self.state.role if self.state is not None else STARTING

    @property
    def public_role(self) -> str:
        """The role as the API shows it."""
        if self.state is None:
            return Role.NOT_OPERATIONAL
        return self.state.public_role

    def now(self) -> float:
        """The engine's clock (monotonic seconds): the ``now`` of its events."""
        return time.monotonic()

    def partner_host(self) -> str | None:
        """The configured partner's host (its direct address's), if any."""
        address = self.unit.partner_address
        if not address:
            return None
        return address.rpartition(":")[0].strip("[]") or None

    def pair_id(self) -> str:
        """This pair's id: from the shared address and the virtual ID in effect."""
        shared = self.unit.shared_address
        vid, _ = effective_virtual_id(self.snapshot.params, shared)
        return pair_id(shared, vid)

    def partner_fresh(self) -> Heartbeat | None:
        """The partner's last heartbeat if heard within ``ha_timeout``."""
        if self.state is None:
            return None
        return m.fresh_partner(self.state, self.now())

    def in_sync(self) -> bool:
        """Whether the pair is in sync as this unit knows it (``machine.sync``, the rule behind
        ``/ha/status``'s ``in_sync``, on the revisions the engine holds): for the metric
        ``hapair_in_sync`` and anything else that must not ask Redis."""
        if self.state is None or not self.ha:
            return False
        return m.sync(self.state, self.now()).in_sync

    def boots_in_window(self) -> int:
        """Boots within the pacify window, this one included."""
        return boots_in_window(self.boots, wall(), self.settings.pacify_window_s)

    # ---- lifecycle -----------------------------------------------------------------------

    async def boot(self) -> None:
        """Boots the engine: applies pending unit settings, counts the boot, starts the loop."""
        await lifecycle.boot(self)

    def served(self) -> None:
        """The direct listener is up: this boot counts (``lifecycle.served``)."""
        lifecycle.served(self)

    async def close(self) -> None:
        """Final stop of the process: no reboot may start the loop again afterwards."""
        await lifecycle.close(self)

    def schedule_reboot(self) -> None:
        """Reboots in the background (a request that asks for it can answer first)."""
        self.background.spawn(lifecycle.reboot(self), "reboot")

    # ---- the loop ------------------------------------------------------------------------

    def put(self, event: m.Event) -> None:
        """Queues an event for the loop."""
        self.queue.put_nowait(event)

    async def run(self, first: list[m.Action]) -> None:
        """The loop: carries out the boot's actions, then steps each event until shutdown."""
        await execute.execute(self, first)
        while True:
            event = await self.queue.get()
            await self.step(event)
            if isinstance(event, m.Shutdown):
                return

    async def step(self, event: m.Event) -> None:
        """Steps one event and carries out its actions; the result of an action carried out
        here is stepped at once, before anything else (status never lags the world)."""
        state = self.state
        if state is None:
            return
        new, actions = m.step(state, event)
        if new.role != state.role:
            self.role_epoch += 1
            if new.role == Role.ACTIVE:
                self.announcer.became_active(new.partner)
        self.state = new
        heartbeats.arm_deadline(self)
        if new.role == Role.ACTIVE:
            if isinstance(event, m.Heard):
                self.announcer.partner(event.heartbeat)
            self.announcer.pair(new, self.now())
        self.dataplane.update(self.dataplane_inputs(new))
        try:
            await execute.execute(self, actions)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("engine action failed", extra={"event": "action-error"})

    # ---- the data plane ------------------------------------------------------------------

    def dataplane_inputs(self, state: m.State) -> plane.Inputs:
        """What the data plane applies, after a step."""
        p = state.partner
        reported = p.dataplane.peer_host if p is not None and p.dataplane is not None else None
        local_host, partner_host, one_host = peers.hosts(
            self.address, self.unit.partner_address, reported
        )
        return plane.Inputs(
            running=self.running and not state.stopped,
            unit=self.name,
            role=state.role,
            revision=self.snapshot.revision,
            engine_revision=state.revision,
            params=self.snapshot.params,
            shared_address=self.unit.shared_address,
            local_host=local_host,
            partner=("second" if self.name == "first" else "first") if self.ha else None,
            partner_host=partner_host,
            one_host=one_host,
        )

    def _applied_changed(self, name: str, state: AppliedState, initial: bool) -> None:
        """A parameter's applied state on this unit changed: the metric, and (not at boot)
        an ``applied`` event, written by this unit when it writes the stream (active, or
        alone); otherwise the active writes it, learned by heartbeat."""
        self.metrics.set_parameter_applied(name, state.state)
        if initial:
            return
        data: dict[str, object] = {
            "unit": self.name,
            "parameter": name,
            "state": state.state,
            "detail": state.detail,
        }
        log.info("parameter applied state", extra={"event": "applied", **data})
        if self.role == Role.ACTIVE or self.partner_fresh() is None:
            self.announcer.emit("applied", data)

    def _state_sync_seen(self, ok: bool, detail: str) -> None:
        if self.state is not None and self.running:
            self.put(m.StateSyncSeen(now=self.now(), ok=ok, detail=detail))

    def applied(self) -> ParametersApplied:
        """``GET /ha/parameters/applied``: this unit's part, then the partner's as its last
        heartbeat said."""
        self.check_ha()
        mine = self.dataplane.report
        parameters = _wire(mine.parameters) or {
            name: ParameterApplied(state="pending", detail="not applied yet: the unit is starting")
            for name in dp_applied.parameters()
        }
        units = [
            UnitApplied(
                name=self.name,
                observed_revision=mine.observed_revision,
                reported_at=utc_now(),
                parameters=parameters,
            )
        ]
        other = "second" if self.name == "first" else "first"
        p = self.state.partner if self.state is not None else None
        heard = self.state.heard_at if self.state is not None else None
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
                    reported_at=iso(time.time() - (self.now() - heard)),
                    parameters=_wire(report.parameters) if report else {},
                )
            )
        return ParametersApplied(units=units)

    # ---- API-facing ----------------------------------------------------------------------

    def check_ha(self) -> None:
        """HA resources exist only in an HA mode."""
        if not self.ha:
            raise errors.HADisabled

    def check_pair_write(self, *, via_shared: bool, data: bool = True) -> None:
        """Where a pair-wide write may be served (SPEC section 4); ``data``: a write of the
        pair's data (parameters, tokens), refused while the units run different versions
        (the actions, switchover among them, are not)."""
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
        """Takes in a committed revision at once (``ha_timeout`` and friends apply from now on)
        and logs it: who and which fields, never values."""
        revision = snapshot.revision
        if revision > self.snapshot.revision:
            self.snapshot = snapshot
            if self.running and self.state is not None:
                self.put(heartbeats.store_read(self, snapshot))
        log.info(
            "revision committed",
            extra={"event": "commit", "revision": revision, "actor": actor, "fields": fields},
        )

    async def on_heartbeat(self, hb: Heartbeat) -> Heartbeat:
        """Handles the partner's heartbeat; answers with ours."""
        return heartbeats.received(self, hb)

    async def takeover(self) -> None:
        """Makes this standby the active unit; the partner becomes standby."""
        await requests.takeover(self)

    async def demote(self, request: DemoteRequest) -> DemoteReply:
        """The partner takes over: step down, and tell it the last revision to wait for."""
        return await requests.demote(self, request)

    async def handover(self, request: HandoverRequest) -> HandoverReply:
        """The active hands the role over: take it, answer once serving the shared address."""
        return await requests.handover(self, request)

    async def switchover(self, *, dry_run: bool) -> tuple[bool, list[errors.Check], str, float]:
        """``POST /ha/actions/switchover``: (ok, checks, new active, seconds taken)."""
        return await requests.switchover(self, dry_run=dry_run)

    async def set_maintenance(self, *, enabled: bool, reason: str | None, force: bool) -> None:
        """``PUT /unit/maintenance``: hands over first when active (unless forced)."""
        await requests.set_maintenance(self, enabled=enabled, reason=reason, force=force)

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

    async def status_in_sync(
        self, revision: int | None, *, wait_s: float
    ) -> tuple[PairStatus, bool]:
        """See ``status_view.status_in_sync``."""
        return await status_view.status_in_sync(self, revision, wait_s=wait_s)

    async def status(self) -> PairStatus:
        """``GET /ha/status``: both units as this unit sees them."""
        return await status_view.pair_status(self)


_STATES = ("applied", "pending", "unsupported", "failed")


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
