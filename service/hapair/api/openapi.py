"""The OpenAPI document as hapair serves and commits it.

Litestar builds the document from the handlers. The write handlers take their bodies with
``SkipValidation`` (the domain validates them, field by field, strictly), so their Litestar
schemas are documentation only. This module makes that documentation state exactly what the
server enforces, which Litestar cannot express by itself:

- request bodies are rebuilt from the wire structs with msgspec's own JSON Schema (ranges and
  patterns inside each ``anyOf`` branch, ``type`` on every enum) and closed with
  ``additionalProperties: false`` (the domain rejects unknown fields);
- read-only fields in a write body are documented as ignored (the server ignores them);
- merge-patch operations accept ``application/merge-patch+json`` as well as JSON;
- writes declare their ``If-Match`` header and the headers they answer;
- operations open without a token say so with an explicit ``security: []``;
- the text the server parses in a query or header parameter (event ids, event types) carries
  the pattern of exactly what the parser accepts;
- the event stream's answer states one event (the form OpenAPI 3.1 has for a stream);
- descriptions are ``inspect.cleandoc``-ed, so every supported Python renders the same bytes.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.openapi.plugins import JsonRenderPlugin

from hapair.api import wire
from hapair.api.events import EVENT_SCHEMA, TYPES_PATTERN
from hapair.api.ops import READYZ_ROLE_PATTERN
from hapair.domain.event_ids import EVENT_ID_PATTERN

CLOSED_BODIES: dict[str, type[msgspec.Struct]] = {
    "HAParametersWrite": wire.HAParametersWrite,
    "HAParametersPatch": wire.HAParametersPatch,
    "RollbackRequest": wire.RollbackRequest,
    "UnitPatch": wire.UnitPatch,
    "TokenCreate": wire.TokenCreate,
    "MaintenanceWrite": wire.MaintenanceWrite,
    "Bundle": wire.Bundle,
}
# Structs inside a closed body, closed as well (the domain refuses their unknown fields too).
CLOSED_PARTS = ("HAParameters", "BundleToken")

# Read-only fields a client may send back from a GET: the server ignores them.
IGNORED_IN_WRITES = ("updated_at", "virtual_id_source")

PATCH_OPERATIONS = ("patch_parameters", "patch_unit")
# Optional integer query parameters whose lower bound Litestar leaves out of the document.
OPTIONAL_MINIMUMS = {("list_history", "before"): 0, ("get_status", "wait_in_sync"): 0}
# Query and header parameters whose text the server parses (``api.events``): the document states
# exactly what the parser accepts (tests/unit/test_contract_checks.py holds the two together).
PARAMETER_PATTERNS = {
    ("stream_events", "since"): EVENT_ID_PATTERN,
    ("stream_events", "Last-Event-ID"): EVENT_ID_PATTERN,
    ("stream_events", "types"): TYPES_PATTERN,
    ("readyz", "role"): READYZ_ROLE_PATTERN,
}
WRITE_OPERATIONS = ("replace_parameters", "patch_parameters", "rollback_parameters")
RESOURCE_OPERATIONS = ("get_parameters", *WRITE_OPERATIONS)
IF_MATCH_OPERATIONS = (*WRITE_OPERATIONS, "import_bundle")

# Exactly the If-Match values ``api.media.if_match`` accepts (tests/unit/test_openapi_patterns.py
# holds the two together): ``*``, or a comma-separated list in which at least one element is a
# revision, strong or weak and however quoted (``"7"``, ``W/"7"``, ``7``); the server ignores
# the other elements. ``_OWS`` is what ``str.strip()`` removes among the characters a header
# value can carry (Latin-1). ECMA-262 and Python read the pattern alike. Revisions are ASCII
# digits: the parser's isdigit() also takes '²', '³', '¹' and then fails on them (a 500).
_OWS = r"[\t-\r\x1c-\x20\x85\xa0]"
_REVISION_TAG = rf'{_OWS}*(?:W/)?"*[0-9]+"*{_OWS}*'
IF_MATCH_PATTERN = rf"^(?:{_OWS}*\*{_OWS}*|(?:[^,]*,)*{_REVISION_TAG}(?:,[^,]*)*)$"
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The ETag of a GET (`"<revision>"`): the write is refused with 412 '
    "revision-mismatch unless it names the current revision. `*` matches any.",
    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
}

RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The revision of the parameters answered, as `"<revision>"`.',
        "schema": {"type": "string"},
    },
    "HA-Partner-Acknowledged": {
        "description": "Whether the partner's Redis acknowledged the committed write (bounded "
        "by 1 s) before the answer. Absent on dry runs.",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "HA-Dry-Run": {
        "description": "`true` when `dry_run` was asked: nothing was stored.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


# Request body examples: the docs page shows them, schemathesis' examples phase sends them.
BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "HAParametersWrite": {
        "ha_timeout": 6,
        "initial_wait_time": 0,
        "virtual_id": None,
        "preferred_server": "first",
        "l4_connection_updates": True,
        "l4_sync_threshold": 3,
        "l4_sync_period": 50,
    },
    "HAParametersPatch": {"ha_timeout": 3, "l4_sync_period": 100},
    "RollbackRequest": {"revision": 1},
    "UnitPatch": {"partner_address": "127.0.0.12:8080"},
    "TokenCreate": {"role": "viewer", "description": "grafana", "expires_in_s": 86400},
    "MaintenanceWrite": {"enabled": True, "reason": "kernel upgrade"},
    "Bundle": wire.BUNDLE_EXAMPLE,
}

# OpenAPI links: how an answer feeds the next call (the docs show them; schemathesis' stateful
# phase follows them). Every answer carrying the parameters links to its revision in the
# history, to a conditional merge patch on it, and to a rollback to it.
RESOURCE_LINKS: dict[str, Any] = {
    "GetThisRevision": {
        "operationId": "get_history_revision",
        "parameters": {"revision": "$response.body#/revision"},
        "description": "These parameters as recorded in the history.",
    },
    "PatchThisRevision": {
        "operationId": "patch_parameters",
        "parameters": {"header.If-Match": "$response.header.ETag"},
        "description": "A merge patch that succeeds only if nothing changed since.",
    },
    "RollbackToThisRevision": {
        "operationId": "rollback_parameters",
        "requestBody": {"revision": "$response.body#/revision"},
        "description": "Later, commit these parameters again.",
    },
}
HISTORY_LINKS: dict[str, Any] = {
    "GetNewestRevision": {
        "operationId": "get_history_revision",
        "parameters": {"revision": "$response.body#/items/0/revision"},
        "description": "The full parameters of the newest listed revision.",
    },
    "NextPage": {
        "operationId": "list_history",
        "parameters": {"before": "$response.body#/next_before"},
        "description": "The next (older) page.",
    },
}


def _typed_enums(node: Any) -> None:
    """Adds the JSON type to enums that lack it (generators and SDKs want it)."""
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and "type" not in node and values:
            kinds = {type(v) for v in values}
            if kinds == {str}:
                node["type"] = "string"
            elif kinds == {int}:
                node["type"] = "integer"
        for value in node.values():
            _typed_enums(value)
    elif isinstance(node, list):
        for value in node:
            _typed_enums(value)


def _tidy(node: Any) -> Any:
    """Rewrites two shapes Litestar emits into what generators read well.

    ``{"type": ["null", "string"], "enum": [..., null]}`` becomes an ``anyOf`` of the enum and
    null, and a ``oneOf`` of a single schema becomes that schema.
    """
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _tidy(v) for k, v in node.items()}
    kinds, values = node.get("type"), node.get("enum")
    if isinstance(kinds, list) and "null" in kinds and isinstance(values, list):
        rest = {k: v for k, v in node.items() if k not in {"type", "enum"}}
        others = [k for k in kinds if k != "null"]
        branch = {
            "type": others[0] if len(others) == 1 else others,
            "enum": [v for v in values if v is not None],
        }
        node = {"anyOf": [branch, {"type": "null"}], **rest}
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and len(one_of) == 1:
        rest = {k: v for k, v in node.items() if k != "oneOf"}
        node = {**one_of[0], **rest}
    return node


def _clean_descriptions(node: Any) -> None:
    """``inspect.cleandoc`` on every description: the docstrings they come from keep their
    indentation up to Python 3.12 and lose it from 3.13 on, so the document would differ."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                node[key] = inspect.cleandoc(value)
            else:
                _clean_descriptions(value)
    elif isinstance(node, list):
        for value in node:
            _clean_descriptions(value)


