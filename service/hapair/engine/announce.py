"""What the engine tells the world when a role changes: the log, the metrics, the role hook and
the event stream.

Only a unit whose Redis is a master can write the pair's event stream, so the active writes it:
its own role changes, and its partner's as the partner's heartbeats report them (with their
cause and time); a ``pair`` event when the pair state or the active unit changes.
"""

from __future__ import annotations

import logging

from hapair.clock import iso
from hapair.domain.status import Role, pair_state, unit_status
from hapair.domain.unit import other_unit
from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import Heartbeat
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
        self._pair: tuple[str, str | None] | None = None
        self._partner_at = 0.0  # ``at`` of the partner's last role change written
        self._partner_maintenance: bool | None = None
        self._partner_applied: dict[str, str] | None = None  # parameter -> state last heard
        self._partner_tracks: dict[str, bool | None] | None = None
        self._partner_alerts: set[tuple[str, str]] | None = None  # (reason, detail) last heard

    def emit(self, type_: str, data: dict[str, object], at: float | None = None) -> None:
        """One event for the stream (kept in memory while this unit's Redis is a replica)."""
        if self.events is not None:
            self.events.emit(type_, data, at=None if at is None else iso(at))

    def became_active(self, partner: Heartbeat | None) -> None:
        """What the partner did before this unit became active it wrote itself, as active."""
        if partner is not None and partner.last_transition is not None:
            self._partner_at = partner.last_transition.at
        self._partner_applied = None  # the partner announced its own changes while active
        # and its alerts: those its last heartbeat listed are not news
        self._partner_alerts = None if partner is None else _alert_keys(partner)
        if self.events is not None:
            self._spawn(self.events.flush(), "events-flush")

    def transitioned(
        self, t: m.Transition, role: str, *, shared: str | None, virtual_id: int
    ) -> None:
        """This unit's public role changed."""
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
        if Role.ACTIVE in (role, t.from_role):
            # its Redis is (still) a master: this unit writes its own change to the stream
            data: dict[str, object] = {
                "unit": self.name,
                "from": t.from_role,
                "to": t.to_role,
                "cause": t.cause,
            }
            self.emit("role", data, t.at)

    def partner(self, hb: Heartbeat) -> None:
        """As the active: the partner's role and maintenance changes its heartbeat reports."""
        t = hb.last_transition
        if t is not None and t.at > self._partner_at:
            self._partner_at = t.at
            data: dict[str, object] = {
                "unit": hb.unit,
                "from": t.from_role,
                "to": t.to_role,
                "cause": t.cause,
            }
            self.emit("role", data, t.at)
        if self._partner_maintenance is not None and hb.maintenance != self._partner_maintenance:
            data = {"unit": hb.unit, "enabled": hb.maintenance, "reason": hb.maintenance_reason}
            self.emit("maintenance", data)
        self._partner_maintenance = hb.maintenance
        self._partner_applied_changes(hb)
        self._partner_alert_events(hb)

    def _partner_alert_events(self, hb: Heartbeat) -> None:
        """``alert`` events for the partner's alerts that its heartbeat lists anew or no longer
        (a standby does not write the stream: the active writes them, as for tracks)."""
        now = _alert_keys(hb)
        before = self._partner_alerts or set()
        self._partner_alerts = now
        changes = [(k, True) for k in now - before] + [(k, False) for k in before - now]
        for (reason, detail), raised in sorted(changes, key=lambda c: (c[1], c[0])):
            data: dict[str, object] = {
                "unit": hb.unit,
                "reason": reason,
                "detail": detail,
                "ended": not raised,
            }
            self.emit("alert", data)

    def _partner_applied_changes(self, hb: Heartbeat) -> None:
        """``applied`` events for the partner's parameters whose state changed (the first
        report heard is the baseline: a unit does not announce its boot's states)."""
        if hb.dataplane is None or not hb.dataplane.parameters:
            return
        now = {name: a.state for name, a in hb.dataplane.parameters.items()}
        before = self._partner_applied
        self._partner_applied = now
        if before is None:
            return
        for name, a in hb.dataplane.parameters.items():
            if before.get(name) != a.state:
                data: dict[str, object] = {
                    "unit": hb.unit,
                    "parameter": name,
                    "state": a.state,
                    "detail": a.detail,
                }
                self.emit("applied", data)
        self._partner_track_events(hb)

    def track(self, name: str, ok: bool, detail: str, *, publish: bool) -> None:
        """A track of this unit failed or recovered: the log, and the ``track`` event (written
        by this unit when it is active or alone; else the active writes it, from this unit's
        heartbeat)."""
        extra = {"event": "track-changed", "unit": self.name, "track": name, "ok": ok}
        log.log(logging.INFO if ok else logging.WARNING, "track", extra={**extra, "detail": detail})
        if publish:
            self.emit("track", {"unit": self.name, "name": name, "ok": ok, "detail": detail})

    def _partner_track_events(self, hb: Heartbeat) -> None:
        now = {t.name: t.ok for t in hb.tracks}
        if self._partner_tracks is not None:
            for t in hb.tracks:
                before = self._partner_tracks.get(t.name)
                changed = t.ok is not None and before != t.ok
                if changed and not (before is None and t.ok):  # a first healthy result: quiet
                    data: dict[str, object] = {
                        "unit": hb.unit,
                        "name": t.name,
                        "ok": t.ok,
                        "detail": t.detail,
                    }
                    self.emit("track", data)
        self._partner_tracks = now

    def pair(self, state: m.State, now: float) -> None:
        """As the active: a ``pair`` event when the pair state or the active unit changes."""
        if state.role != Role.ACTIVE or state.public_role != Role.ACTIVE:
            return  # as the serving active only (not while its bind is under way)
        p = m.fresh_partner(state, now)
        me = unit_status(self.name, state.public_role, reason=state.public_reason)  # type: ignore[arg-type]
        other_name = other_unit(self.name)
        if p is None:
            other = unit_status(other_name, Role.NOT_OPERATIONAL, reason="unreachable")
        else:
            reason = p.status_reason if p.status_role == Role.NOT_OPERATIONAL else None
            other = unit_status(p.unit or other_name, p.status_role, reason=reason)  # type: ignore[arg-type]
        info = pair_state([me, other])
        key = (info.state, info.active)
        if key != self._pair:
            self._pair = key
            self.emit("pair", {"state": info.state, "active": info.active})


def _alert_keys(hb: Heartbeat) -> set[tuple[str, str]]:
    return {(a.reason, a.detail) for a in hb.alerts}
