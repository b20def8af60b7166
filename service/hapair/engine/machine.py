"""The HA engine's pure core: ``step(state, event) -> (state, actions)``.

Every role rule of a unit lives here and nowhere else. There is no I/O, no clock, no asyncio:
time arrives in events (``now``, a monotonic reading of the unit's clock), and what must happen
in the world leaves as actions that the driver (``engine/driver.py``) executes and whose results
come back as events. The same ``step`` drives real processes and the simulation in
``tests/sim``: there is no second implementation to drift.

Roles (the decided one, ``State.role``): ``starting``, ``active``, ``standby``,
``not_operational``, ``pacified``, ``indeterminate``. The role the API shows (``public``) never
claims more than is true: a unit that decided to be active but does not serve the shared address
shows ``not_operational`` / ``shared-address-unavailable``.
"""

from __future__ import annotations

from dataclasses import replace

from hapair.engine.apply import enter, publish
from hapair.engine.handover import (
    checks,
    handover_done,
    maintenance_set,
    partner_demoted,
    switchover_asked,
    takeover_asked,
)
from hapair.engine.state import (
    CAUSES,
    Cause,
    Config,
    EngineRole,
    Params,
    State,
    Takeover,
    Transition,
    boot_wins,
    fresh_partner,
    heartbeat,
    holding,
    in_sync,
    public,
    split_brain_wins,
    wall,
)
from hapair.engine.steps import (
    Action,
    AskDemote,
    AskHandover,
    Check,
    DemoteAsked,
    Event,
    HandoverDone,
    Heard,
    LinkDown,
    MaintenanceSet,
    Note,
    PartnerDemoted,
    PartnerDemoteFailed,
    Promote,
    Promoted,
    Reboot,
    ReplicateFailed,
    ReplicateFrom,
    Replicating,
    Reply,
    SendHeartbeat,
    ServeShared,
    SharedFailed,
    SharedServed,
    Shutdown,
    StopShared,
    StoreFailed,
    StoreRead,
    SwitchoverAsked,
    Synced,
    TakeoverAsked,
    Tick,
    Transitioned,
)

# The machine's vocabulary: callers use ``machine.Tick``, ``machine.State``, ...
__all__ = [
    "CAUSES",
    "Action",
    "AskDemote",
    "AskHandover",
    "Cause",
    "Check",
    "Config",
    "DemoteAsked",
    "EngineRole",
    "Event",
    "HandoverDone",
    "Heard",
    "LinkDown",
    "MaintenanceSet",
    "Note",
    "Params",
    "PartnerDemoteFailed",
    "PartnerDemoted",
    "Promote",
    "Promoted",
    "Reboot",
    "ReplicateFailed",
    "ReplicateFrom",
    "Replicating",
    "Reply",
    "SendHeartbeat",
    "ServeShared",
    "SharedFailed",
    "SharedServed",
    "Shutdown",
    "State",
    "StopShared",
    "StoreFailed",
    "StoreRead",
    "SwitchoverAsked",
    "Synced",
    "Takeover",
    "TakeoverAsked",
    "Tick",
    "Transition",
    "Transitioned",
    "boot",
    "boot_wins",
    "checks",
    "fresh_partner",
    "heartbeat",
    "holding",
    "in_sync",
    "public",
    "split_brain_wins",
    "step",
    "wall",
]


# ---- boot and step -------------------------------------------------------------------------


def boot(
    config: Config, params: Params, revision: int, now: float, wall_now: float
) -> tuple[State, list[Action]]:
    """The state of a unit that has just booted, and what to do first."""
    s = State(
        config=config,
        params=params,
        revision=revision,
        booted=now,
        wall_offset=wall_now - now,
        role_since=wall_now,
        maintenance=config.maintenance,
    )
    if config.pacified:
        s = replace(s, role="pacified", reason=None, cause="pacified")
        return publish(s, [Promote()], now)
    return s, [SendHeartbeat()]


