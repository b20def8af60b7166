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
from pathlib import Path
from typing import Any

from hapair.clock import iso, utc_now
from hapair.domain.errors import Check as CheckResult
from hapair.domain.errors import (
    HADisabled,
    NoSharedInterface,
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
    UnitStatus,
    pair_state,
    unit_status,
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
from hapair.engine.listener import Listener
from hapair.engine.messages import (
    DemoteReply,
    DemoteRequest,
    HandoverReply,
    HandoverRequest,
    Heartbeat,
    TransitionInfo,
)
from hapair.engine.partner import PartnerClient, PartnerError, partner_client_for
from hapair.engine.vip import VipError, VirtualIP, vrrp_mac
from hapair.metrics import Metrics
from hapair.secretfiles import hook_environment
from hapair.services.events import Events
from hapair.settings import Settings
from hapair.store.redis import ConflictEntry, Snapshot, Store, connect, host_port
from hapair.store.unitfile import UnitFiles
from hapair.store.urls import partner_store_url, public_url

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
        self.app: Any = None  # the ASGI app the shared listener serves; set by the wiring
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
        self._shared: Listener | None = None
        self._vip: VirtualIP | None = None
        self._client: PartnerClient | None = None
        self._remote: tuple[str, Store] | None = None
        self._exchanges = 0
        self._background: set[asyncio.Task[Any]] = set()
        self._rebooting = False
        self._closed = False
        self._standalone = False
        self._pair_published: tuple[str, str | None] | None = None
        self._partner_published: float = 0.0  # ``at`` of the partner's last role event
        self._partner_maintenance: bool | None = None  # as last published

    # ---- facts ---------------------------------------------------------------------------

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
        await self._remove_vip(leftover=True)  # not active yet: a crash may have left it
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
        await self._stop_shared()
        for fut in self._requests.values():
            if not fut.done():
                fut.set_result(m.Reply(0, "not-active", "the unit is stopping"))
        self._requests.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._remote is not None:
            await self._remote[1].close()
            self._remote = None
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
            if new.role == "active" and new.partner is not None and new.partner.last_transition:
                # what the partner did before: it published that itself, as the active
                self._partner_published = new.partner.last_transition.at
        self.state = new
        if new.role == "active" and isinstance(event, m.Heard):
            self._publish_partner(event.heartbeat)
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
                    ok = await self._ensure_replicating(url)
                    await self._step(
                        m.Replicating(now=self._now(), url=url)
                        if ok
                        else m.ReplicateFailed(now=self._now())
                    )
                case m.ServeShared():
                    error = await self._ensure_shared()
                    await self._step(
                        m.SharedServed(now=self._now())
                        if error is None
                        else m.SharedFailed(now=self._now(), error=error)
                    )
                case m.StopShared():
                    await self._stop_shared()
                case m.AskDemote(request=request, cause=cause):
                    self._spawn(self._ask_demote(request, cause), "ask-demote")
                case m.AskHandover(request=request, cause=cause):
                    self._spawn(self._ask_handover(request, cause), "ask-handover")
                case m.Reply(request=request):
                    fut = self._requests.pop(request, None)
                    if fut is not None and not fut.done():
                        fut.set_result(action)
                case m.Transitioned(transition=t, role=role):
                    self._transitioned(t, role)
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

    def _emit(self, type_: str, data: dict[str, object], at: float | None = None) -> None:
        if self.events is not None:
            self.events.emit(type_, data, at=None if at is None else iso(at))

    def _publish_partner(self, hb: Heartbeat) -> None:
        """The active writes the stream: its partner's role changes, learned by heartbeat."""
        t = hb.last_transition
        if t is not None and t.at > self._partner_published:
            self._partner_published = t.at
            data: dict[str, object] = {
                "unit": hb.unit,
                "from": t.from_role,
                "to": t.to_role,
                "cause": t.cause,
            }
            self._emit("role", data, t.at)
        if self._partner_maintenance is not None and hb.maintenance != self._partner_maintenance:
            data = {"unit": hb.unit, "enabled": hb.maintenance, "reason": hb.maintenance_reason}
            self._emit("maintenance", data)
        self._partner_maintenance = hb.maintenance
        self._publish_pair()

    def _publish_pair(self) -> None:
        """A ``pair`` event when the pair state or the active unit changes (as the active sees
        it)."""
        s = self.state
        if s is None or s.role != "active":
            return
        now = self._now()
        p = m.fresh_partner(s, now)
        me = unit_status(self.name, s.public_role, reason=s.public_reason)  # type: ignore[arg-type]
        other_name = "second" if self.name == "first" else "first"
        if p is None:
            other = unit_status(other_name, "not_operational", reason="unreachable")
        else:
            other = unit_status(
                p.unit or other_name,
                p.status_role,  # type: ignore[arg-type]
                reason=p.status_reason if p.status_role == "not_operational" else None,  # type: ignore[arg-type]
            )
        info = pair_state([me, other])
        key = (info.state, info.active)
        if key != self._pair_published:
            self._pair_published = key
            self._emit("pair", {"state": info.state, "active": info.active})

    def _transitioned(self, t: m.Transition, role: str) -> None:
        log.info(
            "role change",
            extra={
                "event": "role-change",
                "unit": self.name,
                "from": t.from_role,
                "to": t.to_role,
                "cause": t.cause,
            },
        )
        self.metrics.set_role(role)
        self.metrics.role_changes.inc()
        self._run_hook(t.to_role)
        if role == "active" or t.from_role == "active":
            # its Redis is (still) a master: this unit writes its own change to the stream
            data: dict[str, object] = {
                "unit": self.name,
                "from": t.from_role,
                "to": t.to_role,
                "cause": t.cause,
            }
            self._emit("role", data, t.at)
            if role == "active" and self.events is not None:
                self._spawn(self.events.flush(), "events-flush")
        self._publish_pair()

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

    # ---- applying roles ------------------------------------------------------------------

    def _virtual_ip(self) -> VirtualIP | None:
        """The shared IP as a virtual IP (``--shared-interface``), with the virtual MAC when
        ``use_virtual_mac`` is on; None when the shared IP is an operator's business."""
        iface = self.settings.shared_interface
        shared = self.unit.shared_address
        if not iface or not shared:
            return None
        host, _ = parse_host_port(shared, require_ip=True)
        params = self.snapshot.params
        vmac = None
        if params.use_virtual_mac:
            vid, _ = effective_virtual_id(params, shared)
            vmac = vrrp_mac(vid, ipv6=":" in host)
        return VirtualIP(host, iface, self.settings.shared_prefix, virtual_mac=vmac)

    async def _ensure_shared(self) -> str | None:
        """Serves the shared address (virtual IP first, then the listener, then the
        announcement); the error when it cannot (yet)."""
        shared = self.unit.shared_address
        if not shared or (self._shared is not None and self._shared.running):
            return None
        host, port = parse_host_port(shared, require_ip=True)
        vip = self._virtual_ip()
        if vip is not None:
            try:
                await asyncio.to_thread(vip.add)
            except (VipError, OSError) as exc:
                log.warning(
                    "cannot add the virtual IP",
                    extra={"event": "vip-add-failed", "address": shared, "error": str(exc)},
                )
                return f"virtual IP: {exc}"
            self._vip = vip
        ssl = (
            {
                "ssl_certfile": self.settings.tls_cert or "",
                "ssl_keyfile": self.settings.tls_key or "",
            }
            if self.settings.tls
            else None
        )
        listener = Listener(self.app, host, port, ssl=ssl)
        try:
            await listener.start()
        except OSError as exc:
            log.warning(
                "cannot bind the shared address yet",
                extra={"event": "shared-bind-failed", "address": shared, "error": str(exc)},
            )
            return str(exc)
        self._shared = listener
        if vip is not None:
            self._spawn(self._announce(vip), "announce")
        return None

    async def _announce(self, vip: VirtualIP) -> int:
        try:
            sent = await asyncio.to_thread(vip.announce)
        except (VipError, OSError) as exc:
            log.warning("announce failed", extra={"event": "announce-failed", "error": str(exc)})
            return 0
        log.info(
            "announced", extra={"event": "announce", "address": str(vip.address), "sent": sent}
        )
        return sent

    async def announce(self) -> tuple[str, str, int]:
        """``POST /ha/actions/announce``: the active re-announces its virtual IP now."""
        if self.settings.shared_interface is None:
            raise NoSharedInterface
        vip = self._vip
        if vip is None or self.role != "active":
            raise NotActive("this unit does not hold the virtual IP")
        return str(vip.address), vip.carrier, await self._announce(vip)

    async def _stop_shared(self) -> None:
        listener, self._shared = self._shared, None
        if listener is not None:
            await listener.stop(drain=not self._closed)
        await self._remove_vip()

    async def _remove_vip(self, *, leftover: bool = False) -> None:
        vip = self._vip if not leftover else self._virtual_ip()
        self._vip = None
        if vip is None:
            return
        try:
            if leftover and not await asyncio.to_thread(vip.present):
                return
            await asyncio.to_thread(vip.remove)
        except (VipError, OSError) as exc:
            log.warning(
                "cannot remove the virtual IP",
                extra={"event": "vip-remove-failed", "error": str(exc)},
            )
            return
        log.info("virtual IP removed", extra={"event": "vip-removed", "leftover": leftover})

    async def _remote_store(self, url: str) -> Store:
        if self._remote is not None and self._remote[0] == url:
            return self._remote[1]
        if self._remote is not None:
            await self._remote[1].close()
        try:
            full = partner_store_url(url, self.redis_url)  # this unit's credentials
        except ValueError as exc:
            raise StoreUnavailable(str(exc)) from exc
        store = Store(connect(full, max_connections=4))
        self._remote = (url, store)
        return store

    async def _ensure_replicating(self, url: str) -> bool:
        """Points this unit's Redis at the partner's (archiving first what only it holds)."""
        target = host_port(url)
        try:
            info = await self.store.replication()
        except StoreUnavailable:
            return False
        master = (str(info.get("master_host", "")), int(info.get("master_port", 0) or 0))
        if info.get("role") == "slave" and master == target:
            return True
        try:
            remote = await self._remote_store(url)
            archived = await self._archive_divergent(remote)
            await self.store.replicate_from(*target)
        except StoreUnavailable as exc:
            log.warning(
                "cannot replicate yet", extra={"event": "replicate-failed", "error": str(exc)}
            )
            return False
        log.info(
            "replicating",
            extra={
                "event": "replicaof",
                "master": f"{target[0]}:{target[1]}",
                "archived": archived,
            },
        )
        return True

    async def _archive_divergent(self, remote: Store) -> int:
        """Archives into the active's Redis the revisions only this unit holds."""
        keep = 1000
        mine = await self.store.history(limit=keep, before=None)
        if not mine:
            return 0
        theirs = await remote.history(limit=keep, before=None)
        their_ids = {e.id for e in theirs}
        complete = len(theirs) < keep
        oldest = min((e.revision for e in theirs), default=0)
        now = utc_now()
        divergent = [
            ConflictEntry.of(e, unit=self.name, archived_at=now)
            for e in mine
            if e.id not in their_ids and (complete or e.revision >= oldest)
        ]
        await remote.archive_conflicts(divergent)
        if divergent and self.events is not None:
            # into the active's stream (this unit's Redis is about to become its replica)
            data: dict[str, object] = {
                "unit": self.name,
                "revisions": [c.revision for c in divergent],
            }
            with contextlib.suppress(Exception):
                await self.events.append_to(remote.client, "conflict", data)
        if divergent:
            log.warning(
                "archived conflicting revisions",
                extra={"event": "conflicts-archived", "revisions": [c.revision for c in divergent]},
            )
        return len(divergent)

    def _run_hook(self, role: str) -> None:
        cmd = self.settings.on_role_change
        if not cmd:
            return
        vid, _ = effective_virtual_id(self.snapshot.params, self.unit.shared_address)
        env = hook_environment(
            {
                "HAPAIR_ROLE": role,
                "HAPAIR_UNIT": self.name,
                "HAPAIR_SHARED_ADDRESS": self.unit.shared_address or "",
                "HAPAIR_VIRTUAL_ID": str(vid),
            }
        )  # no secret: every other HAPAIR_* variable is dropped
        self._spawn(self._hook(cmd, env), "role-hook")

    async def _hook(self, cmd: str, env: dict[str, str]) -> None:
        proc = await asyncio.create_subprocess_shell(cmd, env=env)
        try:
            rc = await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            rc = await proc.wait()
        log.info(
            "role hook ran", extra={"event": "role-hook", "role": env["HAPAIR_ROLE"], "rc": rc}
        )

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
        reply = await self._request(
            lambda r: m.SwitchoverAsked(now=self._now(), request=r, dry_run=dry_run)
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
                self._emit(
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

    async def partner_revision(self) -> int | None:
        """The partner's revision read from its own Redis (fresh), else from its heartbeat."""
        p = self.partner_fresh()
        if p is None:
            return None
        if p.redis_url:
            try:
                remote = await self._remote_store(p.redis_url)
                return await remote.revision()
            except StoreUnavailable:
                pass
        return p.revision

    async def force_partner_update(self) -> tuple[int, int, float]:
        """Resyncs the standby now; returns (revision, partner revision, seconds taken)."""
        start = time.monotonic()
        p = self.partner_fresh()
        if p is None or p.role != "standby" or not p.redis_url:
            raise PartnerUnavailable("the standby partner is not reachable")
        revision = await self.store.revision()
        try:
            remote = await self._remote_store(p.redis_url)
            me_host, me_port = host_port(self.redis_url)
            # Re-point the standby: it drops its link and syncs again from the active now.
            await remote.promote()
            await remote.replicate_from(me_host, me_port)
            await self.store.wait_partner(1000)
            deadline = time.monotonic() + 5.0
            while True:
                partner_revision = await remote.revision()
                if partner_revision >= revision or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.01)
        except StoreUnavailable as exc:
            raise PartnerUnavailable(f"the partner's Redis is not reachable: {exc}") from exc
        if partner_revision < revision:
            raise PartnerUnavailable(
                f"the partner holds revision {partner_revision}, not {revision}, after 5 s"
            )
        return revision, partner_revision, time.monotonic() - start

    async def status_in_sync(
        self, revision: int | None, *, wait_s: float
    ) -> tuple[PairStatus, bool]:
        """The status, once the active and the standby both hold ``revision`` (or later) or
        ``wait_s`` has passed; and whether they do. Without ``revision``: at once, and
        whether the standby holds the active's revision."""
        deadline = time.monotonic() + wait_s
        while True:
            status = await self.status()
            roles = {u.role: u for u in status.units}
            active, standby = roles.get("active"), roles.get("standby")
            if active is None or standby is None:
                in_sync = False
            elif revision is None:
                in_sync = active.revision is not None and standby.revision == active.revision
            else:
                in_sync = all(
                    u.revision is not None and u.revision >= revision for u in (active, standby)
                )
            if in_sync or revision is None or time.monotonic() >= deadline:
                return status, in_sync
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    async def status(self) -> PairStatus:
        """``GET /ha/status``: both units as this unit sees them."""
        if not self.ha:
            return PairStatus(pair=pair_state([]), units=[])
        s = self.state
        try:
            my_revision: int | None = await self.store.revision()
        except StoreUnavailable:
            my_revision = None
        p = self.partner_fresh()
        partner_name = "second" if self.name == "first" else "first"
        partner_revision = await self.partner_revision() if p is not None else None
        active_revision: int | None = None
        if self.role == "active":
            active_revision = my_revision
        elif p is not None and p.role == "active":
            active_revision = partner_revision
        my_role = s.public_role if s is not None else "not_operational"
        me = unit_status(
            self.name,
            my_role,  # type: ignore[arg-type]
            reason=(s.public_reason if s is not None else "starting")  # type: ignore[arg-type]
            if my_role == "not_operational"
            else None,
            address=self.address,
            revision=my_revision,
            last_heartbeat_at=self.last_sent_at,
            in_sync=True
            if self.role == "active"
            else (active_revision is not None and my_revision == active_revision),
            serving_shared=s.serving if s is not None else False,
            role_since=iso(s.role_since) if s is not None else None,
            last_transition=_transition_view(s.last_transition if s is not None else None),
        )
        last = s.partner if s is not None else None
        if p is None:
            other = unit_status(
                partner_name,
                "not_operational",
                reason="unreachable",
                address=self.unit.partner_address,
                revision=last.revision if last else None,
                last_heartbeat_at=self.last_heard_at,
                in_sync=False,
                serving_shared=last.serving_shared if last else False,
                role_since=iso(last.role_since) if last and last.role_since else None,
                last_transition=_transition_view(last.last_transition if last else None),
            )
        else:
            role = p.status_role or "not_operational"
            reason = (p.status_reason or "starting") if role == "not_operational" else None
            other = unit_status(
                p.unit or partner_name,
                role,  # type: ignore[arg-type]
                reason=reason,  # type: ignore[arg-type]
                address=p.address or self.unit.partner_address,
                revision=partner_revision,
                last_heartbeat_at=self.last_heard_at,
                in_sync=True
                if p.role == "active"
                else (active_revision is not None and partner_revision == active_revision),
                serving_shared=p.serving_shared,
                role_since=iso(p.role_since) if p.role_since else None,
                last_transition=_transition_view(p.last_transition),
            )
        units: list[UnitStatus] = sorted([me, other], key=lambda u: u.name)
        return PairStatus(pair=pair_state(units), units=units)
