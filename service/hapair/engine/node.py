"""One unit's HA engine: a :class:`Node` runs one queue of events into ``machine.step`` and
carries out the actions it hands back, through the ports it was given (``engine/ports.py``).

Nothing changes the node's state but ``step``: heartbeats, store reads, API requests (takeover,
demote from the partner, reboot) and the results of actions all arrive as events on one queue,
so a takeover and a tick can never interleave. Actions are carried out in order by the loop
that steps; the slow ones that wait on the partner run beside it and report back as events.

What holds whatever happens:
- time is read only from the node's :class:`~hapair.engine.ports.Clock`;
- every wait is bounded: an action the loop awaits (``ACTION_BOUND_S``), a request waiting for
  the machine's reply (``ask``'s timeout), the shutdown;
- one failing action never drops the others of its list, and a request always gets a reply:
  its own, or a refusal when the step failed, the node stops or the wait runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from hapair.clock import iso, posix
from hapair.domain.errors import NoSharedInterface, NotActive, StoreUnavailable
from hapair.domain.parameters import HAParameters, Snapshot, effective_virtual_id
from hapair.domain.status import Role
from hapair.domain.unit import (
    BootRecord,
    Maintenance,
    UnitSettings,
    boots_in_window,
    other_unit,
    record_boot,
    unit_name,
    with_pending,
)
from hapair.domain.version import PROTOCOL, VERSION
from hapair.engine.announce import Announcer
from hapair.engine.core import machine as m
from hapair.engine.core.state import STANDALONE, STARTING, answers_partner
from hapair.engine.dataplane import peers, plane
from hapair.engine.pairlink.messages import (
    AppliedState,
    DemoteRequest,
    HandoverRequest,
    Heartbeat,
)
from hapair.engine.pairlink.pairauth import REASONS, Challenges, pair_id
from hapair.engine.pairlink.partner import PartnerAnswered, PartnerError
from hapair.engine.pairlink.refusals import Refusals
from hapair.engine.ports import Adverts, Checks, PartnerLink, Ports, Timer, UpdateLink
from hapair.engine.tasks import Background
from hapair.settings import Settings
from hapair.urls import public_url

log = logging.getLogger("hapair.engine")

ACTION_BOUND_S = 10.0  # the longest the loop waits on one action (Redis, the shared address)
ASK_TIMEOUT_S = 30.0  # a request's wait for the machine's reply (a hand-over waits 20 s)
SHUTDOWN_S = 8.0  # the loop's last step (the shared address released) before it is cancelled
DEMOTE_WAIT_S = 5.0  # the partner's answer to a demote, then its last revision in this Redis
HANDOVER_WAIT_S = 20.0  # the partner's answer to a hand-over
LINK_WATCH_S = 10.0  # a replication link coming up is watched this long (every 50 ms)
DUE_AGAIN_S = 1e-6  # the shortest wait a failover deadline's early timer is armed again for
RENEW_AGAIN_S = 0.1  # the lease's second renew after the tick's (``_renew_again``)


def machine_params(params: HAParameters) -> m.Params:
    """The parameters the role rules read."""
    return m.Params(
        ha_timeout=float(params.ha_timeout),
        initial_wait_time=float(params.initial_wait_time),
        preferred_server=params.preferred_server,
        hard_reboot_on_link_failure=params.hard_reboot_on_link_failure,
        l7_persistence_updates=params.l7_persistence_updates,
        failback_delay=float(params.failback_delay),
        virtual_id=params.virtual_id,
    )


def _posix(text: str | None) -> float | None:
    """A timestamp the data dir keeps, as POSIX seconds; None when there is none, or none that
    reads as one (a hand-edited file does not stop the boot)."""
    if text is None:
        return None
    try:
        return posix(text)
    except ValueError:
        return None


class Replies:
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

    def forget(self, request: int) -> None:
        """The asker stopped waiting."""
        self._futures.pop(request, None)

    def refuse_all(self, detail: str = "the unit is stopping") -> None:
        """Every waiting request is refused."""
        futures, self._futures = self._futures, {}
        for request, fut in futures.items():
            if not fut.done():
                fut.set_result(m.Reply(request, "not-active", detail))


class Node:
    """One unit's HA engine: boots, feeds the state machine, carries out its actions."""

    def __init__(self, *, settings: Settings, ports: Ports, background: Background) -> None:
        self.settings = settings
        self.ports = ports
        self.clock = ports.clock
        self.background = background
        self.address = settings.listen
        # what the heartbeat advertises as this unit's Redis (set by the wiring: its URL, or
        # the replication tunnel's)
        self.redis_url = ""
        self.unit = UnitSettings()
        self.pending: dict[str, str | None] | None = None
        self.boots = BootRecord()
        self.boot_id = ""
        self.booted_at = ""
        self.kept_maintenance = Maintenance()  # the data dir's record, read at boot
        self.state: m.State | None = None
        self.snapshot = Snapshot(revision=0, params=HAParameters(), updated_at=None)
        self.redis_version: str | None = None  # INFO's, read while Redis answers
        self.last_heard_at: str | None = None
        self.last_sent_at: str | None = None
        self.partner_called_at: float | None = None  # the partner's last heartbeat call (now())
        self.serving = False  # the direct listener is up: boots are kept (``served``)
        self.role_epoch = 0  # +1 on every role change and boot: cached reads are per epoch
        self.queue: asyncio.Queue[m.Event] = asyncio.Queue()
        self.replies = Replies()
        self.link: PartnerLink | None = None
        self.checks: Checks = ports.checks(ports.metrics.set_track_ok)
        self.challenges = Challenges()  # issued to the partner by this boot (a new one each)
        self.refusals = Refusals(ports.metrics.count_refused)
        self.announcer = Announcer(
            "",
            events=ports.events,
            hooks=ports.hooks,
            metrics=ports.metrics,
            spawn=background.spawn,
        )
        self.dataplane = ports.dataplane
        self.closed = False
        self.standalone = False
        self.rebooting = False
        self.reboots_queued = 0  # reboots asked for while one ran: each boots after it
        self.unanswered = 0  # requests refused because the machine's reply did not come
        self._booted = asyncio.Event()  # set while the loop runs (a reboot clears it)
        self._loop: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._deadline: tuple[float | None, Timer | None] = (None, None)
        self._exchanges = 0  # heartbeat exchanges under way
        self._link_watch = False  # a task waits for the replication link to come up
        self.update_called_at: float | None = None  # the partner's last call over the update link
        self._renew_pending = False  # the lease's second renew of this interval is due
        self._tick_read: Snapshot | None = None  # the tick's last store read, if it succeeded
        self._rechecking = False  # a read after another pair's refusal is under way

    # ---- facts ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``first``, ``second`` or ``standalone``."""
        return unit_name(self.unit.mode)

    @property
    def ha(self) -> bool:
        return self.unit.mode != "non_ha"

    @property
    def running(self) -> bool:
        """Whether the node runs (the non-HA engine has no loop to run)."""
        if not self.ha:
            return self.standalone
        return self._loop is not None and not self._loop.done()

    @property
    def pacified(self) -> bool:
        """Pacified at this boot (it booted too often): the boot record says, from the moment
        it is counted (``GET /unit`` shows it with the boot's id); the machine's config is
        made from it."""
        return self.ha and self.boots.pacified

    @property
    def maintenance(self) -> Maintenance:
        """This unit's maintenance record: the machine's (the data dir's before a boot)."""
        s = self.state
        if s is None:
            return self.kept_maintenance
        since = None if s.maintenance_since is None else iso(s.maintenance_since)
        return Maintenance(enabled=s.maintenance, reason=s.maintenance_reason, since=since)

    @property
    def role(self) -> str:
        """The role this unit decided (``standalone`` outside HA)."""
        if not self.ha:
            return STANDALONE
        return self.state.role if self.state is not None else STARTING

    def now(self) -> float:
        return self.clock.now()

    def pair_id(self) -> str:
        """This pair's id: from the shared address and the virtual ID in effect."""
        shared = self.unit.shared_address
        vid, _ = effective_virtual_id(self.snapshot.params, shared)
        return pair_id(shared, vid)

    def partner_fresh(self) -> Heartbeat | None:
        """The partner's last heartbeat if heard within ``ha_timeout``."""
        return None if self.state is None else m.fresh_partner(self.state, self.now())

    def boots_in_window(self) -> int:
        return boots_in_window(self.boots, self.clock.wall(), self.settings.pacify_window_s)

    def heartbeat(self) -> Heartbeat:
        """This unit's heartbeat: the machine's part, plus identity, address and Redis URL."""
        if self.state is None:
            base = Heartbeat(unit=self.name, mode=self.unit.mode)
        else:
            base = m.heartbeat(self.state, self.now())
        base.boot_id = self.boot_id
        base.redis_url = public_url(self.redis_url)  # no secret
        base.address = self.address
        base.dataplane = self.dataplane.report
        if (uplink := self.update_link()) is not None:
            base.update_addresses = uplink.addresses()
        keys = self.settings.pair_keys
        if keys is not None:
            base.pair_key_id, base.pair_key_next_id = keys.current_id, keys.next_id
        return base

    # ---- boot and stop -------------------------------------------------------------------

    def _load_unit(self) -> None:
        """The unit's settings (pending ones applied now), maintenance and boot count."""
        files = self.ports.files
        uf = files.load_unit()
        if uf.pending:
            uf = type(uf)(settings=with_pending(uf.settings, uf.pending), pending=None)
            files.save_unit(uf)
        self.unit, self.pending = uf.settings, uf.pending
        self.boots = record_boot(
            files.load_boots(),
            self.clock.wall(),
            window_s=self.settings.pacify_window_s,
            max_boots=self.settings.pacify_max_boots,
        )
        if self.serving:  # a start that never served is no boot: ``served`` keeps it then
            files.save_boots(self.boots)
        self.kept_maintenance = files.load_maintenance()

    def served(self) -> None:
        """The unit serves (its direct listener is up): its boot counts from now on, on disk.

        A start that fails before (a busy port, a missing capability) leaves no boot behind, so
        a service manager restarting it through a short port conflict does not pacify it."""
        self.serving = True
        self.ports.files.save_boots(self.boots)

    async def boot(self) -> None:
        """Applies pending unit settings, counts the boot, starts the loop."""
        self._load_unit()
        self.role_epoch += 1
        self.boot_id = uuid.uuid4().hex
        self.challenges = Challenges()  # calls bound to an earlier boot's are refused
        self._tick_read = None  # this boot's machine has read nothing yet
        self.booted_at = iso(self.clock.wall())
        metrics, store = self.ports.metrics, self.ports.store
        metrics.set_boots(self.boots_in_window())
        with contextlib.suppress(StoreUnavailable, TimeoutError):
            async with asyncio.timeout(ACTION_BOUND_S):
                self.redis_version = await store.server_version()
                if await store.is_master():
                    await store.migrate()  # older records to this build's schema
                self.snapshot = await store.read()
        log.info(
            "boot",
            extra={
                "event": "boot",
                "unit": self.name,
                "mode": self.unit.mode,
                "version": VERSION,
                "protocol": PROTOCOL,
                "redis_version": self.redis_version,
                "boot_id": self.boot_id,
                "boots_in_window": self.boots_in_window(),
                "pacified": self.pacified,
            },
        )
        if not self.ha:
            self.standalone = True
            metrics.set_role(STANDALONE)
            with contextlib.suppress(StoreUnavailable):
                await store.promote()
            return
        self.link = self.ports.partner(self.unit, self.pair_id)
        if self.closed:
            return
        self.announcer.name = self.name
        shared = self.ports.shared
        # not active yet: a virtual IP a crash left behind goes
        await shared.remove_leftover(self.unit.shared_address, self.snapshot.params)
        # with a virtual IP, the shared listener is bound before the address exists
        await shared.bind_ahead(self.unit.shared_address)
        kept = self.kept_maintenance
        config = m.Config(
            unit=self.name,
            mode=self.unit.mode,
            shared_address=self.unit.shared_address,
            pacified=self.pacified,
            has_partner=self.link is not None,
            maintenance=kept.enabled,
            maintenance_reason=kept.reason,
            maintenance_since=_posix(kept.since),
            tracks=tuple(t.name for t in self.settings.tracks),
            adverts=self.adverts() is not None,
            listen_first=1.5 * self.settings.heartbeat_interval if self.adverts() else 0.0,
        )
        self.state, actions = m.boot(
            config,
            machine_params(self.snapshot.params),
            self.snapshot.revision,
            self.now(),
            self.clock.wall(),
            told=None if self.state is None else self.state.told,  # the stream outlives a reboot
        )
        metrics.set_role(self.state.role)
        self.queue = asyncio.Queue()
        self._loop = asyncio.create_task(self._run(actions), name="hapair-engine")
        self.dataplane.update(self.dataplane_inputs(self.state))
        self.dataplane.start()
        self._ticker = asyncio.create_task(self._tick_forever(), name="hapair-ticker")
        self._arm_deadline()
        # the checks start afresh each boot (the machine's state starts with each unchecked)
        self.checks = self.ports.checks(metrics.set_track_ok)
        self.checks.start(self.put, self.now)
        self._booted.set()

    async def shutdown(self) -> None:
        """Stops the loop (the shared address is released first), and partner connections."""
        self._booted.clear()
        self._disarm_deadline()
        await self.checks.stop()
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ticker
        loop, self._loop = self._loop, None
        if loop is not None and not loop.done():
            self.put(m.Shutdown(now=self.now()))
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(loop), timeout=SHUTDOWN_S)
        if loop is not None and not loop.done():
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
        await self.ports.shared.stop(drain=not self.closed)
        if self.ports.adverts is not None:
            self.ports.adverts.close()
        if self.ports.update_link is not None:
            await self.ports.update_link.close()
        await self.dataplane.stop()
        self.replies.refuse_all()
        if self.link is not None:
            await self.link.close()
            self.link = None
        await self.ports.partner_store.close()
        self.background.cancel()
        self.standalone = False

    async def close(self) -> None:
        """Final stop of the process: no reboot may start the loop again afterwards."""
        self.closed = True
        await asyncio.gather(*self.background.cancel(), return_exceptions=True)
        await self.shutdown()

    def schedule_reboot(self) -> None:
        """Reboots in the background (a request that asks for it can answer first)."""
        self.background.spawn(self.reboot(), "reboot")

    async def reboot(self) -> None:
        """Restarts the node in-process, applying pending settings; counts as a boot. A reboot
        asked for while one runs is not dropped: the running one boots once more for each."""
        if self.rebooting:
            self.reboots_queued += 1
            return
        self.rebooting = True
        try:
            while True:
                log.info("reboot", extra={"event": "reboot", "unit": self.name})
                await self.shutdown()
                if self.closed:
                    return
                await self.boot()
                if not self.reboots_queued:
                    return
                self.reboots_queued -= 1
        finally:
            self.rebooting = False

    # ---- the loop ------------------------------------------------------------------------

    def put(self, event: m.Event) -> None:
        """Queues an event for the loop."""
        self.queue.put_nowait(event)

    async def ask(
        self, make: Callable[[int], m.Event], *, within: float = ASK_TIMEOUT_S
    ) -> m.Reply:
        """Puts a request on the queue as an event and waits for its reply (``within``
        seconds at most: then it is refused, and a reply that comes later is dropped). During a
        reboot it waits for the boot (within the same bound)."""
        if self.rebooting and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._booted.wait(), within)
        if self.state is None or not self.running:
            return m.Reply(0, "not-active", "the engine is not running")
        request, fut = self.replies.open()
        self.put(make(request))
        try:
            return await asyncio.wait_for(fut, within)
        except TimeoutError:
            self.replies.forget(request)
            self.unanswered += 1
            log.warning("request unanswered", extra={"event": "ask-timeout", "request": request})
            return m.Reply(request, "not-active", f"the engine did not answer within {within:g} s")

    async def _run(self, first: list[m.Action]) -> None:
        """Carries out the boot's actions, then steps each event until shutdown."""
        try:
            await self._execute(first)
            while True:
                event = await self.queue.get()
                await self.step(event)
                if isinstance(event, m.Shutdown):
                    return
        finally:
            self.replies.refuse_all("the engine stopped")

    async def step(self, event: m.Event) -> None:
        """Steps one event and carries out its actions; the result of an action carried out
        here is stepped at once, before anything else (status never lags the world)."""
        state = self.state
        if state is None:
            return
        try:
            new, actions = m.step(state, event)
        except Exception:
            log.exception("engine step failed", extra={"event": "step-error"})
            request = getattr(event, "request", None)
            if isinstance(request, int):
                self.replies.answer(m.Reply(request, "not-active", "the engine failed to decide"))
            return
        if self.ports.trace is not None:
            self.ports.trace(state, event, new, actions)
        if new.role != state.role:
            self.role_epoch += 1
        self.state = new
        self._arm_deadline()
        self.dataplane.update(self.dataplane_inputs(new))
        await self._execute(actions)

    async def _execute(self, actions: list[m.Action]) -> None:
        """Carries out ``actions`` in order; one that fails or overruns its bound is logged
        and the others still run (a reply among them is sent)."""
        for action in actions:
            try:
                async with asyncio.timeout(ACTION_BOUND_S):
                    await self._carry_out(action)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "engine action failed",
                    extra={"event": "action-error", "action": type(action).__name__},
                )

    async def _carry_out(self, action: m.Action) -> None:
        ports, now = self.ports, self.now
        match action:
            case m.SendHeartbeat():
                self._send()
            case m.Promote():
                try:
                    await ports.store.promote()
                except StoreUnavailable:
                    return
                await self.step(m.Promoted(now=now()))
                self.background.spawn(self._migrate(), "migrate-records")
            case m.ReplicateFrom(url=url):
                up = await self._bounded(
                    ports.partner_store.replicate_from(url, self._until_deadline())
                )
                await self.step(
                    m.ReplicateFailed(now=now())
                    if up is None
                    else m.Replicating(now=now(), url=url, link_up=up)
                )
                if up is False:
                    self._watch_link(url)
            case m.ServeShared():
                await self._serve_shared()
            case m.StopShared():
                await ports.shared.release(drain=not self.closed)
            case m.Reannounce():
                with contextlib.suppress(NoSharedInterface, NotActive):
                    # none without a virtual IP (an operator's address), or no longer held
                    await self._bounded(ports.shared.announce())
            case m.RenewShared():
                await self._renew()
            case m.AskDemote(request=request, cause=cause):
                self.background.spawn(self._ask_demote(request, cause), "ask-demote")
            case m.AskHandover(request=request, cause=cause):
                self.background.spawn(self._ask_handover(request, cause), "ask-handover")
            case m.Reply():
                self.replies.answer(action)
            case m.Reboot(cause=cause):
                extra = {"event": "reboot-asked", "unit": self.name, "cause": cause}
                log.warning("rebooting", extra=extra)
                self.schedule_reboot()
            case (
                m.Transitioned()
                | m.TrackReported()
                | m.Alert()
                | m.Emit()
                | m.FlushEvents()
                | m.SaveMaintenance()
                | m.Note()
            ):
                self._tell(action)
            case _:
                raise AssertionError(f"unknown action {action!r}")

    def _tell(self, action: m.Action) -> None:
        """The actions that tell the world (the log, the metrics, the hook, the event stream)
        or keep a record in the data dir."""
        match action:
            case m.Transitioned(transition=t, role=role):
                shared = self.unit.shared_address
                vid, _ = effective_virtual_id(self.snapshot.params, shared)
                self.announcer.transitioned(t, role, shared=shared, virtual_id=vid)
            case m.TrackReported(name=name, ok=ok, detail=detail):
                self.announcer.track(name, ok, detail)
            case m.Alert(reason=reason, detail=detail, raised=raised):
                data = {"unit": self.name, "reason": reason, "detail": detail, "ended": not raised}
                log.warning("alert", extra={"event": "alert", **data})
            case m.Emit(kind=kind, data=fields, at=at):
                self.announcer.emit(kind, dict(fields), at)
            case m.FlushEvents():
                self.announcer.flush()
            case m.SaveMaintenance(enabled=enabled, reason=reason, since=since):
                when = None if since is None else iso(since)
                self.ports.files.save_maintenance(
                    Maintenance(enabled=enabled, reason=reason, since=when)
                )
            case m.Note(event=event, fields=fields):
                log.info(event, extra={"event": event, "unit": self.name, **dict(fields)})

    async def _serve_shared(self) -> None:
        """``ServeShared``: serve the shared address, then tell the core how it went."""
        try:
            error = await self._bounded(
                self.ports.shared.serve(self.unit.shared_address, self.snapshot.params),
                failed="timed out",
            )
        except Exception as exc:
            error = str(exc) or type(exc).__name__
        now = self.now()
        await self.step(
            m.SharedServed(now=now) if error is None else m.SharedFailed(now=now, error=error)
        )

    async def _renew(self) -> None:
        """``RenewShared``: the lease renewed now, and once more shortly after."""
        if not await self.ports.shared.renew(self.snapshot.params):
            await self.step(m.LeaseLost(now=self.now()))
        else:
            self._renew_again()

    def _renew_again(self) -> None:
        """The lease renewed once more, on the unit's next half-interval beat at least
        ``RENEW_AGAIN_S`` after the tick's renew (which follows its heartbeat exchange): with a
        1 s heartbeat, half a second after the tick.

        The lease runs out ``ha_timeout`` after the last renew (the kernel may act up to 20 ms
        early), the partner takes over ``ha_timeout`` after the last heartbeat it heard, plus
        its timer, promote and netlink add. Renewed only just after the heartbeat, the address
        left a dead active's host a few ms before it reached the partner in about half the
        kill -9 runs of ``bench/failover.py``: a client's SYN sent in that gap is lost (a
        second's retransmit for a real client). Renewed again 0.1 s or more later, the old
        address outlives the takeover unless the unit died in between; it is still gone within
        ``ha_timeout`` of the fault, well within ``ha_timeout`` + 1 s (SPEC 5b)."""
        if self._renew_pending:
            return
        self._renew_pending = True

        async def again() -> None:
            try:
                half = self.settings.heartbeat_interval / 2
                await self.clock.sleep_to_beat(half, after=min(RENEW_AGAIN_S, half / 2))
                if self.role == Role.ACTIVE and not await self.ports.shared.renew(
                    self.snapshot.params
                ):
                    self.put(m.LeaseLost(now=self.now()))
            finally:
                self._renew_pending = False

        self.background.spawn(again(), "lease-renew")

    async def _bounded(self, coro: Any, failed: Any = None) -> Any:
        """An action's call, bounded below the loop's bound: ``failed`` when it overruns (its
        result event then says so, rather than the loop dropping the step)."""
        try:
            return await asyncio.wait_for(coro, ACTION_BOUND_S * 0.8)
        except TimeoutError:
            log.warning("engine action timed out", extra={"event": "action-timeout"})
            return failed

    def _until_deadline(self) -> float:
        """How long an action the loop waits for may wait on the partner: until shortly before
        the machine's next deadline (its failover), 5 s at most."""
        due = self._deadline[0]
        return 5.0 if due is None else min(5.0, due - self.now() - 0.02)

    def publishes(self) -> bool:
        """Whether this unit writes its own events to the stream now (``machine.publishes``;
        otherwise the active partner does, from this unit's heartbeat)."""
        return self.state is None or m.publishes(self.state, self.now())

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
            partner=other_unit(self.name) if self.ha else None,
            partner_host=partner_host,
            one_host=one_host,
            adverts=None if (a := self.adverts()) is None else a.report(),
            update=None if (u := self.update_link()) is None else u.report(),
        )

    def applied_changed(self, name: str, state: AppliedState, initial: bool) -> None:
        """A parameter's applied state on this unit changed: the metric, and (not at boot)
        an ``applied`` event, written by this unit when it writes the stream."""
        self.ports.metrics.set_parameter_applied(name, state.state)
        if initial:
            return
        data: dict[str, object] = {
            "unit": self.name,
            "parameter": name,
            "state": state.state,
            "detail": state.detail,
        }
        log.info("parameter applied state", extra={"event": "applied", **data})
        if self.publishes():
            self.announcer.emit("applied", data)

    def state_sync_seen(self, ok: bool, detail: str) -> None:
        if self.state is not None and self.running:
            self.put(m.StateSyncSeen(now=self.now(), ok=ok, detail=detail))

    # ---- what the node observes ----------------------------------------------------------

    def store_read(self, snapshot: Snapshot) -> m.StoreRead:
        """The event of a read of this unit's Redis."""
        return m.StoreRead(
            now=self.now(), revision=snapshot.revision, params=machine_params(snapshot.params)
        )

    def note_commit(self, snapshot: Snapshot) -> None:
        """A revision committed through this unit: taken in at once."""
        if snapshot.revision > self.snapshot.revision:
            self.snapshot = snapshot
            if self.running and self.state is not None:
                self.put(self.store_read(snapshot))

    def received(self, hb: Heartbeat) -> Heartbeat:
        """The partner's heartbeat, sent to this unit: an event; the answer is ours."""
        if not self.boot_id or not self.running:
            raise StoreUnavailable("this unit is still booting")
        self.last_heard_at = self.last_sent_at = iso(self.clock.wall())  # ours is the answer
        if hb.mode != self.unit.mode and hb.via == "update":
            self.update_called_at = self.now()
        elif hb.mode != self.unit.mode:  # the partner's call (not a same-mode stranger's)
            self.partner_called_at = self.now()
        self.put(m.Heard(now=self.now(), heartbeat=hb))
        return self.heartbeat()

    def exchanged_lately(self) -> bool:
        """Whether this tick's exchange is left out: the partner's own exchange reached this
        unit within the last interval (one exchange gives each unit the other's heartbeat) and
        this unit is the one that answers (``state.answers_partner``: the active calls).

        So a pair makes one exchange per interval, not two (issue 23: half the idle cost of
        the heartbeats). The caller calls as soon as the other's calls stop coming (frozen,
        lost, slow)."""
        at = self.partner_called_at
        if at is None or self.state is None or not answers_partner(self.state):
            return False
        return self.now() - at < 1.1 * self.settings.heartbeat_interval

    async def _exchange(self) -> None:
        """One heartbeat exchange with the partner; its answer is an event. The caller counted
        it in ``_exchanges``."""
        try:
            link = self.link
            if link is None:
                return
            try:
                answer = await link.heartbeat(self.heartbeat())
            except PartnerAnswered as exc:
                self._answered(exc)
            except PartnerError:
                pass
            else:
                self.last_heard_at = iso(self.clock.wall())
                self.put(m.Heard(now=self.now(), heartbeat=answer))
            self.last_sent_at = iso(self.clock.wall())
        finally:
            self._exchanges -= 1

    def _answered(self, exc: PartnerAnswered) -> None:
        """Something answered from the partner's address, but not with an authentic answer:
        it is there (SPEC 5)."""
        event = m.PartnerAnswered(
            now=self.now(), auth_failed=exc.auth_failed, shared_address=exc.shared_address
        )
        self.put(event)
        if exc.auth_failed == REASONS["another-pair"]:
            self.recheck_pair()

    def recheck_pair(self) -> None:
        """The partner holds the pair key but names another pair (another virtual ID): most
        often one unit has read a new ``virtual_id`` and the other not yet. This unit reads
        its Redis now rather than at its next tick, so both agree again within a round trip
        of the exchange, well inside ``AUTH_GRACE_S``, at any heartbeat interval."""
        if self._rechecking or not self.running:
            return
        self._rechecking = True

        async def recheck() -> None:
            try:
                read = await self.ports.store.read_if_changed()
            except StoreUnavailable:
                return  # the tick tells the machine
            finally:
                self._rechecking = False
            self._take_read(read)

        self.background.spawn(recheck(), "recheck-pair")

    async def exchange_now(self) -> None:
        """One exchange, awaited (an API answer then shows the pair as it now is)."""
        if self.link is not None:
            self._exchanges += 1
            await self._exchange()

    def _send(self) -> None:
        """``SendHeartbeat``: an exchange in the background (at most two under way)."""
        if self.link is not None and self._exchanges < 2:
            self._exchanges += 1
            self.background.spawn(self._exchange(), "heartbeat")

    async def _tick_forever(self) -> None:
        """Observes and ticks every heartbeat interval, on the unit's beat (``Clock``'s
        ``sleep_to_beat``): at a fixed rate, a slow store read does not stretch the period,
        and in the same wake-up as the unit's other periodic work (issue 23's idle cost)."""
        interval = self.settings.heartbeat_interval
        while True:
            try:
                async with asyncio.timeout(max(interval, 1.0) * 5):
                    await self._observe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine tick failed", extra={"event": "tick-error"})
            self.put(m.Tick(now=self.now()))
            await self.clock.sleep_to_beat(interval)

    def adverts(self) -> Adverts | None:
        """The adverts port, for a unit of a pair on two hosts with a partner (SPEC 5b': a pair
        on one host, on loopback addresses, sends none)."""
        adverts = self.ports.adverts
        if adverts is None or not self.ha or not self.unit.partner_address:
            return None
        if peers.hosts(self.address, self.unit.partner_address, None)[2]:
            return None
        return adverts

    async def _advert(self) -> bool:
        """Sends this tick's advert (the link opened on ``multicast_interface``, reopened when
        it or ``use_broadcast`` changed); the event of what the link heard is put after the
        heartbeat exchange, just before the tick."""
        adverts, state = self.adverts(), self.state
        if adverts is None or state is None:
            return False
        params = self.snapshot.params
        await adverts.configure(
            unit=self.name, interface=params.multicast_interface, broadcast=params.use_broadcast
        )
        adverts.send(boot_id=self.boot_id, role=state.role, revision=self.snapshot.revision)
        return True

    async def _observe(self) -> None:
        """What a tick looks at: the partner (one heartbeat exchange, unless the partner's came
        lately, and an advert each way on two hosts), this unit's Redis and its monitored
        links."""
        pending, advertised = None, False
        try:
            advertised = await self._advert()
        except Exception:  # never stops the tick (a failure to open shows in its report)
            log.exception("advert failed", extra={"event": "advert-error"})
        if self.link is not None and not self.exchanged_lately():
            self._exchanges += 1
            pending = asyncio.create_task(self._exchange())
        over_update = await self._update_link_tick()
        store = self.ports.store
        try:
            # the same object as the last tick's when nothing changed (issue 23 point 5): the
            # machine already holds it, so no event either
            read = await store.read_if_changed()
            if self.redis_version is None:
                self.redis_version = await store.server_version()
        except StoreUnavailable:
            self._tick_read = None
            self.redis_version = None  # it may come back another build
            self.put(m.StoreFailed(now=self.now()))
        else:
            self._take_read(read)
        if pending is not None:
            await pending
        if over_update is not None:
            await over_update
        adverts = self.adverts()
        if advertised and adverts is not None:
            self.put(
                m.AdvertsSeen(
                    now=self.now(), ago=adverts.partner_ago(), conflicts=adverts.conflicts()
                )
            )
        down = self.ports.links.down(tuple(self.settings.interfaces))
        if down:
            self.put(m.LinkDown(now=self.now(), interfaces=down))

    def _take_read(self, read: Snapshot) -> None:
        """A read of this unit's Redis (the tick's, or a recheck's): to the machine when it
        is not the very snapshot object the last one gave (``read_if_changed``)."""
        if read is not self._tick_read:
            self._tick_read = self.snapshot = read
            self.ports.metrics.set_revision(read.revision)
            self.put(self.store_read(read))

    # ---- the machine's deadline ----------------------------------------------------------

    def _arm_deadline(self) -> None:
        """Sets the timer for the machine's next deadline (``machine.deadline``) if it
        changed; called after every step. The standby decides at the deadline itself."""
        state = self.state
        due = None if state is None or not self.running else m.deadline(state)
        if due == self._deadline[0]:
            return
        self._disarm_deadline()
        if due is not None:
            timer = self.clock.call_later(max(0.0, due - self.now()), lambda: self._due(due))
            self._deadline = (due, timer)

    def _disarm_deadline(self) -> None:
        timer = self._deadline[1]
        self._deadline = (None, None)
        if timer is not None:
            timer.cancel()

    def _due(self, due: float) -> None:
        now = self.now()
        # never decide before the deadline, by however little: the partner still counts as
        # heard then, and nothing decides again before the next tick, which after a frozen
        # active comes only once its heartbeat waited out its 0.9 s timeout. Timers can fire
        # early (uvloop's clock keeps milliseconds; the simulation's sums round), so an early
        # one is armed again for the rest, and for at least ``DUE_AGAIN_S``: a shorter wait
        # can fire at once, at the same instant, without end (a livelock found by a 20 000-
        # example simulation run). Counting less than a microsecond early as on time, as the
        # fix for that did, made 3 SIGSTOP runs of 25 in ``bench/failover.py`` take over 0.9 s
        # after the deadline.
        if now < due:
            wait = max(due - now, DUE_AGAIN_S)
            self._deadline = (due, self.clock.call_later(wait, lambda: self._due(due)))
            return
        self._deadline = (due, None)  # this deadline fires once
        self._log_due(due, now)
        self.put(m.Deadline(now=now, due=due))

    def _log_due(self, due: float, now: float) -> None:
        """The failover deadline came: when the partner was last heard (its heartbeat, an
        answer from its address or its advert: the sign of life the deadline counts from),
        wall clock, and how late the timer fired (``bench/failover.py`` reads it)."""
        s = self.state
        if s is None or s.heard_at is None:
            return
        last = max(s.heard_at, s.answered_at or s.heard_at, s.advert_at or s.heard_at)
        wall = self.clock.wall() - (now - last)
        extra = {
            "event": "deadline",
            "unit": self.name,
            "last_heard": iso(wall),
            "late_ms": round(1000 * (now - due), 1),
        }
        log.info("partner silent until the deadline", extra=extra)

    # ---- the actions that wait on the partner --------------------------------------------

    async def _migrate(self) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self.ports.store.migrate()

    def _watch_link(self, url: str) -> None:
        """The replication link is configured but not up yet: watch it and tell the node,
        and the partner, as soon as it is, rather than at the next tick."""
        if self._link_watch:
            return

        async def watch() -> None:
            try:
                deadline = self.now() + LINK_WATCH_S
                while self.now() < deadline:
                    await self.clock.sleep(0.05)
                    up = await self.ports.partner_store.link_up(url)
                    if up is None:
                        return
                    if up:
                        self.put(m.Replicating(now=self.now(), url=url, link_up=True))
                        self._send()
                        return
            finally:
                self._link_watch = False

        self._link_watch = True
        self.background.spawn(watch(), "replication-link")

    async def _ask_handover(self, request: int, cause: str) -> None:
        """Asks the standby partner to take the role over; answers ``HandoverDone``."""
        link = self.calls_link()
        try:
            if link is None:
                raise PartnerError("no partner")  # noqa: TRY301 - one refusal path for both
            reply = await link.handover(HandoverRequest(cause=cause), wait=HANDOVER_WAIT_S)
        except (PartnerError, TimeoutError) as exc:
            detail = f"the partner did not take over: {exc}"
            done = m.HandoverDone(
                now=self.now(), request=request, error="partner-unavailable", detail=detail
            )
            self.put(done)
            return
        error = None if reply.ok else (reply.error or "partner-unavailable")
        self.put(m.HandoverDone(now=self.now(), request=request, error=error, detail=reply.detail))

    async def _ask_demote(self, request: int | None, cause: str) -> None:
        """Asks the active partner to step down and waits (5 s at most) until this unit's
        Redis holds its last revision; answers ``PartnerDemoted`` or ``PartnerDemoteFailed``."""
        link = self.calls_link()
        if link is None:
            self.put(m.PartnerDemoteFailed(now=self.now(), request=request, error="no partner"))
            return
        try:
            reply = await link.demote(DemoteRequest(by=self.name, cause=cause), wait=DEMOTE_WAIT_S)
        except (PartnerError, TimeoutError) as exc:
            error = f"the partner did not step down: {exc}"
            self.put(m.PartnerDemoteFailed(now=self.now(), request=request, error=error))
            return
        extra = {
            "event": "partner-demoted",
            "unit": self.name,
            "was_active": reply.demoted,
            "revision": reply.revision,
        }
        log.info("partner stepped down", extra=extra)
        store = self.ports.store
        deadline = self.now() + DEMOTE_WAIT_S
        while self.now() < deadline:
            try:
                if await store.revision() >= reply.revision:
                    break
            except StoreUnavailable:
                pass
            await self.clock.sleep(0.02)
        with contextlib.suppress(StoreUnavailable):
            self.snapshot = await store.read()
            self.put(self.store_read(self.snapshot))
        self.put(m.PartnerDemoted(now=self.now(), request=request))

    # ---- the update link (SPEC 5b' update_interface; engine/adapters/uplink.py) -----------

    def update_link(self) -> UpdateLink | None:
        """The update link port, for a unit of a pair on two hosts with a partner (a pair on
        one host shares loopback: there is no second link)."""
        uplink = self.ports.update_link
        if uplink is None or not self.ha or not self.unit.partner_address:
            return None
        if peers.hosts(self.address, self.unit.partner_address, None)[2]:
            return None
        return uplink

    def calls_link(self) -> PartnerLink | None:
        """The link replication's and the hand-over's calls use: the update link while it
        carries heartbeats, else the direct one."""
        uplink, state = self.update_link(), self.state
        if (
            uplink is not None
            and uplink.link is not None
            and state is not None
            and state.update_separate
            and not m.update_link_down(state, self.now())
        ):
            return uplink.link
        return self.link

    async def _update_link_tick(self) -> asyncio.Task[None] | None:
        """Reads the update link (this unit's addresses, the partner's), tells the machine
        whether a separate one is in use, and starts this tick's exchange over it (unless the
        partner's came that way lately, as on the direct link)."""
        uplink, state = self.update_link(), self.state
        if uplink is None or state is None:
            return None
        try:
            await uplink.refresh(
                interface=self.snapshot.params.update_interface,
                partner=state.partner,
                partner_address=self.unit.partner_address,
            )
        except Exception:  # never stops the tick (the applied state shows what is wrong)
            log.exception("update link failed", extra={"event": "update-link-error"})
        link = uplink.link
        self.put(
            m.UpdateLinkSeen(
                now=self.now(), separate=link is not None, replication=uplink.replicates
            )
        )
        at = self.update_called_at
        lately = (  # the same caller as on the direct link (``state.answers_partner``)
            answers_partner(state)
            and at is not None
            and self.now() - at < 1.1 * self.settings.heartbeat_interval
        )
        if link is None or lately:
            return None
        return asyncio.create_task(self._exchange_update(link))

    async def _exchange_update(self, link: PartnerLink) -> None:
        """One heartbeat exchange over the update link; its answer is an event (marked as
        having come that way)."""
        mine = self.heartbeat()
        mine.via = "update"
        try:
            answer = await link.heartbeat(mine)
        except PartnerAnswered as exc:
            # a refusal over the update link is an answer too: with the direct link down, a
            # partner restarted with another pair key was taken for lost (both units active;
            # found by tests/sim)
            self._answered(exc)
            return
        except PartnerError:
            return
        answer.via = "update"
        self.put(m.Heard(now=self.now(), heartbeat=answer))
