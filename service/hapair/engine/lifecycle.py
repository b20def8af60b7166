"""Booting and stopping the engine: the unit's settings and boot count from its data dir, the
machine's first state, the loop and the ticker; and their end, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from hapair.clock import utc_now, wall
from hapair.domain.errors import StoreUnavailable
from hapair.domain.unit import record_boot, with_pending
from hapair.domain.version import PROTOCOL, VERSION
from hapair.engine import heartbeats
from hapair.engine import machine as m
from hapair.engine.pairauth import Challenges
from hapair.engine.partner import partner_client_for
from hapair.engine.state import STANDALONE
from hapair.engine.tracks import Tracks
from hapair.store.migrate import migrate

if TYPE_CHECKING:
    from hapair.engine.driver import Engine

log = logging.getLogger("hapair.engine")


class Background:
    """The engine's background tasks (heartbeat exchanges, partner calls, hooks, a reboot)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Runs ``coro`` in the background; a failure is logged, shutdown cancels it."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task failed",
                exc_info=task.exception(),
                extra={"event": "background-error", "task": task.get_name()},
            )

    def cancel(self) -> list[asyncio.Task[Any]]:
        """Cancels every task but the calling one (a reboot runs as a background task: it must
        not cancel itself); the tasks cancelled."""
        current = asyncio.current_task()
        cancelled = [t for t in self.tasks if t is not current]
        for t in cancelled:
            t.cancel()
        return cancelled


def _load_unit(engine: Engine) -> None:
    """The unit's settings (pending ones applied now), maintenance and boot count."""
    uf = engine.files.load_unit()
    if uf.pending:
        uf = type(uf)(settings=with_pending(uf.settings, uf.pending), pending=None)
        engine.files.save_unit(uf)
    engine.unit = uf.settings
    engine.pending = uf.pending
    engine.boots = record_boot(
        engine.files.load_boots(),
        wall(),
        window_s=engine.settings.pacify_window_s,
        max_boots=engine.settings.pacify_max_boots,
    )
    if engine.serving:  # a start that never served is no boot: ``served`` keeps it then
        engine.files.save_boots(engine.boots)
    engine.pacified = engine.ha and engine.boots.pacified
    engine.maintenance = engine.files.load_maintenance()


def served(engine: Engine) -> None:
    """The unit serves (its direct listener is up): its boot counts from now on, on disk.

    A start that fails before (a busy port, a missing capability) leaves no boot behind, so a
    service manager restarting it through a short port conflict does not pacify it."""
    engine.serving = True
    engine.files.save_boots(engine.boots)


async def boot(engine: Engine) -> None:
    """Boots the engine: applies pending unit settings, counts the boot, starts the loop."""
    _load_unit(engine)
    engine.role_epoch += 1
    engine.boot_id = uuid.uuid4().hex
    engine.challenges = Challenges()  # calls bound to an earlier boot's challenges are refused
    engine.booted_at = utc_now()
    engine.metrics.boots.set(engine.boots_in_window())
    with contextlib.suppress(StoreUnavailable):
        engine.redis_version = await engine.store.server_version()
        if (await engine.store.replication()).get("role") == "master":
            await migrate(engine.store.link)  # older records to this build's schema
        engine.snapshot = await engine.store.read()
    log.info(
        "boot",
        extra={
            "event": "boot",
            "unit": engine.name,
            "mode": engine.unit.mode,
            "version": VERSION,
            "protocol": PROTOCOL,
            "redis_version": engine.redis_version,
            "boot_id": engine.boot_id,
            "boots_in_window": engine.boots_in_window(),
            "pacified": engine.pacified,
        },
    )
    if not engine.ha:
        engine.standalone = True
        engine.metrics.set_role(STANDALONE)
        with contextlib.suppress(StoreUnavailable):
            await engine.store.promote()
        return
    engine.client = partner_client_for(
        engine.settings, engine.name, engine.unit.partner_address, pair=engine.pair_id
    )
    if engine.closed:
        return
    engine.partner_store.name = engine.announcer.name = engine.name
    # not active yet: a virtual IP a crash left behind goes
    await engine.shared.remove_leftover(engine.unit.shared_address, engine.snapshot.params)
    # with a virtual IP, the shared listener is bound before the address exists (bind ahead)
    await engine.shared.bind_ahead(engine.unit.shared_address)
    config = m.Config(
        unit=engine.name,
        mode=engine.unit.mode,
        shared_address=engine.unit.shared_address,
        pacified=engine.pacified,
        has_partner=engine.client is not None,
        maintenance=engine.maintenance.enabled,
        tracks=tuple(t.name for t in engine.settings.tracks),
    )
    engine.state, actions = m.boot(
        config,
        heartbeats.machine_params(engine.snapshot.params),
        engine.snapshot.revision,
        engine.now(),
        wall(),
    )
    engine.metrics.set_role(engine.state.role)
    engine.queue = asyncio.Queue()
    engine.loop_task = asyncio.create_task(engine.run(actions), name="hapair-engine")
    engine.dataplane.update(engine.dataplane_inputs(engine.state))
    engine.dataplane.start()
    engine.ticker = asyncio.create_task(heartbeats.tick_forever(engine), name="hapair-ticker")
    heartbeats.arm_deadline(engine)
    # the checks start afresh each boot (the machine's state starts with every track unchecked)
    engine.tracks = Tracks(engine.settings.tracks, on_result=engine.metrics.set_track_ok)
    engine.tracks.start(engine.put, engine.now)


async def shutdown(engine: Engine) -> None:
    """Stops the loop (the shared address is released first), and partner connections."""
    heartbeats.disarm_deadline(engine)
    await engine.tracks.stop()
    ticker, engine.ticker = engine.ticker, None
    if ticker is not None:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await ticker
    loop = engine.loop_task
    if loop is not None and not loop.done():
        engine.put(m.Shutdown(now=engine.now()))
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(loop), timeout=8)
    engine.loop_task = None
    if loop is not None and not loop.done():
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await loop
    await engine.shared.stop(drain=not engine.closed)
    await engine.dataplane.stop()
    engine.requests.refuse_all()
    if engine.client is not None:
        await engine.client.close()
        engine.client = None
    await engine.partner_store.close()
    engine.background.cancel()
    engine.standalone = False


async def close(engine: Engine) -> None:
    """Final stop of the process: no reboot may start the loop again afterwards."""
    engine.closed = True
    await asyncio.gather(*engine.background.cancel(), return_exceptions=True)
    await shutdown(engine)


async def reboot(engine: Engine) -> None:
    """Restarts the engine in-process, applying pending settings; counts as a boot.

    A reboot asked for while one runs (its boot may already show the new ``boot_id``) is not
    dropped: the running one boots once more for each when it is done, so every ``202`` is a
    boot."""
    if engine.rebooting:
        engine.reboots_queued += 1
        return
    engine.rebooting = True
    try:
        while True:
            log.info("reboot", extra={"event": "reboot", "unit": engine.name})
            await shutdown(engine)
            if engine.closed:
                return
            await boot(engine)
            if not engine.reboots_queued:
                return
            engine.reboots_queued -= 1
    finally:
        engine.rebooting = False
