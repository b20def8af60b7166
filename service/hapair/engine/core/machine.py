"""The HA engine's pure core: ``step(state, event) -> (state, actions)``.

Every role rule of a unit lives here and nowhere else, and so do the event stream's
(``tell.py``: which events the stream gets) and the maintenance record's (``handover.py``).
There is no I/O, no clock, no asyncio: time arrives in events (``now``, a monotonic reading of
the unit's clock), and what must happen in the world leaves as actions that the node
(``engine/node.py``) carries out and whose results come back as events. The same ``step``
drives real processes and the simulation in ``tests/sim``: there is no second implementation
to drift.

Roles (the decided one, ``State.role``): ``starting``, ``active``, ``standby``,
``not_operational``, ``pacified``, ``indeterminate``. The role the API shows (``public``) never
claims more than is true: a unit that decided to be active but does not serve the shared address
shows ``not_operational`` / ``shared-address-unavailable``.
"""

from __future__ import annotations

from hapair.domain.status import Role
from hapair.engine.core.apply import enter, publish
from hapair.engine.core.events_actions import (
    Action,
    AdvertsSeen,
    Alert,
    AskDemote,
    AskHandover,
    Deadline,
    DemoteAsked,
    Emit,
    Event,
    FlushEvents,
    HandoverDone,
    Heard,
    LeaseLost,
    LinkDown,
    MaintenanceSet,
    Note,
    PartnerAnswered,
    PartnerDemoted,
    PartnerDemoteFailed,
    Promote,
    Promoted,
    Reannounce,
    Reboot,
    RenewShared,
    ReplicateFailed,
    ReplicateFrom,
    Replicating,
    Reply,
    SaveMaintenance,
    SendHeartbeat,
    ServeShared,
    SharedFailed,
    SharedServed,
    Shutdown,
    StateSyncSeen,
    StopShared,
    StoreFailed,
    StoreRead,
    SwitchoverAsked,
    Synced,
    TakeoverAsked,
    Tick,
    TrackChanged,
    TrackReported,
    Transitioned,
    UpdateLinkSeen,
)
from hapair.engine.core.frozen import replace
from hapair.engine.core.handover import (
    checks,
    handover_done,
    maintenance_set,
    partner_demoted,
    switchover_asked,
    takeover_asked,
)
from hapair.engine.core.roles import boot, decide, maintain
from hapair.engine.core.state import (
    AUTH_GRACE_S,
    CAUSES,
    DEADLINE_SLACK,
    HOLDING,
    SKEW_ALERT_S,
    Cause,
    Check,
    Config,
    EngineRole,
    Params,
    State,
    Sync,
    Takeover,
    Told,
    TrackState,
    Transition,
    advert_heard,
    auth_failure,
    boot_wins,
    deadline,
    failed_tracks,
    fit,
    fresh_partner,
    heartbeat,
    holding,
    in_sync,
    links,
    public,
    publishes,
    shown,
    split_brain_wins,
    sync,
    update_link_down,
    wall,
)
from hapair.engine.core.tell import tell
from hapair.engine.core.tracks_rules import claim_from_failed_active, track_changed, update_ready
from hapair.engine.core.update_rules import UPDATE_LINK_DOWN, heard_via, update_alert, update_seen
from hapair.engine.pairlink.messages import AlertInfo, Heartbeat

# The machine's vocabulary: callers use ``machine.Tick``, ``machine.State``, ...
__all__ = [
    "AUTH_GRACE_S",
    "CAUSES",
    "DEADLINE_SLACK",
    "Action",
    "AdvertsSeen",
    "Alert",
    "AskDemote",
    "AskHandover",
    "Cause",
    "Check",
    "Config",
    "Deadline",
    "DemoteAsked",
    "Emit",
    "EngineRole",
    "Event",
    "FlushEvents",
    "HandoverDone",
    "Heard",
    "LeaseLost",
    "LinkDown",
    "MaintenanceSet",
    "Note",
    "Params",
    "PartnerAnswered",
    "PartnerDemoteFailed",
    "PartnerDemoted",
    "Promote",
    "Promoted",
    "Reannounce",
    "Reboot",
    "RenewShared",
    "ReplicateFailed",
    "ReplicateFrom",
    "Replicating",
    "Reply",
    "SaveMaintenance",
    "SendHeartbeat",
    "ServeShared",
    "SharedFailed",
    "SharedServed",
    "Shutdown",
    "State",
    "StateSyncSeen",
    "StopShared",
    "StoreFailed",
    "StoreRead",
    "SwitchoverAsked",
    "Sync",
    "Synced",
    "Takeover",
    "TakeoverAsked",
    "Tick",
    "Told",
    "TrackChanged",
    "TrackReported",
    "TrackState",
    "Transition",
    "Transitioned",
    "UpdateLinkSeen",
    "advert_heard",
    "boot",
    "boot_wins",
    "checks",
    "deadline",
    "failed_tracks",
    "fit",
    "fresh_partner",
    "heartbeat",
    "holding",
    "in_sync",
    "links",
    "public",
    "publishes",
    "shown",
    "split_brain_wins",
    "step",
    "sync",
    "update_link_down",
    "wall",
]


