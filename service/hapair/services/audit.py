"""The audit trail (SPEC 4 "Audit"): every state-changing request, with its actor.

An authorized request that can change state (any method but GET, HEAD and OPTIONS under
``/api/v1``, dry runs excepted) is recorded when it reaches its handler, before it runs: one log
line (logger ``hapair.audit``) and one ``audit`` event in the pair's stream, both naming the
actor: ``token:<id>`` for an API token, ``bootstrap-admin`` for ``--admin-token``, ``anonymous``
under ``--no-auth``. Never the token. What was asked is recorded, by whom; the outcome is the
answer's (and, for a change, its own event: ``revision``, ``role``, ``maintenance``).

The event goes to this unit's stream when its Redis takes writes (the active, a non-HA unit).
On a standby (a request on its direct address: ``PATCH /unit``, maintenance, reboot,
takeover) it waits in this unit's buffer like any event (services/events.py) until its Redis
takes writes again (a takeover: at once); the log line is written at once either way. (A unit
no longer reaches its partner's Redis, SPEC 6: forwarding it would need a unit-to-unit call.)
"""

from __future__ import annotations

import logging

from hapair.engine.control import HAControl
from hapair.services.events import Events

log = logging.getLogger("hapair.audit")


class Audit:
    """Records state-changing requests (see the module docstring)."""

    def __init__(self, engine: HAControl, events: Events | None) -> None:
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
        self.events.emit("audit", data)
