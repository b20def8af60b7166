"""Unit tests for the HA parameter types, defaults, cross-field rules and builds.

Field-by-field decoding is tested in test_parameter_decode.py.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.api import wire
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

FAST = settings(max_examples=60, deadline=None)


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
        "failback_delay",
    )
    assert {"revision", "updated_at", "virtual_id_source"} == READ_ONLY_FIELDS


def test_wire_forms_are_derived_from_the_domain_fields() -> None:
    read_only = ("revision", "updated_at", "virtual_id_source")
    assert set(read_only) == READ_ONLY_FIELDS
    assert wire.HAParametersWrite.__struct_fields__ == (*PARAMETER_FIELDS, *read_only)
    assert wire.HAParametersPatch.__struct_fields__ == (*PARAMETER_FIELDS, *read_only)
    resource = list(PARAMETER_FIELDS)
    resource.insert(resource.index("virtual_id") + 1, "virtual_id_source")
    assert wire.HAParametersResource.__struct_fields__ == (*resource, "revision", "updated_at")
    written = msgspec.json.decode(b"{}", type=wire.HAParametersWrite)
    assert msgspec.structs.asdict(written) == {**to_dict(DEFAULTS), **dict.fromkeys(read_only)}
    patch = msgspec.json.decode(b"{}", type=wire.HAParametersPatch)
    assert set(msgspec.structs.asdict(patch).values()) == {msgspec.UNSET}


def test_wire_forms_take_the_domain_ranges() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int` <= 180"):
        msgspec.json.decode(b'{"initial_wait_time": 181}', type=wire.HAParametersWrite)
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int` >= 1"):
        msgspec.json.decode(b'{"virtual_id": 0}', type=wire.HAParametersPatch)
    patch = msgspec.json.decode(b'{"virtual_id": null}', type=wire.HAParametersPatch)
    assert patch.virtual_id is None
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int`, got `null`"):
        msgspec.json.decode(
            msgspec.json.encode(
                {
                    **to_dict(DEFAULTS),
                    "virtual_id_source": "auto",
                    "revision": 1,
                    "updated_at": None,
                }
            ),
            type=wire.HAParametersResource,
        )


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
        "failback_delay": 0,
    }


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
    assert [e.pointer for e in exc.value.errors] == [
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
    assert [e.pointer for e in exc.value.errors] == ["/ha_timeout", "/nope"]


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
