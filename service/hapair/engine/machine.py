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

from dataclasses import dataclass, field, replace
from typing import Literal

import msgspec

from hapair.engine.messages import Heartbeat, TransitionInfo

EngineRole = Literal[
    "starting", "active", "standby", "not_operational", "pacified", "indeterminate"
]
Cause = Literal[
    "boot-alone",
    "boot-partner-active",
    "boot-negotiated",
    "partner-lost",
    "preferred-return",
    "takeover",
    "demoted",
    "switchover",
    "split-brain-won",
    "split-brain-lost",
    "store-lost",
    "store-back",
    "link-failure",
    "pacified",
    "maintenance",
    "misconfigured",
    "shared-address-unavailable",
    "shutdown",
]
CAUSES: tuple[str, ...] = Cause.__args__  # type: ignore[attr-defined]

# ---- state ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Config:
    """What a unit is for one boot: fixed until it reboots."""

    unit: str  # "first" or "second"
    mode: str
    shared_address: str | None
    pacified: bool = False
    has_partner: bool = True  # a partner address and pair key are configured
    maintenance: bool = False  # in maintenance at boot (kept in the data dir)


@dataclass(frozen=True, kw_only=True)
class Params:
    """The replicated HA parameters the rules read."""

    ha_timeout: float = 9.0
    initial_wait_time: float = 0.0
    preferred_server: str = "none"
    hard_reboot_on_link_failure: bool = False


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One change of the role the API shows."""

    from_role: str
    to_role: str
    cause: str
    at: float  # wall clock seconds


@dataclass(frozen=True, kw_only=True)
class Takeover:
    """A takeover this unit asked its partner for, awaiting the answer."""

    request: int | None  # the API request waiting for it; None when the engine asked itself
    cause: str  # "takeover" or "preferred-return"


@dataclass(frozen=True, kw_only=True)
class State:
    """Everything one unit's engine knows. Replaced, never mutated."""

    config: Config
    params: Params = Params()
    booted: float = 0.0  # ``now`` at boot
    wall_offset: float = 0.0  # wall clock = now + wall_offset
    role: EngineRole = "starting"
    reason: str | None = "starting"
    cause: str = "boot-alone"  # why the decided role was taken
    public_role: str = "not_operational"
    public_reason: str | None = "starting"
    role_since: float = 0.0  # wall clock, of the public role
    last_transition: Transition | None = None
    active_since: float | None = None  # wall clock, when this unit last decided to be active
    revision: int = 0
    store_down_since: float | None = None
    partner: Heartbeat | None = None
    heard_at: float | None = None
    hold_until: float = 0.0
    both_standby_since: float | None = None
    serving: bool = False  # this unit serves the shared address
    bind_failed: bool = False  # a bind of the shared address failed since it became active
    master: bool = False  # its Redis was confirmed a master in the current role
    replica_of: str | None = None  # the partner Redis URL it was confirmed to replicate from
    takeover: Takeover | None = None
    handover: Takeover | None = None  # a switchover or maintenance hand-over under way
    maintenance: bool = False
    stopped: bool = False


# ---- events --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened, at ``now`` (monotonic seconds of this unit's clock)."""

    now: float


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """A heartbeat interval has passed."""


@dataclass(frozen=True, kw_only=True)
class Heard(Event):
    """The partner's heartbeat, sent to us or answered to ours."""

    heartbeat: Heartbeat


@dataclass(frozen=True, kw_only=True)
class StoreRead(Event):
    """This unit's Redis answered: its revision and parameters (also after a commit)."""

    revision: int
    params: Params


@dataclass(frozen=True, kw_only=True)
class StoreFailed(Event):
    """This unit's Redis did not answer."""


@dataclass(frozen=True, kw_only=True)
class LinkDown(Event):
    """A monitored interface is down."""

    interfaces: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SharedServed(Event):
    """The shared address is served (the result of ``ServeShared``)."""


@dataclass(frozen=True, kw_only=True)
class SharedFailed(Event):
    """The shared address could not be served (bind or virtual IP failed)."""

    error: str = ""


@dataclass(frozen=True, kw_only=True)
class Promoted(Event):
    """This unit's Redis is a master."""


@dataclass(frozen=True, kw_only=True)
class Replicating(Event):
    """This unit's Redis replicates from ``url``."""

    url: str


@dataclass(frozen=True, kw_only=True)
class ReplicateFailed(Event):
    """Pointing this unit's Redis at the partner's failed."""