def step(s: State, event: Event) -> tuple[State, list[Action]]:
    """Apply one event; return the new state and the actions to carry out, in order."""
    if s.stopped:
        return s, _refusals(event)
    now = event.now
    actions: list[Action] = []
    decide = False
    tick = False
    match event:
        case Tick():
            decide = tick = True
        case Heard(heartbeat=hb):
            last = s.partner
            if last is not None and hb.boot_id == last.boot_id and hb.sent_at < last.sent_at:
                # older than what the partner already said (e.g. a request that waited in
                # this unit's socket while it was frozen): stale, it decides nothing
                return s, []
            s = replace(s, partner=hb, heard_at=now)
            decide = True
        case StoreRead(revision=revision, params=params):
            s = replace(s, revision=revision, params=params, store_down_since=None)
        case StoreFailed():
            if s.store_down_since is None:
                s = replace(s, store_down_since=now)
        case LinkDown(interfaces=names):
            if s.params.hard_reboot_on_link_failure and not s.config.pacified:
                actions.append(Note("link-failure", (("interfaces", list(names)),)))
                s = enter(s, "not_operational", "link-failure", now, actions, reason=None)
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
        case DemoteAsked(request=request, by=by, cause=asked):
            was_active = s.role in ("active", "indeterminate")
            if was_active:
                why = asked if asked in ("switchover", "maintenance") else "demoted"
                s = enter(s, "standby", why, now, actions)
                s = replace(s, hold_until=now + 2 * s.params.ha_timeout)
            actions.append(Note("demote", (("by", by),)))
            actions.append(Reply(request, demoted=was_active))
        case Shutdown():
            s = enter(s, "not_operational", "shutdown", now, actions, reason=None)
            s = replace(s, stopped=True)
            return publish(s, actions, now)
        case _:
            s = _on_result(s, event, actions)
    if decide:
        s = _decide(s, now, actions, tick=tick)
    if tick:
        s = _maintain(s, now, actions)
    return publish(s, actions, now)


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
        case HandoverDone(request=request, error=error, detail=detail):
            return handover_done(s, request, error, detail, actions)
        case PartnerDemoted(request=request):
            return partner_demoted(s, request, now, actions)
        case PartnerDemoteFailed(request=request, error=error):
            if request is not None:
                actions.append(Reply(request, "partner-unavailable", error))
            return replace(s, takeover=None)
    return s


def _on_result(s: State, event: Event, actions: list[Action]) -> State:
    """The result of an action the driver carried out."""
    match event:
        case SharedServed():
            if s.role == "active":
                return replace(s, serving=True, bind_failed=False)
            actions.append(StopShared())  # it stepped down while the bind was under way
        case SharedFailed():
            return replace(s, serving=False, bind_failed=s.role == "active")
        case Promoted():
            return replace(s, master=True)
        case Replicating(url=url):
            return replace(s, replica_of=url if s.role == "standby" else None)
        case ReplicateFailed():
            return replace(s, replica_of=None)
    return s


def _refusals(event: Event) -> list[Action]:
    """A stopped engine answers pending requests instead of leaving them waiting."""
    if isinstance(event, TakeoverAsked | SwitchoverAsked | MaintenanceSet | HandoverDone):
        return [Reply(event.request, "not-active", "the unit is stopping")]
    if isinstance(event, DemoteAsked):
        return [Reply(event.request, demoted=False)]
    if isinstance(event, PartnerDemoteFailed | PartnerDemoted) and event.request is not None:
        return [Reply(event.request, "not-active", "the unit is stopping")]
    return []


# ---- the rules -----------------------------------------------------------------------------


