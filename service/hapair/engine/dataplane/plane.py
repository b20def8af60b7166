"""The data plane's shell: keeps HAProxy's peers and the IPVS sync daemon as the parameters
and the role say, and reports every parameter's applied state.

The engine hands it what it needs after each step (``update``: cheap, never blocks); one
worker task applies it, off the engine's loop: file writes in a thread, HAProxy's socket and
``ipvsadm`` bounded by timeouts. The worker also looks again every interval (HAProxy's
``show peers``, the kernel's sysctls), so a peers link that drops turns the state to
``failed`` without any change of the parameters; with no HAProxy configured and no IPVS in
the kernel, that look is one stat (whether IPVS has appeared) and nothing is applied again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hapair.clock import next_beat
from hapair.domain.parameters import HAParameters, effective_virtual_id
from hapair.engine.dataplane import applied, haproxy, ipvs, kernel, peers
from hapair.engine.pairlink.messages import (
    AdvertsReport,
    AppliedState,
    DataPlaneReport,
    UpdateLinkReport,
)
from hapair.files import write_atomic
from hapair.settings import Settings

log = logging.getLogger("hapair.engine")

GRACE_S = 5.0  # after a reload, how long a peer that is not yet connected is ``pending``
RETRY_S = 10.0  # after a failed reload or ipvsadm run, how long before the same is tried again


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """What the data plane applies, as the engine knows it after a step."""

    running: bool
    unit: str  # "first" or "second"
    role: str  # the decided engine role
    revision: int  # the revision of ``params`` (the unit's Redis)
    engine_revision: int  # the revision the engine's rules run with
    params: HAParameters
    shared_address: str | None
    local_host: str  # this unit's direct address host
    partner: str | None  # the partner's name
    partner_host: str | None  # the partner's HAProxy peer host
    one_host: bool  # both units on loopback addresses of one host
    adverts: AdvertsReport | None = None  # how its adverts go out (None: it sends none)
    update: UpdateLinkReport | None = None  # how its update link stands (None: not read)


class DataPlane:
    """One unit's data plane: HAProxy peers (L7) and the IPVS sync daemon (L4)."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_change: Callable[[str, AppliedState, bool], None],
        on_state_sync: Callable[[bool, str], None],
    ) -> None:
        self.settings = settings
        self.interval = max(settings.heartbeat_interval, 1.0)
        self._on_change = on_change
        self._on_state_sync = on_state_sync
        self._inputs: Inputs | None = None
        self._dirty = asyncio.Event()  # wakes the worker: a change, or the interval's timer
        self._changed = False  # the inputs changed since the worker last woke
        self._task: asyncio.Task[None] | None = None
        self.report = DataPlaneReport()
        self._reported = False
        self._state_sync: tuple[bool, str] | None = None
        # L7
        self._l7 = AppliedState(state="pending", detail="not applied yet")
        self._peers_written: str | None = None
        self._reloaded_at: float | None = None
        self._l7_retry: tuple[str, float] | None = None  # (text, not before)
        # L4
        self._l4: dict[str, AppliedState] = {
            n: AppliedState(state="pending", detail="not applied yet") for n in applied.L4
        }
        self._daemons: frozenset[ipvs.Daemon] | None = None
        self._l4_retry: tuple[ipvs.Plan, float] | None = None
        self._no_ipvs = False  # the last look found no IPVS in the kernel
        self._ipvs_dir = str(kernel.sysctl_dir(settings.proc_root))
        self._applied: Inputs | None = None  # the inputs last applied in full

    @property
    def haproxy(self) -> bool:
        """Whether a HAProxy is configured (``--haproxy-socket`` and ``--haproxy-peers-file``)."""
        return bool(self.settings.haproxy_socket and self.settings.haproxy_peers_file)

    # ---- the engine's side ---------------------------------------------------------------

    def update(self, inputs: Inputs) -> None:
        """The engine's latest facts; the worker applies them when they changed."""
        if inputs != self._inputs:
            self._inputs = inputs
            self._changed = True
            self._dirty.set()

    def start(self) -> None:
        """Starts the worker (at the engine's boot)."""
        if self._task is None or self._task.done():
            self._state_sync = None  # a rebooted engine's state knows nothing of it yet
            self._dirty = asyncio.Event()
            if self._inputs is not None:
                self._changed = True
                self._dirty.set()
            self._task = asyncio.create_task(self._run(), name="hapair-dataplane")

    async def stop(self) -> None:
        """Stops the worker; a sync daemon this unit runs is stopped (bounded)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._daemons:
            stop = ipvs.Plan(supported=True, stop=tuple(d.state for d in self._daemons))
            with contextlib.suppress(Exception):
                await kernel.carry_out(stop, self.settings.proc_root, limit_s=2.0)
            self._daemons = frozenset()

    # ---- the worker ----------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # a timer sets the event at the interval: no timeout's cancellation and exception
            # each second at idle. Not wait_for: on Python 3.11 wait_for drops a cancellation
            # that lands in the turn the wait ends (a stop right after a change), and the
            # worker went on for ever while the engine's reboot waited for it
            # on the unit's beat (``clock.next_beat``): the look shares the tick's wake-up
            wake = self._dirty
            timer = loop.call_at(next_beat(loop.time(), self.interval), wake.set)
            try:
                await wake.wait()
            finally:
                timer.cancel()
            wake.clear()
            changed, self._changed = self._changed, False
            inputs = self._inputs
            if inputs is None or (not changed and self._nothing_to_look_at(inputs)):
                continue
            try:
                await self.apply(inputs)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("data plane failed", extra={"event": "dataplane-error"})

    def _nothing_to_look_at(self, inputs: Inputs) -> bool:
        """Whether the interval's look again would find what the last apply found: ``inputs``
        applied in full already, no HAProxy configured and still no IPVS in the kernel (one
        stat, on the loop: no thread, no report built once a second at idle)."""
        return (
            inputs is self._applied
            and self._no_ipvs
            and not self.haproxy
            and not os.path.isdir(self._ipvs_dir)
        )

    async def apply(self, inputs: Inputs) -> DataPlaneReport:
        """Applies ``inputs`` once (L7, then L4) and reports every parameter."""
        self._applied = None
        self._l7 = await self._apply_l7(inputs)
        self._l4 = await self._apply_l4(inputs)
        report = self._report(inputs)
        self._applied = inputs
        return report

    # ---- L7: HAProxy peers ---------------------------------------------------------------

    async def _local_peer_host(self, inputs: Inputs) -> str:
        if inputs.one_host:
            return inputs.local_host
        found = await asyncio.to_thread(kernel.interface_ipv4, inputs.params.multicast_interface)
        return found or inputs.local_host

    async def _apply_l7(self, inputs: Inputs) -> AppliedState:
        if not self.haproxy:
            self.report.peer_host = ""
            return AppliedState(
                state="unsupported",
                detail="no HAProxy configured (--haproxy-socket, --haproxy-peers-file)",
            )
        sock = str(self.settings.haproxy_socket)
        path = Path(str(self.settings.haproxy_peers_file))
        port = self.settings.haproxy_peers_port
        on = inputs.params.l7_persistence_updates
        local = peers.Peer(name=inputs.unit, host=await self._local_peer_host(inputs), port=port)
        self.report.peer_host = local.host
        partner = None
        if inputs.partner and inputs.partner_host:
            partner = peers.Peer(name=inputs.partner, host=inputs.partner_host, port=port)
        text = peers.render(local, partner if on else None)
        if text != self._peers_written:
            now = time.monotonic()
            if self._l7_retry is not None and self._l7_retry[0] == text and now < self._l7_retry[1]:
                return self._l7  # the same change failed a moment ago: not again yet
            error = await self._write_and_reload(path, sock, text)
            if error is not None:
                self._l7_retry = (text, now + RETRY_S)
                return AppliedState(state="failed", detail=error)
            self._l7_retry = None
        if not on:
            return AppliedState(
                state="applied",
                detail=f"off: peers {peers.SECTION} lists the local peer {local.name} "
                f"({local.address}) alone; nothing is sent",
            )
        if partner is None:
            return AppliedState(state="failed", detail="the partner's address is not known")
        try:
            health = peers.peer_health(await haproxy.show_peers(sock), partner.name)
        except haproxy.HAProxyError as exc:
            return AppliedState(state="failed", detail=str(exc))
        if health.connected:
            return AppliedState(
                state="applied",
                detail=f"peer {partner.name} at {partner.address} connected",
            )
        why = peers.explain(health, partner)
        if self._reloaded_at is not None and time.monotonic() - self._reloaded_at < GRACE_S:
            return AppliedState(state="pending", detail=why)
        return AppliedState(state="failed", detail=why)

    async def _write_and_reload(self, path: Path, sock: str, text: str) -> str | None:
        """Writes the peers file when it differs and reloads HAProxy; why not, or None."""
        current = await asyncio.to_thread(haproxy.read_text, path)
        if current != text:
            try:
                # 0644: HAProxy may run as another user; the file holds no secret
                await asyncio.to_thread(write_atomic, path, text.encode(), mode=0o644)
            except OSError as exc:
                return f"cannot write {path}: {exc.strerror or exc}"
            try:
                await haproxy.reload(sock)
            except haproxy.HAProxyError as exc:
                return str(exc)
            self._reloaded_at = time.monotonic()
            log.info(
                "HAProxy peers written and reloaded",
                extra={"event": "haproxy-peers", "path": str(path)},
            )
        self._peers_written = text
        return None

    # ---- L4: the IPVS sync daemon --------------------------------------------------------

    async def _apply_l4(self, inputs: Inputs) -> dict[str, AppliedState]:
        p = inputs.params
        vid, _ = effective_virtual_id(p, inputs.shared_address)
        wanted = ipvs.L4Parameters(
            on=p.l4_connection_updates,
            threshold=p.l4_sync_threshold,
            period=p.l4_sync_period,
            refresh_period=p.l4_sync_refresh_period,
            interface=p.multicast_interface,
            syncid=vid,
        )
        root = self.settings.proc_root
        facts = await asyncio.to_thread(kernel.read_facts, root, self._daemons)
        plan = ipvs.plan(wanted, inputs.role, facts)
        self._no_ipvs = not facts.ipvs
        if not plan.supported:
            return {n: AppliedState(state="unsupported", detail=plan.reason) for n in applied.L4}
        if plan.sysctls or plan.stop or plan.start:
            now = time.monotonic()
            if self._l4_retry is not None and self._l4_retry[0] == plan and now < self._l4_retry[1]:
                return self._l4
            outcome = await kernel.carry_out(plan, root)
            failed = outcome.sysctl_error or outcome.daemon_error
            self._l4_retry = (plan, now + RETRY_S) if failed else None
            self._daemons = (
                ipvs.running_after(plan, self._daemons) if outcome.daemon_error is None else None
            )
            if outcome.commands:
                log.info(
                    "IPVS sync daemon",
                    extra={
                        "event": "ipvs-sync",
                        "commands": [" ".join(c) for c in outcome.commands],
                    },
                )
        else:
            outcome = kernel.Outcome()
        sysctl = (
            AppliedState(state="failed", detail=outcome.sysctl_error)
            if outcome.sysctl_error
            else None
        )
        states = {
            "l4_sync_threshold": sysctl
            or AppliedState(
                state="applied",
                detail=f"net.ipv4.vs.sync_threshold = {p.l4_sync_threshold} {p.l4_sync_period} "
                "(packets)",
            ),
            "l4_sync_refresh_period": sysctl
            or AppliedState(
                state="applied",
                detail=f"net.ipv4.vs.sync_refresh_period = {p.l4_sync_refresh_period}",
            ),
        }
        states["l4_sync_period"] = states["l4_sync_threshold"]
        if outcome.daemon_error:
            daemon = AppliedState(state="failed", detail=outcome.daemon_error)
        elif plan.wanted is not None:
            w = plan.wanted
            daemon = AppliedState(
                state="applied",
                detail=f"on: IPVS sync daemon {w.state} on {w.interface}, syncid {w.syncid}",
            )
        elif p.l4_connection_updates:
            daemon = AppliedState(
                state="applied", detail=f"on: no sync daemon while this unit is {inputs.role}"
            )
        else:
            daemon = AppliedState(state="applied", detail="off: no IPVS sync daemon runs")
        states["l4_connection_updates"] = daemon
        return {n: states[n] for n in applied.L4}

    # ---- the report ----------------------------------------------------------------------

    def _report(self, inputs: Inputs) -> DataPlaneReport:
        out: dict[str, AppliedState] = {}
        for name in applied.parameters():
            if name in applied.ENGINE:
                out[name] = applied.engine_state(
                    name,
                    inputs.params,
                    running=inputs.running,
                    engine_revision=inputs.engine_revision,
                    revision=inputs.revision,
                    shared_interface=self.settings.shared_interface is not None,
                    interfaces=self.settings.interfaces,
                )
            elif name in applied.L4:
                out[name] = self._l4[name]
            elif name == applied.L7:
                out[name] = self._l7
            elif name in applied.LINKS:
                out[name] = applied.links_state(
                    name,
                    one_host=inputs.one_host,
                    params=inputs.params,
                    adverts=inputs.adverts,
                    update=inputs.update,
                )
            else:
                out[name] = AppliedState(
                    state="unsupported", detail="not applied by this version of hapair"
                )
        before = self.report.parameters
        report = DataPlaneReport(
            observed_revision=inputs.revision, parameters=out, peer_host=self.report.peer_host
        )
        self.report = report
        initial = not self._reported
        changes = list(out.items()) if initial else applied.changed(before, out)
        self._reported = True
        for name, state in changes:
            self._on_change(name, state, initial)
        sync = (self._l7.state == "applied", self._l7.detail)
        if sync != self._state_sync:
            self._state_sync = sync
            self._on_state_sync(*sync)
        return report