@dataclass(frozen=True, kw_only=True)
class TakeoverAsked(Event):
    """``POST /unit/takeover`` on this unit, or the active's hand-over (``cause`` switchover
    or maintenance)."""

    request: int
    cause: str = "takeover"


@dataclass(frozen=True, kw_only=True)
class SwitchoverAsked(Event):
    """``POST /ha/actions/switchover`` on the active (``dry_run``: only the checks)."""

    request: int
    dry_run: bool = False


@dataclass(frozen=True, kw_only=True)
class MaintenanceSet(Event):
    """``PUT /unit/maintenance``; ``force`` skips the hand-over checks."""

    request: int
    enabled: bool
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class HandoverDone(Event):
    """The standby took the role over (``error`` None) or could not."""

    request: int
    error: str | None = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class PartnerDemoted(Event):
    """The partner stepped down and this unit's Redis holds its last revision."""

    request: int | None


@dataclass(frozen=True, kw_only=True)
class PartnerDemoteFailed(Event):
    """The partner could not be asked to step down."""

    request: int | None
    error: str


@dataclass(frozen=True, kw_only=True)
class DemoteAsked(Event):
    """The partner takes over and asks this unit to step down."""

    request: int
    by: str
    cause: str = "takeover"


@dataclass(frozen=True, kw_only=True)
class Shutdown(Event):
    """The unit stops (process exit or reboot)."""


# ---- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """Something the driver must do."""


@dataclass(frozen=True)
class SendHeartbeat(Action):
    """Exchange heartbeats with the partner now; the answer comes back as ``Heard``."""


@dataclass(frozen=True)
class Promote(Action):
    """Make this unit's Redis a master (``REPLICAOF NO ONE``); answers ``Promoted``."""


@dataclass(frozen=True)
class ReplicateFrom(Action):
    """Make this unit's Redis a replica of ``url``, archiving first into the partner's Redis
    the revisions only this unit holds; answers ``Replicating`` or ``ReplicateFailed``."""

    url: str


@dataclass(frozen=True)
class ServeShared(Action):
    """Add the virtual IP (if any), announce it, bind the shared listener; answers
    ``SharedServed`` or ``SharedFailed``."""


@dataclass(frozen=True)
class StopShared(Action):
    """Stop the shared listener and remove the virtual IP (if any)."""


@dataclass(frozen=True)
class AskDemote(Action):
    """Ask the partner to step down, wait for its last revision; answers ``PartnerDemoted`` or
    ``PartnerDemoteFailed``."""

    request: int | None
    cause: str = "takeover"


@dataclass(frozen=True)
class AskHandover(Action):
    """Ask the standby partner to take the role over (it asks this unit to step down) and
    answer once it serves the shared address; answers ``HandoverDone``."""

    request: int
    cause: str


@dataclass(frozen=True)
class Check:
    """One hand-over check (``partner-reachable``, ``partner-standby``, ...)."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Reply(Action):
    """Answer the API request ``request``: ``error`` is None, or a problem slug with a detail."""

    request: int
    error: str | None = None
    detail: str = ""
    demoted: bool = False
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Transitioned(Action):
    """The public role changed: log it, count it, run the hook, publish it."""

    transition: Transition
    role: EngineRole


@dataclass(frozen=True)
class Reboot(Action):
    """Restart the engine (a boot)."""

    cause: str


@dataclass(frozen=True)
class Note(Action):
    """A log line worth keeping (``event`` and fields)."""

    event: str
    fields: tuple[tuple[str, object], ...] = field(default=())


# ---- queries -------------------------------------------------------------------------------


def wall(s: State, now: float) -> float:
    """The wall clock reading of ``now``."""
    return now + s.wall_offset


def fresh_partner(s: State, now: float) -> Heartbeat | None:
    """The partner's last heartbeat if heard within ``ha_timeout``."""
    if s.partner is None or s.heard_at is None:
        return None
    if now - s.heard_at >= s.params.ha_timeout:
        return None
    return s.partner


def holding(s: State, now: float) -> bool:
    """Just demoted for a takeover: the unit does not take the role back for a while."""
    return now < s.hold_until


def in_sync(s: State, now: float) -> bool:
    """This standby replicates from the active partner and holds its revision."""
    p = fresh_partner(s, now)
    return (
        p is not None
        and s.replica_of is not None
        and s.replica_of == p.redis_url
        and p.revision == s.revision
    )


