"""The OpenAPI document is the app's own, complete, and the SDK is generated from it unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from hapair.bootstrap import render_openapi

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.json"
METHODS = {"get", "put", "post", "patch", "delete"}
OPS_OPERATIONS = {"healthz", "readyz", "metrics"}
REGEN = "python scripts/regen_contract.py"


def _document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(COMMITTED.read_bytes())
    return doc


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def test_openapi_json_matches_app_document() -> None:
    assert COMMITTED.read_bytes() == render_openapi(), f"openapi.json is stale: run {REGEN}"


def test_openapi_json_matches_document_served_by_running_unit(make_unit: Any) -> None:
    unit = make_unit("contract", ha=False, token=None, no_auth=True)
    r = httpx.get(f"{unit.direct}/openapi.json", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.content == COMMITTED.read_bytes(), f"served document differs: run {REGEN}"
    # Litestar's own schema route serves the same document, not its raw one
    for path in ("/_schema", "/_schema/openapi.json"):
        assert httpx.get(f"{unit.direct}{path}", timeout=5).content == r.content, path


def test_every_operation_has_id_summary_security_and_problem_responses() -> None:
    doc = _document()
    ids = []
    for method, path, op in _operations(doc):
        label = f"{method.upper()} {path}"
        assert op.get("operationId"), label
        assert op.get("summary"), label
        ids.append(op["operationId"])
        assert "security" in op, label
        if op["operationId"] in OPS_OPERATIONS:
            assert op["security"] == [], label
        else:
            assert op["security"] == [{"bearer": []}], label
            assert {"401", "403"} <= set(op["responses"]), label
        for status, response in op["responses"].items():
            if int(status) >= 400:
                content = response.get("content", {})
                assert list(content) == ["application/problem+json"], f"{label} {status}"
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, f"{label} {status}"
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (viewer or admin).",
    }


def test_request_bodies_are_closed_with_ranges_and_enums() -> None:
    doc = _document()
    bodies = 0
    for method, path, op in _operations(doc):
        content = op.get("requestBody", {}).get("content", {})
        for media_type, media in content.items():
            bodies += 1
            schema = _resolve(doc, media["schema"])
            assert schema["type"] == "object", f"{method} {path} {media_type}"
            assert schema["additionalProperties"] is False, f"{method} {path} {media_type}"
        if op["operationId"] in {"patch_parameters", "patch_unit"}:
            assert set(content) == {"application/json", "application/merge-patch+json"}
    assert bodies == 9
    put = doc["components"]["schemas"]["HAParametersWrite"]["properties"]
    assert put["ha_timeout"]["enum"] == [3, 6, 9, 12, 15]
    assert put["ha_timeout"]["type"] == "integer"
    assert (put["initial_wait_time"]["minimum"], put["initial_wait_time"]["maximum"]) == (0, 180)
    assert (put["l4_sync_threshold"]["minimum"], put["l4_sync_threshold"]["maximum"]) == (1, 254)
    assert (put["l4_sync_period"]["minimum"], put["l4_sync_period"]["maximum"]) == (2, 255)
    assert put["preferred_server"]["enum"] == ["first", "none", "second"]
    vid = put["virtual_id"]["anyOf"]
    assert {"type": "null"} in vid
    assert any(b.get("minimum") == 1 and b.get("maximum") == 255 for b in vid)
    assert put["update_interface"]["maxLength"] == 15
    patch = doc["components"]["schemas"]["HAParametersPatch"]["properties"]
    wait = next(b for b in patch["initial_wait_time"]["anyOf"] if b.get("type") == "integer")
    assert (wait["minimum"], wait["maximum"]) == (0, 180)
    unit = doc["components"]["schemas"]["UnitPatch"]["properties"]
    assert unit["mode"] == {"enum": ["first", "non_ha", "second"], "type": "string"}
    token = doc["components"]["schemas"]["TokenCreate"]["properties"]
    assert token["role"] == {"enum": ["admin", "viewer"], "type": "string"}


def test_writes_declare_if_match_and_their_answer_headers() -> None:
    doc = _document()
    ops = {op["operationId"]: op for _, _, op in _operations(doc)}
    for op_id in ("replace_parameters", "patch_parameters", "rollback_parameters"):
        names = [p["name"] for p in ops[op_id].get("parameters", []) if p["in"] == "header"]
        assert names == ["If-Match"], op_id
        assert {"412", "422"} <= set(ops[op_id]["responses"]), op_id
        headers = ops[op_id]["responses"]["200"]["headers"]
        assert {"ETag", "HA-Partner-Acknowledged", "HA-Dry-Run"} <= set(headers), op_id
    assert "ETag" in ops["get_parameters"]["responses"]["200"]["headers"]


@pytest.mark.timeout(180)
def test_sdk_is_generated_from_openapi_json_without_changes() -> None:
    """Regenerates the SDK into a temporary directory and diffs it against ``sdk/``."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "regen_contract.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
