"""The link-layer side of a moving address: the VRRP virtual MAC, and the frames that tell the
segment's neighbours the address moved. Pure: bytes in, bytes out.

- IPv4: a gratuitous ARP request (sender IP = target IP = the virtual IP, broadcast), a whole
  42-byte Ethernet frame built with ``struct`` (scapy is far too heavy a dependency for one
  fixed frame). This is what keepalived's ``vrrp_arp.c`` does.
- IPv6: an unsolicited neighbour advertisement (override flag set, solicited flag clear, target
  link-layer address option); the kernel fills in the ICMPv6 checksum, and a receiver drops
  NAs with a hop limit other than 255.
"""

from __future__ import annotations

import struct

ETH_P_ARP = 0x0806
_ETH_P_IP = 0x0800
_ARPOP_REQUEST = 1
_ICMPV6_NA = 136
_NA_OVERRIDE = 0x20000000
_ND_OPT_TARGET_LLADDR = 2
_ETH_ZLEN = 60
_BROADCAST = b"\xff" * 6


def vrrp_mac(virtual_id: int, *, ipv6: bool = False) -> str:
    """The VRRP virtual MAC of ``virtual_id`` (RFC 5798: 00:00:5e:00:01:XX, IPv6 ...:02:XX)."""
    if not 1 <= virtual_id <= 255:
        raise ValueError(f"virtual id {virtual_id} is not in 1..255")
    return f"00:00:5e:00:{2 if ipv6 else 1:02x}:{virtual_id:02x}"


def gratuitous_arp(hw: bytes, ip: bytes) -> bytes:
    """A broadcast Ethernet frame carrying an ARP request for ``ip`` from ``ip`` (RFC 5227)."""
    ethernet = struct.pack("!6s6sH", _BROADCAST, hw, ETH_P_ARP)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, _ETH_P_IP, 6, 4, _ARPOP_REQUEST, hw, ip, b"\x00" * 6, ip)
    return (ethernet + arp).ljust(_ETH_ZLEN, b"\x00")


def unsolicited_na(hw: bytes, target: bytes) -> bytes:
    """An ICMPv6 neighbour advertisement for ``target`` with the override flag (RFC 4861 7.2.6).

    The checksum is left zero: the kernel computes it for raw ICMPv6 sockets.
    """
    header = struct.pack("!BBHI16s", _ICMPV6_NA, 0, 0, _NA_OVERRIDE, target)
    option = struct.pack("!BB6s", _ND_OPT_TARGET_LLADDR, 1, hw)
    return header + option
