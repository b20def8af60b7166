"""HA parameters: the pair-wide, replicated settings, their types and rules."""

from __future__ import annotations

import functools
import ipaddress
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.parameter_rules import field_rules

HATimeout = Annotated[
    Literal[3, 6, 9, 12, 15],
    Meta(description="Seconds without a heartbeat before the standby takes over."),
]
InitialWait = Annotated[
    int,
    Meta(ge=0, le=180, description="Seconds a booting unit waits for its partner."),
]
VirtualId = Annotated[
    int,
    Meta(
        ge=1,
        le=255,
        description="CARP virtual ID; null in a write means auto.",
        extra={"null": "auto"},
    ),
]
PreferredServer = Annotated[
    Literal["none", "first", "second"],
    Meta(description="Unit that takes over whenever it is up, or none."),
]
# One pattern in the OpenAPI document and in the server (ECMA-262 and Python agree on it): the
# interface names Linux accepts that are also safe in a path, a shell and a log.
INTERFACE_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9_.-]{1,15}$"
_INTERFACE_CHARS = "1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..')"
InterfaceName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=15,
        pattern=INTERFACE_PATTERN,
        description=f"Linux interface name: {_INTERFACE_CHARS}.",
        extra={"expected": f"an interface name: {_INTERFACE_CHARS}"},
    ),
]
SyncThreshold = Annotated[
    int,
    Meta(ge=1, le=254, description="IPVS sync threshold in packets; less than l4_sync_period."),
]
SyncPeriod = Annotated[
    int,
    Meta(ge=2, le=255, description="IPVS sync period in packets; greater than the threshold."),
]
RefreshPeriod = Annotated[
    int,
    Meta(ge=0, le=10, description="Seconds between IPVS connection refreshes (0 = off)."),
]
UseBroadcast = Annotated[bool, Meta(description="Send CARP to broadcast instead of multicast.")]
HardReboot = Annotated[
    bool,
    Meta(description="Reboot when a monitored link fails; only while preferred_server is none."),
]
L4Updates = Annotated[bool, Meta(description="Replicate L4 (IPVS) connection state.")]
L7Updates = Annotated[bool, Meta(description="Replicate L7 persistence tables.")]
UseVirtualMac = Annotated[bool, Meta(description="Use the CARP virtual MAC address.")]
FailbackDelay = Annotated[
    int,
    Meta(
        ge=0,
        le=3600,
        description=(
            "Seconds a returning preferred server must be healthy (no failed track) and in "
            "sync before it takes the role back (keepalived preempt_delay)."
        ),
    ),
]


