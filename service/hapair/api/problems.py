"""One mapper from errors to RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsException

from hapair.api.wire import Problem
from hapair.domain import errors as e

log = logging.getLogger("hapair.api")

RETRY_AFTER_S = "2"

# domain error -> (status, slug, title)
DOMAIN: dict[type[e.DomainError], tuple[int, str, str]] = {
    e.Malformed: (400, "malformed", "Malformed request"),
    e.Unauthorized: (401, "unauthorized", "Unauthorized"),
    e.Forbidden: (403, "forbidden", "Forbidden"),
    e.NotFound: (404, "not-found", "Not found"),
    e.HADisabled: (409, "ha-disabled", "HA is disabled"),
    e.UseSharedAddress: (409, "use-shared-address", "Use the shared address"),
    e.NotActive: (409, "not-active", "Unit is not active"),
    e.Pacified: (409, "pacified", "Unit is pacified"),
    e.RevisionMismatch: (412, "revision-mismatch", "Revision mismatch"),
    e.UnsupportedMediaType: (415, "unsupported-media-type", "Unsupported media type"),
    e.ValidationFailed: (422, "validation", "Validation failed"),
    e.StoreUnavailable: (503, "store-unavailable", "Store unavailable"),
    e.PartnerUnavailable: (503, "partner-unavailable", "Partner unavailable"),
    e.NotServing: (503, "not-serving", "Not serving the shared address"),
    e.SwitchoverRefused: (409, "switchover-refused", "Switchover refused"),
    e.NoSharedInterface: (409, "no-shared-interface", "No shared interface"),
    e.PairKeyMismatch: (409, "pair-key-mismatch", "Next pair keys differ"),
    e.VersionSkew: (409, "version-skew", "Version skew"),
}

# framework HTTP status -> (slug, title)
HTTP: dict[int, tuple[str, str]] = {
    400: ("malformed", "Malformed request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Validation failed"),
    429: ("too-many-requests", "Too many requests"),
}


SLUGS: tuple[str, ...] = tuple(
    dict.fromkeys([*(slug for _, slug, _ in DOMAIN.values()), *(s for s, _ in HTTP.values())])
)
"""Every problem slug hapair answers with (a 500 is ``internal``: a bug, never a refusal)."""


def problem_type(slug: str) -> str:
    """``urn:hapair:problem:<slug>``."""
    return f"urn:hapair:problem:{slug}"


def _exc(
    status: int, slug: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> ProblemDetailsException:
    headers = {"Retry-After": RETRY_AFTER_S} if status == 503 else None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="hapair"'}
    return ProblemDetailsException(
        status_code=status,
        type_=problem_type(slug),
        title=title,
        detail=detail,
        extra=extra,
        headers=headers,
    )


def from_domain(exc: e.DomainError) -> ProblemDetailsException:
    """A domain error as a problem."""
    status, slug, title = next(
        (v for k, v in DOMAIN.items() if isinstance(exc, k)), (500, "internal", "Internal error")
    )
    extra: dict[str, Any] | None = None
    if isinstance(exc, e.ValidationFailed):
        extra = {"errors": [{"pointer": f.pointer, "detail": f.detail} for f in exc.errors]}
    if isinstance(exc, e.SwitchoverRefused):
        extra = {"checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in exc.checks]}
    return _exc(status, slug, title, exc.detail, extra)


def from_http(exc: HTTPException) -> ProblemDetailsException:
    """A framework HTTP exception (routing, body size, query parsing) as a problem."""
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    slug, title = HTTP.get(status, ("internal" if status >= 500 else "error", "Error"))
    detail = str(exc.detail or title)
    if status == 400 and isinstance(exc.extra, list) and exc.extra:
        parts = [
            f"{x.get('key', '')}: {x.get('message', '')}" for x in exc.extra if isinstance(x, dict)
        ]
        detail = f"{detail} ({'; '.join(parts)})"
    p = _exc(status, slug, title, detail)
    if exc.headers:
        p.headers = {**(p.headers or {}), **exc.headers}
    return p


def _raised_by_json_decoder(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "litestar.serialization.msgspec_hooks":
            return True
        tb = tb.tb_next
    return False


def from_recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the JSON decoder allows is malformed input, not a bug."""
    if _raised_by_json_decoder(exc):
        detail = "JSON is malformed: nested too deeply"
        return _exc(400, "malformed", "Malformed request", detail).to_response(request)
    return from_unexpected(request, exc)


def from_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else is a bug: log it, answer a 500 problem without internals."""
    log.exception("unhandled error", extra={"event": "bug", "path": request.url.path})
    return _exc(500, "internal", "Internal error", "an unexpected error occurred").to_response(
        request
    )


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response declarations for the problems an operation can answer."""
    out: dict[int, ResponseSpec] = {}
    for status in statuses:
        slugs = [slug for (s, slug, _) in DOMAIN.values() if s == status] or [HTTP[status][0]]
        out[status] = ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type="application/problem+json",
            description=f"Problem: {', '.join(problem_type(s) for s in slugs)}",
        )
    return out
