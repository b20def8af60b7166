"""The pair's event stream (SPEC 5a): which events a unit writes, and when. Part of the engine's
pure core: ``machine.step`` hands each step's result to :func:`tell`, which adds the ``Emit``
actions (and the saving of a changed maintenance record); the node only writes them.

Only a unit whose Redis is a master can write the stream, so:
- a unit writes its own role changes while it is, or was, active (``Transitioned``); its own
  alerts, tracks and maintenance changes while it ``publishes`` (active, or no partner heard);
- the active writes its partner's news as the partner's heartbeats report them: its role
  changes (with their cause and time), maintenance, applied parameters, tracks and alerts;
- the active writes a ``pair`` event when the pair state or the active unit changes (as the
  serving active only: not while its bind is under way).

What it last wrote is kept in ``State.told``, so each fact is written once.
"""

from __future__ import annotations

from collections.abc import Mapping

from hapair.domain.status import Role, pair_state, unit_status
from hapair.domain.unit import other_unit
from hapair.engine.core.events_actions import (
    Action,
    Alert,
    Emit,
    Event,
    FlushEvents,
    Heard,
    Note,
    SaveMaintenance,
    TrackReported,
    Transitioned,
)
from hapair.engine.core.frozen import replace
from hapair.engine.core.state import State, Told, fresh_partner, publishes
from hapair.engine.pairlink.messages import Heartbeat


def emit(kind: str, data: Mapping[str, object], at: float | None = None) -> Emit:
    """An ``Emit`` of ``data`` (its fields in this order)."""
    return Emit(kind, tuple(data.items()), at)


def tell(
    before: State, s: State, event: Event, actions: list[Action]
) -> tuple[State, list[Action]]:
    """The stream's part of one step from ``before`` to ``s``: the partner's news and the pair
    event first (as the active), then ``actions`` each followed by its own event when this
    unit writes it, then a changed maintenance record saved and told; a unit that became
    active flushes what it kept in memory last."""
    now = event.now
    told = s.told
    first: list[Action] = []
    became = s.role == Role.ACTIVE and before.role != Role.ACTIVE
    if became:
        told = became_active(told, s.partner)
    if s.role == Role.ACTIVE:
        # a heartbeat taken in (a stale one is not: the state keeps the one it had)
        if isinstance(event, Heard) and s.partner is event.heartbeat:
            told = partner_news(told, event.heartbeat, first)
        told = pair_news(s, told, now, first)
    out = [*first, *_own(s, now, actions)]
    out += _maintenance(before, s, now)
    if became:
        out.append(FlushEvents())
    return (s if told == s.told else replace(s, told=told)), out


def _own(s: State, now: float, actions: list[Action]) -> list[Action]:
    """``actions``, each followed by this unit's own event when it writes it."""
    name, out = s.config.unit, []
    data: dict[str, object]
    for a in actions:
        out.append(a)
        match a:
            case Transitioned(transition=t, role=role) if Role.ACTIVE in (role, t.from_role):
                # its Redis is (still) a master: this unit writes its own change
                data = {"unit": name, "from": t.from_role, "to": t.to_role, "cause": t.cause}
                out.append(emit("role", data, t.at))
            case Alert(reason=reason, detail=detail, raised=raised) if publishes(s, now):
                data = {"unit": name, "reason": reason, "detail": detail, "ended": not raised}
                out.append(emit("alert", data))
            case TrackReported(name=track, ok=ok, detail=detail) if publishes(s, now):
                out.append(emit("track", {"unit": name, "name": track, "ok": ok, "detail": detail}))
    return out


def _maintenance(before: State, s: State, now: float) -> list[Action]:
    """A maintenance record that changed in this step: saved, told (when this unit writes the
    stream; otherwise the active partner tells it, from this unit's heartbeat), logged."""
    record = (s.maintenance, s.maintenance_reason, s.maintenance_since)
    if record == (before.maintenance, before.maintenance_reason, before.maintenance_since):
        return []
    out: list[Action] = [SaveMaintenance(*record)]
    if publishes(s, now):
        data = {"unit": s.config.unit, "enabled": s.maintenance, "reason": s.maintenance_reason}
        out.append(emit("maintenance", data))
    out.append(Note("maintenance", (("enabled", s.maintenance),)))
    return out


