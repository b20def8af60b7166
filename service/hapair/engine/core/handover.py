"""The rules of moving the role on request: takeover, planned switchover, maintenance, and
the hand-over checks. Part of the engine's pure core.
"""

from __future__ import annotations

import msgspec

from hapair.domain.errors import Pacified
from hapair.domain.status import Role
from hapair.engine.core.apply import enter
from hapair.engine.core.events_actions import (
    Action,
    AskDemote,
    AskHandover,
    HandoverDone,
    MaintenanceSet,
    Reply,
    SwitchoverAsked,
    Synced,
)
from hapair.engine.core.frozen import replace
from hapair.engine.core.state import (
    HOLDING,
    Check,
    State,
    Takeover,
    fit,
    fresh_partner,
    partner_failed,
    partner_fit,
    sync,
    track_detail,
    wall,
)
from hapair.engine.pairlink.messages import Heartbeat


def takeover_asked(s: State, request: int, cause: str, now: float, actions: list[Action]) -> State:
    p = fresh_partner(s, now)
    if s.config.pacified:
        actions.append(Reply(request, "pacified", Pacified.default_detail))
    elif s.maintenance:
        actions.append(Reply(request, "not-active", "this unit is in maintenance"))
    elif s.role != Role.ACTIVE and not fit(s):
        why = track_detail(s) or "its tracks are not checked yet"
        actions.append(Reply(request, "not-active", f"this unit has a failed track ({why})"))
    elif s.role == Role.ACTIVE:
        actions.append(Reply(request))
    elif not s.config.has_partner or p is None:
        actions.append(
            Reply(
                request,
                "partner-unavailable",
                "the partner is not reachable; it cannot be asked to step down",
            )
        )
    elif s.role != Role.STANDBY or p.role != Role.ACTIVE:
        actions.append(
            Reply(
                request,
                "not-active",
                f"takeover needs this unit standby and the partner active (partner: {p.role})",
            )
        )
    elif s.takeover is not None:
        actions.append(Reply(request, "not-active", "a takeover is already under way"))
    else:
        s = replace(s, takeover=Takeover(request=request, cause=cause))
        actions.append(AskDemote(request, cause))
    return s


def checks(
    s: State, now: float, *, maintenance: bool = False, synced: Synced | None = None
) -> tuple[Check, ...]:
    """The hand-over checks of a planned switchover (SPEC section 5); a maintenance hand-over
    skips ``preferred-server`` (maintenance is the way to move a preferred active aside).
    ``synced``: revisions read with writes held, fresher than the partner's heartbeat."""
    p = fresh_partner(s, now)
    out = [
        Check(
            "partner-reachable",
            p is not None,
            "heard within ha_timeout" if p else f"not heard for {s.params.ha_timeout:g} s",
        )
    ]
    if p is None:
        names = ("partner-standby", "partner-in-sync", "partner-not-pacified")
        out += [Check(n, False, "the partner is not reachable") for n in names]
        out.append(Check("partner-not-in-maintenance", False, "the partner is not reachable"))
        out.append(Check("partner-tracks-ok", False, "the partner is not reachable"))
    else:
        out.append(Check("partner-standby", p.role == Role.STANDBY, f"the partner is {p.role}"))
        if synced is not None:
            found = sync(s, now, revision=synced.revision, partner_revision=synced.partner_revision)
        else:
            found = sync(s, now)
        out.append(Check("partner-in-sync", found.in_sync, found.detail))
        paced = p.pacified or p.role == Role.PACIFIED
        out.append(
            Check("partner-not-pacified", not paced, "pacified" if paced else "not pacified")
        )
        out.append(
            Check(
                "partner-not-in-maintenance",
                not p.maintenance,
                "in maintenance" if p.maintenance else "not in maintenance",
            )
        )
        out.append(_tracks_check(p))
    if s.params.l7_persistence_updates:
        ok, detail = s.state_sync
        out.append(Check("state-sync", ok, f"HAProxy peers: {detail}"))
    if not maintenance:
        pref = s.params.preferred_server == s.config.unit
        out.append(
            Check(
                "preferred-server",
                not pref,
                f"{s.config.unit} is the preferred server: it would take the role back "
                + (
                    f"after the failback delay ({s.params.failback_delay:g} s)"
                    if s.params.failback_delay
                    else "at once"
                )
                + "; put it in maintenance instead"
                if pref
                else f"preferred_server is {s.params.preferred_server}",
            )
        )
    return tuple(out)