def _decide(s: State, now: float, actions: list[Action], *, tick: bool) -> State:
    """Takes the role the rules give for what the unit knows now."""
    p = fresh_partner(s, now)
    # both standby for a while (e.g. after both stepped aside): tracked for the stuck rule
    both = s.role == "standby" and p is not None and p.role == "standby"
    if not both:
        s = replace(s, both_standby_since=None)
    elif s.both_standby_since is None:
        s = replace(s, both_standby_since=now)

    if s.config.pacified:
        return enter(s, "pacified", "pacified", now, actions)
    if s.store_down_since is not None and now - s.store_down_since >= s.params.ha_timeout:
        # A unit without its Redis can neither serve nor keep the pair's data: it steps aside
        # (the partner takes over) until its Redis answers again.
        return enter(s, "not_operational", "store-lost", now, actions, reason="not-synced")
    if p is not None:
        if p.mode == s.config.mode:
            return enter(s, "not_operational", "misconfigured", now, actions, reason="same-mode")
        if (p.shared_address or None) != (s.config.shared_address or None):
            return enter(
                s, "not_operational", "misconfigured", now, actions,
                reason="shared-address-mismatch",
            )  # fmt: skip
    contending = p is not None and p.role in ("active", "indeterminate")
    # An active unit contends only with a partner that holds or serves the role: a partner
    # that went grey and stopped serving is the loser of the split brain, yielding.
    rival = p is not None and (
        p.role == "active" or (p.role == "indeterminate" and p.serving_shared)
    )
    role = s.role
    back_from: str | None = None
    if role == "not_operational":
        back_from = s.reason
        role = "starting"

    def cause(default: str) -> str:
        return "store-back" if back_from == "not-synced" else default

    if s.maintenance and role != "active":
        # in maintenance: never active; its Redis follows the active's (it stays in sync)
        if contending:
            return enter(s, "standby", cause("maintenance"), now, actions)
        return s
    if role == "starting":
        if p is None:
            if now - s.booted >= s.params.initial_wait_time:
                return enter(s, "active", cause("boot-alone"), now, actions)
            return enter(s, "starting", "boot-alone", now, actions, reason="starting")
        if contending:
            return enter(s, "standby", cause("boot-partner-active"), now, actions)
        if p.role == "starting" and not boot_wins(s, p):
            return enter(s, "starting", "boot-negotiated", now, actions, reason="starting")
        return enter(s, "active", cause("boot-negotiated"), now, actions)

    if role == "active":
        if rival and p is not None:
            won = split_brain_wins(s, p)
            actions.append(Note("split-brain", (("won", won),)))
            return enter(
                s, "indeterminate", "split-brain-won" if won else "split-brain-lost", now, actions
            )
        return s

    if role == "indeterminate":
        if not tick:  # grey for at least one heartbeat: both sides see the split brain
            return s
        if p is None or not rival or split_brain_wins(s, p):
            return enter(s, "active", "split-brain-won", now, actions)
        return enter(s, "standby", "split-brain-lost", now, actions)

    # standby
    if p is None:
        if holding(s, now):
            return s
        return enter(s, "active", "partner-lost", now, actions)
    if contending or p.role == "starting":
        return s
    if p.role == "pacified" or p.pacified:
        return enter(s, "active", "pacified", now, actions)
    if p.maintenance:
        return enter(s, "active", "maintenance", now, actions)
    if p.role == "not_operational":
        why = {"not-synced": "store-lost", "maintenance": "maintenance"}.get(p.reason or "")
        return enter(s, "active", why or "partner-lost", now, actions)
    stuck = (
        p.role == "standby"
        and not holding(s, now)
        and s.both_standby_since is not None
        and now - s.both_standby_since >= s.params.ha_timeout
    )
    if stuck and boot_wins(s, p):
        return enter(s, "active", "boot-negotiated", now, actions)
    return s


def _maintain(s: State, now: float, actions: list[Action]) -> State:
    """Each heartbeat: keep the role applied (retrying what failed).

    The heartbeat exchange itself comes before each ``Tick`` (its answer is a ``Heard``), so a
    decision at a tick has the partner's latest word.
    """
    p = fresh_partner(s, now)
    if s.role == "active":
        if not s.master:
            actions.append(Promote())
        if s.config.shared_address and not s.serving:
            actions.append(ServeShared())
    elif s.role == "standby":
        if p is not None and p.role == "active" and p.redis_url:
            actions.append(ReplicateFrom(p.redis_url))
        if (
            s.takeover is None
            and p is not None
            and p.role == "active"
            and s.params.preferred_server == s.config.unit
            and not holding(s, now)
            and not s.maintenance
            and in_sync(s, now)
        ):
            # The preferred server is back and in sync: it takes the role back.
            s = replace(s, takeover=Takeover(request=None, cause="preferred-return"))
            actions.append(AskDemote(None))
    return s
