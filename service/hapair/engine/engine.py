"""The HA engine of one unit: boots, heartbeats its partner, decides roles and applies them.

Applying a role means: the active unit's Redis is a master and the shared address is served;
a standby's Redis is a replica of the active's; everything else serves only its direct address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hapair.domain.errors import (
    HADisabled,
    NotActive,
    Pacified,
    PartnerUnavailable,
    StoreUnavailable,
    UseSharedAddress,
)
from hapair.domain.parameters import HAParameters, effective_virtual_id
from hapair.domain.status import PairStatus, UnitStatus, pair_state, unit_status
from hapair.domain.unit import (
    BootRecord,
    UnitSettings,
    boots_in_window,
    parse_host_port,
    record_boot,
    unit_name,
)
from hapair.engine.listener import Listener
from hapair.engine.messages import DemoteReply, DemoteRequest, Heartbeat
from hapair.engine.partner import PartnerClient, PartnerError, partner_client_for
from hapair.engine.roles import Decision, EngineRole, Facts, PartnerFacts, decide, wants_takeover
from hapair.metrics import Metrics
from hapair.settings import Settings
from hapair.store.redis import ConflictEntry, Snapshot, Store, connect, host_port
from hapair.store.unitfile import UnitFiles

log = logging.getLogger("hapair.engine")

PUBLIC_ROLE: dict[str, str] = {
    "starting": "not_operational",
    "active": "active",
    "standby": "standby",
    "not_operational": "not_operational",
    "pacified": "pacified",
    "indeterminate": "indeterminate",
}


def utc_now() -> str:
    """RFC 3339 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def link_is_up(name: str, sys_class_net: Path = Path("/sys/class/net")) -> bool:
    """Whether an interface's operstate is up (``unknown`` counts as up: loopback, tun)."""
    try:
        state = (sys_class_net / name / "operstate").read_text().strip()
    except OSError:
        return False
    return state in ("up", "unknown")


