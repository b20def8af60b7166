"""The role rules: the role a unit takes at boot and for what it knows now, and keeping the
role applied each heartbeat. Part of the engine's pure core (``machine.step`` calls them).
"""

from __future__ import annotations

from hapair.domain.status import Role
from hapair.engine.core.apply import enter, publish
from hapair.engine.core.events_actions import (
    Action,
    AskDemote,
    Note,
    Promote,
    RenewShared,
    ReplicateFrom,
    SendHeartbeat,
    ServeShared,
)
from hapair.engine.core.frozen import replace
from hapair.engine.core.state import (
    HOLDING,
    STARTING,
    Config,
    Params,
    State,
    Takeover,
    Told,
    TrackState,
    advert_heard,
    answered,
    auth_failure,
    boot_wins,
    fit,
    fresh_partner,
    holding,
    may_serve,
    partner_failed,
    split_brain_wins,
    stepped_down,
    version_skew,
    won_split_brain,
)
from hapair.engine.core.tracks_rules import failback_due
from hapair.engine.pairlink.messages import Heartbeat


def boot(
    config: Config,
    params: Params,
    revision: int,
    now: float,
    wall_now: float,
    *,
    told: Told | None = None,
) -> tuple[State, list[Action]]:
    """The state of a unit that has just booted, and what to do first. ``told``: what the
    previous boot of this process wrote to the event stream (its memory outlives a reboot)."""
    s = State(
        config=config,
        params=params,
        revision=revision,
        booted=now,
        wall_offset=wall_now - now,
        role_since=wall_now,
        maintenance=config.maintenance,
        maintenance_reason=config.maintenance_reason,
        maintenance_since=config.maintenance_since,
        tracks=tuple(TrackState(name=n) for n in config.tracks),
        told=told or Told(),
    )
    if config.pacified:
        s = replace(s, role=Role.PACIFIED, reason=None, cause="pacified")
        return publish(s, [Promote()], now)
    return s, [SendHeartbeat()]


def _both_standby(s: State, p: Heartbeat | None, now: float) -> State:
    """Both standby for a while (e.g. after both stepped aside): tracked for the stuck rule."""
    both = s.role == Role.STANDBY and p is not None and p.role == Role.STANDBY
    if not both:
        return replace(s, both_standby_since=None)
    if s.both_standby_since is None:
        return replace(s, both_standby_since=now)
    return s


def _partner_refused(s: State, now: float, actions: list[Action]) -> State | None:
    """The partner answers but is not this pair's partner (another pair key, another pair):
    never both active (SPEC 5): this unit takes no role until it is authentic or gone. Another
    pair because the partner was given another shared address: that is said instead."""
    if auth_failure(s, now) is None:
        return None
    if s.auth_shared is not None and s.auth_shared != (s.config.shared_address or ""):
        return enter(
            s, Role.NOT_OPERATIONAL, "misconfigured", now, actions,
            reason="shared-address-mismatch",
        )  # fmt: skip
    return enter(
        s, Role.NOT_OPERATIONAL, "partner-auth-failed", now, actions,
        reason="partner-auth-failed",
    )  # fmt: skip


