"""The frames VirtualIP.announce sends and the capability parsing, without a network."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

import pytest

from hapair.engine.netif.vip import (
    VipError,
    VirtualIP,
    effective_capabilities,
    gratuitous_arp,
    unsolicited_na,
    vrrp_mac,
)

HW = bytes.fromhex("0a0b0c0d0e0f")


def test_gratuitous_arp_is_a_broadcast_request_for_its_own_address() -> None:
    ip = ipaddress.ip_address("192.0.2.10").packed
    frame = gratuitous_arp(HW, ip)
    assert len(frame) == 60  # padded to the Ethernet minimum
    dst, src, ethertype = struct.unpack("!6s6sH", frame[:14])
    assert (dst, src, ethertype) == (b"\xff" * 6, HW, 0x0806)
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", frame[14:42])
    assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 1)
    assert (sha, spa, tha, tpa) == (HW, ip, b"\x00" * 6, ip)


def test_unsolicited_na_sets_override_not_solicited_and_carries_the_mac() -> None:
    target = ipaddress.ip_address("2001:db8::10").packed
    message = unsolicited_na(HW, target)
    kind, code, _checksum, flags, got = struct.unpack("!BBHI16s", message[:24])
    assert (kind, code, got) == (136, 0, target)
    assert flags == 0x20000000  # O only: not R, not S
    assert message[24:] == bytes([2, 1]) + HW


def test_vrrp_mac_follows_rfc_5798() -> None:
    assert vrrp_mac(10) == "00:00:5e:00:01:0a"
    assert vrrp_mac(255, ipv6=True) == "00:00:5e:00:02:ff"
    with pytest.raises(ValueError, match=r"1\.\.255"):
        vrrp_mac(0)


def test_effective_capabilities_reads_capeff(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t0000000000003000\n")
    assert effective_capabilities(status) == (1 << 12) | (1 << 13)


def test_virtual_ip_rejects_a_bad_address_or_prefix() -> None:
    with pytest.raises(VipError, match="not an IP address"):
        VirtualIP("192.0.2.300", "eth0", 24)
    with pytest.raises(VipError, match="prefix /33"):
        VirtualIP("192.0.2.10", "eth0", 33)
    assert VirtualIP("2001:db8::10", "eth0", None).prefix == 128
