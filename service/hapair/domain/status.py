"""Pair and unit status as reported by ``GET /ha/status``."""

from __future__ import annotations

import enum
from typing import Literal

import msgspec

from hapair.domain.tracks import TrackSummary


class Role(enum.StrEnum):
    """A unit's role as the API shows it."""

    # A member equals its value (Role.ACTIVE == "active") and is encoded as it; ``icon`` is
    # its status icon (the seed's squares). This docstring is the schema's description.

    ACTIVE = "active"
    STANDBY = "standby"
    NOT_OPERATIONAL = "not_operational"
    PACIFIED = "pacified"
    INDETERMINATE = "indeterminate"

    @property
    def icon(self) -> str:
        """``green-active``, ``green``, ``red``, ``blue`` or ``grey``."""
        return ICONS[self]


ICONS: dict[Role, str] = {
    Role.ACTIVE: "green-active",
    Role.STANDBY: "green",
    Role.NOT_OPERATIONAL: "red",
    Role.PACIFIED: "blue",
    Role.INDETERMINATE: "grey",
}
MAINTENANCE_ICON = "yellow"  # a not_operational unit in maintenance

Reason = Literal[
    "unreachable",
    "same-mode",
    "shared-address-mismatch",
    "not-synced",
    "starting",
    "shared-address-unavailable",
    "maintenance",
    "track-failed",
    "version-skew",
    "partner-auth-failed",
]
PairState = Literal["paired", "degraded", "split-brain", "misconfigured", "disabled"]
PAIR_STATES: tuple[str, ...] = PairState.__args__  # type: ignore[attr-defined]


def icon_for(role: Role | str, reason: str | None = None) -> str:
    """The seed's status icon of a role (maintenance is the yellow square)."""
    if role == Role.NOT_OPERATIONAL and reason == "maintenance":
        return MAINTENANCE_ICON
    return Role(role).icon


class LastTransition(msgspec.Struct, kw_only=True):
    """A unit's last change of role, and why (``cause``)."""

    from_role: str = msgspec.field(name="from")
    to_role: str = msgspec.field(name="to")
    cause: str
    at: str


class Alert(msgspec.Struct, kw_only=True):
    """A condition a unit sees that changes no role (e.g. ``clock-skew``), as ``alert`` events
    announce it."""

    reason: str
    detail: str
    since: str


class Links(msgspec.Struct, kw_only=True):
    """Which of the pair's links a unit hears its partner on (SPEC 5b'): ``heartbeat`` (the
    heartbeats over the direct addresses), ``update`` (the link that carries configuration
    sync: while no separate update link is built, the direct link, so ``heartbeat``'s) and
    ``advert`` (the partner's signed adverts; always false on one host, which sends none)."""

    heartbeat: bool
    update: bool
    advert: bool


class UnitStatus(msgspec.Struct, kw_only=True):
    """One unit's status."""

    name: str
    role: Role
    icon: str
    reason: Reason | None = None
    address: str | None = None
    revision: int | None = None
    last_heartbeat_at: str | None = None
    in_sync: bool | None = None
    serving_shared: bool = False
    role_since: str | None = None
    last_transition: LastTransition | None = None
    # the pair key it signs with and the next one (rotation, SPEC 6): ids, never keys
    pair_key_id: str | None = None
    pair_key_next_id: str | None = None
    tracks: list[TrackSummary] = []
    version: str | None = None  # hapair's version on that unit (null: not known)
    protocol: int | None = None  # the unit-to-unit protocol it speaks
    detail: str | None = None  # what the reason saw, e.g. ``another pair key``
    alerts: list[Alert] = []
    links: Links | None = None  # null: not known (a partner not heard, or older than links)


class PairInfo(msgspec.Struct, kw_only=True):
    """The pair's overall state and its active unit."""

    state: PairState
    active: str | None = None


class PairStatus(msgspec.Struct, kw_only=True):
    """The body of ``GET /ha/status``."""

    pair: PairInfo
    units: list[UnitStatus] = []


def unit_status(
    name: str,
    role: Role | str,
    *,
    reason: Reason | None = None,
    address: str | None = None,
    revision: int | None = None,
    last_heartbeat_at: str | None = None,
    in_sync: bool | None = None,
    serving_shared: bool = False,
    role_since: str | None = None,
    last_transition: LastTransition | None = None,
    tracks: list[TrackSummary] | None = None,
    version: str | None = None,
    protocol: int | None = None,
    detail: str | None = None,
    alerts: list[Alert] | None = None,
    links: Links | None = None,
) -> UnitStatus:
    """Build a unit status, with the icon that goes with the role.

    Args:
        name: Unit name.
        role: Unit role (a plain string is taken as the Role of that value).
        reason: Why the unit is not operational, if it is not.
        address: The unit's direct address.
        revision: The unit's parameter revision.
        last_heartbeat_at: RFC 3339 time of the last heartbeat heard.
        in_sync: Whether the unit's data matches the active's.
        serving_shared: Whether the unit answers on the shared address.
        role_since: RFC 3339 time it took its current role.
        last_transition: Its last role change and the cause.
        tracks: Its tracks (the partner's as its last heartbeat said).
        version: hapair's version on that unit.
        protocol: The unit-to-unit protocol it speaks.
        detail: What its reason saw (``partner-auth-failed``: another pair key, ...).
        alerts: The conditions it sees that change no role.
        links: Which links it hears its partner on (None: not known).

    Returns:
        The unit status.
    """
    role = Role(role)
    return UnitStatus(
        name=name,
        role=role,
        icon=icon_for(role, reason),
        reason=reason,
        address=address,
        revision=revision,
        last_heartbeat_at=last_heartbeat_at,
        in_sync=in_sync,
        serving_shared=serving_shared,
        role_since=role_since,
        last_transition=last_transition,
        tracks=tracks or [],
        version=version,
        protocol=protocol,
        detail=detail,
        alerts=alerts or [],
        links=links,
    )


def pair_state(units: list[UnitStatus]) -> PairInfo:
    """Derive the pair state from the units' statuses.

    Args:
        units: Status of each known unit (empty when HA is disabled).

    Returns:
        The pair state and the name of the single active unit, if any.
    """
    if not units:
        return PairInfo(state="disabled")
    actives = [u for u in units if u.role == Role.ACTIVE]
    active = actives[0].name if len(actives) == 1 else None
    if len(actives) > 1 or any(u.role == Role.INDETERMINATE for u in units):
        return PairInfo(state="split-brain", active=active)
    if any(u.reason in ("same-mode", "shared-address-mismatch", "version-skew") for u in units):
        return PairInfo(state="misconfigured", active=active)
    standbys = [u for u in units if u.role == Role.STANDBY]
    if (
        len(units) == 2
        and len(actives) == 1
        and len(standbys) == 1
        and all(u.reason is None for u in units)
    ):
        return PairInfo(state="paired", active=active)
    return PairInfo(state="degraded", active=active)
