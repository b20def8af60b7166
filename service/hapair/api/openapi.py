"""The OpenAPI document as hapair serves and commits it.

Litestar builds the document from the handlers; this adds what it cannot express itself:
``additionalProperties: false`` on request bodies (the structs forbid unknown fields).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get

CLOSED_BODIES = ("HAParametersWrite", "HAParametersPatch", "RollbackRequest", "UnitPatch")


def document(app: Litestar) -> dict[str, Any]:
    """The app's OpenAPI document as a dict."""
    doc: dict[str, Any] = app.openapi_schema.to_schema()
    schemas = doc.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if name.split("_")[-1] in CLOSED_BODIES or name in CLOSED_BODIES:
            schema["additionalProperties"] = False
    return doc


def render(app: Litestar) -> bytes:
    """The document as the bytes of ``openapi.json`` (stable key order, trailing newline)."""
    return msgspec.json.format(msgspec.json.encode(document(app)), indent=2) + b"\n"


@get("/openapi.json", include_in_schema=False, media_type="application/json", sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``GET /openapi.json``."""
    state = request.app.state
    if getattr(state, "openapi_bytes", None) is None:
        state.openapi_bytes = render(request.app)
    return Response(state.openapi_bytes, media_type="application/json")
