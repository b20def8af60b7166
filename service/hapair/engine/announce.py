"""What the engine tells the world, carried out: the log, the metrics, the role hook and the
writes to the event stream.

Which events go to the stream, and when, the pure core decides (``core/tell.py``) and hands
out as actions (``Emit``, ``FlushEvents``); this only writes them.
"""

from __future__ import annotations

import logging

from hapair.clock import iso
from hapair.engine.core import machine as m
from hapair.engine.ports import EventSink, Hooks, Metrics, Spawn

log = logging.getLogger("hapair.engine")


class Announcer:
    """Logs, counts, runs the hook and writes the event stream for one unit."""

    def __init__(
        self,
        name: str,
        *,
        metrics: Metrics,
        events: EventSink | None,
        hooks: Hooks,
        spawn: Spawn,
    ) -> None:
        self.name = name
        self.metrics = metrics
        self.events = events
        self.hooks = hooks
        self._spawn = spawn

    def emit(self, type_: str, data: dict[str, object], at: float | None = None) -> None:
        """One event for the stream (kept in memory while this unit's Redis is a replica)."""
        if self.events is not None:
            self.events.emit(type_, data, at=None if at is None else iso(at))

    def flush(self) -> None:
        """This unit's Redis takes writes now: the events kept in memory are written."""
        if self.events is not None:
            self._spawn(self.events.flush(), "events-flush")

    def transitioned(
        self, t: m.Transition, role: str, *, shared: str | None, virtual_id: int
    ) -> None:
        """This unit's public role changed: the log, the metric, the role hook."""
        extra = {
            "event": "role-change",
            "unit": self.name,
            "from": t.from_role,
            "to": t.to_role,
            "cause": t.cause,
        }
        log.info("role change", extra=extra)
        self.metrics.role_changed(role, t.cause)
        self.hooks.run_role_hook(t.to_role, self.name, shared, virtual_id)

    def track(self, name: str, ok: bool, detail: str) -> None:
        """A track of this unit failed or recovered: the log."""
        extra = {"event": "track-changed", "unit": self.name, "track": name, "ok": ok}
        log.log(logging.INFO if ok else logging.WARNING, "track", extra={**extra, "detail": detail})