def public(s: State) -> tuple[str, str | None]:
    """The role and reason the API shows for the decided role: never more than is true."""
    if s.maintenance and s.role != "pacified":
        return "not_operational", "maintenance"
    if s.role == "starting":
        return "not_operational", "starting"
    if s.role == "active" and s.config.shared_address and not s.serving:
        if s.bind_failed:
            return "not_operational", "shared-address-unavailable"
        return s.public_role, s.public_reason  # the bind is under way: nothing new to claim yet
    if s.role == "not_operational":
        return "not_operational", s.reason
    return s.role, None


def heartbeat(s: State, now: float) -> Heartbeat:
    """What this unit tells its partner (the driver adds identity, address and Redis URL)."""
    t = s.last_transition
    return Heartbeat(
        unit=s.config.unit,
        mode=s.config.mode,
        role=s.role,
        reason=s.reason,
        revision=s.revision,
        shared_address=s.config.shared_address,
        pacified=s.config.pacified,
        maintenance=s.maintenance,
        replicating=s.replica_of is not None,
        preferred_server=s.params.preferred_server,
        serving_shared=s.serving,
        active_since=s.active_since or 0.0,
        status_role=s.public_role,
        status_reason=s.public_reason,
        role_since=s.role_since,
        last_transition=None
        if t is None
        else TransitionInfo(from_role=t.from_role, to_role=t.to_role, cause=t.cause, at=t.at),
        sent_at=wall(s, now),
    )


def boot_wins(s: State, p: Heartbeat) -> bool:
    """Both starting: the preferred server wins, then the higher revision, then ``first``."""
    pref = s.params.preferred_server
    if pref == s.config.unit:
        return True
    if pref == p.unit:
        return False
    if s.revision != p.revision:
        return s.revision > p.revision
    return s.config.unit == "first"


def split_brain_wins(s: State, p: Heartbeat) -> bool:
    """Both active: the higher revision stays; on a tie the unit that became active more
    recently (a unit back from a freeze or a partition yields), then the preferred server,
    then ``first``."""
    if s.revision != p.revision:
        return s.revision > p.revision
    mine, theirs = s.active_since or 0.0, p.active_since or 0.0
    if mine != theirs:
        return mine > theirs
    pref = s.params.preferred_server
    if pref == s.config.unit:
        return True
    if pref == p.unit:
        return False
    return s.config.unit == "first"


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
        return _publish(s, [Promote()], now)
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
                s = _enter(s, "not_operational", "link-failure", now, actions, reason=None)
                s = replace(s, stopped=True)
                actions.append(Reboot("link-failure"))
                return _publish(s, actions, now)
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
                s = _enter(s, "standby", why, now, actions)
                s = replace(s, hold_until=now + 2 * s.params.ha_timeout)
            actions.append(Note("demote", (("by", by),)))
            actions.append(Reply(request, demoted=was_active))
        case Shutdown():
            s = _enter(s, "not_operational", "shutdown", now, actions, reason=None)
            s = replace(s, stopped=True)
            return _publish(s, actions, now)
        case _:
            s = _on_result(s, event, actions)
    if decide:
        s = _decide(s, now, actions, tick=tick)
    if tick:
        s = _maintain(s, now, actions)
    return _publish(s, actions, now)