def step(s: State, event: Event) -> tuple[State, list[Action]]:
    """Apply one event; return the new state and the actions to carry out, in order (with the
    event stream's, ``tell``)."""
    new, actions = _step(s, event)
    return tell(s, new, event, actions)


def _step(s: State, event: Event) -> tuple[State, list[Action]]:
    """``step`` but for the event stream."""
    if s.stopped:
        return s, _refusals(event)
    now = event.now
    actions: list[Action] = []
    deciding = False
    tick = False
    match event:
        case Tick():
            deciding = tick = True
        case Deadline():
            deciding = _on_time(event, actions)
        case Heard(heartbeat=hb):
            s = heard_via(s, hb, now)
            heard = _heard(s, hb, now, actions)
            if heard is None:
                return s, []
            s, deciding = heard, True
        case PartnerAnswered():
            s, deciding = _answered(s, event), True
        case StoreRead(revision=revision, params=params):
            s = replace(
                _pair_changed(s, params, now),
                revision=revision,
                params=params,
                store_down_since=None,
            )
        case StateSyncSeen(ok=ok, detail=detail):
            s = replace(s, state_sync=(ok, detail))
        case StoreFailed():
            # its Redis does not answer: down since the first failure, its link unknown
            since = now if s.store_down_since is None else s.store_down_since
            s = replace(s, store_down_since=since, replica_link_up=False)
        case LinkDown(interfaces=names):
            if s.params.hard_reboot_on_link_failure and not s.config.pacified:
                actions.append(Note("link-failure", (("interfaces", list(names)),)))
                s = enter(s, Role.NOT_OPERATIONAL, "link-failure", now, actions, reason=None)
                s = replace(s, stopped=True)
                actions.append(Reboot("link-failure"))
                return publish(s, actions, now)
        case (
            TakeoverAsked()
            | SwitchoverAsked()
            | MaintenanceSet()
            | HandoverDone()
            | PartnerDemoted()
            | PartnerDemoteFailed()
        ):
            s = _on_request(s, event, actions)
        case TrackChanged():
            s = track_changed(s, event, actions)
            deciding = True
        case DemoteAsked():
            s = _demote_asked(s, event, actions)
        case Shutdown():
            s = enter(s, Role.NOT_OPERATIONAL, "shutdown", now, actions, reason=None)
            s = replace(s, stopped=True)
            return publish(s, actions, now)
        case _:
            s = _on_result(s, event, actions)
    if deciding:
        s = decide(s, now, actions, tick=tick)
        s = claim_from_failed_active(s, now, actions)
    s = update_ready(s, now)
    if tick:
        s = maintain(s, now, actions)
    s = _alerts(s, now, actions)
    return publish(s, actions, now)


def _demote_asked(s: State, event: DemoteAsked, actions: list[Action]) -> State:
    """The partner takes over and asks this unit to step down (it holds off afterwards)."""
    now, asked = event.now, event.cause
    was_active = s.role in HOLDING
    if was_active:
        why = asked if asked in ("switchover", "maintenance", "track-failed") else "demoted"
        s = enter(s, Role.STANDBY, why, now, actions)
        s = replace(s, hold_until=now + 2 * s.params.ha_timeout)
    actions.append(Note("demote", (("by", event.by),)))
    actions.append(Reply(event.request, demoted=was_active))
    return s


