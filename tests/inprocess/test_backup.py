"""Backup and restore (SPEC 4 ``GET /ha/export``, ``POST /ha/import``) on a real unit.

The module's unit (HA mode, alone, active on its shared address) is shared by the tests; each
one starts from the default parameters and removes the tokens it made.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from hapair.domain.parameters import HAParameters
from hapair.domain.version import VERSION
from tests.api_checks import (
    PARAMS,
    TOKENS,
    canonical_checksum,
    problem,
    revision_of,
)
from tests.units import (
    MakeUnit,
    Unit,
)

EXPORT = "/api/v1/ha/export"
IMPORT = "/api/v1/ha/import"


def resealed(bundle: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``bundle`` with top-level ``changes`` and a checksum that matches them."""
    out = {**copy.deepcopy(bundle), **changes}
    out["checksum"] = canonical_checksum(out)
    return out


def state(api: httpx.Client) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The parameters and the token list: what an import may change."""
    params = api.get(PARAMS)
    tokens = api.get(TOKENS)
    assert params.status_code == 200 and tokens.status_code == 200
    return params.json(), tokens.json()["items"]


def token_works(unit: Unit, token: str) -> bool:
    r = httpx.get(f"{unit.shared}{PARAMS}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


@pytest.fixture
def clean(ha_unit: Unit) -> Iterator[httpx.Client]:
    """An admin client on the shared address, defaults and no API token before and after."""

    def reset(client: httpx.Client) -> None:
        assert client.put(PARAMS, json={}).status_code == 200
        for item in client.get(TOKENS).json()["items"]:
            assert client.delete(f"{TOKENS}/{item['id']}").status_code == 204

    client = ha_unit.client()
    reset(client)
    try:
        yield client
    finally:
        reset(client)
        client.close()


def create(api: httpx.Client, role: str, description: str) -> dict[str, Any]:
    r = api.post(TOKENS, json={"role": role, "description": description, "expires_in_s": 3600})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_export_holds_parameters_as_written_tokens_and_checksum(
    clean: httpx.Client, ha_unit: Unit
) -> None:
    assert clean.patch(PARAMS, json={"ha_timeout": 6}).status_code == 200
    viewer = create(clean, "viewer", "grafana")
    r = clean.get(EXPORT)
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert list(bundle) == [
        "format",
        "hapair_version",
        "exported_at",
        "revision",
        "parameters",
        "tokens",
        "checksum",
    ]
    assert bundle["format"] == 1
    assert bundle["hapair_version"] == VERSION
    assert bundle["revision"] == revision_of(clean)
    assert bundle["parameters"] == {**msgspec.structs.asdict(HAParameters()), "ha_timeout": 6}
    assert bundle["parameters"]["virtual_id"] is None  # auto stays auto, not the effective id
    (token,) = bundle["tokens"]
    assert token == {
        "id": viewer["id"],
        "role": "viewer",
        "description": "grafana",
        "created_at": token["created_at"],
        "expires_at": viewer["expires_at"],
        "digest": hashlib.sha256(viewer["token"].encode()).hexdigest(),
    }
    assert bundle["checksum"] == canonical_checksum(bundle)
    # the digests are verifiers of the tokens: admin only
    r = httpx.get(
        f"{ha_unit.shared}{EXPORT}", headers={"Authorization": f"Bearer {viewer['token']}"}
    )
    problem(r, 403, "forbidden")


def test_export_change_import_restores_the_export(clean: httpx.Client, ha_unit: Unit) -> None:
    assert clean.patch(PARAMS, json={"ha_timeout": 6, "l4_sync_period": 60}).status_code == 200
    kept = create(clean, "viewer", "kept")
    exported = clean.get(EXPORT).json()
    params_at_export, tokens_at_export = state(clean)

    changed = {"ha_timeout": 12, "virtual_id": 7, "preferred_server": "second"}
    assert clean.patch(PARAMS, json=changed).status_code == 200
    later = create(clean, "admin", "made after the backup")
    params_before, tokens_before = state(clean)
    expected_changes = {
        "ha_timeout": [12, 6],
        "virtual_id": [7, None],
        "preferred_server": ["second", "none"],
    }

    dry = clean.post(IMPORT, params={"dry_run": "true"}, json=exported)
    assert dry.status_code == 200, dry.text
    assert dry.headers["HA-Dry-Run"] == "true"
    assert dry.json() == {
        "changes": expected_changes,
        "tokens": {"added": [], "removed": [later["id"]], "revoked": []},
        "revision": params_before["revision"] + 1,
        "dry_run": True,
    }
    assert state(clean) == (params_before, tokens_before), "a dry run stores nothing"
    assert token_works(ha_unit, later["token"])

    r = clean.post(IMPORT, json=exported)
    assert r.status_code == 200, r.text
    assert "HA-Partner-Acknowledged" in r.headers
    assert r.json() == {**dry.json(), "dry_run": False}

    params_after, tokens_after = state(clean)
    assert params_after["revision"] == params_before["revision"] + 1  # one revision
    same = {k: v for k, v in params_after.items() if k not in ("revision", "updated_at")}
    assert same == {
        k: v for k, v in params_at_export.items() if k not in ("revision", "updated_at")
    }
    assert params_after["virtual_id_source"] == "auto"
    assert tokens_after == tokens_at_export
    assert token_works(ha_unit, kept["token"])
    assert not token_works(ha_unit, later["token"])
    (top,) = clean.get(f"{PARAMS}/history", params={"limit": 1}).json()["items"]
    assert top["actor"] == "import"
    assert top["revision"] == params_after["revision"]
    assert top["changes"] == expected_changes

    again = clean.post(IMPORT, json=exported)  # nothing left to change: no new revision
    assert again.status_code == 200, again.text
    assert again.json()["changes"] == {}
    assert again.json()["tokens"] == {"added": [], "removed": [], "revoked": []}
    assert revision_of(clean) == params_after["revision"]


def test_import_never_brings_back_a_revoked_token(clean: httpx.Client, ha_unit: Unit) -> None:
    revoked = create(clean, "admin", "leaked")
    exported = clean.get(EXPORT).json()
    assert clean.delete(f"{TOKENS}/{revoked['id']}").status_code == 204
    r = clean.post(IMPORT, json=exported)
    assert r.status_code == 200, r.text
    assert r.json()["tokens"] == {"added": [], "removed": [], "revoked": [revoked["id"]]}
    assert not token_works(ha_unit, revoked["token"])
    assert clean.get(TOKENS).json()["items"] == []


def _refused(
    api: httpx.Client, body: Any, pointers: set[str], *, dry_run: bool = False
) -> dict[str, Any]:
    before = state(api)
    r = api.post(IMPORT, params={"dry_run": "true"} if dry_run else {}, json=body)
    found = problem(r, 422, "validation")
    assert {e["pointer"] for e in found["errors"]} == pointers, found
    assert state(api) == before, "a refused import changes nothing"
    return found


def test_tampered_or_incompatible_bundles_are_refused(clean: httpx.Client) -> None:
    create(clean, "viewer", "stays")
    exported = clean.get(EXPORT).json()
    assert clean.patch(PARAMS, json={"ha_timeout": 15}).status_code == 200

    tampered = copy.deepcopy(exported)
    tampered["parameters"]["ha_timeout"] = 3  # edited by hand, checksum not recomputed
    found = _refused(clean, tampered, {"/checksum"})
    assert "changed or damaged" in found["errors"][0]["detail"]
    _refused(clean, tampered, {"/checksum"}, dry_run=True)
    forged = copy.deepcopy(exported)
    forged["tokens"][0]["role"] = "admin"
    _refused(clean, forged, {"/checksum"})

    _refused(clean, resealed(exported, format=2), {"/format"})
    major, minor = (int(x) for x in VERSION.split(".")[:2])
    for far in (f"{major}.{minor + 2}.0", f"{major + 1}.{minor}.0", "not-a-version"):
        found = _refused(clean, resealed(exported, hapair_version=far), {"/hapair_version"})
        assert far in found["errors"][0]["detail"]
    near = resealed(exported, hapair_version=f"{major}.{minor + 1}.0")
    assert clean.post(IMPORT, params={"dry_run": "true"}, json=near).status_code == 200

    bad_values = resealed(
        exported,
        parameters={**exported["parameters"], "ha_timeout": 4},
        tokens=[{**exported["tokens"][0], "digest": "XYZ"}, exported["tokens"][0]],
    )
    _refused(clean, bad_values, {"/parameters/ha_timeout", "/tokens/0/digest"})
    broken_rule = resealed(exported, parameters={**exported["parameters"], "l4_sync_threshold": 60})
    _refused(clean, broken_rule, {"/parameters/l4_sync_threshold", "/parameters/l4_sync_period"})
    twice = resealed(exported, tokens=exported["tokens"] * 2)
    _refused(clean, twice, {"/tokens/1/id", "/tokens/1/digest"})
    extra = resealed(exported, comment="mine")
    del extra["revision"]
    extra["checksum"] = canonical_checksum(extra)
    _refused(clean, extra, {"/comment", "/revision"})
    _refused(clean, [exported], {""})


def test_import_is_a_pair_wide_write(clean: httpx.Client, ha_unit: Unit) -> None:
    exported = clean.get(EXPORT).json()
    direct = ha_unit.client(shared=False)
    problem(direct.post(IMPORT, json=exported), 409, "use-shared-address")
    assert direct.get(EXPORT).status_code == 200  # a read: any address
    stale = clean.post(IMPORT, json=exported, headers={"If-Match": '"999999"'})
    problem(stale, 412, "revision-mismatch")


def test_restore_into_a_freshly_installed_unit(
    clean: httpx.Client, ha_unit: Unit, make_unit: MakeUnit
) -> None:
    assert clean.patch(PARAMS, json={"initial_wait_time": 30, "virtual_id": 42}).status_code == 200
    admin = create(clean, "admin", "automation")
    exported = clean.get(EXPORT).json()
    fresh = make_unit("fresh")
    api = fresh.client()
    r = api.post(IMPORT, json=exported)
    assert r.status_code == 200, r.text
    assert r.json()["tokens"]["added"] == [admin["id"]]
    params = api.get(PARAMS).json()
    assert params["revision"] == 1
    assert (params["initial_wait_time"], params["virtual_id"]) == (30, 42)
    assert params["virtual_id_source"] == "manual"
    assert token_works(fresh, admin["token"])
    assert api.get(TOKENS).json() == clean.get(TOKENS).json()
