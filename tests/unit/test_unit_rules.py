"""Unit tests for unit settings, address parsing and the pacify rule."""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.domain.errors import ValidationFailed
from hapair.domain.unit import (
    HOST_PORT_PATTERN,
    BootRecord,
    UnitPatch,
    UnitSettings,
    boots_in_window,
    check_unit_settings,
    parse_host_port,
    record_boot,
    unit_name,
)


def boot_all(times: list[float], *, window_s: float = 300.0, max_boots: int = 3) -> BootRecord:
    rec = BootRecord()
    for t in times:
        rec = record_boot(rec, t, window_s=window_s, max_boots=max_boots)
    return rec


@pytest.mark.parametrize(
    ("mode", "name"), [("non_ha", "standalone"), ("first", "first"), ("second", "second")]
)
def test_unit_name_follows_mode(mode: str, name: str) -> None:
    assert unit_name(mode) == name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2.3.4:80", ("1.2.3.4", 80)),
        ("127.0.0.11:8080", ("127.0.0.11", 8080)),
        ("[::1]:80", ("::1", 80)),
        ("[fe80::1]:65535", ("fe80::1", 65535)),
        ("host:1", ("host", 1)),
        ("unit-a.example.com:8080", ("unit-a.example.com", 8080)),
    ],
)
def test_parse_host_port_accepts_valid(value: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1.2.3.4",
        ":80",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:http",
        "1.2.3.4:-1",
        "1.2.3.4:",
        "::1:80",
        "[::g]:80",
        "[1.2.3.4]:80",
        "bad host:80",
        "under_score:80",
        "",
    ],
)
def test_parse_host_port_rejects_invalid(value: str) -> None:
    with pytest.raises(ValueError, match="address"):
        parse_host_port(value)


def test_parse_host_port_rejects_hostname_when_ip_required() -> None:
    assert parse_host_port("10.0.0.1:80", require_ip=True) == ("10.0.0.1", 80)
    assert parse_host_port("[::1]:80", require_ip=True) == ("::1", 80)
    with pytest.raises(ValueError, match="IP literal"):
        parse_host_port("host:80", require_ip=True)


@settings(max_examples=50, deadline=None)
@given(st.ip_addresses(), st.integers(1, 65535))
def test_parse_host_port_accepts_any_ip(ip: object, port: int) -> None:
    text = str(ip)
    host = f"[{text}]" if ":" in text else text
    assert parse_host_port(f"{host}:{port}", require_ip=True) == (text, port)


def test_check_unit_settings_accepts_standalone() -> None:
    check_unit_settings(UnitSettings())


@pytest.mark.parametrize("mode", ["first", "second"])
def test_check_unit_settings_accepts_complete_ha_mode(mode: str) -> None:
    check_unit_settings(
        UnitSettings(
            mode=mode,  # type: ignore[arg-type]
            partner_address="127.0.0.12:8080",
            shared_address="127.0.0.10:8080",
        )
    )


def test_check_unit_settings_rejects_ha_mode_without_addresses() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_unit_settings(UnitSettings(mode="first"))
    assert [e.pointer for e in exc.value.errors] == ["/mode", "/partner_address", "/shared_address"]
    assert "partner_address and shared_address" in exc.value.errors[0].detail


def test_check_unit_settings_rejects_missing_shared_address() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_unit_settings(UnitSettings(mode="second", partner_address="h:80"))
    assert [e.pointer for e in exc.value.errors] == ["/mode", "/shared_address"]


def test_check_unit_settings_rejects_bad_addresses() -> None:
    settings_ = UnitSettings(
        mode="first", partner_address="h:0", shared_address="shared.example:80"
    )
    with pytest.raises(ValidationFailed) as exc:
        check_unit_settings(settings_)
    assert [e.pointer for e in exc.value.errors] == ["/partner_address", "/shared_address"]


def test_check_unit_settings_rejects_unknown_mode() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_unit_settings(UnitSettings(mode="third"))  # type: ignore[arg-type]
    assert [e.pointer for e in exc.value.errors] == ["/mode"]


