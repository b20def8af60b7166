"""The role decision of one unit, pure: from what it knows of itself and its partner.

Kept free of I/O so every transition can be unit-tested; the engine applies the side effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EngineRole = Literal[
    "starting", "active", "standby", "not_operational", "pacified", "indeterminate"
]


@dataclass(frozen=True, kw_only=True)
class PartnerFacts:
    """The partner as its last heartbeat described it."""

    unit: str
    mode: str
    role: str
    revision: int
    shared_address: str | None
    pacified: bool = False


@dataclass(frozen=True, kw_only=True)
class Facts:
    """Everything the decision needs."""

    unit: str
    mode: str
    role: EngineRole
    revision: int
    shared_address: str | None
    pacified: bool
    preferred_server: str
    initial_wait_time: float
    ha_timeout: float
    booted_for: float
    partner: PartnerFacts | None  # None: not heard within ha_timeout
    holding: bool = False  # just demoted for a takeover: do not grab the role back
    both_standby_for: float = 0.0
    store_down_for: float = 0.0  # how long this unit's own Redis has not answered


@dataclass(frozen=True)
class Decision:
    """The role to take, and why when it is not operational."""

    role: EngineRole
    reason: str | None = None


def wins(unit: str, revision: int, partner: PartnerFacts, preferred_server: str) -> bool:
    """Whether this unit should be the active one when both contend.

    The higher revision wins (no committed revision is given up lightly); on a tie the
    preferred server, then ``first``.
    """
    if revision != partner.revision:
        return revision > partner.revision
    if preferred_server == unit:
        return True
    if preferred_server == partner.unit:
        return False
    return unit == "first"


def decide(f: Facts) -> Decision:
    """The next role of this unit."""
    if f.pacified:
        return Decision("pacified")
    if f.store_down_for >= f.ha_timeout:
        # A unit without its Redis can neither serve nor keep the pair's data: it steps
        # aside (its partner takes over) until the Redis answers again.
        return Decision("not_operational", "not-synced")
    p = f.partner
    if p is not None:
        if p.mode == f.mode:
            return Decision("not_operational", "same-mode")
        if (p.shared_address or None) != (f.shared_address or None):
            return Decision("not_operational", "shared-address-mismatch")
    role: EngineRole = "starting" if f.role == "not_operational" else f.role
    contending = p is not None and p.role in ("active", "indeterminate")

    if role == "starting":
        if p is None:
            if f.booted_for >= f.initial_wait_time:
                return Decision("active")
            return Decision("starting", "starting")
        if contending:
            return Decision("standby")
        if p.role == "starting":
            if wins(f.unit, f.revision, p, f.preferred_server):
                return Decision("active")
            return Decision("starting", "starting")
        return Decision("active")

    if role == "active":
        return Decision("indeterminate") if contending else Decision("active")

    if role == "indeterminate":
        if p is None or not contending:
            return Decision("active")
        if wins(f.unit, f.revision, p, f.preferred_server):
            return Decision("active")
        return Decision("standby")

    # standby
    if p is None:
        return Decision("standby") if f.holding else Decision("active")
    if contending or p.role == "starting":
        return Decision("standby")
    if p.role in ("pacified", "not_operational") or p.pacified:
        return Decision("active")
    stuck = p.role == "standby" and not f.holding and f.both_standby_for >= f.ha_timeout
    if stuck and wins(f.unit, f.revision, p, f.preferred_server):
        return Decision("active")
    return Decision("standby")


def wants_takeover(f: Facts, *, in_sync: bool) -> bool:
    """A preferred standby in sync with the active takes the role back (double failover)."""
    p = f.partner
    return (
        f.role == "standby"
        and not f.holding
        and p is not None
        and p.role == "active"
        and f.preferred_server == f.unit
        and in_sync
    )
