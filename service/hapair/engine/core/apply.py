"""Taking a role and telling it: the two moves every rule of the engine ends with. Pure."""

from __future__ import annotations

from hapair.domain.status import Role
from hapair.engine.core.events_actions import (
    Action,
    Promote,
    Reannounce,
    SendHeartbeat,
    ServeShared,
    StopShared,
    Transitioned,
)
from hapair.engine.core.frozen import replace
from hapair.engine.core.state import HOLDING, EngineRole, State, Transition, public, wall


def enter(
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
    s = replace(s, role=role, reason=reason, cause=cause, replica_of=None, replica_link_up=False)
    leaving_service = old in HOLDING and role not in HOLDING
    if leaving_service and (s.serving or old == Role.ACTIVE):
        s = replace(s, serving=False, bind_failed=False)
        actions.append(StopShared())
    if role == Role.ACTIVE:
        s = replace(s, master=False, serving=s.serving and old == Role.INDETERMINATE)
        if old != Role.INDETERMINATE:
            s = replace(s, active_since=wall(s, now), active_at=now)
        actions.append(Promote())
        if s.config.shared_address and not s.serving:
            actions.append(ServeShared())
        elif s.config.shared_address and old == Role.INDETERMINATE:
            actions.append(Reannounce())  # kept serving through a split brain it won
    elif role == Role.INDETERMINATE:
        if cause == "split-brain-lost" and s.serving:  # the expected loser stops serving now
            s = replace(s, serving=False)
            actions.append(StopShared())
    elif role in (Role.NOT_OPERATIONAL, Role.PACIFIED):
        actions.append(Promote())  # nobody else's copy: its Redis replicates nothing
    if s.config.has_partner:
        actions.append(SendHeartbeat())  # both views converge at once
    return s


def publish(s: State, actions: list[Action], now: float) -> tuple[State, list[Action]]:
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