def test_unit_settings_patch_distinguishes_unset_from_null() -> None:
    patch = msgspec.json.decode(b'{"partner_address": null}', type=UnitPatch)
    assert patch.partner_address is None
    assert patch.mode is msgspec.UNSET
    assert patch.shared_address is msgspec.UNSET
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"mdoe": "first"}', type=UnitPatch)


def test_record_boot_allows_exactly_max_boots() -> None:
    rec = boot_all([0, 10, 20])
    assert not rec.pacified
    assert boots_in_window(rec, 20, 300) == 3


def test_record_boot_pacifies_on_boot_over_max() -> None:
    rec = boot_all([0, 10, 20, 299])
    assert rec.pacified


def test_record_boot_does_not_count_boot_exactly_window_old() -> None:
    rec = boot_all([0, 10, 20, 300])
    assert not rec.pacified
    assert boots_in_window(rec, 300, 300) == 3


def test_record_boot_stays_pacified_on_further_boots() -> None:
    rec = boot_all([0, 1, 2, 3, 100, 200, 299, 450])
    assert rec.pacified


def test_record_boot_clears_at_exactly_window_after_previous() -> None:
    rec = boot_all([0, 1, 2, 3])
    assert rec.pacified
    rec = record_boot(rec, 303)
    assert not rec.pacified
    assert rec.boots == [303]
    rec = record_boot(rec, 304)
    assert not rec.pacified


def test_record_boot_one_second_short_does_not_clear() -> None:
    rec = boot_all([0, 1, 2, 3])
    rec = record_boot(rec, 302)
    assert rec.pacified
    assert boots_in_window(rec, 302, 300) == 2


def test_record_boot_with_overridden_window_and_max() -> None:
    rec = boot_all([100.0], window_s=2, max_boots=1)
    assert not rec.pacified
    rec = record_boot(rec, 101.5, window_s=2, max_boots=1)
    assert rec.pacified
    rec = record_boot(rec, 103.4, window_s=2, max_boots=1)
    assert rec.pacified
    rec = record_boot(rec, 105.4, window_s=2, max_boots=1)
    assert not rec.pacified
    rec = record_boot(rec, 107.5, window_s=2, max_boots=1)
    assert not rec.pacified


def test_record_boot_keeps_record_small() -> None:
    rec = boot_all([float(t) for t in range(0, 3000, 10)])
    assert rec.pacified
    assert len(rec.boots) <= 31
    assert all(3000 - 10 - b < 300 for b in rec.boots)


def test_record_boot_does_not_mutate_input() -> None:
    rec = BootRecord(boots=[1.0])
    record_boot(rec, 2.0)
    assert rec.boots == [1.0]


def test_boot_record_round_trips_through_json() -> None:
    rec = boot_all([0, 1, 2, 3])
    assert msgspec.json.decode(msgspec.json.encode(rec), type=BootRecord) == rec


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=12))
def test_record_boot_matches_reference_rule(gaps: list[float]) -> None:
    window, max_boots = 10.0, 3
    times: list[float] = []
    t = 0.0
    for gap in gaps:
        t += gap
        times.append(t)
    pacified = False
    start = 0
    for i, now in enumerate(times):
        if i > 0 and now - times[i - 1] >= window:
            start, pacified = i, False
        count = sum(1 for b in times[start : i + 1] if now - b < window)
        pacified = pacified or count > max_boots
    assert boot_all(times, window_s=window, max_boots=max_boots).pacified is pacified


_HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z0-9]{1,5}){0,3}\.?\Z"),
    st.text(max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(host=_HOSTS, port=st.one_of(st.integers(0, 70000).map(str), st.text(max_size=6)))
def test_host_port_pattern_admits_every_address_the_server_accepts(host: str, port: str) -> None:
    value = f"{host}:{port}"
    try:
        parse_host_port(value)
    except ValueError:
        return  # the pattern may admit more (a port out of range): the server says why
    assert re.search(HOST_PORT_PATTERN, value), value


@pytest.mark.parametrize("value", ["", ":80", "host", "[::1]", "a b:80", "host:", "host:8o"])
def test_host_port_pattern_refuses_what_is_not_host_port(value: str) -> None:
    assert re.search(HOST_PORT_PATTERN, value) is None
    with pytest.raises(ValueError, match="address"):
        parse_host_port(value)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"shared_address": value}, UnitPatch)