def _alerts(s: State, now: float, actions: list[Action]) -> State:
    """Raises and ends the alerts this unit sees: ``partner-auth-failed`` (with its detail) and
    ``clock-skew`` (the partner's clock more than ``SKEW_ALERT_S`` away from this unit's)."""
    auth = auth_failure(s, now)
    if auth != s.auth_alerted:
        if s.auth_alerted is not None:
            actions.append(Alert("partner-auth-failed", s.auth_alerted, raised=False))
        if auth is not None:
            actions.append(Alert("partner-auth-failed", auth, raised=True))
        s = replace(s, auth_alerted=auth)
    skewed = s.skew is not None and abs(s.skew) > SKEW_ALERT_S and fresh_partner(s, now) is not None
    shown = next((a for a in s.alerts if a.reason == "clock-skew"), None)
    if skewed and shown is None and s.skew is not None:
        way = "ahead of" if s.skew > 0 else "behind"
        detail = f"the partner's clock is {abs(s.skew):.1f} s {way} this unit's"
        alert = AlertInfo(reason="clock-skew", detail=detail, since=wall(s, now))
        actions.append(Alert("clock-skew", detail, raised=True))
        s = replace(s, alerts=(*s.alerts, alert))
    elif not skewed and shown is not None:
        actions.append(Alert("clock-skew", shown.detail, raised=False))
        s = replace(s, alerts=tuple(a for a in s.alerts if a is not shown))
    return _link_alerts(s, now, actions)


# What the link alerts say (SPEC 5b'; no role changes with them).
ADVERT_PATH_DOWN = "the partner's adverts have not arrived for ha_timeout while its heartbeats do"
HEARTBEAT_PATH_DOWN = (
    "no heartbeat from the partner over the direct link for ha_timeout while its adverts "
    "arrive: no failover; replication and the hand-over calls wait for that link"
)


def _link_alerts(s: State, now: float, actions: list[Action]) -> State:
    """The alerts of the pair's links, for a unit that sends adverts (SPEC 5b'):
    ``advert-path-down`` (heartbeats arrive, adverts do not, once heartbeats have flowed for
    ``ha_timeout``), ``update-link-down`` (adverts arrive, heartbeats do not: the direct link,
    which carries configuration sync while no separate update link is built, is down) and one
    ``virtual-id-conflict`` per sender using this pair's virtual ID. Each ends by itself."""
    wanted: list[tuple[str, str]] = []
    timeout = s.params.ha_timeout
    if s.config.adverts:
        hb = fresh_partner(s, now) is not None
        adv = advert_heard(s, now)
        # each path's loss is told once the other has carried the partner's word for
        # ha_timeout (a partner that just booted, or came back, is heard on one path a moment
        # before the other: no alert for that)
        if hb and not adv and s.heard_since is not None and now - s.heard_since >= timeout:
            wanted.append(("advert-path-down", ADVERT_PATH_DOWN))
        if adv and not hb and s.heard_at is not None and s.advert_since is not None:
            flowing = s.advert_since <= s.heard_at + timeout  # when the heartbeats were lost
            if flowing or now - s.advert_since >= timeout:
                wanted.append(("update-link-down", HEARTBEAT_PATH_DOWN))
        wanted.extend(("virtual-id-conflict", detail) for _, detail in s.conflicts)
    if update_alert(s, now) and "update-link-down" not in [r for r, _ in wanted]:
        wanted.append(("update-link-down", UPDATE_LINK_DOWN))
    kinds = ("advert-path-down", "update-link-down", "virtual-id-conflict")
    shown = [(a.reason, a.detail) for a in s.alerts if a.reason in kinds]
    if set(shown) == set(wanted):
        return s
    kept: list[AlertInfo] = []
    for a in s.alerts:
        if a.reason in kinds and (a.reason, a.detail) not in wanted:
            actions.append(Alert(a.reason, a.detail, raised=False))
        else:
            kept.append(a)
    for reason, detail in wanted:
        if (reason, detail) not in shown:
            actions.append(Alert(reason, detail, raised=True))
            kept.append(AlertInfo(reason=reason, detail=detail, since=wall(s, now)))
    return replace(s, alerts=tuple(kept))


def _heard(s: State, hb: Heartbeat, now: float, actions: list[Action]) -> State | None:
    """The partner's heartbeat taken in; None when it is stale and decides nothing."""
    last = s.partner
    if last is not None and hb.boot_id == last.boot_id and hb.sent_at < last.sent_at:
        # older than what the partner already said (e.g. a request that waited in this
        # unit's socket while it was frozen): stale
        return None
    if _restarted(last, hb):
        actions.append(Note("partner-restarted", (("boot_id", hb.boot_id),)))
    return replace(
        s,
        partner=hb,
        heard_at=now,
        heard_since=s.heard_since if fresh_partner(s, now) is not None else now,
        answered_at=now,
        auth_failed=None,
        auth_failed_since=None,
        skew=hb.sent_at - wall(s, now) if hb.sent_at else None,
    )