def decide(s: State, now: float, actions: list[Action], *, tick: bool) -> State:
    """Takes the role the rules give for what the unit knows now."""
    p = fresh_partner(s, now)
    s = _both_standby(s, p, now)

    if s.config.pacified:
        return enter(s, Role.PACIFIED, "pacified", now, actions)
    if s.store_down_since is not None and now - s.store_down_since >= s.params.ha_timeout:
        # A unit without its Redis can neither serve nor keep the pair's data: it steps aside
        # (the partner takes over) until its Redis answers again.
        return enter(s, Role.NOT_OPERATIONAL, "store-lost", now, actions, reason="not-synced")
    if (refused := _partner_refused(s, now, actions)) is not None:
        return refused
    # The partner's address answers, but no authentic heartbeat: it is there (a 503 under
    # load or while it boots, a refusal): never boot alone, fail over or take the role for it.
    # So is a partner whose signed adverts still arrive (SPEC 5b': only the HTTP path is lost).
    there = p is None and (answered(s, now) or advert_heard(s, now))
    if p is not None:
        if version_skew(s, p):
            # neither takes the role from the other: no failover, no boot next to it
            return enter(
                s, Role.NOT_OPERATIONAL, "version-skew", now, actions, reason="version-skew"
            )
        if p.mode == s.config.mode:
            return enter(s, Role.NOT_OPERATIONAL, "misconfigured", now, actions, reason="same-mode")
        if (p.shared_address or None) != (s.config.shared_address or None):
            return enter(
                s, Role.NOT_OPERATIONAL, "misconfigured", now, actions,
                reason="shared-address-mismatch",
            )  # fmt: skip
    contending = p is not None and p.role in HOLDING
    # a partner still starting will decide (wait for it), unless it is in maintenance or has a
    # failed track: then it never takes the role
    deciding = p is not None and p.role == STARTING and not p.maintenance and not partner_failed(p)
    able = fit(s)  # no failed track, none unchecked: it may be promoted
    # An active unit contends only with a partner that holds or serves the role: a partner
    # that went grey and stopped serving is the loser of the split brain, yielding, unless it
    # went grey as the winner (it could not bind while this unit held the address: the heartbeat
    # that said it was active may have been lost)
    rival = p is not None and (
        p.role == Role.ACTIVE
        or (p.role == Role.INDETERMINATE and (p.serving_shared or won_split_brain(p)))
    )
    role = s.role
    back_from: str | None = None
    if role == Role.NOT_OPERATIONAL:
        back_from = s.reason
        role = STARTING

    def cause(default: str) -> str:
        return "store-back" if back_from == "not-synced" else default

    if s.maintenance and role != Role.ACTIVE:
        # in maintenance: never active; its Redis follows the active's (it stays in sync)
        if contending:
            return enter(s, Role.STANDBY, cause("maintenance"), now, actions)
        return s
    if role == STARTING:
        if p is None:
            # alone only at a tick: the heartbeat exchange comes before it (a track's first
            # result may arrive before the partner's answer); never while the partner answers
            wait = max(s.params.initial_wait_time, s.config.listen_first)
            if able and tick and not there and now - s.booted >= wait:
                return enter(s, Role.ACTIVE, cause("boot-alone"), now, actions)
            return enter(s, STARTING, "boot-alone", now, actions, reason="starting")
        if contending:
            return enter(s, Role.STANDBY, cause("boot-partner-active"), now, actions)
        if not able or (deciding and not boot_wins(s, p)):
            return enter(s, STARTING, "boot-negotiated", now, actions, reason="starting")
        return enter(s, Role.ACTIVE, cause("boot-negotiated"), now, actions)

    if role == Role.ACTIVE:
        if rival and p is not None:
            won = split_brain_wins(s, p, now)
            actions.append(Note("split-brain", (("won", won),)))
            why = "split-brain-won" if won else "split-brain-lost"
            return enter(s, Role.INDETERMINATE, why, now, actions)
        return s

    if role == Role.INDETERMINATE:
        if not tick:  # grey for at least one heartbeat: both sides see the split brain
            return s
        # Both grey: the split-brain rule decides, the same way on both sides, whether or not
        # the partner serves yet (a winner that could not bind while this unit still held the
        # address is grey and not serving, and it is not yielding).
        contest = p is not None and (rival or p.role == Role.INDETERMINATE)
        if p is None or not contest or _still_wins(s, p, now):
            return enter(s, Role.ACTIVE, "split-brain-won", now, actions)
        return enter(s, Role.STANDBY, "split-brain-lost", now, actions)

    # standby
    if not able:
        return s  # a failed (or unchecked) track: never promoted
    if p is None:
        if holding(s, now) or there:
            return s
        return enter(s, Role.ACTIVE, "partner-lost", now, actions)
    if contending or deciding:
        return s
    if partner_failed(p) and p.role in (STARTING, Role.STANDBY) and s.takeover is None:
        # nobody holds the role and the partner cannot take it: this fit unit does
        return enter(s, Role.ACTIVE, "track-failed", now, actions)
    if p.role == Role.PACIFIED or p.pacified:
        return enter(s, Role.ACTIVE, "pacified", now, actions)
    if p.maintenance:
        return enter(s, Role.ACTIVE, "maintenance", now, actions)
    if p.role == Role.NOT_OPERATIONAL:
        lost = {"not-synced": "store-lost", "maintenance": "maintenance"}.get(p.reason or "")
        return enter(s, Role.ACTIVE, lost or "partner-lost", now, actions)
    stuck = (
        p.role == Role.STANDBY
        and not holding(s, now)
        and s.both_standby_since is not None
        and now - s.both_standby_since >= s.params.ha_timeout
    )
    if stuck and (boot_wins(s, p) or stepped_down(p, s.params)):
        # a partner that stepped down on request holds off: this unit takes the role (the
        # answer to its request may have been lost on the way)
        return enter(s, Role.ACTIVE, "boot-negotiated", now, actions)
    return s


def _still_wins(s: State, p: Heartbeat, now: float) -> bool:
    """Both grey: the split-brain rule, unless the partner's own verdict (its grey transition's
    cause) says the same as this unit's. Each measured the other's time in the role through a
    heartbeat that took a while, so the two can disagree near a tie: then both fall back to
    what they read alike (the preferred server, then ``first``)."""
    won = split_brain_wins(s, p, now)
    t = p.last_transition
    if p.role == Role.INDETERMINATE and t is not None and t.to_role == Role.INDETERMINATE:
        theirs = t.cause == "split-brain-won"
        if theirs == won and t.cause in ("split-brain-won", "split-brain-lost"):
            pref = s.params.preferred_server
            if pref in (s.config.unit, p.unit):
                return pref == s.config.unit
            return s.config.unit == "first"
    return won


def maintain(s: State, now: float, actions: list[Action]) -> State:
    """Each heartbeat: keep the role applied (retrying what failed).

    The heartbeat exchange itself comes before each ``Tick`` (its answer is a ``Heard``), so a
    decision at a tick has the partner's latest word.
    """
    p = fresh_partner(s, now)
    if s.role in HOLDING and s.serving and s.config.shared_address:
        actions.append(RenewShared())  # the virtual IP's lease (SPEC 5b)
    if s.role == Role.ACTIVE:
        if not s.master:
            actions.append(Promote())
        if s.config.shared_address and not s.serving and may_serve(s, now):
            actions.append(ServeShared())
    elif s.role == Role.STANDBY:
        if p is not None and p.role == Role.ACTIVE and p.redis_url:
            actions.append(ReplicateFrom(p.redis_url))
        if (
            s.takeover is None
            and p is not None
            and p.role == Role.ACTIVE
            and s.params.preferred_server == s.config.unit
            and not holding(s, now)
            and not s.maintenance
            and failback_due(s, now)
        ):
            # The preferred server is back, fit and in sync for failback_delay: it takes the
            # role back.
            s = replace(s, takeover=Takeover(request=None, cause="preferred-return"))
            actions.append(AskDemote(None))
    return s
