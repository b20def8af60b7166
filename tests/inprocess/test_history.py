"""``/ha/parameters/history`` and ``/rollback``: changes, actor, paging, revisions, the 1000 cap."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.api_checks import (
    PARAMS,
    create_token,
    problem,
    revision_of,
)
from tests.units import (
    ADMIN_TOKEN,
    MakeUnit,
    Unit,
)

HISTORY = f"{PARAMS}/history"
ROLLBACK = f"{PARAMS}/rollback"


def _commit(api: httpx.Client, patch: dict[str, Any]) -> dict[str, Any]:
    r = api.patch(PARAMS, json=patch)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_history_lists_changes_actor_and_time_newest_first(api: httpx.Client) -> None:
    base = api.get(PARAMS).json()
    first = _commit(api, {"ha_timeout": 15, "use_broadcast": True})
    second = _commit(api, {"ha_timeout": 3, "update_interface": "bond0"})
    r = api.get(HISTORY, params={"limit": 2})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["revision"] for i in items] == [second["revision"], first["revision"]]
    assert items[0] == {
        "revision": second["revision"],
        "updated_at": second["updated_at"],
        "actor": "bootstrap-admin",
        "changes": {"ha_timeout": [15, 3], "update_interface": ["eth0", "bond0"]},
    }
    assert items[1]["changes"] == {
        "ha_timeout": [base["ha_timeout"], 15],
        "use_broadcast": [False, True],
    }
    assert items[1]["updated_at"] == first["updated_at"]


def test_history_actor_names_the_token(api: httpx.Client, ha_unit: Unit) -> None:
    other_admin = create_token(ha_unit.data_dir, "admin")
    client = ha_unit.client(token=other_admin)
    r = client.patch(PARAMS, json={"l7_persistence_updates": True})
    assert r.status_code == 200, r.text
    (item,) = api.get(HISTORY, params={"limit": 1}).json()["items"]
    assert item["revision"] == r.json()["revision"]
    assert item["actor"].startswith("token:")
    assert item["actor"] != "bootstrap-admin"
    assert other_admin not in item["actor"]
    assert ADMIN_TOKEN not in item["actor"]


def test_history_pages_with_limit_and_before(make_unit: MakeUnit) -> None:
    # a unit of its own: the pages cover its whole history, which the module's unit has
    # grown by whatever ran before on this xdist worker
    api = make_unit().client()
    revisions = [_commit(api, {"initial_wait_time": i})["revision"] for i in range(1, 8)]
    newest = revisions[-1]
    seen: list[int] = []
    before: int | None = newest + 1
    pages = 0
    while before is not None and pages < 10:
        r = api.get(HISTORY, params={"limit": 3, "before": before})
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 3
        seen += [i["revision"] for i in page["items"]]
        if page["next_before"] is not None:
            assert page["next_before"] == page["items"][-1]["revision"]
        before = page["next_before"]
        pages += 1
    assert seen == list(range(newest, 0, -1)), seen
    assert before is None  # the last page says there is no more
    # Without before: the newest first; default limit is 50.
    r = api.get(HISTORY)
    assert r.json()["items"][0]["revision"] == newest
    assert len(r.json()["items"]) == min(50, newest)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": -1},
        {"limit": "x"},
        {"limit": "1.5"},
        {"before": "abc"},
        {"before": -1},
    ],
)
def test_history_with_bad_query_value_answers_400(
    api: httpx.Client, params: dict[str, Any]
) -> None:
    problem(api.get(HISTORY, params=params), 400, "malformed")


def test_history_limit_bounds_are_accepted(api: httpx.Client) -> None:
    _commit(api, {"use_virtual_mac": True})
    assert len(api.get(HISTORY, params={"limit": 1}).json()["items"]) == 1
    assert api.get(HISTORY, params={"limit": 1000}).status_code == 200
    r = api.get(HISTORY, params={"before": 1})
    assert r.status_code == 200
    assert r.json() == {"items": [], "next_before": None}


def test_history_revision_answers_parameters_as_of_that_revision(api: httpx.Client) -> None:
    old = _commit(api, {"ha_timeout": 12, "virtual_id": 77})
    _commit(api, {"ha_timeout": 6, "virtual_id": None})
    r = api.get(f"{HISTORY}/{old['revision']}")
    assert r.status_code == 200, r.text
    assert r.json() == old


@pytest.mark.parametrize("revision", ["999999", "0"])
def test_history_unknown_revision_answers_404(api: httpx.Client, revision: str) -> None:
    problem(api.get(f"{HISTORY}/{revision}"), 404, "not-found")


def test_history_revision_not_a_number_answers_4xx_problem(api: httpx.Client) -> None:
    r = api.get(f"{HISTORY}/abc")
    assert r.status_code in (400, 404), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_rollback_commits_new_revision_equal_to_old_one(api: httpx.Client) -> None:
    target = _commit(api, {"ha_timeout": 12, "l4_sync_threshold": 10, "preferred_server": "first"})
    _commit(api, {"ha_timeout": 3, "l4_sync_threshold": 20, "preferred_server": "none"})
    latest = _commit(api, {"use_broadcast": True, "virtual_id": 5})
    r = api.post(ROLLBACK, json={"revision": target["revision"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revision"] == latest["revision"] + 1
    assert r.headers["etag"] == f'"{body["revision"]}"'
    for key, value in target.items():
        if key not in ("revision", "updated_at"):
            assert body[key] == value, key
    assert api.get(PARAMS).json() == body
    (item,) = api.get(HISTORY, params={"limit": 1}).json()["items"]
    assert item["revision"] == body["revision"]
    assert item["changes"] == {
        "ha_timeout": [3, 12],
        "l4_sync_threshold": [20, 10],
        "preferred_server": ["none", "first"],
        "use_broadcast": [True, False],
        "virtual_id": [5, None],
    }


def test_rollback_with_if_match_current_succeeds_and_stale_answers_412(api: httpx.Client) -> None:
    target = _commit(api, {"ha_timeout": 15})
    _commit(api, {"ha_timeout": 6})
    revision = revision_of(api)
    r = api.post(
        ROLLBACK, json={"revision": target["revision"]}, headers={"If-Match": f'"{revision - 1}"'}
    )
    problem(r, 412, "revision-mismatch")
    assert revision_of(api) == revision
    r = api.post(
        ROLLBACK, json={"revision": target["revision"]}, headers={"If-Match": f'"{revision}"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["ha_timeout"] == 15
    assert r.json()["revision"] == revision + 1


def test_rollback_to_unknown_revision_answers_404(api: httpx.Client) -> None:
    _commit(api, {"ha_timeout": 15})
    revision = revision_of(api)
    for target in (revision + 10, 0):
        problem(api.post(ROLLBACK, json={"revision": target}), 404, "not-found")
    assert revision_of(api) == revision


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"revision": "1"},
        {"revision": -1},
        {"revision": 1.5},
        {"revision": True},
        {"revision": None},
        {"revision": 1, "extra": 2},
        [1],
        3,
    ],
)
def test_rollback_with_bad_body_answers_422(api: httpx.Client, body: object) -> None:
    _commit(api, {"ha_timeout": 15})
    revision = revision_of(api)
    problem(api.post(ROLLBACK, json=body), 422, "validation")
    assert revision_of(api) == revision


def test_rollback_with_non_json_or_wrong_media_type_is_refused(api: httpx.Client) -> None:
    revision = revision_of(api)
    r = api.post(ROLLBACK, content=b"{", headers={"content-type": "application/json"})
    problem(r, 400, "malformed")
    r = api.post(ROLLBACK, content=b'{"revision": 1}', headers={"content-type": "text/plain"})
    problem(r, 415, "unsupported-media-type")
    assert revision_of(api) == revision


def test_rollback_dry_run_stores_nothing(api: httpx.Client) -> None:
    target = _commit(api, {"ha_timeout": 15})
    _commit(api, {"ha_timeout": 6})
    before = api.get(PARAMS).json()
    r = api.post(ROLLBACK, params={"dry_run": "true"}, json={"revision": target["revision"]})
    assert r.status_code == 200, r.text
    assert r.json()["ha_timeout"] == 15
    assert api.get(PARAMS).json() == before


@pytest.mark.timeout(120)
def test_history_keeps_last_1000_revisions(make_unit: MakeUnit) -> None:
    unit = make_unit()
    api = unit.client()
    assert revision_of(api) == 0
    start = time.monotonic()
    for i in range(1005):
        r = api.patch(PARAMS, json={"use_broadcast": i % 2 == 0})
        assert r.status_code == 200, r.text
    elapsed = time.monotonic() - start
    print(f"1005 commits in {elapsed:.1f} s")
    assert revision_of(api) == 1005
    page = api.get(HISTORY, params={"limit": 1000}).json()
    revisions = [i["revision"] for i in page["items"]]
    assert revisions == list(range(1005, 5, -1))
    assert page["next_before"] is None
    problem(api.get(f"{HISTORY}/5"), 404, "not-found")
    assert api.get(f"{HISTORY}/6").json()["revision"] == 6
    assert api.get(HISTORY, params={"before": 6}).json() == {"items": [], "next_before": None}