def _on_request(s: State, event: Event, actions: list[Action]) -> State:
    """A request of the API or of the partner, or the answer to one this unit made."""
    now = event.now
    match event:
        case TakeoverAsked(request=request, cause=cause):
            return _takeover_asked(s, request, cause, now, actions)
        case SwitchoverAsked(request=request, dry_run=dry_run):
            return _switchover_asked(s, request, dry_run, now, actions)
        case MaintenanceSet():
            return _maintenance_set(s, event, actions)
        case HandoverDone(request=request, error=error, detail=detail):
            return _handover_done(s, request, error, detail, actions)
        case PartnerDemoted(request=request):
            return _partner_demoted(s, request, now, actions)
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
        return _enter(s, "pacified", "pacified", now, actions)
    if s.store_down_since is not None and now - s.store_down_since >= s.params.ha_timeout:
        # A unit without its Redis can neither serve nor keep the pair's data: it steps aside
        # (the partner takes over) until its Redis answers again.
        return _enter(s, "not_operational", "store-lost", now, actions, reason="not-synced")
    if p is not None:
        if p.mode == s.config.mode:
            return _enter(s, "not_operational", "misconfigured", now, actions, reason="same-mode")
        if (p.shared_address or None) != (s.config.shared_address or None):
            return _enter(
                s, "not_operational", "misconfigured", now, actions,
                reason="shared-address-mismatch",
            )  # fmt: skip
    contending = p is not None and p.role in ("active", "indeterminate")
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
            return _enter(s, "standby", cause("maintenance"), now, actions)
        return s
    if role == "starting":
        if p is None:
            if now - s.booted >= s.params.initial_wait_time:
                return _enter(s, "active", cause("boot-alone"), now, actions)
            return _enter(s, "starting", "boot-alone", now, actions, reason="starting")
        if contending:
            return _enter(s, "standby", cause("boot-partner-active"), now, actions)
        if p.role == "starting" and not boot_wins(s, p):
            return _enter(s, "starting", "boot-negotiated", now, actions, reason="starting")
        return _enter(s, "active", cause("boot-negotiated"), now, actions)

    if role == "active":
        if contending and p is not None:
            won = split_brain_wins(s, p)
            actions.append(Note("split-brain", (("won", won),)))
            return _enter(
                s, "indeterminate", "split-brain-won" if won else "split-brain-lost", now, actions
            )
        return s

    if role == "indeterminate":
        if not tick:  # grey for at least one heartbeat: both sides see the split brain
            return s
        if p is None or not contending or split_brain_wins(s, p):
            return _enter(s, "active", "split-brain-won", now, actions)
        return _enter(s, "standby", "split-brain-lost", now, actions)

    # standby
    if p is None:
        if holding(s, now):
            return s
        return _enter(s, "active", "partner-lost", now, actions)
    if contending or p.role == "starting":
        return s
    if p.role == "pacified" or p.pacified:
        return _enter(s, "active", "pacified", now, actions)
    if p.maintenance:
        return _enter(s, "active", "maintenance", now, actions)
    if p.role == "not_operational":
        why = {"not-synced": "store-lost", "maintenance": "maintenance"}.get(p.reason or "")
        return _enter(s, "active", why or "partner-lost", now, actions)
    stuck = (
        p.role == "standby"
        and not holding(s, now)
        and s.both_standby_since is not None
        and now - s.both_standby_since >= s.params.ha_timeout
    )
    if stuck and boot_wins(s, p):
        return _enter(s, "active", "boot-negotiated", now, actions)
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


def _takeover_asked(s: State, request: int, cause: str, now: float, actions: list[Action]) -> State:
    p = fresh_partner(s, now)
    if s.config.pacified:
        actions.append(Reply(request, "pacified", "this unit is pacified"))
    elif s.maintenance:
        actions.append(Reply(request, "not-active", "this unit is in maintenance"))
    elif s.role == "active":
        actions.append(Reply(request))
    elif not s.config.has_partner or p is None:
        actions.append(
            Reply(
                request,
                "partner-unavailable",
                "the partner is not reachable; it cannot be asked to step down",
            )
        )
    elif s.role != "standby" or p.role != "active":
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


def checks(s: State, now: float, *, maintenance: bool = False) -> tuple[Check, ...]:
    """The hand-over checks of a planned switchover (SPEC section 5); a maintenance hand-over
    skips ``preferred-server`` (maintenance is the way to move a preferred active aside)."""
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
    else:
        out.append(Check("partner-standby", p.role == "standby", f"the partner is {p.role}"))
        synced = p.replicating and p.revision == s.revision
        out.append(
            Check(
                "partner-in-sync",
                synced,
                f"partner at revision {p.revision}, this unit at {s.revision}, replication "
                + ("up" if p.replicating else "down"),
            )
        )
        paced = p.pacified or p.role == "pacified"
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
    if not maintenance:
        pref = s.params.preferred_server == s.config.unit
        out.append(
            Check(
                "preferred-server",
                not pref,
                f"{s.config.unit} is the preferred server: it would take the role back at "
                "once; put it in maintenance instead"
                if pref
                else f"preferred_server is {s.params.preferred_server}",
            )
        )
    return tuple(out)


def _switchover_asked(
    s: State, request: int, dry_run: bool, now: float, actions: list[Action]
) -> State:
    if s.role != "active":
        actions.append(Reply(request, "not-active", f"this unit is {s.role}"))
        return s
    found = checks(s, now)
    if dry_run:
        actions.append(Reply(request, checks=found))
    elif not all(c.ok for c in found):
        actions.append(Reply(request, "switchover-refused", checks=found))
    elif s.handover is not None or s.takeover is not None:
        actions.append(Reply(request, "not-active", "a hand-over is already under way"))
    else:
        s = replace(s, handover=Takeover(request=request, cause="switchover"))
        actions.append(AskHandover(request, "switchover"))
    return s


