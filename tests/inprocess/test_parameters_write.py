"""``/api/v1/ha/parameters`` writes: PATCH and PUT semantics, revisions, If-Match, dry runs and
concurrent writers."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.api_checks import (
    DEFAULTS,
    MERGE_PATCH,
    PARAMS,
    RFC3339_UTC,
    assert_unchanged,
    problem,
    reset_parameters,
    revision_of,
)
from tests.units import (
    Unit,
)


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
        assert_unchanged(api, revision)
    r = api.request(method, PARAMS, json={"ha_timeout": 3}, headers={"If-Match": f'"{revision}"'})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_write_with_stale_body_revision_answers_412(api: httpx.Client, method: str) -> None:
    # a write first: revision - 1 must be a revision (the module's unit is fresh when this test
    # is the first of the module on its xdist worker)
    assert api.patch(PARAMS, json={"ha_timeout": 12}).status_code == 200
    revision = revision_of(api)
    r = api.request(method, PARAMS, json={"ha_timeout": 3, "revision": revision - 1})
    problem(r, 412, "revision-mismatch")
    assert_unchanged(api, revision)
    r = api.request(method, PARAMS, json={"ha_timeout": 3, "revision": revision})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1


def test_write_with_matching_if_match_but_stale_body_revision_answers_412(
    api: httpx.Client,
) -> None:
    assert api.patch(PARAMS, json={"ha_timeout": 12}).status_code == 200  # as above
    revision = revision_of(api)
    r = api.patch(
        PARAMS,
        json={"ha_timeout": 3, "revision": revision - 1},
        headers={"If-Match": f'"{revision}"'},
    )
    problem(r, 412, "revision-mismatch")
    assert_unchanged(api, revision)


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


def test_write_with_if_match_list_naming_current_revision_commits(api: httpx.Client) -> None:
    revision = revision_of(api)
    stale = api.patch(
        PARAMS, json={"ha_timeout": 6}, headers={"If-Match": f'"{revision + 7}", "{revision + 8}"'}
    )
    problem(stale, 412, "revision-mismatch")
    assert_unchanged(api, revision)
    current = 6 if api.get(PARAMS).json()["ha_timeout"] != 6 else 12
    r = api.patch(
        PARAMS,
        json={"ha_timeout": current},
        headers={"If-Match": f'"{revision + 7}", "{revision}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1
