"""The advert format, its MAC, freshness and the VRRP parser (``engine/netif/adverts.py``)."""

from __future__ import annotations

import contextlib
import struct

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.engine.netif.adverts import (
    CONFLICT_HOLD,
    Advert,
    BadAdvert,
    Received,
    advert_key,
    decode,
    encode,
    verify,
    vrrp_vrid,
)

KEY = advert_key("pair-key-0123456789")
OTHER = advert_key("another-pair-key-0123")


def _advert(counter: int = 1, **kw: object) -> Advert:
    base: dict[str, object] = {
        "virtual_id": 7, "unit": "first", "boot_id": "b" * 32, "role": "active",
        "revision": 3, "counter": counter, "pair": "p" * 16, "key": "k" * 16,
    }  # fmt: skip
    base.update(kw)
    return Advert(**base)  # type: ignore[arg-type]


def test_an_advert_round_trips_and_verifies_only_under_its_key() -> None:
    data = encode(_advert(), KEY)
    advert, mac, signed = decode(data)
    assert advert == _advert()
    assert verify(signed, mac, [KEY])
    assert verify(signed, mac, [OTHER, KEY])
    assert not verify(signed, mac, [OTHER])


def test_every_field_is_covered_by_the_mac() -> None:
    items = msgspec.json.decode(encode(_advert(), KEY))
    for i in range(2, 10):
        altered = list(items)
        altered[i] = altered[i] + 1 if isinstance(altered[i], int) else altered[i] + "x"
        _, mac, signed = decode(msgspec.json.encode(altered))
        assert not verify(signed, mac, [KEY]), i


@given(st.binary(max_size=1200))
def test_any_datagram_is_an_advert_or_bad_advert(data: bytes) -> None:
    with contextlib.suppress(BadAdvert):
        decode(data)


@pytest.mark.parametrize(
    "items",
    [
        ["hapair-advert", 2, 7, "first", "b", "active", 3, 1, "p", "k", "0" * 64],
        ["hapair-advert", 1, -7, "first", "b", "active", 3, 1, "p", "k", "0" * 64],
        ["hapair-advert", 1, True, "first", "b", "active", 3, 1, "p", "k", "0" * 64],
        ["hapair-advert", 1, 7, "first", "b", "active", 3, 1, "p", "k", "Z" * 64],
        ["hapair-advert", 1, 7, "first", "b", "active", 3, 1, "p", "k"],
        {"magic": "hapair-advert"},
    ],
)
def test_malformed_adverts_are_refused(items: object) -> None:
    with pytest.raises(BadAdvert):
        decode(msgspec.json.encode(items))


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_replayed_or_delayed_advert_is_not_a_sign_of_life() -> None:
    clock = _Clock()
    got = Received(own="second", interval=1.0, clock=clock)
    assert got.partner_advert(_advert(counter=10))
    clock.now += 1
    assert got.partner_advert(_advert(counter=11))
    assert not got.partner_advert(_advert(counter=11))  # replayed
    assert not got.partner_advert(_advert(counter=5))  # older
    seen = got.partner_seen
    # Held back and sent later: counter 12 arrives 10 s after counter 10 did.
    clock.now += 9
    assert not got.partner_advert(_advert(counter=12))
    assert got.partner_seen == seen
    # A new boot of the partner starts a new count.
    assert got.partner_advert(_advert(counter=1, boot_id="c" * 32))


def test_a_conflict_clears_by_itself_once_the_sender_stops() -> None:
    clock = _Clock()
    got = Received(own="first", interval=1.0, clock=clock)
    got.conflict("192.0.2.50", "vrrp")
    clock.now += 1
    got.conflict("192.0.2.50", "vrrp")
    [c] = got.current_conflicts()
    assert (c.sender, c.kind) == ("192.0.2.50", "vrrp")
    assert "VRRP" in c.detail and "192.0.2.50" in c.detail
    clock.now += CONFLICT_HOLD * 1.0 - 0.01
    assert len(got.current_conflicts()) == 1
    clock.now += 0.02
    assert got.current_conflicts() == []


def _ipv4(payload: bytes, proto: int = 112) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 255, proto, 0,
                         bytes([192, 0, 2, 50]), bytes([224, 0, 0, 18]))  # fmt: skip
    return header + payload


def test_vrrp_advertisements_give_their_vrid() -> None:
    assert vrrp_vrid(_ipv4(bytes([0x21, 51, 100, 1, 0, 1, 0, 0]))) == 51  # VRRPv2
    assert vrrp_vrid(_ipv4(bytes([0x31, 9, 100, 1, 0, 100, 0, 0]))) == 9  # VRRPv3
    assert vrrp_vrid(_ipv4(bytes([0x22, 51, 100, 1, 0, 1, 0, 0]))) is None  # not type 1
    assert vrrp_vrid(_ipv4(bytes([0x21, 51, 100, 1, 0, 1, 0, 0]), proto=17)) is None
    assert vrrp_vrid(b"\x45\x00") is None
