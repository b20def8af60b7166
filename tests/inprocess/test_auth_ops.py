"""Auth: bearer tokens, roles, ``--no-auth``, the open operations endpoints, no token logged.

Metrics, logs and keep-alive: test_ops.py.
"""

from __future__ import annotations

import pytest

from tests.api_checks import (
    BAD_TOKENS,
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


@pytest.fixture(scope="module")
def viewer_token(ha_unit: Unit) -> str:
    return create_token(ha_unit.data_dir, "viewer")


READS = [
    ("GET", PARAMS),
    ("GET", f"{PARAMS}/history"),
    ("GET", "/api/v1/ha/conflicts"),
    ("GET", "/api/v1/ha/status"),
    ("GET", "/api/v1/unit"),
]
WRITES = [
    ("PUT", PARAMS, {}),
    ("PATCH", PARAMS, {"ha_timeout": 3}),
    ("POST", f"{PARAMS}/rollback", {"revision": 1}),
    ("POST", "/api/v1/ha/actions/force-partner-update", None),
    ("PATCH", "/api/v1/unit", {"mode": "non_ha"}),
    ("POST", "/api/v1/unit/reboot", None),
    ("POST", "/api/v1/unit/takeover", None),
]


@pytest.mark.parametrize(("method", "path"), READS + [(m, p) for m, p, _ in WRITES])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Token abc",
        "Basic YWRtaW46YWRtaW4=",
        *(f"Bearer {t}" for t in BAD_TOKENS),
        ADMIN_TOKEN,
    ],
)
def test_api_without_valid_token_answers_401(
    ha_unit: Unit, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    client = ha_unit.client(token=None)
    r = client.request(method, path, headers=headers, json={})
    problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].lower().startswith("bearer")


def test_admin_token_reads_and_writes(ha_unit: Unit) -> None:
    client = ha_unit.client()
    revision = revision_of(client)
    r = client.patch(PARAMS, json={"ha_timeout": 15 if revision % 2 else 12})
    assert r.status_code == 200, r.text
    assert revision_of(client) == revision + 1


@pytest.mark.parametrize(("method", "path"), READS)
def test_viewer_token_reads(ha_unit: Unit, viewer_token: str, method: str, path: str) -> None:
    r = ha_unit.client(token=viewer_token).request(method, path)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_viewer_token_write_answers_403(
    ha_unit: Unit, viewer_token: str, method: str, path: str, body: object
) -> None:
    admin = ha_unit.client()
    revision = revision_of(admin)
    unit_before = admin.get("/api/v1/unit").json()
    r = ha_unit.client(token=viewer_token).request(method, path, json=body)
    problem(r, 403, "forbidden")
    assert revision_of(admin) == revision
    assert admin.get("/api/v1/unit").json() == unit_before


def test_created_token_is_stored_hashed(ha_unit: Unit, viewer_token: str) -> None:
    ha_unit.client(token=viewer_token).get(PARAMS)
    found = []
    for path in ha_unit.data_dir.rglob("*"):
        if path.is_file() and viewer_token.encode() in path.read_bytes():
            found.append(path)
    assert found == [], f"token in plain text in {found}"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
@pytest.mark.parametrize("shared", [True, False])
def test_ops_endpoints_are_open_without_token(ha_unit: Unit, path: str, shared: bool) -> None:
    r = ha_unit.client(shared=shared, token=None).get(path)
    assert r.status_code == 200, r.text


def test_openapi_document_declares_bearer_security(ha_unit: Unit) -> None:
    doc = ha_unit.client(token=None).get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_no_auth_on_loopback_serves_api_without_token(make_unit: MakeUnit) -> None:
    unit = make_unit(token=None, no_auth=True)
    client = unit.client(token=None)
    assert client.get(PARAMS).status_code == 200
    r = client.patch(PARAMS, json={"ha_timeout": 3})
    assert r.status_code == 200, r.text
    item = client.get(f"{PARAMS}/history").json()["items"][0]
    assert item["actor"] == "anonymous"
