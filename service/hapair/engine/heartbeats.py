"""The engine's clock and senses: the fixed-rate tick, the heartbeat exchange with the partner,
the partner's heartbeats received, this unit's Redis and its monitored links.

What is seen becomes an event on the engine's queue (``Heard``, ``StoreRead``, ``StoreFailed``,
``LinkDown``, ``Tick``); nothing here changes the engine's state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hapair.clock import utc_now
from hapair.domain.errors import StoreUnavailable
from hapair.domain.parameters import HAParameters
from hapair.engine import machine as m
from hapair.engine.messages import Heartbeat
from hapair.engine.partner import PartnerAnswered, PartnerError
from hapair.store.parameters import Snapshot
from hapair.store.urls import public_url

if TYPE_CHECKING:
    from hapair.engine.driver import Engine

log = logging.getLogger("hapair.engine")


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
        l7_persistence_updates=params.l7_persistence_updates,
        failback_delay=float(params.failback_delay),
    )


def store_read(engine: Engine, snapshot: Snapshot) -> m.StoreRead:
    """The event of a read of this unit's Redis."""
    return m.StoreRead(
        now=engine.now(), revision=snapshot.revision, params=machine_params(snapshot.params)
    )


def heartbeat(engine: Engine) -> Heartbeat:
    """This unit's heartbeat: the machine's part, plus identity, address and Redis URL."""
    if engine.state is None:
        base = Heartbeat(unit=engine.name, mode=engine.unit.mode)
    else:
        base = m.heartbeat(engine.state, engine.now())
    base.boot_id = engine.boot_id
    base.redis_url = public_url(engine.advertised_redis_url or engine.redis_url)  # no secret
    base.address = engine.address
    base.maintenance_reason = engine.maintenance.reason
    base.dataplane = engine.dataplane.report
    keys = engine.settings.pair_keys
    if keys is not None:
        base.pair_key_id, base.pair_key_next_id = keys.current_id, keys.next_id
    return base


def received(engine: Engine, hb: Heartbeat) -> Heartbeat:
    """The partner's heartbeat, sent to this unit: an event; the answer is ours."""
    if not engine.boot_id or not engine.running:
        raise StoreUnavailable("this unit is still booting")
    engine.last_heard_at = engine.last_sent_at = utc_now()  # the answer carries ours
    if hb.mode != engine.unit.mode:  # the partner's call (not a same-mode stranger's)
        engine.partner_called_at = engine.now()
    engine.put(m.Heard(now=engine.now(), heartbeat=hb))
    return heartbeat(engine)


def exchanged_lately(engine: Engine) -> bool:
    """Whether ``second`` leaves this tick's exchange out: ``first``'s own exchange reached
    it within the last interval, and one exchange gives each unit the other's heartbeat.

    So a pair makes one exchange per interval, not two (issue 23: half the idle cost of the
    heartbeats), and each unit hears the other at one phase, as keepalived's backup hears its
    master's adverts: a standby's last sign of life before a fault is then not closer to it on
    average, so its deadline (last heard + ``ha_timeout``) is not later. ``first`` always
    exchanges; ``second`` does as soon as ``first``'s calls stop coming (frozen, lost, slow).
    """
    at = engine.partner_called_at
    if engine.name != "second" or at is None:
        return False
    return engine.now() - at < 1.1 * engine.settings.heartbeat_interval


async def exchange(engine: Engine) -> None:
    """One heartbeat exchange with the partner; its answer is an event. The caller counted it
    in ``engine.exchanges``."""
    try:
        if engine.client is None:
            return
        try:
            answer = await engine.client.heartbeat(heartbeat(engine))
        except PartnerAnswered as exc:
            # something answered from the partner's address: it is there (SPEC 5)
            engine.put(
                m.PartnerAnswered(
                    now=engine.now(),
                    auth_failed=exc.auth_failed,
                    shared_address=exc.shared_address,
                )
            )
        except PartnerError:
            pass
        else:
            engine.last_heard_at = utc_now()
            engine.put(m.Heard(now=engine.now(), heartbeat=answer))
        engine.last_sent_at = utc_now()
    finally:
        engine.exchanges -= 1


async def exchange_now(engine: Engine) -> None:
    """One exchange, awaited (an API answer then shows the pair as it now is)."""
    if engine.client is not None:
        engine.exchanges += 1
        await exchange(engine)


def send(engine: Engine) -> None:
    """``SendHeartbeat``: an exchange in the background (at most two under way)."""
    if engine.client is not None and engine.exchanges < 2:
        engine.exchanges += 1
        engine.background.spawn(exchange(engine), "heartbeat")


def arm_deadline(engine: Engine) -> None:
    """Sets the timer for the machine's next deadline (``machine.deadline``: a standby's
    failover at last heard + ``ha_timeout``), if it changed; called after every step. The
    timer's event is stepped like any other, so the standby decides at the deadline itself
    rather than at the next tick after it."""
    state = engine.state
    due = None if state is None or not engine.running else m.deadline(state)
    if due == engine.deadline_due:
        return
    disarm_deadline(engine)
    engine.deadline_due = due
    if due is not None:
        loop = asyncio.get_running_loop()
        engine.deadline_timer = loop.call_later(max(0.0, due - engine.now()), _due, engine, due)


def disarm_deadline(engine: Engine) -> None:
    """Cancels the deadline's timer."""
    timer, engine.deadline_timer = engine.deadline_timer, None
    engine.deadline_due = None
    if timer is not None:
        timer.cancel()


def _due(engine: Engine, due: float) -> None:
    now = engine.now()
    if now < due:  # the loop's timers have millisecond resolution: never decide early
        loop = asyncio.get_running_loop()
        engine.deadline_timer = loop.call_later(due - now, _due, engine, due)
        return
    engine.deadline_timer = None  # ``deadline_due`` stays: this deadline fires once
    engine.put(m.Deadline(now=now, due=due))


async def tick_forever(engine: Engine) -> None:
    """Observes and ticks every heartbeat interval, at a fixed rate: a slow store read does not
    stretch the period (failover detection)."""
    interval = engine.settings.heartbeat_interval
    next_tick = time.monotonic()
    while True:
        try:
            await _observe(engine)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("engine tick failed", extra={"event": "tick-error"})
        engine.put(m.Tick(now=engine.now()))
        next_tick = max(next_tick + interval, time.monotonic())
        await asyncio.sleep(next_tick - time.monotonic())


async def _observe(engine: Engine) -> None:
    """What a tick looks at: the partner (one heartbeat exchange, unless the partner's came
    lately), this unit's Redis and its monitored links."""
    if engine.client is not None and not exchanged_lately(engine):
        engine.exchanges += 1
        pending = asyncio.create_task(exchange(engine))
    else:
        pending = None
    try:
        engine.snapshot = await engine.store.read()
        if engine.redis_version is None:
            engine.redis_version = await engine.store.server_version()
    except StoreUnavailable:
        engine.redis_version = None  # it may come back another build
        engine.put(m.StoreFailed(now=engine.now()))
    else:
        engine.metrics.revision.set(engine.snapshot.revision)
        engine.put(store_read(engine, engine.snapshot))
    if pending is not None:
        await pending
    down = tuple(name for name in engine.settings.interfaces if not link_is_up(name))
    if down:
        engine.put(m.LinkDown(now=engine.now(), interfaces=down))
