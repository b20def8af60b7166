"""API tokens (SPEC sections 4, 6, 8): create, list, revoke, expire; over HTTP, the SDK, the CLI.

Revocation and expiry on both units of a real pair: tests/integration/test_tokens_pair.py.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hapair_client import AuthenticatedClient
from hapair_client.api.tokens import create_token, list_tokens, revoke_token
from hapair_client.models import Problem, TokenCreate, TokenCreated, TokenList

from tests.api_checks import (
    PARAMS,
    TOKENS,
    problem,
)
from tests.support import poll
from tests.units import (
    ADMIN_TOKEN,
    MakeUnit,
    Unit,
)


def _create(client: httpx.Client, **body: object) -> dict[str, object]:
    r = client.post(TOKENS, json={"role": "viewer", **body})
    assert r.status_code == 201, r.text
    created: dict[str, object] = r.json()
    return created


def _as(unit: Unit, token: object, *, shared: bool = True) -> httpx.Client:
    assert isinstance(token, str)
    return unit.client(token=token, shared=shared)


def test_token_create_list_revoke_over_http(ha_unit: Unit) -> None:
    admin = ha_unit.client()
    created = _create(admin, description="grafana", expires_in_s=3600)
    assert set(created) == {"id", "token", "role", "expires_at"}
    assert created["role"] == "viewer"
    assert isinstance(created["expires_at"], str)
    viewer = _as(ha_unit, created["token"])
    assert viewer.get(PARAMS).status_code == 200
    problem(viewer.patch(PARAMS, json={"ha_timeout": 3}), 403, "forbidden")
    problem(viewer.get(TOKENS), 403, "forbidden")  # the list is admin-only

    listed = admin.get(TOKENS)
    assert listed.status_code == 200
    items = {t["id"]: t for t in listed.json()["items"]}
    mine = items[created["id"]]
    assert mine == {
        "id": created["id"],
        "role": "viewer",
        "description": "grafana",
        "created_at": mine["created_at"],
        "expires_at": created["expires_at"],
    }
    text = listed.text
    assert str(created["token"]) not in text
    assert hashlib.sha256(str(created["token"]).encode()).hexdigest() not in text

    r = admin.delete(f"{TOKENS}/{created['id']}")
    assert r.status_code == 204
    assert r.content == b""
    problem(viewer.get(PARAMS), 401, "unauthorized")
    problem(admin.delete(f"{TOKENS}/{created['id']}"), 404, "not-found")
    assert created["id"] not in {t["id"] for t in admin.get(TOKENS).json()["items"]}


def test_admin_token_from_the_api_can_do_everything(ha_unit: Unit) -> None:
    admin = ha_unit.client()
    created = _create(admin, role="admin")
    other = _as(ha_unit, created["token"])
    assert other.get(TOKENS).status_code == 200
    assert other.put(PARAMS, json={}).status_code == 200
    assert admin.delete(f"{TOKENS}/{created['id']}").status_code == 204


def test_expired_token_answers_401(ha_unit: Unit) -> None:
    admin = ha_unit.client()
    created = _create(admin, expires_in_s=1)
    viewer = _as(ha_unit, created["token"])

    def refused() -> bool:
        return viewer.get(PARAMS).status_code == 401

    poll(refused, timeout=5, what="the token to expire")
    problem(viewer.get(PARAMS), 401, "unauthorized")
    # still listed (with its expiry) until revoked
    assert created["id"] in {t["id"] for t in admin.get(TOKENS).json()["items"]}
    assert admin.delete(f"{TOKENS}/{created['id']}").status_code == 204


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({"role": "root"}, {"/role"}),
        ({}, {"/role"}),
        ({"role": "viewer", "expires_in_s": 0}, {"/expires_in_s"}),
        ({"role": "viewer", "expires_in_s": "60"}, {"/expires_in_s"}),
        ({"role": "viewer", "expires_in_s": True}, {"/expires_in_s"}),
        ({"role": "viewer", "description": 7}, {"/description"}),
        ({"role": "viewer", "description": "x" * 201}, {"/description"}),
        ({"role": "viewer", "token": "mine"}, {"/token"}),
        ([], {""}),
    ],
)
def test_bad_token_request_is_422(ha_unit: Unit, body: object, pointers: set[str]) -> None:
    r = ha_unit.client().post(TOKENS, json=body)
    got = problem(r, 422, "validation")
    assert {e["pointer"] for e in got["errors"]} == pointers


def test_token_writes_need_the_shared_address_in_ha_mode(ha_unit: Unit) -> None:
    direct = ha_unit.client(shared=False)
    body = problem(direct.post(TOKENS, json={"role": "viewer"}), 409, "use-shared-address")
    assert str(ha_unit.shared_address) in body["detail"]
    problem(direct.delete(f"{TOKENS}/abc"), 409, "use-shared-address")
    assert direct.get(TOKENS).status_code == 200  # reads are served on the direct address
    problem(direct.post(TOKENS, content=b"role=viewer"), 409, "use-shared-address")
    problem(ha_unit.client().post(TOKENS, content=b"x"), 415, "unsupported-media-type")
    problem(ha_unit.client(token=None).get(TOKENS), 401, "unauthorized")


def test_tokens_on_a_non_ha_unit(make_unit: MakeUnit) -> None:
    unit = make_unit(ha=False)
    admin = unit.client(shared=False)
    created = _create(admin)
    assert _as(unit, created["token"], shared=False).get("/api/v1/unit").status_code == 200
    assert admin.delete(f"{TOKENS}/{created['id']}").status_code == 204


def test_tokens_with_the_sdk(ha_unit: Unit) -> None:
    assert ha_unit.shared is not None
    with AuthenticatedClient(base_url=ha_unit.shared, token=ADMIN_TOKEN, timeout=10) as api:
        r = create_token.sync_detailed(
            client=api,
            body=TokenCreate(role="viewer", description="sdk", expires_in_s=60),
        )
        assert r.status_code == 201
        created = r.parsed
        assert isinstance(created, TokenCreated)
        listed = list_tokens.sync(client=api)
        assert isinstance(listed, TokenList)
        assert created.id in {t.id for t in listed.items}
        with AuthenticatedClient(base_url=ha_unit.shared, token=created.token) as viewer:
            assert isinstance(list_tokens.sync_detailed(client=viewer).parsed, Problem)
        assert revoke_token.sync_detailed(created.id, client=api).status_code == 204
        gone = revoke_token.sync_detailed(created.id, client=api)
        assert gone.status_code == 404
        assert isinstance(gone.parsed, Problem)
        assert gone.parsed.type_ == "urn:hapair:problem:not-found"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hapair", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
    )


def test_token_cli_create_list_revoke(ha_unit: Unit, tmp_path: Path) -> None:
    token_file = tmp_path / "admin.token"
    token_file.write_text(ADMIN_TOKEN + "\n")
    via_api = ["--url", str(ha_unit.shared), "--token-file", str(token_file)]
    out = _cli("token", "create", "--role", "viewer", "--expires-in", "600",
               "--description", "cli", *via_api)  # fmt: skip
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("hp_")
    token_id = out.stderr.split("id ", 1)[1].split(",", 1)[0]
    assert _as(ha_unit, token).get(PARAMS).status_code == 200

    listed = _cli("token", "list", "--json", *via_api)
    assert listed.returncode == 0, listed.stderr
    items = {t["id"]: t for t in json.loads(listed.stdout)["items"]}
    assert items[token_id]["description"] == "cli"
    assert token not in listed.stdout
    table = _cli("token", "list", *via_api)
    assert token_id in table.stdout
    assert token not in table.stdout

    # the data dir's Redis (no --url): the same tokens
    local = _cli("token", "list", "--json", "--data-dir", str(ha_unit.data_dir))
    assert local.returncode == 0, local.stderr
    assert token_id in {t["id"] for t in json.loads(local.stdout)["items"]}

    revoked = _cli("token", "revoke", token_id, *via_api)
    assert revoked.returncode == 0, revoked.stderr
    problem(_as(ha_unit, token).get(PARAMS), 401, "unauthorized")
    again = _cli("token", "revoke", token_id, *via_api)
    assert again.returncode == 2
    assert "404" in again.stderr
