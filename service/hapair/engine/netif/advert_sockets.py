"""The adverts' sockets on one interface (SPEC 5b' "Adverts"), for ``engine/netif/adverts.py``.

A pair whose shared address is IPv4 sends to the VRRP group 224.0.0.18, or, with
``use_broadcast``, to the interface's IPv4 broadcast address. A pair whose shared address is
IPv6 sends to ff02::12 (the VRRP group of IPv6), or, with ``use_broadcast``, to ff02::1, the
all-nodes group: IPv6 has no broadcast, and a switch that snoops MLD still floods ff02::1
(RFC 4541 2.1.2), which is what ``use_broadcast`` is for. Both are link-scope groups: never
routed, sent with a hop limit of 1, from the interface's link-local address. The VRRP listener
(IP protocol 112, a raw socket) is of the same family: a raw IPv4 socket hands over the IP
header, a raw IPv6 socket does not.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from hapair.engine.netif.vidconflict import VRRP_PROTOCOL

GROUP_V4 = "224.0.0.18"  # the VRRP group: link-local, never routed
GROUP_V6 = "ff02::12"  # the same for IPv6
ALL_NODES_V6 = "ff02::1"  # with use_broadcast on an IPv6 pair
_SIOCGIFADDR = 0x8915
_SIOCGIFBRDADDR = 0x8919
_SIOCGIFNETMASK = 0x891B

# (family, type, proto) -> a non-blocking socket bound to the interface, closed with the link
Opener = Callable[[int, int, int], socket.socket]


@dataclass(frozen=True)
class Opened:
    """The link's three sockets and where its adverts go."""

    recv: socket.socket  # the advert port
    send: socket.socket
    vrrp: socket.socket  # IP protocol 112
    vrrp_has_ip_header: bool
    address: str | None  # the IPv4 source address; None on IPv6 (the link-local one)
    destination: str  # the group or broadcast address
    sockaddr: tuple[str, int] | tuple[str, int, int, int]


def interface_ipv4(interface: str) -> tuple[str, str | None]:
    """The IPv4 address of ``interface`` and its broadcast address (``SIOCGIFADDR``,
    ``SIOCGIFBRDADDR``, in the calling thread's network namespace); an address added without
    ``brd`` gets its subnet's broadcast address (``SIOCGIFNETMASK``), a /31 or /32 none.
    LookupError if the interface has no IPv4 address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("256s", interface.encode()[:15])

        def read(op: int) -> str:
            return socket.inet_ntoa(fcntl.ioctl(s.fileno(), op, request)[20:24])

        try:
            address, netmask = read(_SIOCGIFADDR), read(_SIOCGIFNETMASK)
        except OSError as exc:
            raise LookupError(f"interface {interface!r} has no IPv4 address: {exc}") from exc
        try:
            bcast = read(_SIOCGIFBRDADDR)
        except OSError:
            bcast = "0.0.0.0"
    if bcast == "0.0.0.0":
        net = ipaddress.IPv4Network(f"{address}/{netmask}", strict=False)
        bcast = str(net.broadcast_address) if net.prefixlen < 31 else "0.0.0.0"
    return address, (None if bcast == "0.0.0.0" else bcast)


def open_v4(make: Opener, interface: str, port: int, broadcast: bool) -> Opened:
    """The IPv4 sockets (LookupError without an IPv4 address, or a broadcast address when
    ``broadcast``)."""
    ifindex = socket.if_nametoindex(interface)
    address, bcast = interface_ipv4(interface)
    if broadcast and not bcast:
        raise LookupError(f"interface {interface!r} has no IPv4 broadcast address")
    destination = bcast if broadcast and bcast else GROUP_V4
    group = socket.inet_aton(GROUP_V4) + socket.inet_aton("0.0.0.0") + struct.pack("@i", ifindex)
    recv = make(socket.AF_INET, socket.SOCK_DGRAM, 0)
    recv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    recv.bind(("", port))
    recv.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
    send = make(socket.AF_INET, socket.SOCK_DGRAM, 0)
    send.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, group)
    send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    send.bind((address, 0))
    vrrp = make(socket.AF_INET, socket.SOCK_RAW, VRRP_PROTOCOL)
    vrrp.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
    return Opened(recv, send, vrrp, True, address, destination, (destination, port))


def open_v6(make: Opener, interface: str, port: int, broadcast: bool) -> Opened:
    """The IPv6 sockets (OSError when the interface is missing or has IPv6 off)."""
    ifindex = socket.if_nametoindex(interface)
    destination = ALL_NODES_V6 if broadcast else GROUP_V6
    group = socket.inet_pton(socket.AF_INET6, GROUP_V6) + struct.pack("@I", ifindex)
    recv = make(socket.AF_INET6, socket.SOCK_DGRAM, 0)
    recv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    recv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    recv.bind(("::", port))
    recv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)  # ff02::1: joined
    send = make(socket.AF_INET6, socket.SOCK_DGRAM, 0)
    send.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    send.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
    send.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    vrrp = make(socket.AF_INET6, socket.SOCK_RAW, VRRP_PROTOCOL)
    vrrp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
    return Opened(recv, send, vrrp, False, None, destination, (destination, port, 0, ifindex))
