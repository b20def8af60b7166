"""The audit trail (SPEC 4 "Audit"): every state-changing request, with its actor.

An authorized request that can change state (any method but GET, HEAD and OPTIONS under
``/api/v1``, dry runs excepted) is recorded when it reaches its handler, before it runs: one log
line (logger ``hapair.audit``) and one ``audit`` event in the pair's stream, both naming the
actor: ``token:<id>`` for an API token, ``bootstrap-admin`` for ``--admin-token``, ``anonymous``
under ``--no-auth``. Never the token. What was asked is recorded, by whom; the outcome is the
answer's (and, for a change, its own event: ``revision``, ``role``, ``maintenance``).

The event goes to this unit's stream when its Redis takes writes (the active, a non-HA unit).
On a standby (a request on its direct address: ``PATCH /unit``, maintenance, reboot,
takeover) it is appended to the active partner's stream, which is the pair's; with no active
partner reachable it waits in this unit's buffer like any event (services/events.py).
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from hapair.domain.errors import StoreUnavailable
from hapair.domain.status import Role
from hapair.engine.driver import Engine
from hapair.services.events import Events

log = logging.getLogger("hapair.audit")


class Audit:
    """Records state-changing requests (see the module docstring)."""

    def __init__(self, engine: Engine, events: Events | None) -> None:
        self.engine = engine
        self.events = events

    async def record(self, *, actor: str, operation: str, method: str, path: str) -> None:
        """Logs the request and writes its ``audit`` event; never raises."""
        data: dict[str, object] = {
            "unit": self.engine.name,
            "actor": actor,
            "operation": operation,
            "method": method,
            "path": path,
        }
        log.info("audit", extra={"event": "audit", **data})
        if self.events is None:
            return
        engine = self.engine
        partner = engine.partner_fresh() if engine.ha else None
        if (
            engine.role != Role.ACTIVE
            and partner is not None
            and partner.role == Role.ACTIVE
            and partner.redis_url
        ):
            try:
                remote = await engine.partner_store.remote(partner.redis_url)
                await self.events.append_to(remote.client, "audit", data)
            except (RedisError, OSError, StoreUnavailable):
                pass  # kept here instead, below
            else:
                return
        self.events.emit("audit", data)
