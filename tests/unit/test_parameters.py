"""Unit tests for the HA parameter types and rules."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.parameters import (
    DEFAULTS,
    PARAMETER_FIELDS,
    READ_ONLY_FIELDS,
    HAParameters,
    auto_virtual_id,
    build_patch,
    build_put,
    check_rules,
    decode_fields,
    diff,
    effective_virtual_id,
    to_dict,
)

INT_RANGES: dict[str, tuple[int, int]] = {
    "initial_wait_time": (0, 180),
    "virtual_id": (1, 255),
    "l4_sync_threshold": (1, 254),
    "l4_sync_period": (2, 255),
    "l4_sync_refresh_period": (0, 10),
}
INT_FIELDS = (*INT_RANGES, "ha_timeout")
BOOL_FIELDS = (
    "use_broadcast",
    "hard_reboot_on_link_failure",
    "l4_connection_updates",
    "l7_persistence_updates",
    "use_virtual_mac",
)
INTERFACE_FIELDS = ("update_interface", "multicast_interface")
FAST = settings(max_examples=60, deadline=None)


def pointers(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.pointer for e in exc.value.errors]


def test_fields_list_matches_struct_in_table_order() -> None:
    assert PARAMETER_FIELDS == (
        "ha_timeout",
        "initial_wait_time",
        "virtual_id",
        "use_broadcast",
        "preferred_server",
        "update_interface",
        "hard_reboot_on_link_failure",
        "l4_connection_updates",
        "l4_sync_threshold",
        "l4_sync_period",
        "l4_sync_refresh_period",
        "l7_persistence_updates",
        "multicast_interface",
        "use_virtual_mac",
    )
    assert {"revision", "updated_at", "virtual_id_source"} == READ_ONLY_FIELDS


def test_defaults_match_spec() -> None:
    assert to_dict(DEFAULTS) == {
        "ha_timeout": 9,
        "initial_wait_time": 0,
        "virtual_id": None,
        "use_broadcast": False,
        "preferred_server": "none",
        "update_interface": "eth0",
        "hard_reboot_on_link_failure": False,
        "l4_connection_updates": False,
        "l4_sync_threshold": 3,
        "l4_sync_period": 50,
        "l4_sync_refresh_period": 0,
        "l7_persistence_updates": False,
        "multicast_interface": "eth0",
        "use_virtual_mac": False,
    }


@FAST
@given(field=st.sampled_from(list(INT_RANGES)), data=st.data())
def test_decode_accepts_every_in_range_int(field: str, data: st.DataObject) -> None:
    lo, hi = INT_RANGES[field]
    value = data.draw(st.integers(lo, hi))
    assert decode_fields({field: value}) == {field: value}


@FAST
@given(
    field=st.sampled_from(list(INT_RANGES)),
    data=st.data(),
)
def test_decode_rejects_out_of_range_int(field: str, data: st.DataObject) -> None:
    lo, hi = INT_RANGES[field]
    value = data.draw(st.integers(max_value=lo - 1) | st.integers(min_value=hi + 1))
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]
    assert field in exc.value.errors[0].detail
    assert str(value) in exc.value.errors[0].detail


@pytest.mark.parametrize("value", [3, 6, 9, 12, 15])
def test_decode_accepts_allowed_ha_timeout(value: int) -> None:
    assert decode_fields({"ha_timeout": value}) == {"ha_timeout": value}


@FAST
@given(st.integers().filter(lambda v: v not in {3, 6, 9, 12, 15}))
def test_decode_rejects_other_ha_timeout(value: int) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"ha_timeout": value})
    assert exc.value.errors == [
        FieldError("/ha_timeout", f"ha_timeout must be one of 3, 6, 9, 12, 15, got {value}")
    ]


@FAST
@given(field=st.sampled_from(INT_FIELDS), data=st.data())
def test_decode_accepts_integral_float(field: str, data: st.DataObject) -> None:
    lo, hi = INT_RANGES.get(field, (3, 3))
    value = data.draw(st.integers(lo, hi))
    result = decode_fields({field: float(value)})
    assert result == {field: value}
    assert type(result[field]) is int


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [9.5, "9", "3", True, False, [], {}, float("inf")])
def test_decode_rejects_non_integer_for_int(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_decode_accepts_booleans(field: str, value: bool) -> None:
    assert decode_fields({field: value}) == {field: value}


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", [0, 1, "true", 1.0, "false"])
def test_decode_rejects_non_boolean_for_bool(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]


@pytest.mark.parametrize("value", ["none", "first", "second"])
def test_decode_accepts_preferred_server_values(value: str) -> None:
    assert decode_fields({"preferred_server": value}) == {"preferred_server": value}


@pytest.mark.parametrize("value", ["None", "third", "", 1, True])
def test_decode_rejects_other_preferred_server(value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"preferred_server": value})
    assert pointers(exc) == ["/preferred_server"]


@FAST
@given(
    field=st.sampled_from(INTERFACE_FIELDS),
    name=st.text(
        st.sampled_from("ABCXYZabcxyz0189_.-"),
        min_size=1,
        max_size=15,
    ).filter(lambda s: s not in (".", "..")),
)
def test_decode_accepts_interface_names(field: str, name: str) -> None:
    assert decode_fields({field: name}) == {field: name}


@FAST
@given(field=st.sampled_from(INTERFACE_FIELDS), name=st.text(min_size=1, max_size=15))
def test_interface_names_server_and_document_pattern_agree(field: str, name: str) -> None:
    """The OpenAPI pattern (ECMA-262, ``$`` only at the very end) and the server agree."""
    in_document = re.fullmatch(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,15}", name) is not None
    try:
        decode_fields({field: name})
    except ValidationFailed:
        accepted = False
    else:
        accepted = True
    assert accepted == in_document


@pytest.mark.parametrize("field", INTERFACE_FIELDS)
@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 16,
        "eth/0",
        "eth:0",
        "eth 0",
        "eth0\n",
        "\teth0",
        0,
        None,
        ".",
        "..",
        "a;b",
        "$(reboot)",
        "eth\x00",
        "ethé",
        "é" * 7,
    ],
)
def test_decode_rejects_bad_interface_names(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]


def test_decode_accepts_null_virtual_id_as_auto() -> None:
    assert decode_fields({"virtual_id": None}) == {"virtual_id": None}


@pytest.mark.parametrize("field", [f for f in PARAMETER_FIELDS if f != "virtual_id"])
def test_decode_rejects_null_without_allow_null(field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: None})
    assert pointers(exc) == [f"/{field}"]


@pytest.mark.parametrize("field", PARAMETER_FIELDS)
def test_decode_keeps_null_with_allow_null(field: str) -> None:
    assert decode_fields({field: None}, allow_null=True) == {field: None}


def test_decode_drops_read_only_fields() -> None:
    raw = {"revision": 4, "updated_at": "x", "virtual_id_source": "auto", "ha_timeout": 3}
    assert decode_fields(raw) == {"ha_timeout": 3}


def test_decode_reports_each_unknown_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"ha_timout": 9, "foo": 1, "a/b~": 2, "ha_timeout": 9})
    assert exc.value.errors == [
        FieldError("/ha_timout", "unknown field 'ha_timout'"),
        FieldError("/foo", "unknown field 'foo'"),
        FieldError("/a~1b~0", "unknown field 'a/b~'"),
    ]


def test_decode_reports_all_bad_fields() -> None:
    raw = {"ha_timeout": "9", "use_broadcast": 0, "l4_sync_period": 1, "bogus": True}
    with pytest.raises(ValidationFailed) as exc:
        decode_fields(raw)
    assert sorted(pointers(exc)) == ["/bogus", "/ha_timeout", "/l4_sync_period", "/use_broadcast"]


@pytest.mark.parametrize("raw", [[], "x", 3, None, True, [{"ha_timeout": 9}]])
def test_decode_rejects_non_object_body(raw: object) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields(raw)
    assert exc.value.errors == [FieldError("", "request body must be a JSON object")]


def test_decode_prefixes_pointers() -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"x": 1}, pointer_prefix="/parameters")
    assert pointers(exc) == ["/parameters/x"]


@FAST
@given(threshold=st.integers(1, 254), period=st.integers(2, 255))
def test_put_accepts_threshold_iff_less_than_period(threshold: int, period: int) -> None:
    values = decode_fields({"l4_sync_threshold": threshold, "l4_sync_period": period})
    if threshold < period:
        params = build_put(values)
        assert (params.l4_sync_threshold, params.l4_sync_period) == (threshold, period)
    else:
        with pytest.raises(ValidationFailed) as exc:
            build_put(values)
        detail = f"l4_sync_threshold ({threshold}) must be less than l4_sync_period ({period})"
        assert exc.value.errors == [
            FieldError("/l4_sync_threshold", detail),
            FieldError("/l4_sync_period", detail),
        ]


@pytest.mark.parametrize("preferred", ["first", "second"])
def test_put_rejects_hard_reboot_with_preferred_server(preferred: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        build_put({"hard_reboot_on_link_failure": True, "preferred_server": preferred})
    detail = (
        f"hard_reboot_on_link_failure (true) requires preferred_server to be none, not {preferred}"
    )
    assert exc.value.errors == [
        FieldError("/hard_reboot_on_link_failure", detail),
        FieldError("/preferred_server", detail),
    ]


def test_put_accepts_hard_reboot_without_preferred_server() -> None:
    assert build_put({"hard_reboot_on_link_failure": True}).hard_reboot_on_link_failure


def test_check_rules_reports_both_rules_together() -> None:
    params = HAParameters(
        l4_sync_threshold=50,
        l4_sync_period=20,
        hard_reboot_on_link_failure=True,
        preferred_server="first",
    )
    with pytest.raises(ValidationFailed) as exc:
        check_rules(params)
    assert pointers(exc) == [
        "/l4_sync_threshold",
        "/l4_sync_period",
        "/hard_reboot_on_link_failure",
        "/preferred_server",
    ]


def test_put_defaults_omitted_fields() -> None:
    current = HAParameters(ha_timeout=15, use_broadcast=True, virtual_id=7)
    new = build_put({"initial_wait_time": 10})
    assert new == HAParameters(initial_wait_time=10)
    assert diff(current, new) == {
        "ha_timeout": [15, 9],
        "initial_wait_time": [0, 10],
        "virtual_id": [7, None],
        "use_broadcast": [True, False],
    }


def test_put_empty_body_gives_defaults() -> None:
    assert build_put({}) == DEFAULTS


def test_patch_keeps_omitted_fields() -> None:
    current = HAParameters(ha_timeout=15, virtual_id=7)
    new = build_patch(current, decode_fields({"use_broadcast": True}, allow_null=True))
    assert new == HAParameters(ha_timeout=15, virtual_id=7, use_broadcast=True)


def test_patch_null_resets_to_default() -> None:
    current = HAParameters(ha_timeout=15, virtual_id=7, update_interface="bond0")
    values = decode_fields(
        {"ha_timeout": None, "virtual_id": None, "update_interface": None}, allow_null=True
    )
    assert build_patch(current, values) == DEFAULTS


def test_patch_checks_rules_against_merged_values() -> None:
    current = HAParameters(l4_sync_threshold=10, l4_sync_period=20)
    with pytest.raises(ValidationFailed) as exc:
        build_patch(current, {"l4_sync_period": 10})
    assert "l4_sync_threshold (10) must be less than l4_sync_period (10)" in (
        exc.value.errors[0].detail
    )
    reset = build_patch(current, {"l4_sync_threshold": None, "l4_sync_period": 5})
    assert (reset.l4_sync_threshold, reset.l4_sync_period) == (3, 5)


def test_build_rejects_unvalidated_values() -> None:
    with pytest.raises(ValidationFailed) as exc:
        build_put({"ha_timeout": 10, "nope": 1})
    assert pointers(exc) == ["/ha_timeout", "/nope"]


def test_diff_returns_empty_for_equal() -> None:
    assert diff(DEFAULTS, HAParameters()) == {}


def test_struct_round_trips_through_json() -> None:
    params = HAParameters(virtual_id=12, preferred_server="second")
    encoded = msgspec.json.encode(params)
    assert msgspec.json.decode(encoded, type=HAParameters) == params


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.10:8080", 10),
        ("10.1.2.255:80", 255),
        ("10.1.2.0:80", 1),
        ("[::1]:8080", 1),
        ("[fe80::1:2ab]:443", 0xAB),
        ("[2001:db8::100]:80", 1),
        ("[::]:80", 1),
        ("example.com:80", 1),
        ("garbage", 1),
        ("", 1),
        (None, 1),
    ],
)
def test_auto_virtual_id_uses_last_byte(address: str | None, expected: int) -> None:
    assert auto_virtual_id(address) == expected


@FAST
@given(st.ip_addresses(), st.integers(1, 65535))
def test_auto_virtual_id_is_in_range(ip: Any, port: int) -> None:
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    result = auto_virtual_id(f"{host}:{port}")
    assert 1 <= result <= 255
    assert result == (ip.packed[-1] or 1)


def test_effective_virtual_id_reports_source() -> None:
    assert effective_virtual_id(DEFAULTS, "127.0.0.10:8080") == (10, "auto")
    assert effective_virtual_id(HAParameters(virtual_id=42), "127.0.0.10:8080") == (
        42,
        "manual",
    )
