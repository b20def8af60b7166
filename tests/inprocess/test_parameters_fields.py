"""``/api/v1/ha/parameters``' fields: defaults, ranges, strict types, cross-field rules and
virtual_id's automatic value."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.api_checks import (
    DEFAULTS,
    MERGE_PATCH,
    PARAMS,
    RFC3339_UTC,
    assert_unchanged,
    problem,
    revision_of,
)
from tests.units import (
    MakeUnit,
    Unit,
)

# field -> (valid values, invalid values); each valid value is committed, each invalid one
# must answer 422 naming the field and store nothing.
RANGES: dict[str, tuple[list[Any], list[Any]]] = {
    "ha_timeout": ([3, 6, 12, 15, 9], [0, 1, 4, 10, 18, -3, None]),
    "initial_wait_time": ([0, 1, 179, 180], [-1, 181, 1000]),
    "virtual_id": ([1, 128, 255], [0, -1, 256]),
    "use_broadcast": ([True, False], ["yes"]),
    "preferred_server": (["first", "second", "none"], ["third", "", "NONE", None]),
    "update_interface": (
        ["e", "bond0.100", "a" * 15, "eth0"],
        ["", "a" * 16, "a/b", "a b", "eth0:1", "eth0\n", "\teth0"],
    ),
    "hard_reboot_on_link_failure": ([True, False], ["true"]),
    "l4_connection_updates": ([True, False], [None]),
    "l4_sync_threshold": ([1, 49, 3], [0, -1, 255]),
    "l4_sync_period": ([4, 255, 50], [1, 256, 0]),
    "l4_sync_refresh_period": ([0, 10, 5], [-1, 11]),
    "l7_persistence_updates": ([True, False], [2]),
    "multicast_interface": (["lo", "x" * 15, "eth0"], ["x" * 16, "lo/0", "lo 0"]),
    "use_virtual_mac": ([True, False], [[]]),
    "failback_delay": ([0, 3600, 30], [-1, 3601, "30", True]),
}


def test_get_parameters_returns_every_default_with_etag(api: httpx.Client, ha_unit: Unit) -> None:
    r = api.get(PARAMS)
    assert r.status_code == 200
    body = r.json()
    assert r.headers["etag"] == f'"{body["revision"]}"'
    for name, value in DEFAULTS.items():
        assert body[name] == value, name
    assert body["virtual_id"] == 10  # auto: last byte of 127.0.0.10
    assert body["virtual_id_source"] == "auto"
    if body["revision"] == 0:
        assert body["updated_at"] is None  # never written: the defaults
    else:
        assert RFC3339_UTC.match(body["updated_at"]), body["updated_at"]
    expected = {*DEFAULTS, "virtual_id", "virtual_id_source", "revision", "updated_at"}
    assert set(body) == expected


@pytest.mark.parametrize("field", sorted(RANGES))
def test_patch_field_accepts_range_and_rejects_outside(api: httpx.Client, field: str) -> None:
    valid, invalid = RANGES[field]
    for value in valid:
        r = api.patch(PARAMS, json={field: value}, headers={"content-type": MERGE_PATCH})
        assert r.status_code == 200, (value, r.text)
        assert r.json()[field] == value
        assert api.get(PARAMS).json()[field] == value
    revision = revision_of(api)
    for value in invalid:
        if value is None and field != "virtual_id":
            # null in a merge patch means "default", so it is valid; check PUT instead.
            r = api.put(PARAMS, json={field: value})
        else:
            r = api.patch(PARAMS, json={field: value})
        body = problem(r, 422, "validation")
        pointers = [e["pointer"] for e in body["errors"]]
        assert pointers == [f"/{field}"], (value, body)
        assert field in body["errors"][0]["detail"]
        assert_unchanged(api, revision)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ha_timeout", "9"),
        ("initial_wait_time", "10"),
        ("ha_timeout", True),
        ("l4_sync_period", False),
        ("ha_timeout", 9.5),
        ("use_broadcast", 0),
        ("use_broadcast", 1),
        ("use_virtual_mac", "false"),
        ("l4_connection_updates", 0.0),
        ("update_interface", 5),
        ("preferred_server", 1),
        ("virtual_id", "12"),
        ("virtual_id", {"auto": True}),
    ],
)
def test_patch_wrong_type_answers_422_and_stores_nothing(
    api: httpx.Client, field: str, value: object
) -> None:
    revision = revision_of(api)
    body = problem(api.patch(PARAMS, json={field: value}), 422, "validation")
    assert [e["pointer"] for e in body["errors"]] == [f"/{field}"]
    assert_unchanged(api, revision)
    body = problem(api.put(PARAMS, json={field: value}), 422, "validation")
    assert [e["pointer"] for e in body["errors"]] == [f"/{field}"]
    assert_unchanged(api, revision)


def test_patch_integral_float_is_accepted_as_integer(api: httpx.Client) -> None:
    r = api.patch(
        PARAMS,
        content=b'{"ha_timeout": 12.0, "initial_wait_time": 7.0, "virtual_id": 200.0}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert b'"ha_timeout":12,' in r.content.replace(b" ", b"")
    stored = api.get(PARAMS)
    assert stored.json()["ha_timeout"] == 12
    assert b'"ha_timeout":12,' in stored.content.replace(b" ", b"")
    assert b'"initial_wait_time":7,' in stored.content.replace(b" ", b"")
    assert stored.json()["virtual_id"] == 200


def test_write_with_unknown_field_answers_422_naming_it(api: httpx.Client) -> None:
    revision = revision_of(api)
    for send in (api.patch, api.put):
        body = problem(send(PARAMS, json={"ha_timeuot": 12, "ha_timeout": 12}), 422, "validation")
        assert [e["pointer"] for e in body["errors"]] == ["/ha_timeuot"]
        assert_unchanged(api, revision)


def test_write_with_several_bad_fields_reports_each(api: httpx.Client) -> None:
    revision = revision_of(api)
    body = problem(
        api.patch(PARAMS, json={"ha_timeout": 4, "use_broadcast": 0, "bogus": 1}),
        422,
        "validation",
    )
    assert sorted(e["pointer"] for e in body["errors"]) == [
        "/bogus",
        "/ha_timeout",
        "/use_broadcast",
    ]
    assert_unchanged(api, revision)


@pytest.mark.parametrize(
    ("patch", "fields", "numbers"),
    [
        (
            {"l4_sync_threshold": 50, "l4_sync_period": 20},
            ["l4_sync_threshold", "l4_sync_period"],
            ["50", "20"],
        ),
        (
            {"l4_sync_threshold": 20, "l4_sync_period": 20},
            ["l4_sync_threshold", "l4_sync_period"],
            ["20"],
        ),
        # Only one field sent: the other one's stored value (period 50) is named too.
        ({"l4_sync_threshold": 50}, ["l4_sync_threshold", "l4_sync_period"], ["50"]),
        ({"l4_sync_period": 3}, ["l4_sync_threshold", "l4_sync_period"], ["3"]),
        (
            {"hard_reboot_on_link_failure": True, "preferred_server": "first"},
            ["hard_reboot_on_link_failure", "preferred_server"],
            ["true", "first"],
        ),
    ],
)
def test_cross_field_rule_answers_one_error_per_field_with_values(
    api: httpx.Client, patch: dict[str, Any], fields: list[str], numbers: list[str]
) -> None:
    revision = revision_of(api)
    body = problem(api.patch(PARAMS, json=patch), 422, "validation")
    pointers = Counter(e["pointer"] for e in body["errors"])
    assert pointers == Counter(f"/{f}" for f in fields), body
    for error in body["errors"]:
        for f in fields:
            assert f in error["detail"], error
        for n in numbers:
            assert n in error["detail"], error
    assert_unchanged(api, revision)


def test_cross_field_rule_checked_against_stored_values(api: httpx.Client) -> None:
    assert api.patch(PARAMS, json={"preferred_server": "second"}).status_code == 200
    body = problem(api.patch(PARAMS, json={"hard_reboot_on_link_failure": True}), 422, "validation")
    assert {e["pointer"] for e in body["errors"]} == {
        "/hard_reboot_on_link_failure",
        "/preferred_server",
    }
    assert "second" in body["errors"][0]["detail"]
    # Both together, in one write, is fine.
    r = api.patch(PARAMS, json={"hard_reboot_on_link_failure": True, "preferred_server": "none"})
    assert r.status_code == 200, r.text
    r = api.patch(PARAMS, json={"l4_sync_threshold": 200, "l4_sync_period": 201})
    assert r.status_code == 200, r.text


def test_virtual_id_auto_from_shared_address_and_null_returns_to_auto(api: httpx.Client) -> None:
    body = api.get(PARAMS).json()
    assert (body["virtual_id"], body["virtual_id_source"]) == (10, "auto")
    r = api.patch(PARAMS, json={"virtual_id": 42})
    assert (r.json()["virtual_id"], r.json()["virtual_id_source"]) == (42, "manual")
    r = api.patch(PARAMS, json={"virtual_id": None})
    assert r.status_code == 200, r.text
    assert (r.json()["virtual_id"], r.json()["virtual_id_source"]) == (10, "auto")
    api.patch(PARAMS, json={"virtual_id": 42})
    r = api.put(PARAMS, json={"virtual_id": None})
    assert (r.json()["virtual_id"], r.json()["virtual_id_source"]) == (10, "auto")
    api.patch(PARAMS, json={"virtual_id": 42})
    r = api.put(PARAMS, json={})
    assert (r.json()["virtual_id"], r.json()["virtual_id_source"]) == (10, "auto")


def test_virtual_id_auto_is_1_when_shared_address_ends_in_0(make_unit: MakeUnit) -> None:
    unit = make_unit(shared_host="127.0.1.0")
    body = unit.client().get(PARAMS).json()
    assert (body["virtual_id"], body["virtual_id_source"]) == (1, "auto")