def _maintenance_set(s: State, event: MaintenanceSet, actions: list[Action]) -> State:
    request, enabled, now = event.request, event.enabled, event.now
    if not enabled or s.maintenance:
        s = replace(s, maintenance=enabled, cause="maintenance")
        actions.append(Reply(request))
        return s
    if s.role not in ("active", "indeterminate"):
        actions.append(Reply(request))
        return replace(s, maintenance=True, cause="maintenance")
    found = checks(s, now, maintenance=True)
    if all(c.ok for c in found) and s.handover is None and s.takeover is None:
        s = replace(s, handover=Takeover(request=request, cause="maintenance"))
        actions.append(AskHandover(request, "maintenance"))
        return s
    if not event.force:
        actions.append(Reply(request, "switchover-refused", checks=found))
        return s
    # forced: step aside at once; the partner takes over when it hears of the maintenance
    s = _enter(s, "standby", "maintenance", now, actions)
    actions.append(Reply(request, checks=found))
    return replace(s, maintenance=True, cause="maintenance")


def _handover_done(
    s: State, request: int, error: str | None, detail: str, actions: list[Action]
) -> State:
    pending = s.handover
    s = replace(s, handover=None)
    if error is not None:
        actions.append(Reply(request, error, detail))
        return s
    if pending is not None and pending.cause == "maintenance":
        s = replace(s, maintenance=True, cause="maintenance")
    actions.append(Reply(request))
    return s


def _partner_demoted(s: State, request: int | None, now: float, actions: list[Action]) -> State:
    pending = s.takeover
    s = replace(s, takeover=None)
    if s.role != "standby" or s.config.pacified:
        if request is not None:
            actions.append(Reply(request, "not-active", f"this unit is {s.role} now"))
        return s
    cause = pending.cause if pending is not None else "takeover"
    # What the partner said before it stepped down is stale: it is standby now.
    partner = s.partner
    if partner is not None:
        s = replace(s, partner=_replace_hb(partner, role="standby"))
    s = _enter(s, "active", cause, now, actions)
    if request is not None:
        actions.append(Reply(request))
    return s


def _replace_hb(hb: Heartbeat, **changes: object) -> Heartbeat:
    return msgspec.structs.replace(hb, **changes)


def _enter(
    s: State,
    role: EngineRole,
    cause: str,
    now: float,
    actions: list[Action],
    *,
    reason: str | None = None,
) -> State:
    """Takes the decided role ``role`` and queues what applying it needs."""
    if role == s.role and reason == s.reason:
        return s
    if role == s.role:  # same role, another reason (not_operational, starting)
        return replace(s, reason=reason, cause=cause)
    old = s.role
    s = replace(s, role=role, reason=reason, cause=cause, replica_of=None)
    leaving_service = old in ("active", "indeterminate") and role not in ("active", "indeterminate")
    if leaving_service and (s.serving or old == "active"):
        s = replace(s, serving=False, bind_failed=False)
        actions.append(StopShared())
    if role == "active":
        s = replace(s, master=False, serving=s.serving and old == "indeterminate")
        if old != "indeterminate":
            s = replace(s, active_since=wall(s, now))
        actions.append(Promote())
        if s.config.shared_address and not s.serving:
            actions.append(ServeShared())
    elif role == "indeterminate":
        if cause == "split-brain-lost" and s.serving:  # the expected loser stops serving now
            s = replace(s, serving=False)
            actions.append(StopShared())
    elif role in ("not_operational", "pacified"):
        actions.append(Promote())  # nobody else's copy: its Redis replicates nothing
    if s.config.has_partner:
        actions.append(SendHeartbeat())  # both views converge at once
    return s


def _publish(s: State, actions: list[Action], now: float) -> tuple[State, list[Action]]:
    """Records a change of the public role (with its cause) and queues its announcement."""
    role, reason = public(s)
    if (role, reason) == (s.public_role, s.public_reason):
        return s, actions
    cause = "shared-address-unavailable" if reason == "shared-address-unavailable" else s.cause
    if role == s.public_role and reason == "starting":
        # starting again (e.g. back from a misconfiguration): no new transition to tell
        return replace(s, public_reason=reason), actions
    t = Transition(from_role=s.public_role, to_role=role, cause=cause, at=wall(s, now))
    s = replace(s, public_role=role, public_reason=reason, role_since=t.at, last_transition=t)
    return s, [*actions, Transitioned(t, s.role)]
