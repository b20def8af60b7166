"""``/api/v1/ha/parameters``: ranges, defaults, strict types, rules, writes and their checks."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    DEFAULTS,
    MERGE_PATCH,
    PARAMS,
    MakeUnit,
    Unit,
    problem,
    reset_parameters,
    revision_of,
)

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")

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
}


def _assert_unchanged(client: httpx.Client, revision: int) -> None:
    assert revision_of(client) == revision, "a refused request must not change the parameters"


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
        _assert_unchanged(api, revision)


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
    _assert_unchanged(api, revision)
    body = problem(api.put(PARAMS, json={field: value}), 422, "validation")
    assert [e["pointer"] for e in body["errors"]] == [f"/{field}"]
    _assert_unchanged(api, revision)


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
        _assert_unchanged(api, revision)


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
    _assert_unchanged(api, revision)


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
    _assert_unchanged(api, revision)


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


@pytest.mark.parametrize(
    "content_type", [MERGE_PATCH, "application/json", "application/json; charset=utf-8"]
)
def test_patch_accepts_merge_patch_and_json_media_types(
    api: httpx.Client, content_type: str
) -> None:
    revision = revision_of(api)
    r = api.patch(
        PARAMS, content=b'{"use_broadcast": true}', headers={"content-type": content_type}
    )
    assert r.status_code == 200, r.text
    assert r.json()["use_broadcast"] is True
    assert r.json()["revision"] == revision + 1
    assert r.headers["etag"] == f'"{revision + 1}"'


def test_patch_changes_only_given_fields_and_null_resets_default(api: httpx.Client) -> None:
    r = api.patch(
        PARAMS, json={"ha_timeout": 15, "use_virtual_mac": True, "update_interface": "bond0"}
    )
    assert r.status_code == 200
    r = api.patch(PARAMS, json={"ha_timeout": None, "l4_sync_refresh_period": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ha_timeout"] == 9
    assert body["use_virtual_mac"] is True
    assert body["update_interface"] == "bond0"
    assert body["l4_sync_refresh_period"] == 4


def test_put_replaces_all_and_omitted_fields_take_defaults(api: httpx.Client) -> None:
    api.patch(PARAMS, json={"use_broadcast": True, "initial_wait_time": 30, "virtual_id": 7})
    revision = revision_of(api)
    r = api.put(PARAMS, json={"ha_timeout": 15})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revision"] == revision + 1
    assert r.headers["etag"] == f'"{revision + 1}"'
    for name, value in DEFAULTS.items():
        assert body[name] == (15 if name == "ha_timeout" else value), name
    assert body["virtual_id_source"] == "auto"
    assert api.get(PARAMS).json() == body


def test_put_of_a_get_body_is_accepted(api: httpx.Client) -> None:
    api.patch(PARAMS, json={"virtual_id": 99, "l7_persistence_updates": True})
    current = api.get(PARAMS).json()
    current["ha_timeout"] = 3
    r = api.put(PARAMS, json=current)
    assert r.status_code == 200, r.text
    assert r.json()["ha_timeout"] == 3
    assert r.json()["virtual_id"] == 99
    assert r.json()["l7_persistence_updates"] is True
    assert r.json()["revision"] == current["revision"] + 1


def test_commit_increments_revision_and_updated_at(api: httpx.Client) -> None:
    before = api.get(PARAMS).json()
    r = api.patch(PARAMS, json={"initial_wait_time": 5})
    after = r.json()
    assert after["revision"] == before["revision"] + 1
    assert RFC3339_UTC.match(after["updated_at"])
    assert after["updated_at"] >= before["updated_at"]
    assert r.headers["ha-partner-acknowledged"] == "false"  # no partner
    assert api.get(PARAMS).headers["etag"] == f'"{after["revision"]}"'


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_write_with_stale_if_match_answers_412(api: httpx.Client, method: str) -> None:
    reset_parameters(api)
    assert (
        api.patch(PARAMS, json={"ha_timeout": 12}).status_code == 200
    )  # revision 0 is never current
    revision = revision_of(api)
    for stale in (f'"{revision - 1}"', f'"{revision + 1}"', '"0"'):
        r = api.request(method, PARAMS, json={"ha_timeout": 3}, headers={"If-Match": stale})
        problem(r, 412, "revision-mismatch")
        _assert_unchanged(api, revision)
    r = api.request(method, PARAMS, json={"ha_timeout": 3}, headers={"If-Match": f'"{revision}"'})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_write_with_stale_body_revision_answers_412(api: httpx.Client, method: str) -> None:
    revision = revision_of(api)
    r = api.request(method, PARAMS, json={"ha_timeout": 3, "revision": revision - 1})
    problem(r, 412, "revision-mismatch")
    _assert_unchanged(api, revision)
    r = api.request(method, PARAMS, json={"ha_timeout": 3, "revision": revision})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1


def test_write_with_matching_if_match_but_stale_body_revision_answers_412(
    api: httpx.Client,
) -> None:
    revision = revision_of(api)
    r = api.patch(
        PARAMS,
        json={"ha_timeout": 3, "revision": revision - 1},
        headers={"If-Match": f'"{revision}"'},
    )
    problem(r, 412, "revision-mismatch")
    _assert_unchanged(api, revision)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_dry_run_answers_result_and_stores_nothing(api: httpx.Client, method: str) -> None:
    before = api.get(PARAMS).json()
    r = api.request(method, PARAMS, params={"dry_run": "true"}, json={"ha_timeout": 15})
    assert r.status_code == 200, r.text
    assert r.json()["ha_timeout"] == 15
    assert api.get(PARAMS).json() == before
    # A dry run is validated like a write.
    problem(
        api.request(method, PARAMS, params={"dry_run": "true"}, json={"ha_timeout": 4}),
        422,
        "validation",
    )
    problem(
        api.request(
            method,
            PARAMS,
            params={"dry_run": "true"},
            json={"ha_timeout": 15},
            headers={"If-Match": f'"{before["revision"] + 5}"'},
        ),
        412,
        "revision-mismatch",
    )
    assert api.get(PARAMS).json() == before


def test_concurrent_patches_with_same_if_match_commit_exactly_one(
    api: httpx.Client, ha_unit: Unit
) -> None:
    revision = revision_of(api)
    assert ha_unit.shared is not None

    async def fire() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {ha_unit.token}", "If-Match": f'"{revision}"'}
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=ha_unit.shared, headers=headers, limits=limits, timeout=10
        ) as c:
            return await asyncio.gather(
                *(c.patch(PARAMS, json={"initial_wait_time": 100 + i}) for i in range(20))
            )

    responses = asyncio.run(fire())
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({200: 1, 412: 19}), [(r.status_code, r.text) for r in responses]
    for r in responses:
        if r.status_code == 412:
            problem(r, 412, "revision-mismatch")
    (winner,) = [r for r in responses if r.status_code == 200]
    assert revision_of(api) == revision + 1
    assert api.get(PARAMS).json()["initial_wait_time"] == winner.json()["initial_wait_time"]


def test_body_over_64_kib_answers_413(api: httpx.Client) -> None:
    revision = revision_of(api)
    big = b'{"update_interface": "' + b"x" * (65 * 1024) + b'"}'
    for method in ("PUT", "PATCH"):
        r = api.request(method, PARAMS, content=big, headers={"content-type": "application/json"})
        problem(r, 413, "too-large")
        _assert_unchanged(api, revision)


def test_body_over_64_kib_chunked_answers_413(api: httpx.Client) -> None:
    revision = revision_of(api)

    def chunks() -> Any:
        yield b'{"update_interface": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    r = api.patch(PARAMS, content=chunks(), headers={"content-type": "application/json"})
    problem(r, 413, "too-large")
    _assert_unchanged(api, revision)


@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        ("PATCH", "text/plain"),
        ("PATCH", "application/x-www-form-urlencoded"),
        ("PATCH", None),
        ("PUT", MERGE_PATCH),
        ("PUT", "text/json"),
        ("PUT", None),
    ],
)
def test_write_with_wrong_media_type_answers_415(
    api: httpx.Client, method: str, content_type: str | None
) -> None:
    revision = revision_of(api)
    headers = {"content-type": content_type} if content_type else {}
    r = api.request(method, PARAMS, content=b'{"ha_timeout": 3}', headers=headers)
    problem(r, 415, "unsupported-media-type")
    _assert_unchanged(api, revision)


@pytest.mark.parametrize(
    "raw", [b"{bad", b"", b'{"ha_timeout": 3', b"\xff\xfe", b"nan", b'{"a":1}x']
)
def test_write_with_non_json_body_answers_400_malformed(api: httpx.Client, raw: bytes) -> None:
    revision = revision_of(api)
    for method in ("PUT", "PATCH"):
        r = api.request(method, PARAMS, content=raw, headers={"content-type": "application/json"})
        problem(r, 400, "malformed")
        _assert_unchanged(api, revision)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", PARAMS),
        ("PATCH", PARAMS),
        ("POST", f"{PARAMS}/rollback"),
        ("PATCH", "/api/v1/unit"),
    ],
)
@pytest.mark.parametrize(
    "raw", [b"[" * 10000 + b"]" * 10000, b'{"a":' * 10000 + b"1" + b"}" * 10000]
)
def test_write_with_deeply_nested_json_answers_400_malformed(
    api: httpx.Client, method: str, path: str, raw: bytes
) -> None:
    revision = revision_of(api)
    r = api.request(method, path, content=raw, headers={"content-type": "application/json"})
    problem(r, 400, "malformed")
    _assert_unchanged(api, revision)


@pytest.mark.parametrize("raw", [b"[]", b"3", b'"x"', b"null", b"true"])
def test_write_with_non_object_json_answers_422(api: httpx.Client, raw: bytes) -> None:
    revision = revision_of(api)
    for method in ("PUT", "PATCH"):
        r = api.request(method, PARAMS, content=raw, headers={"content-type": "application/json"})
        problem(r, 422, "validation")
        _assert_unchanged(api, revision)


@pytest.mark.parametrize("value", ["maybe", "2", "truee"])
def test_write_with_bad_query_value_answers_400(api: httpx.Client, value: str) -> None:
    revision = revision_of(api)
    r = api.patch(PARAMS, params={"dry_run": value}, json={"ha_timeout": 3})
    problem(r, 400, "malformed")
    _assert_unchanged(api, revision)


def test_write_with_if_match_list_naming_current_revision_commits(api: httpx.Client) -> None:
    revision = revision_of(api)
    stale = api.patch(
        PARAMS, json={"ha_timeout": 6}, headers={"If-Match": f'"{revision + 7}", "{revision + 8}"'}
    )
    problem(stale, 412, "revision-mismatch")
    _assert_unchanged(api, revision)
    current = 6 if api.get(PARAMS).json()["ha_timeout"] != 6 else 12
    r = api.patch(
        PARAMS,
        json={"ha_timeout": current},
        headers={"If-Match": f'"{revision + 7}", "{revision}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1
