"""The rules of tracks and of the failback delay. Part of the engine's pure core.

- A unit with a failed track is never promoted (``roles.decide`` asks ``fit``); a starting or
  standby one shows ``not_operational`` / ``track-failed`` (``state.public``).
- An active whose track fails keeps the role until its partner is fit to take it: the fit
  standby (reachable, in sync, no failed track, not in maintenance) asks it to step down, as a
  returning preferred server does, with cause ``track-failed``; writes are held by the active
  while it steps down, so nothing acknowledged is lost. Until then the active says why it
  stays (``TrackReported``'s detail, the log).
- A preferred server takes the role back only after ``failback_delay`` seconds of being
  standby, fit and in sync (``State.ready_since``).
"""

from __future__ import annotations

from hapair.domain.status import Role
from hapair.engine.core.events_actions import (
    Action,
    AskDemote,
    Note,
    SendHeartbeat,
    TrackChanged,
    TrackReported,
)
from hapair.engine.core.frozen import replace
from hapair.engine.core.state import (
    STARTING,
    State,
    Takeover,
    TrackState,
    failed_tracks,
    fit,
    fresh_partner,
    in_sync,
    partner_failed,
    partner_fit,
    sync,
)


def track_changed(s: State, event: TrackChanged, actions: list[Action]) -> State:
    """A track's new state; a change of fitness is the cause of the public change it makes."""
    names = [t.name for t in s.tracks]
    if event.name not in names:
        return s
    was_failed = bool(failed_tracks(s))
    old = s.tracks[names.index(event.name)]
    new = TrackState(name=event.name, ok=event.ok, detail=event.detail)
    s = replace(s, tracks=tuple(new if t.name == event.name else t for t in s.tracks))
    failed = bool(failed_tracks(s))
    if failed != was_failed and s.role in (STARTING, Role.STANDBY):
        s = replace(s, cause="track-failed" if failed else "track-recovered")
    if old.ok is not None and old.ok == event.ok:
        return s  # only its detail changed
    if old.ok is None and event.ok:
        return s  # the first result, healthy: nothing to tell
    detail = event.detail
    if not event.ok and s.role == Role.ACTIVE:
        why = staying_reason(s, event.now)
        detail = f"{detail}; stays active: {why}" if detail else f"stays active: {why}"
        actions.append(Note("track-failed-staying-active", (("track", event.name), ("why", why))))
    actions.append(TrackReported(event.name, event.ok, detail))
    if s.config.has_partner:
        actions.append(SendHeartbeat())  # the partner learns it now, not at the next tick
    return s


def staying_reason(s: State, now: float) -> str:
    """Why an active with a failed track keeps the role for now (its partner is not fit), or
    that it hands over once its partner asks."""
    p = fresh_partner(s, now)
    if p is None:
        return "the partner is not reachable"
    if p.role != Role.STANDBY:
        return f"the partner is {p.role}"
    if p.maintenance:
        return "the partner is in maintenance"
    if p.pacified:
        return "the partner is pacified"
    if partner_failed(p):
        bad = ", ".join(t.name for t in p.tracks if t.ok is False)
        return f"the partner's tracks failed too ({bad})"
    if not partner_fit(p):
        return "the partner's tracks are not checked yet"
    found = sync(s, now)
    if not found.in_sync:
        return f"the partner is not in sync ({found.detail})"
    return "until the partner takes the role (it is fit)"


def claim_from_failed_active(s: State, now: float, actions: list[Action]) -> State:
    """A fit standby in sync takes the role from an active partner whose track failed."""
    p = fresh_partner(s, now)
    if (
        s.role != Role.STANDBY
        or s.takeover is not None
        or s.maintenance
        or s.config.pacified
        or not fit(s)
        or p is None
        or p.role != Role.ACTIVE
        or not partner_failed(p)
        or not in_sync(s, now)
    ):
        return s
    s = replace(s, takeover=Takeover(request=None, cause="track-failed"))
    actions.append(AskDemote(None, "track-failed"))
    return s


def update_ready(s: State, now: float) -> State:
    """Since when this unit is standby, fit and in sync (the failback delay counts from it)."""
    ready = s.role == Role.STANDBY and fit(s) and not s.maintenance and in_sync(s, now)
    if not ready:
        return s if s.ready_since is None else replace(s, ready_since=None)
    if s.ready_since is None:
        return replace(s, ready_since=now)
    return s


def failback_due(s: State, now: float) -> bool:
    """The preferred server has been standby, fit and in sync for ``failback_delay``."""
    return s.ready_since is not None and now - s.ready_since >= s.params.failback_delay
