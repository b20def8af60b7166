"""HAProxy's ``peers hapair`` section (L7 persistence updates, SPEC 5c). Pure: no I/O.

hapair writes the section into the file the operator's HAProxy loads with a second ``-f``;
the stick tables that should be replicated say ``peers hapair``. This unit is the local peer
(HAProxy's ``-L`` name, or ``localpeer``, is the unit name); the partner is listed only while
``l7_persistence_updates`` is on, so turning it off leaves a section that stick tables can
still name but that sends nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from hapair.domain.unit import is_loopback_host, parse_host_port

SECTION = "hapair"


@dataclass(frozen=True, kw_only=True)
class Peer:
    """One ``peer`` line: name, address, port."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        """``HOST:PORT`` as HAProxy reads it (an IPv6 address's port is after its last
        colon)."""
        return f"{self.host}:{self.port}"


def _host(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return parse_host_port(address)[0]
    except ValueError:
        return None


@functools.lru_cache(maxsize=64)  # asked after every step of the engine
def _usable(host: str | None) -> bool:
    """A host a peer can be reached at (not empty, not 0.0.0.0 or ::)."""
    if not host:
        return False
    try:
        return not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return True  # a name


@functools.lru_cache(maxsize=16)  # asked after every engine step (issue 23: idle CPU)
@functools.lru_cache(maxsize=16)  # asked after every step of the engine, with the same strings
def hosts(
    listen: str, partner_address: str | None, partner_reported: str | None
) -> tuple[str, str | None, bool]:
    """(this unit's direct host, the partner's peer host, one host?).

    The partner's peer host is what its heartbeat reported (its address on
    ``multicast_interface``), else its direct address's host. Both units on loopback is one
    host: each peer's address is then its unit's direct address host.
    """
    local = _host(listen) or listen
    direct = _host(partner_address)
    one_host = is_loopback_host(local) and (direct is None or is_loopback_host(direct))
    partner = direct
    if not one_host and _usable(partner_reported):
        partner = partner_reported
    return local, partner if _usable(partner) else None, one_host


def render(local: Peer, partner: Peer | None) -> str:
    """The whole peers file: the local peer, and the partner when given.

    Args:
        local: This unit (name = the unit name, HAProxy's ``-L``).
        partner: The partner's peer, or None (``l7_persistence_updates`` off).
    """
    lines = [
        "# Written by hapair (l7_persistence_updates); rewritten at every change: do not edit.",
        f"peers {SECTION}",
        f"    peer {local.name} {local.address}",
    ]
    if partner is not None:
        lines.append(f"    peer {partner.name} {partner.address}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class PeerHealth:
    """What ``show peers`` says of one remote peer."""

    found: bool  # the section lists it
    connected: bool
    last_status: str  # HAProxy's last_status: ESTA, CONN, REFU, TOUT, NONE, ...
    address: str = ""


_PEER_LINE = re.compile(
    r"\bid=(?P<name>[^\s(]+)\((?P<where>local|remote),(?P<state>active|inactive)\)"
    r"(?:\s+addr=(?P<addr>\S+))?(?:\s+last_status=(?P<status>\S+))?"
)
_SECTION_LINE = re.compile(r"\bid=(?P<section>[^\s(]+)\s+disabled=")


def peer_health(show_peers: str, name: str, section: str = SECTION) -> PeerHealth:
    """The remote peer ``name`` of ``section`` in ``show peers`` output (HAProxy 2.6).

    A peer is connected when HAProxy lists it as ``(remote,active)``: a session is up.
    """
    current = None
    for line in show_peers.splitlines():
        sec = _SECTION_LINE.search(line)
        if sec is not None and not line.startswith(" "):
            current = sec.group("section")
            continue
        m = _PEER_LINE.search(line)
        if m is None or current != section or m.group("name") != name:
            continue
        if m.group("where") != "remote":
            break
        return PeerHealth(
            found=True,
            connected=m.group("state") == "active",
            last_status=m.group("status") or "NONE",
            address=m.group("addr") or "",
        )
    return PeerHealth(found=False, connected=False, last_status="NONE")


LAST_STATUS = {
    "NONE": "no connection attempt yet",
    "UNKN": "no session yet",
    "CONN": "connecting",
    "HSHK": "handshake under way",
    "ESTA": "was established",
    "REFU": "connection refused",
    "TOUT": "timed out",
    "ERRP": "protocol error",
    "ERRN": "the partner does not know this peer's name",
    "ERRV": "protocol version mismatch",
    "ERRH": "the partner does not know this peer's host",
    "ERRT": "timeout",
    "ERRL": "the partner's limit was reached",
    "ERRU": "unknown error",
    "CLOS": "closed",
}


def explain(health: PeerHealth, partner: Peer) -> str:
    """A person's sentence for a remote peer that is not connected."""
    if not health.found:
        return (
            f"HAProxy's peers {SECTION} does not list {partner.name} (was the peers file "
            "loaded with -f?)"
        )
    what = LAST_STATUS.get(health.last_status, health.last_status)
    return (
        f"peer {partner.name} at {partner.address} not connected "
        f"(last status {health.last_status}: {what})"
    )
