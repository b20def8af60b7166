"""Whether each HA parameter is applied on a unit (SPEC 3 "Every parameter takes effect",
``GET /ha/parameters/applied``). Pure: no I/O.

A parameter's state is ``applied`` (in effect, as stored), ``pending`` (not yet: the unit is
applying it), ``unsupported`` (this unit cannot apply it; the detail says why) or ``failed``
(it tried, and the detail says what went wrong). Nothing is ever ``applied`` that is not.
"""

from __future__ import annotations

from typing import Final, Literal

from hapair.domain.parameters import HAParameters
from hapair.engine.pairlink.messages import AdvertsReport, AppliedState, UpdateLinkReport

State = Literal["applied", "pending", "unsupported", "failed"]
STATES: Final[tuple[str, ...]] = ("applied", "pending", "unsupported", "failed")

# Applied by the HA engine itself (SPEC 5): in effect once the engine runs with the revision.
ENGINE: Final = frozenset(
    {
        "ha_timeout",
        "initial_wait_time",
        "virtual_id",
        "preferred_server",
        "hard_reboot_on_link_failure",
        "use_virtual_mac",
        "failback_delay",
    }
)
L4: Final = (
    "l4_connection_updates",
    "l4_sync_threshold",
    "l4_sync_period",
    "l4_sync_refresh_period",
)
L7: Final = "l7_persistence_updates"
# The pair's links (SPEC 5b'): adverts (``multicast_interface``, ``use_broadcast``); the update
# link is not built in this version.
LINKS: Final = ("update_interface", "multicast_interface", "use_broadcast")
# Read-only fields of the resource, not parameters.
_NOT_PARAMETERS: Final = frozenset({"revision", "updated_at", "virtual_id_source"})


def parameters() -> tuple[str, ...]:
    """The HA parameters, in the resource's order (``failback_delay`` once it exists)."""
    return tuple(f for f in HAParameters.__struct_fields__ if f not in _NOT_PARAMETERS)


def engine_state(
    name: str,
    params: HAParameters,
    *,
    running: bool,
    engine_revision: int,
    revision: int,
    shared_interface: bool,
    interfaces: tuple[str, ...],
) -> AppliedState:
    """An engine-applied parameter: ``applied`` once the engine runs with ``revision``.

    Args:
        name: The parameter.
        params: The parameters of ``revision``.
        running: Whether the HA engine runs.
        engine_revision: The revision the engine's rules run with.
        revision: The revision being reported.
        shared_interface: Whether the unit moves the shared IP as a virtual IP.
        interfaces: The monitored interfaces (``--interface``).
    """
    if not running:
        return AppliedState(state="pending", detail="the HA engine is not running")
    if engine_revision < revision:
        return AppliedState(
            state="pending", detail=f"the engine runs with revision {engine_revision}"
        )
    if name == "use_virtual_mac" and params.use_virtual_mac and not shared_interface:
        return AppliedState(
            state="unsupported",
            detail="no --shared-interface: the shared IP is not a virtual IP, no MAC moves",
        )
    detail = f"the engine runs with revision {engine_revision}"
    if name == "hard_reboot_on_link_failure" and params.hard_reboot_on_link_failure:
        watched = ", ".join(interfaces) if interfaces else "none (no --interface given)"
        detail += f"; links watched: {watched}"
    return AppliedState(state="applied", detail=detail)


def links_state(
    name: str,
    *,
    one_host: bool,
    params: HAParameters | None = None,
    adverts: AdvertsReport | None = None,
    update: UpdateLinkReport | None = None,
) -> AppliedState:
    """``update_interface``, ``multicast_interface``, ``use_broadcast``: the pair's links.

    The advert parameters are ``applied`` only once adverts went out that way (on that
    interface, to the group or to its broadcast address as ``use_broadcast`` says); ``failed``
    with the reason when they cannot (no such interface, no IPv4 address or broadcast address
    on it); ``unsupported`` on one host (SPEC 5b': a pair on one host sends none) and on a unit
    without ``--shared-interface``."""
    if name == "update_interface":
        return update_state(one_host=one_host, report=update)
    if one_host:
        return AppliedState(state="unsupported", detail="one host: no adverts")
    if adverts is None or params is None:
        return AppliedState(
            state="unsupported",
            detail="no --shared-interface: adverts go out only from a pair on two hosts",
        )
    if adverts.interface != params.multicast_interface or adverts.broadcast != (
        params.use_broadcast
    ):
        return AppliedState(state="pending", detail="the adverts link is being reopened")
    if adverts.error is not None:
        return AppliedState(state="failed", detail=adverts.error)
    if not adverts.sent or adverts.destination is None:
        return AppliedState(state="pending", detail="no advert sent that way yet")
    ipv6 = ":" in adverts.destination
    to = (
        f"[{adverts.destination}]:{adverts.port}"
        if ipv6
        else f"{adverts.destination}:{adverts.port}"
    )
    if name == "multicast_interface":
        return AppliedState(state="applied", detail=f"adverts on {adverts.interface} to {to}")
    broadcast = "the all-nodes group (IPv6)" if ipv6 else "the broadcast address"
    way = f"on: to {broadcast}" if adverts.broadcast else "off: to the multicast group"
    return AppliedState(state="applied", detail=f"{way} {to}")


FALLBACK = "replication and the unit-to-unit calls use the direct link"


def update_state(*, one_host: bool, report: UpdateLinkReport | None) -> AppliedState:
    """``update_interface`` (SPEC 5b'): ``applied`` once this unit and its partner have
    addresses on it (in one subnet): heartbeats go over it too, replication and the hand-over
    calls go there; ``failed`` with the reason when this unit has no such interface or no
    address on it, or the partner has none (the direct link carries everything then);
    ``unsupported`` on one host (both units on loopback: there is no second link)."""
    if one_host:
        return AppliedState(
            state="unsupported", detail="one host: the units share loopback, no update link"
        )
    if report is None:
        return AppliedState(state="pending", detail="the update link is not read yet")
    if report.error is not None:
        return AppliedState(state="failed", detail=f"{report.error}: {FALLBACK}")
    if not report.partner_heard:
        return AppliedState(state="pending", detail="the partner's addresses are not known yet")
    if report.direct and report.partner is not None:
        return AppliedState(
            state="applied",
            detail=f"{report.interface} carries the direct addresses: the direct link "
            f"({report.local} to {report.partner}) is the update link",
        )
    if report.partner is None or report.local is None:
        detail = (
            f"the partner has no address on {report.interface} in this unit's subnets there "
            f"({report.local}): {FALLBACK}"
        )
        return AppliedState(state="failed", detail=detail)
    return AppliedState(
        state="applied",
        detail=f"update link on {report.interface}: {report.local} to the partner's "
        f"{report.partner} (heartbeats, replication, hand-over calls)",
    )


def changed(
    before: dict[str, AppliedState], after: dict[str, AppliedState]
) -> list[tuple[str, AppliedState]]:
    """The parameters whose state (not only detail) differs, in ``after``'s order."""
    return [
        (name, now)
        for name, now in after.items()
        if name not in before or before[name].state != now.state
    ]
