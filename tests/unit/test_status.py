"""Unit tests for unit and pair status."""

from __future__ import annotations

import msgspec
import pytest

from hapair.domain.status import (
    ICONS,
    PairInfo,
    PairStatus,
    Role,
    UnitStatus,
    icon_for,
    pair_state,
    unit_status,
)


@pytest.mark.parametrize(
    ("role", "icon"),
    [
        ("active", "green-active"),
        ("standby", "green"),
        ("not_operational", "red"),
        ("pacified", "blue"),
        ("indeterminate", "grey"),
    ],
)
def test_unit_status_fills_icon_from_role(role: str, icon: str) -> None:
    status = unit_status("first", role)
    assert status.icon == icon == ICONS[role] == Role(role).icon  # type: ignore[index]
    assert status.reason is None
    assert status.role is Role(role)


def test_role_is_its_value_on_the_wire_and_in_comparisons() -> None:
    assert [str(r) for r in Role] == [
        "active", "standby", "not_operational", "pacified", "indeterminate",
    ]  # fmt: skip
    assert Role.ACTIVE == "active"
    encoded = msgspec.json.encode(unit_status("first", Role.PACIFIED))
    assert b'"role":"pacified","icon":"blue"' in encoded
    decoded = msgspec.json.decode(encoded, type=UnitStatus)
    assert decoded.role is Role.PACIFIED


def test_maintenance_is_the_yellow_icon_of_not_operational_only() -> None:
    assert icon_for(Role.NOT_OPERATIONAL, "maintenance") == "yellow"
    assert icon_for(Role.NOT_OPERATIONAL, "starting") == "red"
    assert icon_for(Role.PACIFIED, "maintenance") == "blue"


def test_pair_state_empty_is_disabled() -> None:
    assert pair_state([]) == PairInfo(state="disabled", active=None)


def test_pair_state_active_and_standby_is_paired() -> None:
    units = [unit_status("first", "active"), unit_status("second", "standby")]
    assert pair_state(units) == PairInfo(state="paired", active="first")


def test_pair_state_two_actives_is_split_brain() -> None:
    units = [unit_status("first", "active"), unit_status("second", "active")]
    assert pair_state(units) == PairInfo(state="split-brain", active=None)


def test_pair_state_indeterminate_is_split_brain() -> None:
    units = [unit_status("first", "indeterminate"), unit_status("second", "indeterminate")]
    assert pair_state(units).state == "split-brain"


@pytest.mark.parametrize("reason", ["same-mode", "shared-address-mismatch"])
def test_pair_state_misconfiguration_is_misconfigured(reason: str) -> None:
    units = [
        unit_status("first", "not_operational", reason=reason),  # type: ignore[arg-type]
        unit_status("second", "not_operational", reason=reason),  # type: ignore[arg-type]
    ]
    assert pair_state(units) == PairInfo(state="misconfigured", active=None)


@pytest.mark.parametrize(
    "other",
    [
        unit_status("second", "not_operational", reason="unreachable"),
        unit_status("second", "pacified"),
        unit_status("second", "standby", reason="not-synced"),
        None,
    ],
)
def test_pair_state_one_unit_down_is_degraded(other: UnitStatus | None) -> None:
    units = [unit_status("first", "active")]
    if other is not None:
        units.append(other)
    assert pair_state(units) == PairInfo(state="degraded", active="first")


def test_pair_state_no_active_is_degraded() -> None:
    units = [
        unit_status("first", "standby"),
        unit_status("second", "not_operational", reason="starting"),
    ]
    assert pair_state(units) == PairInfo(state="degraded", active=None)


def test_pair_status_encodes_like_spec() -> None:
    status = PairStatus(
        pair=PairInfo(state="paired", active="first"),
        units=[
            unit_status(
                "first",
                "active",
                address="127.0.0.11:8080",
                revision=12,
                last_heartbeat_at="2024-01-01T00:00:00Z",
                in_sync=True,
                version="0.2.0",
                protocol=3,
            )
        ],
    )
    decoded = msgspec.json.decode(msgspec.json.encode(status))
    assert decoded["pair"] == {"state": "paired", "active": "first"}
    assert decoded["units"][0] == {
        "name": "first",
        "role": "active",
        "icon": "green-active",
        "reason": None,
        "address": "127.0.0.11:8080",
        "revision": 12,
        "last_heartbeat_at": "2024-01-01T00:00:00Z",
        "in_sync": True,
        "serving_shared": False,
        "role_since": None,
        "last_transition": None,
        "pair_key_id": None,
        "pair_key_next_id": None,
        "tracks": [],
        "version": "0.2.0",
        "protocol": 3,
        "detail": None,
        "alerts": [],
        "links": None,
    }