def _pair_changed(s: State, params: Params, now: float) -> State:
    """A new virtual ID is a new pair id (``pairauth.pair_id``): until the partner has read it
    too, the two refuse each other as another pair. So a refusal counts from the change: only
    one that lasts ``AUTH_GRACE_S`` after the last change is ``partner-auth-failed``."""
    if params.virtual_id == s.params.virtual_id or s.auth_failed_since is None:
        return s
    return replace(s, auth_failed_since=now)


def _answered(s: State, event: PartnerAnswered) -> State:
    """Something answered from the partner's address: it is there; an authentication failure
    counts from the first one since the last authentic heartbeat."""
    s = replace(s, answered_at=event.now)
    if event.auth_failed is None:
        return s
    since = s.auth_failed_since if s.auth_failed_since is not None else event.now
    return replace(
        s, auth_failed=event.auth_failed, auth_failed_since=since, auth_shared=event.shared_address
    )


def _on_request(s: State, event: Event, actions: list[Action]) -> State:
    """A request of the API or of the partner, or the answer to one this unit made."""
    now = event.now
    match event:
        case TakeoverAsked(request=request, cause=cause):
            return takeover_asked(s, request, cause, now, actions)
        case SwitchoverAsked():
            return switchover_asked(s, event, actions)
        case MaintenanceSet():
            return maintenance_set(s, event, actions)
        case HandoverDone():
            return handover_done(s, event, actions)
        case PartnerDemoted(request=request):
            return partner_demoted(s, request, now, actions)
        case PartnerDemoteFailed(request=request, error=error):
            if request is not None:
                actions.append(Reply(request, "partner-unavailable", error))
            return replace(s, takeover=None)
    return s


def _on_result(s: State, event: Event, actions: list[Action]) -> State:
    """The result of an action the driver carried out, or an observation that decides nothing
    by itself (the tick that follows decides with it)."""
    match event:
        case UpdateLinkSeen(now=now, separate=separate, replication=replication):
            return update_seen(s, separate, replication, now)
        case AdvertsSeen(now=now, ago=ago, conflicts=conflicts):
            if ago is None or (s.advert_at is not None and now - ago <= s.advert_at):
                return replace(s, conflicts=conflicts)
            at = now - ago
            since = s.advert_since if advert_heard(s, at) else at  # a new run after a gap
            return replace(s, advert_at=at, advert_since=since, conflicts=conflicts)
        case SharedServed():
            if s.role == Role.ACTIVE:
                return replace(s, serving=True, bind_failed=False, lease_lost_at=None)
            actions.append(StopShared())  # it stepped down while the bind was under way
        case LeaseLost():
            if s.serving:
                # the address is gone (frozen past its lease): it does not claim to serve, and
                # puts it back only after hearing its partner (``may_serve``)
                actions.append(Note("lease-lost"))
                return replace(
                    s, serving=False, bind_failed=s.role == Role.ACTIVE, lease_lost_at=event.now
                )
        case SharedFailed():
            return replace(s, serving=False, bind_failed=s.role == Role.ACTIVE)
        case Promoted():
            return replace(s, master=True)
        case Replicating(url=url, link_up=up):
            standby = s.role == Role.STANDBY
            return replace(s, replica_of=url if standby else None, replica_link_up=standby and up)
        case ReplicateFailed():
            return replace(s, replica_of=None, replica_link_up=False)
    return s


def _on_time(event: Deadline, actions: list[Action]) -> bool:
    """Whether a deadline's event came in time to decide on. One more than ``DEADLINE_SLACK``
    late was missed: the process was frozen over it, so what it last heard is old news; the
    next tick exchanges heartbeats first, then decides."""
    late = event.now - event.due
    if late > DEADLINE_SLACK:
        actions.append(Note("deadline-missed", (("late_s", round(late, 3)),)))
        return False
    return True


def _restarted(last: Heartbeat | None, hb: Heartbeat) -> bool:
    """The partner booted since it last spoke (its ``boot_id`` changed): worth a log line."""
    if last is None or not last.boot_id or not hb.boot_id or hb.unit != last.unit:
        return False
    return hb.boot_id != last.boot_id


def _refusals(event: Event) -> list[Action]:
    """A stopped engine answers pending requests instead of leaving them waiting."""
    if isinstance(event, TakeoverAsked | SwitchoverAsked | MaintenanceSet | HandoverDone):
        return [Reply(event.request, "not-active", "the unit is stopping")]
    if isinstance(event, DemoteAsked):
        return [Reply(event.request, demoted=False)]
    if isinstance(event, PartnerDemoteFailed | PartnerDemoted) and event.request is not None:
        return [Reply(event.request, "not-active", "the unit is stopping")]
    return []
