"""Unit settings (mode and addresses) and the boot history behind the pacify rule."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.tracks import TrackView

Mode = Literal["non_ha", "first", "second"]
MODES: tuple[Mode, ...] = ("non_ha", "first", "second")
HA_UNITS: tuple[str, ...] = ("first", "second")  # the two units of a pair, by name

# The pacify rule (SPEC): more than PACIFY_MAX_BOOTS boots within PACIFY_WINDOW_S seconds
PACIFY_WINDOW_S = 300.0
PACIFY_MAX_BOOTS = 3

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def unit_name(mode: Mode) -> str:
    """Return a unit's name: ``standalone`` in non_ha mode, else the mode.

    Args:
        mode: The unit's mode.

    Returns:
        The unit name.
    """
    return "standalone" if mode == "non_ha" else mode


def other_unit(name: str) -> str:
    """The other unit of a pair: ``second`` for ``first``, ``first`` for any other name."""
    return HA_UNITS[1] if name == HA_UNITS[0] else HA_UNITS[0]


def partner_name(own: str) -> str | None:
    """The other unit's name (``first`` <-> ``second``), None for a non-HA unit."""
    return other_unit(own) if own in HA_UNITS else None


def parse_host_port(value: str, *, require_ip: bool = False) -> tuple[str, int]:
    """Parse ``HOST:PORT``, ``IPV4:PORT`` or ``[IPV6]:PORT``.

    Args:
        value: The address text.
        require_ip: Reject hostnames; the host must be an IP literal.

    Returns:
        ``(host, port)``; an IPv6 host is returned without brackets.

    Raises:
        ValueError: The address is not of the expected form.
    """
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"address {value!r} must be HOST:PORT")
    if not port_text.isascii() or not port_text.isdigit():
        raise ValueError(f"address {value!r} has an invalid port {port_text!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"address {value!r} has port {port} outside 1..65535")
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise ValueError(f"address {value!r} has an invalid IPv6 literal") from None
        return inner, port
    if ":" in host:
        raise ValueError(f"address {value!r}: an IPv6 literal must be in brackets, [ADDR]:PORT")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        if require_ip:
            raise ValueError(f"address {value!r} must have an IP literal host") from None
        if not _HOSTNAME.fullmatch(host):
            raise ValueError(f"address {value!r} has an invalid host name") from None
    return host, port


@functools.lru_cache(maxsize=64)  # asked each heartbeat and advert of the same few hosts
def is_loopback_host(host: str) -> bool:
    """``localhost``, or an address in 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(address: str) -> bool:
    """Whether HOST:PORT names a loopback host; False when it does not parse."""
    try:
        host, _ = parse_host_port(address)
    except ValueError:
        return False
    return is_loopback_host(host)


class UnitSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Per-unit settings kept in the data dir, never replicated."""

    mode: Mode = "non_ha"
    partner_address: str | None = None
    shared_address: str | None = None


# Exactly the addresses ``parse_host_port`` accepts, as the patterns the OpenAPI document states
# (tests/unit/test_contract_checks.py holds each against the parser in both directions). ECMA-262
# and Python read them alike. The port: 1..65535, leading zeros allowed (the parser reads
# ``0080`` as 80). IPv4: what ``ipaddress.IPv4Address`` takes (no leading zeros). IPv6: RFC
# 3986's grammar (what ``ipaddress.IPv6Address`` takes), with an optional ``%zone`` of any
# characters but ``%``. A host name: ``_HOSTNAME`` (an IPv4 literal is one too).
_PORT = (
    r"0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = (
    "(?:"
    + "|".join(
        [
            rf"(?:{_H16}:){{6}}{_LS32}",
            rf"::(?:{_H16}:){{5}}{_LS32}",
            rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        ]
    )
    + ")"
)
_BRACKETED_IPV6 = rf"\[{_IPV6}(?:%[^%/]+)?\]"  # Python refuses a "/" anywhere
_HOST_NAME = (
    r"(?=[A-Za-z0-9.-]{1,253}:)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
HOST_PORT_PATTERN = rf"^(?:{_BRACKETED_IPV6}|{_HOST_NAME}):{_PORT}$"
IP_PORT_PATTERN = rf"^(?:{_BRACKETED_IPV6}|{_IPV4}):{_PORT}$"

HostPort = Annotated[
    str,
    Meta(
        pattern=HOST_PORT_PATTERN,
        description="HOST:PORT, IPV4:PORT or [IPV6]:PORT, port 1..65535.",
    ),
]
IpPort = Annotated[
    str,
    Meta(
        pattern=IP_PORT_PATTERN,
        description="IPV4:PORT or [IPV6]:PORT (an IP literal), port 1..65535.",
    ),
]


class UnitPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Unit settings to change at the next reboot (also: the changes waiting for it)."""

    mode: Mode | UnsetType = UNSET
    partner_address: HostPort | None | UnsetType = UNSET
    shared_address: IpPort | None | UnsetType = UNSET


UNIT_FIELDS: tuple[str, ...] = UnitPatch.__struct_fields__


def with_pending(settings: UnitSettings, pending: Mapping[str, str | None] | None) -> UnitSettings:
    """The settings a reboot applies: ``pending`` changes over ``settings`` (the one place the
    two are merged: at boot, when a change is staged, before a reboot, at start)."""
    if not pending:
        return settings
    changes = {k: v for k, v in pending.items() if k in UNIT_FIELDS}
    return msgspec.structs.replace(settings, **changes)


def check_unit_settings(s: UnitSettings) -> None:
    """Check that the unit settings are consistent.

    Args:
        s: Settings to check.

    Raises:
        ValidationFailed: The mode is invalid, an HA mode lacks an address, or an
            address does not parse (the shared address must be an IP literal).
    """
    errors: list[FieldError] = []
    if s.mode not in MODES:
        errors.append(
            FieldError("/mode", f"mode must be one of non_ha, first, second, got {s.mode!r}")
        )
    if s.partner_address is not None:
        try:
            parse_host_port(s.partner_address)
        except ValueError as exc:
            errors.append(FieldError("/partner_address", f"partner_address: {exc}"))
    if s.shared_address is not None:
        try:
            parse_host_port(s.shared_address, require_ip=True)
        except ValueError as exc:
            errors.append(FieldError("/shared_address", f"shared_address: {exc}"))
    if s.mode in HA_UNITS:
        missing = [
            name for name in ("partner_address", "shared_address") if getattr(s, name) is None
        ]
        if missing:
            detail = f"mode {s.mode} requires {' and '.join(missing)}"
            errors.append(FieldError("/mode", detail))
            errors += [FieldError(f"/{name}", detail) for name in missing]
    if errors:
        raise ValidationFailed(errors, "invalid unit settings")


class Maintenance(msgspec.Struct, kw_only=True):
    """A unit's maintenance mode: it never becomes active while enabled (kept per unit)."""

    enabled: bool = False
    reason: str | None = None
    since: str | None = None


class MaintenanceView(msgspec.Struct, kw_only=True):
    """A unit's maintenance mode."""

    enabled: bool
    reason: str | None
    since: str | None


class UnitView(msgspec.Struct, kw_only=True):
    """This unit: its mode, addresses, boot and pacified state, and its tracks."""

    name: str
    mode: Mode
    version: str  # hapair's
    protocol: int  # the unit-to-unit protocol it speaks (N and N+1 pair)
    redis_version: str | None  # its Redis server's, as INFO reports it (null: not answering)
    pending: UnitPatch | None
    reboot_required: bool
    address: str
    partner_address: str | None
    shared_address: str | None
    boot_id: str
    booted_at: str
    boots_in_window: int
    pacified: bool
    maintenance: MaintenanceView
    tracks: list[TrackView]


class BootRecord(msgspec.Struct, kw_only=True):
    """Persisted boot history: recent boot times and the pacified flag."""

    boots: list[float] = []
    pacified: bool = False


def boots_in_window(rec: BootRecord, now: float, window_s: float) -> int:
    """Count the boots that fall inside the window ending at ``now``.

    Args:
        rec: The boot history.
        now: Current time, epoch seconds.
        window_s: Window length in seconds; a boot at ``b`` counts when ``now - b < window_s``.

    Returns:
        The number of boots in the window.
    """
    return sum(1 for b in rec.boots if now - b < window_s)


def record_boot(
    rec: BootRecord,
    now: float,
    *,
    window_s: float = PACIFY_WINDOW_S,
    max_boots: int = PACIFY_MAX_BOOTS,
) -> BootRecord:
    """Record a boot at ``now`` and apply the pacify rule.

    A unit that boots more than ``max_boots`` times within ``window_s`` is
    pacified; it stays pacified until a boot comes at least ``window_s`` after
    the previous boot.

    Args:
        rec: The boot history before this boot.
        now: Time of this boot, epoch seconds.
        window_s: Window length in seconds.
        max_boots: Boots allowed within the window.

    Returns:
        The new boot history (``rec`` is not modified).
    """
    if rec.boots and now - max(rec.boots) >= window_s:
        return BootRecord(boots=[now], pacified=False)
    kept = sorted(b for b in rec.boots if now - b < window_s)
    kept.append(now)
    return BootRecord(boots=kept, pacified=rec.pacified or len(kept) > max_boots)
