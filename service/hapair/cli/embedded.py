"""The embedded Redis of ``hapair serve``: restarted if it dies (started: store/redis_start.py)."""

from __future__ import annotations

import logging
from typing import Any

from hapair.clock import sleep_to_beat
from hapair.domain.status import Role

log = logging.getLogger("hapair")


async def keep_embedded(embedded: Any, engine: Any, redis_url: str) -> None:
    """Restarts the embedded redis-server if it dies, once the unit is no longer active.

    An active unit first steps aside (``ha_timeout`` without its Redis): restarted from its
    append-only file, the Redis might lack the last writes its replica already has, so the unit
    comes back through the boot negotiation (standby, conflicts archived) rather than as the
    active. It runs on the event loop's thread: the parent-death signal of the child is tied
    to the thread that starts it.
    """
    from hapair.urls import host_port, public_url

    while True:
        await sleep_to_beat(1.0)  # the tick's beat: no wake-up of its own (issue 23)
        if embedded.pid is not None or (engine.ha and engine.role == Role.ACTIVE):
            continue
        log.error("embedded redis-server is gone; restarting it", extra={"event": "redis-restart"})
        try:
            url = embedded.start()
        except RuntimeError:
            log.exception("redis-server restart failed", extra={"event": "redis-restart-failed"})
            continue
        if embedded.port != host_port(redis_url)[1]:
            log.error(
                "redis-server restarted on another port",
                extra={"event": "redis-restart-port", "url": public_url(url)},
            )
