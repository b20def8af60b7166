"""Virtual-ID conflicts held over their sender's own interval (``engine/netif/vidconflict.py``): a
keepalived with ``advert_int 3`` beside a pair at 0.5 s showed one alert per advert, each
cleared 1.5 s later, before this (found by tests/integration/test_vid_conflict_netns.py with a
real keepalived)."""

from __future__ import annotations

import struct

from hapair.engine.netif.adverts import (
    CONFLICT_HOLD,
    AdvertLink,
    Received,
    vrrp_advert,
    vrrp_message,
)
from hapair.engine.netif.vidconflict import GONE_KEPT


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _ipv4(payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 255, 112, 0,
                         bytes([192, 0, 2, 30]), bytes([224, 0, 0, 18]))  # fmt: skip
    return header + payload


def v2(vrid: int, seconds: int) -> bytes:
    return _ipv4(bytes([0x21, vrid, 150, 1, 0, seconds, 0, 0, 192, 0, 2, 200]))


def v3(vrid: int, centiseconds: int) -> bytes:
    hi, lo = (centiseconds >> 8) & 0x0F, centiseconds & 0xFF
    return _ipv4(bytes([0x31, vrid, 150, 1, 0xF0 | hi, lo, 0, 0, 192, 0, 2, 200]))


def test_a_vrrp_advertisement_says_its_interval() -> None:
    assert vrrp_advert(v2(10, 3)) == (10, 3.0)
    assert vrrp_advert(v3(10, 350)) == (10, 3.5)  # the reserved bits are not part of it
    assert vrrp_advert(v3(10, 4095)) == (10, 40.95)


def link(clock: _Clock, interval: float = 0.5) -> AdvertLink:
    return AdvertLink(
        own="first", interface="eth0", port=9112, broadcast=False, interval=interval,
        virtual_id=lambda: 10, pair=lambda: "p" * 16, keys=lambda: [], clock=clock,
    )  # fmt: skip


def test_a_vrrp_sender_slower_than_the_heartbeat_is_one_conflict_while_it_sends() -> None:
    clock = _Clock()
    got = link(clock)
    for _ in range(5):  # every 3 s: six of this unit's intervals
        got.on_vrrp(v2(10, 3), "192.0.2.30")
        clock.now += 2.99
        [c] = got.conflicts()
        assert (c.sender, c.kind, c.period) == ("192.0.2.30", "vrrp", 3.0)
        clock.now += 0.01
    since = c.since
    clock.now += CONFLICT_HOLD * 3.0 - 3.0 - 0.01  # it stopped: 3 x its interval after its last
    [c] = got.conflicts()
    assert c.since == since
    clock.now += 0.02
    assert got.conflicts() == []


def test_a_vrrp_sender_faster_than_the_heartbeat_clears_after_the_units_own_hold() -> None:
    clock = _Clock()
    got = link(clock, interval=1.0)
    got.on_vrrp(v3(10, 10), "192.0.2.30")  # every 0.1 s
    clock.now += CONFLICT_HOLD * 1.0 - 0.01
    assert len(got.conflicts()) == 1
    clock.now += 0.02
    assert got.conflicts() == []


def test_another_pairs_adverts_show_their_interval_by_their_counters() -> None:
    """Another pair at 2.5 s beside this one at 0.5 s; one advert of it lost on the way."""
    clock = _Clock()
    got = Received(own="first", interval=0.5, clock=clock)
    got.conflict("192.0.2.21", "hapair", counter=7)
    clock.now += 1.4  # within this unit's own hold (1.5 s): the first gap is not yet known
    got.conflict("192.0.2.21", "hapair", counter=8)  # (a faster first gap, as after a start)
    clock.now += 5.0
    got.conflict("192.0.2.21", "hapair", counter=10)  # 9 was lost: 2.5 s each
    [c] = got.current_conflicts()
    assert c.period == 2.5
    clock.now += CONFLICT_HOLD * 2.5 - 0.01
    assert len(got.current_conflicts()) == 1
    clock.now += 0.02
    assert got.current_conflicts() == []


def test_another_pair_restarting_its_count_keeps_what_was_measured() -> None:
    clock = _Clock()
    got = Received(own="first", interval=0.5, clock=clock)
    got.conflict("192.0.2.21", "hapair", counter=3)
    clock.now += 1.0
    got.conflict("192.0.2.21", "hapair", counter=4)
    clock.now += 1.0
    got.conflict("192.0.2.21", "hapair", counter=1)  # a new boot of that unit
    [c] = got.current_conflicts()
    assert c.period == 1.0 and c.counter == 1


def test_a_vrrp_message_without_its_ip_header_as_a_raw_ipv6_socket_gives_it() -> None:
    assert vrrp_message(v3(42, 100)[20:]) == (42, 1.0)
    assert vrrp_message(bytes([0x32, 42, 150, 1, 0, 100, 0, 0])) is None  # not type 1
    assert vrrp_message(b"\x31\x2a") is None


def test_a_pair_much_slower_than_this_unit_clears_once_then_lasts_while_it_sends() -> None:
    """Another pair at 2.5 s beside this one at 0.5 s (own hold 1.5 s): its first advert
    clears before the second comes; the second gives its pace from the first, remembered."""
    clock = _Clock()
    got = Received(own="first", interval=0.5, clock=clock)
    got.conflict("192.0.2.21", "hapair", counter=7)
    clock.now += 2.5
    assert got.current_conflicts() == []  # the pace was not known yet
    got.conflict("192.0.2.21", "hapair", counter=8)
    [c] = got.current_conflicts()
    assert c.period == 2.5
    since = c.since
    for counter in range(9, 14):
        clock.now += 2.5
        [c] = got.current_conflicts()
        assert c.since == since  # the same alert all along
        got.conflict("192.0.2.21", "hapair", counter=counter)
    clock.now += CONFLICT_HOLD * 2.5 + 0.01
    assert got.current_conflicts() == []


def test_a_cleared_sender_is_forgotten_after_a_while() -> None:
    clock = _Clock()
    got = Received(own="first", interval=0.5, clock=clock)
    got.conflict("192.0.2.21", "hapair", counter=7)
    clock.now += 2.0
    assert got.current_conflicts() == [] and len(got.gone) == 1
    clock.now += GONE_KEPT
    assert got.current_conflicts() == [] and got.gone == {}
    got.conflict("192.0.2.21", "hapair", counter=500)  # no pace from an advert GONE_KEPT old
    [c] = got.current_conflicts()
    assert c.period is None