def _body_schemas() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        tuple(CLOSED_BODIES.values()), ref_template="#/components/schemas/{name}"
    )
    out: dict[str, Any] = {}
    for name in CLOSED_PARTS:
        part = copy.deepcopy(components[name])
        part["additionalProperties"] = False
        _typed_enums(part)
        out[name] = part
    for name in CLOSED_BODIES:
        schema = copy.deepcopy(components[name])
        schema["additionalProperties"] = False
        props = schema.get("properties", {})
        for field in IGNORED_IN_WRITES:
            if field in props:
                props[field] = {
                    "description": "Read-only: ignored in a write (a GET body may be sent back)."
                }
        _typed_enums(schema)
        schema["examples"] = [BODY_EXAMPLES[name]]
        out[name] = schema
    return out


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        op
        for path_item in doc.get("paths", {}).values()
        for method, op in path_item.items()
        if method in {"get", "put", "post", "patch", "delete", "head", "options"}
    ]


def document(app: Litestar) -> dict[str, Any]:
    """The app's OpenAPI document as a dict."""
    doc: dict[str, Any] = copy.deepcopy(app.openapi_schema.to_schema())
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_tidy(schemas))
    schemas.update(_body_schemas())
    problem = schemas.get("Problem", {})
    for prop in problem.get("properties", {}).values():
        prop.pop("examples", None)
    for op in _operations(doc):
        op_id = op.get("operationId")
        if "security" not in op:
            op["security"] = []
        body = op.get("requestBody", {}).get("content", {})
        if op_id in PATCH_OPERATIONS and "application/json" in body:
            body["application/merge-patch+json"] = copy.deepcopy(body["application/json"])
        if op_id in IF_MATCH_OPERATIONS:
            op.setdefault("parameters", []).append(copy.deepcopy(IF_MATCH))
        if op_id == "revoke_token":
            no_content = op["responses"]["204"]
            no_content.pop("content", None)  # Response[None]: a 204 has no body
            no_content["headers"] = {
                "HA-Partner-Acknowledged": {
                    "description": "Whether the partner's Redis acknowledged the revocation "
                    "(bounded by 1 s) before the answer. Absent on a `non_ha` unit.",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                }
            }
        if op_id == "import_bundle":
            names = ["HA-Partner-Acknowledged", "HA-Dry-Run"]
            op["responses"]["200"]["headers"] = {
                n: copy.deepcopy(RESPONSE_HEADERS[n]) for n in names
            }
        if op_id in RESOURCE_OPERATIONS:
            ok = op["responses"]["200"]
            names = ["ETag"] if op_id == "get_parameters" else list(RESPONSE_HEADERS)
            ok["headers"] = {n: copy.deepcopy(RESPONSE_HEADERS[n]) for n in names}
            links = copy.deepcopy(RESOURCE_LINKS)
            if op_id != "get_parameters":
                del links["PatchThisRevision"]  # a dry run answers no ETag
            ok["links"] = links
        if op_id == "stream_events":
            stream = op["responses"]["200"]["content"]["text/event-stream"]
            stream["schema"] = copy.deepcopy(EVENT_SCHEMA)
        if op_id == "list_history":
            op["responses"]["200"]["links"] = copy.deepcopy(HISTORY_LINKS)
        for param in op.get("parameters", []):
            pattern = PARAMETER_PATTERNS.get((str(op_id), str(param["name"])))
            if pattern is not None:
                param["schema"] = {
                    "type": "string",
                    "maxLength": param["schema"]["maxLength"],
                    "pattern": pattern,
                    "description": param["schema"].get("description", ""),
                }
            minimum = OPTIONAL_MINIMUMS.get((str(op_id), str(param["name"])))
            if minimum is not None:
                # Litestar drops ``ge=`` from an optional parameter; absent means "not given".
                param["schema"] = {
                    "type": "integer",
                    "minimum": minimum,
                    "description": param["schema"].get("description", ""),
                }
    _clean_descriptions(doc)
    return doc


def render(app: Litestar) -> bytes:
    """The document as the bytes of ``openapi.json`` (stable key order, trailing newline)."""
    return msgspec.json.format(msgspec.json.encode(document(app)), indent=2) + b"\n"


@get("/openapi.json", include_in_schema=False, media_type="application/json", sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``GET /openapi.json``."""
    return Response(cached_document(request.app), media_type="application/json")


def cached_document(app: Litestar) -> bytes:
    """``render(app)``, computed once per app."""
    if getattr(app.state, "openapi_bytes", None) is None:
        app.state.openapi_bytes = render(app)
    body: bytes = app.state.openapi_bytes
    return body


class DocumentPlugin(JsonRenderPlugin):
    """Litestar's own schema route (``/_schema``) serves the same document as ``/openapi.json``."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The post-processed document, not Litestar's raw one."""
        return cached_document(request.app)