class HAParameters(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The stored HA parameters (without revision metadata)."""

    ha_timeout: HATimeout = 9
    initial_wait_time: InitialWait = 0
    virtual_id: VirtualId | None = None
    use_broadcast: UseBroadcast = False
    preferred_server: PreferredServer = "none"
    update_interface: InterfaceName = "eth0"
    hard_reboot_on_link_failure: HardReboot = False
    l4_connection_updates: L4Updates = False
    l4_sync_threshold: SyncThreshold = 3
    l4_sync_period: SyncPeriod = 50
    l4_sync_refresh_period: RefreshPeriod = 0
    l7_persistence_updates: L7Updates = False
    multicast_interface: InterfaceName = "eth0"
    use_virtual_mac: UseVirtualMac = False
    failback_delay: FailbackDelay = 0


Revision = Annotated[int, Meta(ge=0, description="Revision of the HA parameters.")]
VirtualIdSource = Literal["auto", "manual"]


class ReadOnlyFields(msgspec.Struct, frozen=True, kw_only=True):
    """What a read answers next to the parameters (a write may send them back: ignored)."""

    revision: Revision
    updated_at: str | None
    virtual_id_source: VirtualIdSource


PARAMETER_FIELDS: tuple[str, ...] = HAParameters.__struct_fields__
READ_ONLY_FIELDS = frozenset(ReadOnlyFields.__struct_fields__)
DEFAULTS = HAParameters()
# What each field accepts and the words for it, read from the annotations above.
_RULES = field_rules(HAParameters)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def decode_fields(
    raw: object, *, allow_null: bool = False, pointer_prefix: str = ""
) -> dict[str, Any]:
    """Validate a JSON-decoded body field by field, strictly.

    Read-only fields are dropped; unknown fields and invalid values are all
    collected and reported together.

    Args:
        raw: The already JSON-decoded request body.
        allow_null: Keep ``None`` values (merge-patch "reset to default").
        pointer_prefix: Prefix for the JSON pointers in reported errors.

    Returns:
        The validated parameter values, keyed by field name.

    Raises:
        ValidationFailed: The body is not an object or a field is invalid.
    """
    if not isinstance(raw, dict):
        raise ValidationFailed(
            [FieldError(pointer_prefix, "request body must be a JSON object")],
            "request body must be a JSON object",
        )
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in raw.items():
        if key in READ_ONLY_FIELDS:
            continue
        if key not in _RULES:
            pointer = f"{pointer_prefix}/{_escape(str(key))}"
            errors.append(FieldError(pointer, f"unknown field '{key}'"))
            continue
        if value is None and (allow_null or _RULES[key].nullable):
            values[key] = None
            continue
        converted, problem = _RULES[key].convert(key, value)
        if problem is not None:
            errors.append(FieldError(f"{pointer_prefix}/{key}", problem))
        else:
            values[key] = converted
    if errors:
        raise ValidationFailed(errors)
    return values


def _build(base: HAParameters, values: dict[str, Any]) -> HAParameters:
    checked = decode_fields(values, allow_null=True)
    merged = to_dict(base)
    for key, value in checked.items():
        merged[key] = getattr(DEFAULTS, key) if value is None else value
    params = HAParameters(**merged)
    check_rules(params)
    return params


def build_put(values: dict[str, Any]) -> HAParameters:
    """Build parameters for a full replace: omitted fields take their defaults.

    Args:
        values: Field values, as returned by :func:`decode_fields`.

    Returns:
        The new parameters.

    Raises:
        ValidationFailed: A value or a cross-field rule is invalid.
    """
    return _build(DEFAULTS, values)


def build_patch(current: HAParameters, values: dict[str, Any]) -> HAParameters:
    """Apply an RFC 7396 merge patch; ``None`` resets a field to its default.

    Args:
        current: The stored parameters.
        values: Field values, as returned by ``decode_fields(..., allow_null=True)``.

    Returns:
        The new parameters.

    Raises:
        ValidationFailed: A value or a cross-field rule is invalid.
    """
    return _build(current, values)


def _js(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def check_rules(p: HAParameters) -> None:
    """Check the cross-field rules.

    Args:
        p: Parameters to check.

    Raises:
        ValidationFailed: One error per field involved in each broken rule.
    """
    errors: list[FieldError] = []
    if p.l4_sync_threshold >= p.l4_sync_period:
        detail = (
            f"l4_sync_threshold ({p.l4_sync_threshold}) must be less than "
            f"l4_sync_period ({p.l4_sync_period})"
        )
        errors += [FieldError("/l4_sync_threshold", detail), FieldError("/l4_sync_period", detail)]
    if p.hard_reboot_on_link_failure and p.preferred_server != "none":
        detail = (
            f"hard_reboot_on_link_failure ({_js(p.hard_reboot_on_link_failure)}) requires "
            f"preferred_server to be none, not {p.preferred_server}"
        )
        errors += [
            FieldError("/hard_reboot_on_link_failure", detail),
            FieldError("/preferred_server", detail),
        ]
    if errors:
        raise ValidationFailed(errors)


def _ip_of(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = address.strip()
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    host, sep, _port = text.rpartition(":")
    if not sep:
        return None
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


@functools.lru_cache(maxsize=16)  # asked at every engine step (issue 23: idle CPU)
def auto_virtual_id(shared_address: str | None) -> int:
    """Derive the automatic virtual ID from the shared address.

    Args:
        shared_address: ``HOST:PORT`` or ``[V6]:PORT`` with an IP literal host.

    Returns:
        The last 8 bits of the IP, or 1 when those are 0 or the address is
        missing or unparsable.
    """
    if not shared_address:
        return 1
    ip = _ip_of(shared_address)
    if ip is None:
        return 1
    return ip.packed[-1] or 1


def effective_virtual_id(
    p: HAParameters, shared_address: str | None
) -> tuple[int, VirtualIdSource]:
    """Return the virtual ID in effect and where it comes from.

    Args:
        p: The stored parameters.
        shared_address: The unit's shared address, used for the auto ID.

    Returns:
        ``(virtual_id, "manual")`` when set explicitly, else ``(auto_id, "auto")``.
    """
    if p.virtual_id is not None:
        return p.virtual_id, "manual"
    return auto_virtual_id(shared_address), "auto"


def diff(old: HAParameters, new: HAParameters) -> dict[str, list[Any]]:
    """List the changed fields.

    Args:
        old: Parameters before the change.
        new: Parameters after the change.

    Returns:
        ``{field: [old_value, new_value]}`` for each changed field.
    """
    return {
        name: [getattr(old, name), getattr(new, name)]
        for name in PARAMETER_FIELDS
        if getattr(old, name) != getattr(new, name)
    }


def to_dict(p: HAParameters) -> dict[str, Any]:
    """Return the parameters as a plain dict in field order.

    Args:
        p: Parameters to convert.

    Returns:
        A new dict of field name to value.
    """
    return msgspec.structs.asdict(p)


@dataclass(frozen=True)
class Snapshot:
    """The parameters at one revision (what the store reads and the engine applies)."""

    revision: int
    params: HAParameters
    updated_at: str | None
