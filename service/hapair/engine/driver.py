"""The HA engine's I/O shell: one event queue into ``machine.step``, actions carried out.

Nothing changes the engine's state but ``step``: heartbeats, store reads, API calls (takeover,
demote from the partner, reboot) and the results of actions all arrive as events on one queue,
so a takeover and a tick can never interleave. Actions are carried out in order by the one loop
that steps; the slow ones that wait on the partner (heartbeat exchange, asking it to step down)
run beside it and report back as events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from hapair.clock import iso, utc_now
from hapair.domain.errors import Check as CheckResult
from hapair.domain.errors import (
    HADisabled,
    NotActive,
    Pacified,
    PartnerUnavailable,
    StoreUnavailable,
    SwitchoverRefused,
    UseSharedAddress,
)
from hapair.domain.parameters import HAParameters, effective_virtual_id
from hapair.domain.status import (
    LastTransition,
    PairStatus,
)
from hapair.domain.unit import (
    BootRecord,
    Maintenance,
    UnitSettings,
    boots_in_window,
    parse_host_port,
    record_boot,
    unit_name,
)
from hapair.engine import machine as m
from hapair.engine import status_view
from hapair.engine.announce import Announcer
from hapair.engine.messages import (
    DemoteReply,
    DemoteRequest,
    HandoverReply,
    HandoverRequest,
    Heartbeat,
    TransitionInfo,
)
from hapair.engine.partner import PartnerClient, PartnerError, partner_client_for
from hapair.engine.partner_store import PartnerStore
from hapair.engine.shared import SharedAddress
from hapair.metrics import Metrics
from hapair.services.events import Events
from hapair.settings import Settings
from hapair.store.parameters import Snapshot
from hapair.store.redis import Store
from hapair.store.unitfile import UnitFiles
from hapair.store.urls import public_url

log = logging.getLogger("hapair.engine")

_ERRORS: dict[str, type[Exception]] = {
    "pacified": Pacified,
    "partner-unavailable": PartnerUnavailable,
    "not-active": NotActive,
}


def link_is_up(name: str, sys_class_net: Path = Path("/sys/class/net")) -> bool:
    """Whether an interface's operstate is up (``unknown`` counts as up: loopback, tun)."""
    try:
        state = (sys_class_net / name / "operstate").read_text().strip()
    except OSError:
        return False
    return state in ("up", "unknown")


def machine_params(params: HAParameters) -> m.Params:
    """The parameters the role rules read."""
    return m.Params(
        ha_timeout=float(params.ha_timeout),
        initial_wait_time=float(params.initial_wait_time),
        preferred_server=params.preferred_server,
        hard_reboot_on_link_failure=params.hard_reboot_on_link_failure,
    )