def _tracks_check(p: Heartbeat) -> Check:
    """``partner-tracks-ok``: no failed (or unchecked) track on the partner."""
    if partner_failed(p):
        bad = "; ".join(f"{t.name}: {t.detail}" for t in p.tracks if t.ok is False)
        return Check("partner-tracks-ok", False, f"failed tracks: {bad}")
    if not partner_fit(p):
        return Check("partner-tracks-ok", False, "the partner's tracks are not checked yet")
    n = len(p.tracks)
    if n == 0:
        return Check("partner-tracks-ok", True, "the partner has no tracks")
    return Check("partner-tracks-ok", True, f"{n} track{'s' if n != 1 else ''} healthy")


def switchover_asked(s: State, event: SwitchoverAsked, actions: list[Action]) -> State:
    request, dry_run, now, synced = event.request, event.dry_run, event.now, event.synced
    if s.role != Role.ACTIVE:
        actions.append(Reply(request, "not-active", f"this unit is {s.role}"))
        return s
    found = checks(s, now, synced=synced)
    if dry_run:
        actions.append(Reply(request, checks=found))
    elif not all(c.ok for c in found):
        actions.append(Reply(request, "switchover-refused", checks=found))
    elif s.handover is not None or s.takeover is not None:
        actions.append(Reply(request, "not-active", "a hand-over is already under way"))
    else:
        s = replace(s, handover=Takeover(request=request, cause="switchover", checks=found))
        actions.append(AskHandover(request, "switchover"))
    return s


def maintained(s: State, enabled: bool, reason: str | None, now: float) -> State:
    """Maintenance set on (with ``reason``) or off: a new record, since now, when it is switched
    or enabled again with another reason, else the record as it was. ``core/tell.py`` saves
    and announces a record that changed."""
    s = replace(s, cause="maintenance")
    if enabled == s.maintenance and (not enabled or reason == s.maintenance_reason):
        return s
    return replace(
        s,
        maintenance=enabled,
        maintenance_reason=reason if enabled else None,
        maintenance_since=wall(s, now) if enabled else None,
    )


def maintenance_set(s: State, event: MaintenanceSet, actions: list[Action]) -> State:
    request, enabled, now, reason = event.request, event.enabled, event.now, event.reason
    if not enabled or s.maintenance:
        actions.append(Reply(request))
        return maintained(s, enabled, reason, now)
    if s.role not in HOLDING:
        actions.append(Reply(request))
        return maintained(s, True, reason, now)
    found = checks(s, now, maintenance=True, synced=event.synced)
    if all(c.ok for c in found) and s.handover is None and s.takeover is None:
        pending = Takeover(request=request, cause="maintenance", checks=found, reason=reason)
        s = replace(s, handover=pending)
        actions.append(AskHandover(request, "maintenance"))
        return s
    if not event.force:
        actions.append(Reply(request, "switchover-refused", checks=found))
        return s
    # forced: step aside at once; the partner takes over when it hears of the maintenance
    s = enter(s, Role.STANDBY, "maintenance", now, actions)
    actions.append(Reply(request, checks=found))
    return maintained(s, True, reason, now)


def handover_done(s: State, event: HandoverDone, actions: list[Action]) -> State:
    request, error, detail = event.request, event.error, event.detail
    pending = s.handover
    s = replace(s, handover=None)
    if error is not None:
        actions.append(Reply(request, error, detail))
        return s
    if pending is not None and pending.cause == "maintenance":
        s = maintained(s, True, pending.reason, event.now)
    actions.append(Reply(request, checks=() if pending is None else pending.checks))
    return s


def partner_demoted(s: State, request: int | None, now: float, actions: list[Action]) -> State:
    pending = s.takeover
    s = replace(s, takeover=None)
    if s.role != Role.STANDBY or s.config.pacified or s.maintenance or not fit(s):
        # (maintenance may have been enabled while the partner was stepping down: it takes
        # the role back, seeing this unit in maintenance)
        if request is not None:
            what = (
                "in maintenance"
                if s.maintenance
                else f"{s.role}"
                if fit(s)
                else f"with a failed track ({track_detail(s)})"
            )
            actions.append(Reply(request, "not-active", f"this unit is {what} now"))
        return s
    cause = pending.cause if pending is not None else "takeover"
    # What the partner said before it stepped down is stale: it is standby now.
    partner = s.partner
    if partner is not None:
        s = replace(s, partner=_replace_hb(partner, role=Role.STANDBY))
    s = enter(s, Role.ACTIVE, cause, now, actions)
    if request is not None:
        actions.append(Reply(request))
    return s


def _replace_hb(hb: Heartbeat, **changes: object) -> Heartbeat:
    return msgspec.structs.replace(hb, **changes)
