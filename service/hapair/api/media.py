"""Request checks that run before a body is decoded: media type and If-Match."""

from __future__ import annotations

from typing import Any

from litestar import Request

from hapair.domain.errors import RevisionMismatch, UnsupportedMediaType

JSON_TYPES = frozenset({"application/json"})
PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def _media_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def require_json(request: Request[Any, Any, Any]) -> None:
    """415 unless the body is ``application/json``."""
    mt = _media_type(request)
    if mt not in JSON_TYPES:
        raise UnsupportedMediaType(f"send application/json, not {mt or 'no Content-Type'}")


async def require_merge_patch(request: Request[Any, Any, Any]) -> None:
    """415 unless the body is a merge patch or plain JSON."""
    mt = _media_type(request)
    if mt not in PATCH_TYPES:
        raise UnsupportedMediaType(
            f"send application/merge-patch+json or application/json, not {mt or 'no Content-Type'}"
        )


def if_match(request: Request[Any, Any, Any], current_hint: int = 0) -> tuple[int, ...] | None:
    """The revisions an ``If-Match`` header names (a list is allowed); None when absent or ``*``."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    revisions = []
    for tag in raw.split(","):
        value = tag.strip().removeprefix("W/").strip('"')
        if value.isascii() and value.isdigit():  # not '²': int() refuses it
            revisions.append(int(value))
    if not revisions:
        exc = RevisionMismatch(-1, current_hint)
        exc.detail = f"If-Match {raw!r} does not name a revision; send the ETag of a GET"
        raise exc
    return tuple(revisions)