def _transition_view(t: m.Transition | TransitionInfo | None) -> LastTransition | None:
    if t is None:
        return None
    return LastTransition(from_role=t.from_role, to_role=t.to_role, cause=t.cause, at=iso(t.at))


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
        self.write_lock = asyncio.Lock()
        self.role_epoch = 0  # +1 on every role change and boot: cached reads are per epoch
        self._queue: asyncio.Queue[m.Event] = asyncio.Queue()
        self._loop: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._requests: dict[int, asyncio.Future[m.Reply]] = {}
        self._next_request = 0
        self.shared = SharedAddress(settings, self._spawn)
        self.partner_store = PartnerStore(store, redis_url, "", events)
        self.announcer = Announcer(
            "", metrics=metrics, events=events, hook=settings.on_role_change, spawn=self._spawn
        )
        self._client: PartnerClient | None = None
        self._exchanges = 0
        self._quiesced = False  # a hand-over holds the write lock: the demote must not wait
        self._background: set[asyncio.Task[Any]] = set()
        self._rebooting = False
        self._closed = False
        self._standalone = False

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
            return self._standalone
        return self._loop is not None and not self._loop.done()

    @property
    def role(self) -> str:
        """The role this unit decided (``standalone`` outside HA)."""
        if not self.ha:
            return "standalone"
        return self.state.role if self.state is not None else "starting"

    @property
    def public_role(self) -> str:
        """The role as the API shows it."""
        if self.state is None:
            return "not_operational"
        return self.state.public_role

    def _now(self) -> float:
        return time.monotonic()

    def partner_fresh(self) -> Heartbeat | None:
        """The partner's last heartbeat if heard within ``ha_timeout``."""
        if self.state is None:
            return None
        return m.fresh_partner(self.state, self._now())

    def heartbeat(self) -> Heartbeat:
        """This unit's heartbeat."""
        if self.state is None:
            base = Heartbeat(unit=self.name, mode=self.unit.mode)
        else:
            base = m.heartbeat(self.state, self._now())
        base.boot_id = self.boot_id
        base.redis_url = public_url(self.redis_url)  # never the credentials
        base.address = self.address
        base.maintenance_reason = self.maintenance.reason
        return base

    def boots_in_window(self) -> int:
        """Boots within the pacify window, this one included."""
        return boots_in_window(self.boots, time.time(), self.settings.pacify_window_s)

    # ---- lifecycle -----------------------------------------------------------------------

    async def boot(self) -> None:
        """Boots the engine: applies pending unit settings, counts the boot, starts the loop."""
        uf = self.files.load_unit()
        if uf.pending:
            merged = {
                "mode": uf.settings.mode,
                "partner_address": uf.settings.partner_address,
                "shared_address": uf.settings.shared_address,
                **uf.pending,
            }
            uf = type(uf)(settings=UnitSettings(**merged), pending=None)  # type: ignore[arg-type]
            self.files.save_unit(uf)
        self.unit = uf.settings
        self.pending = uf.pending
        self.boots = record_boot(
            self.files.load_boots(),
            time.time(),
            window_s=self.settings.pacify_window_s,
            max_boots=self.settings.pacify_max_boots,
        )
        self.files.save_boots(self.boots)
        self.pacified = self.ha and self.boots.pacified
        self.maintenance = self.files.load_maintenance()
        self.role_epoch += 1
        self.boot_id = uuid.uuid4().hex
        self.booted_at = utc_now()
        self.metrics.boots.set(self.boots_in_window())
        with contextlib.suppress(StoreUnavailable):
            self.snapshot = await self.store.read()
        log.info(
            "boot",
            extra={
                "event": "boot",
                "unit": self.name,
                "mode": self.unit.mode,
                "boot_id": self.boot_id,
                "boots_in_window": self.boots_in_window(),
                "pacified": self.pacified,
            },
        )
        if not self.ha:
            self._standalone = True
            self.metrics.set_role("standalone")
            with contextlib.suppress(StoreUnavailable):
                await self.store.promote()
            return
        self._client = partner_client_for(self.settings, self.name, self.unit.partner_address)
        if self._closed:
            return
        self.partner_store.name = self.announcer.name = self.name
        # not active yet: a virtual IP a crash left behind goes
        await self.shared.remove_leftover(self.unit.shared_address, self.snapshot.params)
        config = m.Config(
            unit=self.name,
            mode=self.unit.mode,
            shared_address=self.unit.shared_address,
            pacified=self.pacified,
            has_partner=self._client is not None,
            maintenance=self.maintenance.enabled,
        )
        self.state, actions = m.boot(
            config,
            machine_params(self.snapshot.params),
            self.snapshot.revision,
            self._now(),
            time.time(),
        )
        self.metrics.set_role(self.state.role)
        self._queue = asyncio.Queue()
        self._loop = asyncio.create_task(self._run(actions), name="hapair-engine")
        self._ticker = asyncio.create_task(self._tick_forever(), name="hapair-ticker")

    async def shutdown(self) -> None:
        """Stops the loop (the shared address is released first), and partner connections."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ticker
        loop = self._loop
        if loop is not None and not loop.done():
            self._queue.put_nowait(m.Shutdown(now=self._now()))
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(loop), timeout=8)
        self._loop = None
        if loop is not None and not loop.done():
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
        await self.shared.stop(drain=not self._closed)
        for fut in self._requests.values():
            if not fut.done():
                fut.set_result(m.Reply(0, "not-active", "the unit is stopping"))
        self._requests.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None
        await self.partner_store.close()
        current = asyncio.current_task()
        for t in list(self._background):
            if t is not current:  # a reboot runs as a background task: it must not cancel itself
                t.cancel()
        self._standalone = False

    async def close(self) -> None:
        """Final stop of the process: no reboot may start the loop again afterwards."""
        self._closed = True
        pending = [t for t in self._background if t is not asyncio.current_task()]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.shutdown()

    async def reboot(self) -> None:
        """Restarts the engine in-process, applying pending settings; counts as a boot."""
        if self._rebooting:
            return
        self._rebooting = True
        try:
            log.info("reboot", extra={"event": "reboot", "unit": self.name})
            await self.shutdown()
            if not self._closed:
                await self.boot()
        finally:
            self._rebooting = False

    def schedule_reboot(self) -> None:
        """Reboots in the background (a request that asks for it can answer first)."""
        self._spawn(self.reboot(), "reboot")

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task failed",
                exc_info=task.exception(),
                extra={"event": "background-error", "task": task.get_name()},
            )

    # ---- the loop ------------------------------------------------------------------------

    def _put(self, event: m.Event) -> None:
        self._queue.put_nowait(event)

    async def _run(self, first: list[m.Action]) -> None:
        await self._execute(first)
        while True:
            event = await self._queue.get()
            await self._step(event)
            if isinstance(event, m.Shutdown):
                return

    async def _step(self, event: m.Event) -> None:
        """Steps one event and carries out its actions; the result of an action carried out
        here is stepped at once, before anything else (status never lags the world)."""
        state = self.state
        if state is None:
            return
        new, actions = m.step(state, event)
        if new.role != state.role:
            self.role_epoch += 1
            if new.role == "active":
                self.announcer.became_active(new.partner)
        self.state = new
        if new.role == "active":
            if isinstance(event, m.Heard):
                self.announcer.partner(event.heartbeat)
            self.announcer.pair(new, self._now())
        try:
            await self._execute(actions)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("engine action failed", extra={"event": "action-error"})

    async def _tick_forever(self) -> None:
        # Fixed rate: a slow store read does not stretch the period (failover detection).
        interval = self.settings.heartbeat_interval
        next_tick = time.monotonic()
        while True:
            try:
                await self._observe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine tick failed", extra={"event": "tick-error"})
            self._put(m.Tick(now=self._now()))
            next_tick = max(next_tick + interval, time.monotonic())
            await asyncio.sleep(next_tick - time.monotonic())

    async def _observe(self) -> None:
        """What a tick looks at: the partner (one heartbeat exchange), this unit's Redis and
        its monitored links."""
        if self._client is not None:
            self._exchanges += 1
            exchange = asyncio.create_task(self._exchange())
        else:
            exchange = None
        try:
            self.snapshot = await self.store.read()
        except StoreUnavailable:
            self._put(m.StoreFailed(now=self._now()))
        else:
            self.metrics.revision.set(self.snapshot.revision)
            self._put(self._store_read(self.snapshot))
        if exchange is not None:
            await exchange
        down = tuple(name for name in self.settings.interfaces if not link_is_up(name))
        if down:
            self._put(m.LinkDown(now=self._now(), interfaces=down))

    def _store_read(self, snapshot: Snapshot) -> m.StoreRead:
        return m.StoreRead(
            now=self._now(), revision=snapshot.revision, params=machine_params(snapshot.params)
        )

    async def _execute(self, actions: list[m.Action]) -> None:
        for action in actions:
            match action:
                case m.SendHeartbeat():
                    if self._client is not None and self._exchanges < 2:
                        self._exchanges += 1
                        self._spawn(self._exchange(), "heartbeat")
                case m.Promote():
                    try:
                        await self.store.promote()
                    except StoreUnavailable:
                        continue
                    await self._step(m.Promoted(now=self._now()))
                case m.ReplicateFrom(url=url):
                    ok = await self.partner_store.replicate_from(url)
                    await self._step(
                        m.Replicating(now=self._now(), url=url)
                        if ok
                        else m.ReplicateFailed(now=self._now())
                    )
                case m.ServeShared():
                    error = await self.shared.serve(self.unit.shared_address, self.snapshot.params)
                    await self._step(
                        m.SharedServed(now=self._now())
                        if error is None
                        else m.SharedFailed(now=self._now(), error=error)
                    )
                case m.StopShared():
                    await self.shared.stop(drain=not self._closed)
                case m.AskDemote(request=request, cause=cause):
                    self._spawn(self._ask_demote(request, cause), "ask-demote")
                case m.AskHandover(request=request, cause=cause):
                    self._spawn(self._ask_handover(request, cause), "ask-handover")
                case m.Reply(request=request):
                    fut = self._requests.pop(request, None)
                    if fut is not None and not fut.done():
                        fut.set_result(action)
                case m.Transitioned(transition=t, role=role):
                    vid, _ = effective_virtual_id(self.snapshot.params, self.unit.shared_address)
                    shared = self.unit.shared_address
                    self.announcer.transitioned(t, role, shared=shared, virtual_id=vid)
                case m.Reboot(cause=cause):
                    log.warning(
                        "rebooting",
                        extra={"event": "reboot-asked", "unit": self.name, "cause": cause},
                    )
                    self.schedule_reboot()
                case m.Note(event=event, fields=fields):
                    log.info(event, extra={"event": event, "unit": self.name, **dict(fields)})
                case _:
                    raise AssertionError(f"unknown action {action!r}")

    async def _exchange(self) -> None:
        """One heartbeat exchange with the partner; its answer is an event."""
        try:
            if self._client is None:
                return
            with contextlib.suppress(PartnerError):
                answer = await self._client.heartbeat(self.heartbeat())
                self.last_heard_at = utc_now()
                self._put(m.Heard(now=self._now(), heartbeat=answer))
            self.last_sent_at = utc_now()
        finally:
            self._exchanges -= 1

    async def _request(self, make: Any) -> m.Reply:
        """Puts an API request on the queue as an event and waits for its reply."""
        if self.state is None or not self.running:
            return m.Reply(0, "not-active", "the engine is not running")
        self._next_request += 1
        request = self._next_request
        fut: asyncio.Future[m.Reply] = asyncio.get_running_loop().create_future()
        self._requests[request] = fut
        self._put(make(request))
        return await fut

    async def _ask_handover(self, request: int, cause: str) -> None:
        client = self._client
        try:
            if client is None:
                raise PartnerError("no partner")  # noqa: TRY301 - one refusal path for both
            reply = await client.handover(HandoverRequest(by=self.name, cause=cause), wait=20.0)
        except PartnerError as exc:
            detail = f"the partner did not take over: {exc}"
            self._put(
                m.HandoverDone(
                    now=self._now(), request=request, error="partner-unavailable", detail=detail
                )
            )
            return
        error = None if reply.ok else (reply.error or "partner-unavailable")
        self._put(
            m.HandoverDone(now=self._now(), request=request, error=error, detail=reply.detail)
        )

    async def _ask_demote(self, request: int | None, cause: str = "takeover") -> None:
        client = self._client
        if client is None:
            self._put(m.PartnerDemoteFailed(now=self._now(), request=request, error="no partner"))
            return
        try:
            ask = DemoteRequest(by=self.name, boot_id=self.boot_id, cause=cause)
            reply = await client.demote(ask, wait=5.0)
        except PartnerError as exc:
            self._put(
                m.PartnerDemoteFailed(
                    now=self._now(), request=request, error=f"the partner did not step down: {exc}"
                )
            )
            return
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                if await self.store.revision() >= reply.revision:
                    break
            except StoreUnavailable:
                pass
            await asyncio.sleep(0.02)
        with contextlib.suppress(StoreUnavailable):
            self.snapshot = await self.store.read()
            self._put(self._store_read(self.snapshot))
        self._put(m.PartnerDemoted(now=self._now(), request=request))

    # ---- API-facing ----------------------------------------------------------------------

    def check_ha(self) -> None:
        """HA resources exist only in an HA mode."""
        if not self.ha:
            raise HADisabled

    def check_pair_write(self, *, via_shared: bool) -> None:
        """Where a pair-wide write may be served (SPEC section 4)."""
        self.check_ha()
        if self.pacified:
            raise Pacified
        if not via_shared:
            raise UseSharedAddress(self.unit.shared_address or "")
        if self.role != "active":
            raise NotActive

    def is_shared(self, server: tuple[str, int | None] | None) -> bool:
        """Whether a request arrived on the shared address."""
        if server is None or not self.unit.shared_address:
            return False
        try:
            host, port = parse_host_port(self.unit.shared_address, require_ip=True)
        except ValueError:
            return False
        return server[0] == host and server[1] == port

    def note_commit(self, snapshot: Snapshot, actor: str, fields: list[str]) -> None:
        """Takes in a committed revision at once (``ha_timeout`` and friends apply from now on)
        and logs it: who and which fields, never values."""
        revision = snapshot.revision
        if revision > self.snapshot.revision:
            self.snapshot = snapshot
            if self.running and self.state is not None:
                self._put(self._store_read(snapshot))
        log.info(
            "revision committed",
            extra={"event": "commit", "revision": revision, "actor": actor, "fields": fields},
        )

    async def on_heartbeat(self, hb: Heartbeat) -> Heartbeat:
        """Handles the partner's heartbeat; answers with ours."""
        if not self.boot_id or not self.running:
            raise StoreUnavailable("this unit is still booting")
        self.last_heard_at = utc_now()
        self._put(m.Heard(now=self._now(), heartbeat=hb))
        return self.heartbeat()

    async def takeover(self) -> None:
        """Makes this standby the active unit; the partner becomes standby."""
        self.check_ha()
        if self.pacified:
            raise Pacified
        reply = await self._request(lambda r: m.TakeoverAsked(now=self._now(), request=r))
        if reply.error is not None:
            raise _ERRORS.get(reply.error, NotActive)(reply.detail)
        if self._client is not None:  # the answer shows the pair as it now is
            self._exchanges += 1
            await self._exchange()

    async def demote(self, request: DemoteRequest) -> DemoteReply:
        """The partner takes over: step down, and tell it the last revision to wait for."""
        reply = await self._request(
            lambda r: m.DemoteAsked(now=self._now(), request=r, by=request.by, cause=request.cause)
        )
        if self._quiesced:  # this unit's own hand-over holds the writes already
            revision = await self.store.revision()
        else:
            async with self.write_lock:  # a write under way finishes first
                revision = await self.store.revision()
        return DemoteReply(revision=revision, demoted=reply.demoted)

    async def handover(self, request: HandoverRequest) -> HandoverReply:
        """The active hands the role over: take it, answer once serving the shared address."""
        reply = await self._request(
            lambda r: m.TakeoverAsked(now=self._now(), request=r, cause=request.cause)
        )
        if reply.error is not None:
            return HandoverReply(ok=False, error=reply.error, detail=reply.detail)
        return HandoverReply(ok=True)

    def _checks(self, *, maintenance: bool = False) -> list[CheckResult]:
        if self.state is None:
            return []
        found = m.checks(self.state, self._now(), maintenance=maintenance)
        return [CheckResult(name=c.name, ok=c.ok, detail=c.detail) for c in found]

    async def switchover(self, *, dry_run: bool) -> tuple[bool, list[CheckResult], str, float]:
        """``POST /ha/actions/switchover``: (ok, checks, new active, seconds taken)."""
        self.check_ha()
        if self.pacified:
            raise Pacified
        start = time.monotonic()
        found = self._checks()
        if dry_run:
            synced = await self._synced()
            reply = await self._request(
                lambda r: m.SwitchoverAsked(now=self._now(), request=r, dry_run=True, synced=synced)
            )
        else:
            async with self._writes_held():
                synced = await self._synced()
                reply = await self._request(
                    lambda r: m.SwitchoverAsked(now=self._now(), request=r, synced=synced)
                )
        if reply.checks:
            found = [CheckResult(name=c.name, ok=c.ok, detail=c.detail) for c in reply.checks]
        if reply.error == "switchover-refused":
            raise SwitchoverRefused(found)
        if reply.error is not None:
            raise _ERRORS.get(reply.error, NotActive)(reply.detail)
        if dry_run:
            return all(c.ok for c in found), found, self.name, 0.0
        if self._client is not None:  # the answer shows the pair as it now is
            self._exchanges += 1
            await self._exchange()
        partner = "second" if self.name == "first" else "first"
        return True, found, partner, time.monotonic() - start

    async def set_maintenance(self, *, enabled: bool, reason: str | None, force: bool) -> None:
        """``PUT /unit/maintenance``: hands over first when active (unless forced), keeps it
        in the data dir."""
        self.check_ha()
        if enabled and self.role in ("active", "indeterminate"):
            async with self._writes_held():  # it hands over first, as a switchover does
                synced = await self._synced()
                reply = await self._request(
                    lambda r: m.MaintenanceSet(
                        now=self._now(), request=r, enabled=True, force=force, synced=synced
                    )
                )
        else:
            reply = await self._request(
                lambda r: m.MaintenanceSet(now=self._now(), request=r, enabled=enabled, force=force)
            )
        if reply.error == "switchover-refused":
            found = [CheckResult(name=c.name, ok=c.ok, detail=c.detail) for c in reply.checks]
            raise SwitchoverRefused(found, "the hand-over checks failed; ?force=true skips them")
        if reply.error is not None:
            raise _ERRORS.get(reply.error, NotActive)(reply.detail)
        if enabled != self.maintenance.enabled or (enabled and reason != self.maintenance.reason):
            self.maintenance = Maintenance(
                enabled=enabled,
                reason=reason if enabled else None,
                since=utc_now() if enabled else None,
            )
            self.files.save_maintenance(self.maintenance)
            if self.role == "active" or self.partner_fresh() is None:
                # otherwise the active partner publishes it, learned by heartbeat
                self.announcer.emit(
                    "maintenance",
                    {"unit": self.name, "enabled": enabled, "reason": self.maintenance.reason},
                )
            log.info(
                "maintenance",
                extra={"event": "maintenance", "unit": self.name, "enabled": enabled},
            )
        if self._client is not None:
            self._exchanges += 1
            await self._exchange()

    @contextlib.asynccontextmanager
    async def _writes_held(self) -> AsyncIterator[None]:
        """No write commits while the role is handed over: the standby can be seen to hold
        every revision, and a write that waited finds this unit no longer active (409)."""
        async with self.write_lock:
            self._quiesced = True
            try:
                yield
            finally:
                self._quiesced = False

    async def _synced(self) -> m.Synced | None:
        """This unit's revision and the partner's, read now (after a bounded ``WAIT`` for the
        replica), for the ``partner-in-sync`` check."""
        try:
            revision = await self.store.revision()
            await self.store.wait_partner(1000)
        except StoreUnavailable:
            return None
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
        if p is None or p.role != "standby" or not p.redis_url:
            raise PartnerUnavailable("the standby partner is not reachable")
        return await self.partner_store.force_update(p.redis_url)

    async def announce(self) -> tuple[str, str, int]:
        """``POST /ha/actions/announce``: the active re-announces its virtual IP now."""
        if self.role != "active" and self.settings.shared_interface is not None:
            raise NotActive("this unit does not hold the virtual IP")
        return await self.shared.announce()

    async def status_in_sync(
        self, revision: int | None, *, wait_s: float
    ) -> tuple[PairStatus, bool]:
        """See ``status_view.status_in_sync``."""
        return await status_view.status_in_sync(self, revision, wait_s=wait_s)

    async def status(self) -> PairStatus:
        """``GET /ha/status``: both units as this unit sees them."""
        return await status_view.pair_status(self)