def became_active(told: Told, partner: Heartbeat | None) -> Told:
    """What the partner did before this unit became active it wrote itself, as active: its
    role changes, applied states and the alerts its last heartbeat listed are not news."""
    t = partner.last_transition if partner is not None else None
    return replace(
        told,
        partner_at=t.at if t is not None else told.partner_at,
        partner_applied=None,
        partner_alerts=None if partner is None else _alert_keys(partner),
    )


def partner_news(told: Told, hb: Heartbeat, out: list[Action]) -> Told:
    """As the active: the partner's role, maintenance, applied, track and alert changes its
    heartbeat ``hb`` reports."""
    t = hb.last_transition
    if t is not None and t.at > told.partner_at:
        told = replace(told, partner_at=t.at)
        data: dict[str, object] = {
            "unit": hb.unit,
            "from": t.from_role,
            "to": t.to_role,
            "cause": t.cause,
        }
        out.append(emit("role", data, t.at))
    if told.partner_maintenance is not None and hb.maintenance != told.partner_maintenance:
        data = {"unit": hb.unit, "enabled": hb.maintenance, "reason": hb.maintenance_reason}
        out.append(emit("maintenance", data))
    told = replace(told, partner_maintenance=hb.maintenance)
    told = _applied_news(told, hb, out)
    return _alert_news(told, hb, out)


def _alert_news(told: Told, hb: Heartbeat, out: list[Action]) -> Told:
    """``alert`` events for the partner's alerts that its heartbeat lists anew or no longer
    (a standby does not write the stream: the active writes them, as for tracks)."""
    now = _alert_keys(hb)
    before = told.partner_alerts or frozenset()
    changes = [(k, True) for k in now - before] + [(k, False) for k in before - now]
    for (reason, detail), raised in sorted(changes, key=lambda c: (c[1], c[0])):
        data = {"unit": hb.unit, "reason": reason, "detail": detail, "ended": not raised}
        out.append(emit("alert", data))
    return replace(told, partner_alerts=now)


def _applied_news(told: Told, hb: Heartbeat, out: list[Action]) -> Told:
    """``applied`` events for the partner's parameters whose state changed (the first report
    heard is the baseline: a unit does not announce its boot's states); then its tracks, with
    each report after the first."""
    if hb.dataplane is None or not hb.dataplane.parameters:
        return told
    before = told.partner_applied
    told = replace(
        told, partner_applied=tuple((n, a.state) for n, a in hb.dataplane.parameters.items())
    )
    if before is None:
        return told
    states = dict(before)
    for name, a in hb.dataplane.parameters.items():
        if states.get(name) != a.state:
            data = {"unit": hb.unit, "parameter": name, "state": a.state, "detail": a.detail}
            out.append(emit("applied", data))
    return _track_news(told, hb, out)


def _track_news(told: Told, hb: Heartbeat, out: list[Action]) -> Told:
    """``track`` events for the partner's tracks that failed or recovered (a first healthy
    result is quiet)."""
    if told.partner_tracks is not None:
        known = dict(told.partner_tracks)
        for t in hb.tracks:
            was = known.get(t.name)
            changed = t.ok is not None and was != t.ok
            if changed and not (was is None and t.ok):
                data = {"unit": hb.unit, "name": t.name, "ok": t.ok, "detail": t.detail}
                out.append(emit("track", data))
    return replace(told, partner_tracks=tuple((t.name, t.ok) for t in hb.tracks))


def pair_news(s: State, told: Told, now: float, out: list[Action]) -> Told:
    """As the serving active: a ``pair`` event when the pair state or the active unit
    changes."""
    if s.role != Role.ACTIVE or s.public_role != Role.ACTIVE:
        return told  # not while its bind is under way
    name = s.config.unit
    p = fresh_partner(s, now)
    me = unit_status(name, s.public_role, reason=s.public_reason)  # type: ignore[arg-type]
    if p is None:
        other = unit_status(other_unit(name), Role.NOT_OPERATIONAL, reason="unreachable")
    else:
        reason = p.status_reason if p.status_role == Role.NOT_OPERATIONAL else None
        other = unit_status(p.unit or other_unit(name), p.status_role, reason=reason)  # type: ignore[arg-type]
    info = pair_state([me, other])
    key = (info.state, info.active)
    if key == told.pair:
        return told
    out.append(emit("pair", {"state": info.state, "active": info.active}))
    return replace(told, pair=key)


def _alert_keys(hb: Heartbeat) -> frozenset[tuple[str, str]]:
    return frozenset((a.reason, a.detail) for a in hb.alerts)