class HAEngine:
    """One unit's HA state machine and its side effects."""

    def __init__(
        self,
        *,
        settings: Settings,
        files: UnitFiles,
        store: Store,
        redis_url: str,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.files = files
        self.store = store
        self.redis_url = redis_url
        self.metrics = metrics
        self.clock = clock
        self.address = settings.listen
        self.app: Any = None  # the ASGI app the shared listener serves; set by the wiring
        self.unit = UnitSettings()
        self.pending: dict[str, str | None] | None = None
        self.boots = BootRecord()
        self.boot_id = ""
        self.booted_at = ""
        self._boot_mono = 0.0
        self.pacified = False
        self.role: EngineRole | str = "starting"
        self.reason: str | None = None
        self.snapshot = Snapshot(revision=0, params=HAParameters(), updated_at=None)
        self.partner: Heartbeat | None = None
        self._last_heard = 0.0
        self.last_heard_at: str | None = None
        self.last_sent_at: str | None = None
        self.write_lock = asyncio.Lock()
        self._role_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._shared: Listener | None = None
        self._client: PartnerClient | None = None
        self._remote: tuple[str, Store] | None = None
        self._replicating_from: tuple[str, int] | None = None
        self._hold_until = 0.0
        self._both_standby_since: float | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._rebooting = False
        self._closed = False
        self.role_epoch = 0  # +1 on every role change and boot: cached reads are per epoch
        self._master_epoch = -1  # the role epoch in which this unit's Redis was made a master
        self._store_down_since: float | None = None

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
            return self.boot_id != ""
        return self._task is not None and not self._task.done()

    @property
    def public_role(self) -> str:
        """The role as the API shows it."""
        return PUBLIC_ROLE.get(str(self.role), str(self.role))

    def _interval(self) -> float:
        return self.settings.heartbeat_interval

    def _ha_timeout(self) -> float:
        return float(self.snapshot.params.ha_timeout)

    def partner_fresh(self) -> Heartbeat | None:
        """The partner's last heartbeat if heard within ``ha_timeout``."""
        if self.partner is None:
            return None
        if time.monotonic() - self._last_heard >= self._ha_timeout():
            return None
        return self.partner

    def heartbeat(self) -> Heartbeat:
        """This unit's heartbeat."""
        return Heartbeat(
            unit=self.name,
            mode=self.unit.mode,
            role=str(self.role),
            reason=self.reason,
            boot_id=self.boot_id,
            booted_at=self._boot_mono,
            revision=self.snapshot.revision,
            redis_url=self.redis_url,
            address=self.address,
            shared_address=self.unit.shared_address,
            pacified=self.pacified,
            preferred_server=self.snapshot.params.preferred_server,
            sent_at=self.clock(),
        )

    def boots_in_window(self) -> int:
        """Boots within the pacify window, this one included."""
        return boots_in_window(self.boots, self.clock(), self.settings.pacify_window_s)

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
            self.clock(),
            window_s=self.settings.pacify_window_s,
            max_boots=self.settings.pacify_max_boots,
        )
        self.files.save_boots(self.boots)
        self.pacified = self.ha and self.boots.pacified
        self.role_epoch += 1
        self.boot_id = uuid.uuid4().hex
        self.booted_at = utc_now()
        self._boot_mono = time.monotonic()
        self._replicating_from = None
        self._both_standby_since = None
        self._hold_until = 0.0
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
            self.role, self.reason = "standalone", None
            self.metrics.set_role("standalone")
            with contextlib.suppress(StoreUnavailable):
                await self.store.promote()
            return
        self.role = "pacified" if self.pacified else "starting"
        self.reason = None if self.pacified else "starting"
        self.metrics.set_role(str(self.role))
        if self.pacified:
            with contextlib.suppress(StoreUnavailable):
                await self.store.promote()
        self._client = partner_client_for(self.settings, self.name, self.unit.partner_address)
        if self._closed:
            return
        self._task = asyncio.create_task(self._run(), name="hapair-engine")

    async def shutdown(self) -> None:
        """Stops the loop, the shared listener and partner connections."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._stop_shared()
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
            await self.boot()
        finally:
            self._rebooting = False

    def schedule_reboot(self) -> None:
        """Reboots in the background (a request that asks for it can answer first)."""
        self._spawn(self.reboot())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
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

    # ---- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        # Fixed rate: a slow heartbeat does not stretch the period (failover detection).
        next_tick = time.monotonic()
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine tick failed", extra={"event": "tick-error"})
            next_tick = max(next_tick + self._interval(), time.monotonic())
            await asyncio.sleep(next_tick - time.monotonic())

    def heard(self, hb: Heartbeat) -> None:
        """Records a heartbeat from the partner (sent by it or answered to ours)."""
        self.partner = hb
        self._last_heard = time.monotonic()
        self.last_heard_at = utc_now()

    async def _tick(self) -> None:
        try:
            self.snapshot = await self.store.read()
            self.metrics.revision.set(self.snapshot.revision)
            self._store_down_since = None
        except StoreUnavailable:
            if self._store_down_since is None:
                self._store_down_since = time.monotonic()
        if self._client is not None:
            try:
                self.heard(await self._client.heartbeat(self.heartbeat()))
            except PartnerError as exc:
                log.debug(
                    "heartbeat failed", extra={"event": "heartbeat-failed", "error": str(exc)}
                )
            self.last_sent_at = utc_now()
        params = self.snapshot.params
        if params.hard_reboot_on_link_failure and not self.pacified:
            down = [name for name in self.settings.interfaces if not link_is_up(name)]
            if down:
                log.warning(
                    "link failure: hard reboot",
                    extra={"event": "link-failure", "unit": self.name, "interfaces": down},
                )
                self.schedule_reboot()
                return
        facts = self._facts()
        async with self._role_lock:
            await self._apply(decide(facts))
        if self.role == "active":
            await self._ensure_master()
            await self._ensure_shared()
        elif self.role == "standby":
            await self._ensure_replicating()
            if wants_takeover(self._facts(), in_sync=self._in_sync_with_partner()):
                log.info("preferred server takes over", extra={"event": "preferred-takeover"})
                with contextlib.suppress(PartnerUnavailable, NotActive, StoreUnavailable):
                    await self.takeover()

    def _facts(self) -> Facts:
        p = self.partner_fresh()
        now = time.monotonic()
        if self.role == "standby" and p is not None and p.role == "standby":
            if self._both_standby_since is None:
                self._both_standby_since = now
        else:
            self._both_standby_since = None
        return Facts(
            unit=self.name,
            mode=self.unit.mode,
            role=self.role if self.role != "standalone" else "starting",  # type: ignore[arg-type]
            revision=self.snapshot.revision,
            shared_address=self.unit.shared_address,
            pacified=self.pacified,
            preferred_server=self.snapshot.params.preferred_server,
            initial_wait_time=float(self.snapshot.params.initial_wait_time),
            ha_timeout=self._ha_timeout(),
            booted_for=now - self._boot_mono,
            partner=None
            if p is None
            else PartnerFacts(
                unit=p.unit,
                mode=p.mode,
                role=p.role,
                revision=p.revision,
                shared_address=p.shared_address,
                pacified=p.pacified,
            ),
            holding=now < self._hold_until,
            both_standby_for=0.0
            if self._both_standby_since is None
            else now - self._both_standby_since,
            store_down_for=0.0 if self._store_down_since is None else now - self._store_down_since,
        )

    def _in_sync_with_partner(self) -> bool:
        p = self.partner_fresh()
        return (
            p is not None
            and self._replicating_from is not None
            and p.revision == self.snapshot.revision
        )

    async def _apply(self, d: Decision) -> None:
        self.reason = d.reason
        if d.role != self.role:
            await self._transition(d.role)

    async def _transition(self, new: EngineRole) -> None:
        old = self.role
        self.role = new
        self.role_epoch += 1
        log.info(
            "role change",
            extra={"event": "role-change", "unit": self.name, "from": old, "to": new},
        )
        if new == "active":
            self._replicating_from = None
            await self._ensure_master()
            await self._ensure_shared()
        else:
            await self._stop_shared()
            self._replicating_from = None  # a standby re-points at its partner next tick
            if new != "standby":  # nobody else's copy: replicate nothing
                with contextlib.suppress(StoreUnavailable):
                    await self.store.promote()
        if new != "not_operational":
            self.reason = None if new != "starting" else "starting"
        self.metrics.set_role(new)
        self.metrics.role_changes.inc()
        self._run_hook(new)
        # Tell the partner now rather than at the next tick: both views converge at once.
        self._spawn(self._exchange())

    async def _exchange(self) -> None:
        """One heartbeat exchange with the partner, outside the tick."""
        if self._client is None:
            return
        with contextlib.suppress(PartnerError):
            self.heard(await self._client.heartbeat(self.heartbeat()))

    async def _ensure_master(self) -> None:
        """The active's Redis must be a master; retried every tick until it is (Redis outages)."""
        if self._master_epoch == self.role_epoch:
            return
        try:
            await self.store.promote()
        except StoreUnavailable:
            return
        self._master_epoch = self.role_epoch

    async def _ensure_shared(self) -> None:
        shared = self.unit.shared_address
        if not shared or (self._shared is not None and self._shared.running):
            return
        host, port = parse_host_port(shared, require_ip=True)
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
            return
        self._shared = listener

    async def _stop_shared(self) -> None:
        listener, self._shared = self._shared, None
        if listener is not None:
            await listener.stop()

    async def _remote_store(self, url: str) -> Store:
        if self._remote is not None and self._remote[0] == url:
            return self._remote[1]
        if self._remote is not None:
            await self._remote[1].close()
        store = Store(connect(url, max_connections=4))
        self._remote = (url, store)
        return store

    async def _ensure_replicating(self) -> None:
        p = self.partner_fresh()
        if p is None or p.role != "active" or not p.redis_url:
            return
        target = host_port(p.redis_url)
        if self._replicating_from == target:
            # Someone (or a restart of our Redis) may have changed it behind our back: verify.
            try:
                info = await self.store.replication()
            except StoreUnavailable:
                return
            master = (str(info.get("master_host", "")), int(info.get("master_port", 0) or 0))
            if info.get("role") == "slave" and master == target:
                return
            log.warning(
                "replication was changed; re-pointing", extra={"event": "replication-drift"}
            )
            self._replicating_from = None
        try:
            remote = await self._remote_store(p.redis_url)
            archived = await self._archive_divergent(remote)
            await self.store.replicate_from(*target)
        except StoreUnavailable as exc:
            log.warning(
                "cannot replicate yet", extra={"event": "replicate-failed", "error": str(exc)}
            )
            return
        self._replicating_from = target
        log.info(
            "replicating",
            extra={
                "event": "replicaof",
                "master": f"{target[0]}:{target[1]}",
                "archived": archived,
            },
        )

    async def _archive_divergent(self, remote: Store) -> int:
        """Archives into the active's Redis the revisions only this unit holds."""
        mine = await self.store.history(limit=1000, before=None)
        if not mine:
            return 0
        theirs = await remote.history(limit=1000, before=None)
        their_ids = {e.id for e in theirs}
        complete = len(theirs) < 1000
        oldest = min((e.revision for e in theirs), default=0)
        now = utc_now()
        divergent = [
            ConflictEntry.of(e, unit=self.name, archived_at=now)
            for e in mine
            if e.id not in their_ids and (complete or e.revision >= oldest)
        ]
        await remote.archive_conflicts(divergent)
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
        env = {
            **os.environ,
            "HAPAIR_ROLE": PUBLIC_ROLE.get(role, role) if role != "starting" else "starting",
            "HAPAIR_UNIT": self.name,
            "HAPAIR_SHARED_ADDRESS": self.unit.shared_address or "",
            "HAPAIR_VIRTUAL_ID": str(vid),
        }
        self._spawn(self._hook(cmd, env))

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
        log.info(
            "revision committed",
            extra={"event": "commit", "revision": revision, "actor": actor, "fields": fields},
        )

    async def on_heartbeat(self, hb: Heartbeat) -> Heartbeat:
        """Handles the partner's heartbeat; answers with ours."""
        if not self.boot_id:
            raise StoreUnavailable("this unit is still booting")
        self.heard(hb)
        return self.heartbeat()

    async def takeover(self) -> None:
        """Makes this standby the active unit; the partner becomes standby."""
        self.check_ha()
        if self.pacified:
            raise Pacified
        if self.role == "active":
            return
        p = self.partner_fresh()
        if self._client is None or p is None:
            raise PartnerUnavailable(
                "the partner is not reachable; it cannot be asked to step down"
            )
        if self.role != "standby" or p.role != "active":
            raise NotActive(
                f"takeover needs this unit standby and the partner active (partner: {p.role})"
            )
        try:
            reply: DemoteReply = await self._client.demote(
                DemoteRequest(by=self.name, boot_id=self.boot_id), wait=5.0
            )
        except PartnerError as exc:
            raise PartnerUnavailable(f"the partner did not step down: {exc}") from exc
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                if await self.store.revision() >= reply.revision:
                    break
            except StoreUnavailable:
                pass
            await asyncio.sleep(0.02)
        async with self._role_lock:
            self.snapshot = await self.store.read()
            await self._transition("active")
        await self._exchange()  # the answer shows the pair as it now is

    async def demote(self, request: DemoteRequest) -> DemoteReply:
        """The partner takes over: step down, and tell it the last revision to wait for."""
        async with self._role_lock, self.write_lock:
            if self.role == "active":
                self._hold_until = time.monotonic() + 2 * self._ha_timeout()
                await self._transition("standby")
            revision = await self.store.revision()
        log.info("demoted", extra={"event": "demote", "by": request.by, "revision": revision})
        return DemoteReply(revision=revision, demoted=True)

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

    async def status(self) -> PairStatus:
        """``GET /ha/status``: both units as this unit sees them."""
        if not self.ha:
            return PairStatus(pair=pair_state([]), units=[])
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
        me = unit_status(
            self.name,
            self.public_role,  # type: ignore[arg-type]
            reason=self.reason if self.public_role == "not_operational" else None,  # type: ignore[arg-type]
            address=self.address,
            revision=my_revision,
            last_heartbeat_at=self.last_sent_at,
            in_sync=True
            if self.role == "active"
            else (active_revision is not None and my_revision == active_revision),
        )
        if p is None:
            other = unit_status(
                partner_name,
                "not_operational",
                reason="unreachable",
                address=self.unit.partner_address,
                revision=self.partner.revision if self.partner else None,
                last_heartbeat_at=self.last_heard_at,
                in_sync=False,
            )
        else:
            role = PUBLIC_ROLE.get(p.role, "not_operational")
            reason = p.reason if role == "not_operational" else None
            if role == "not_operational" and reason is None:
                reason = "starting"
            other = unit_status(
                p.unit or partner_name,
                role,  # type: ignore[arg-type]
                reason=reason,  # type: ignore[arg-type]
                address=p.address or self.unit.partner_address,
                revision=partner_revision,
                last_heartbeat_at=self.last_heard_at,
                in_sync=True
                if role == "active"
                else (active_revision is not None and partner_revision == active_revision),
            )
        units: list[UnitStatus] = sorted([me, other], key=lambda u: u.name)
        return PairStatus(pair=pair_state(units), units=units)
