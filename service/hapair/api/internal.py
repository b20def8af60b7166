"""Unit-to-unit endpoints on the direct address, authenticated by the pair key (not in the docs)."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, post

from hapair.api.context import ctx_of
from hapair.domain.errors import Malformed, Unauthorized
from hapair.engine import pairauth
from hapair.engine.messages import demote_request_decoder, encoder, hb_decoder
from hapair.engine.partner import DEMOTE_PATH, HEARTBEAT_PATH

T = TypeVar("T")


async def _verified_body(request: Request[Any, Any, Any]) -> bytes:
    body = await request.body()
    ctx = ctx_of(request)
    if not pairauth.verify(
        ctx.settings.pair_key,
        body,
        request.headers.get(pairauth.SIGNATURE_HEADER),
        request.headers.get(pairauth.TIMESTAMP_HEADER),
    ):
        raise Unauthorized("unit-to-unit calls must be signed with the pair key")
    return body


def _decode(body: bytes, decoder: msgspec.json.Decoder[T], what: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Malformed(f"bad {what}: {exc}") from exc


@post(HEARTBEAT_PATH, include_in_schema=False, status_code=200)
async def heartbeat(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The partner's heartbeat; answered with ours."""
    hb = _decode(await _verified_body(request), hb_decoder, "heartbeat")
    mine = await ctx_of(request).engine.on_heartbeat(hb)
    return Response(encoder.encode(mine), media_type="application/json")


@post(DEMOTE_PATH, include_in_schema=False, status_code=200)
async def demote(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The partner takes over: step down."""
    req = _decode(await _verified_body(request), demote_request_decoder, "demote request")
    reply = await ctx_of(request).engine.demote(req)
    return Response(encoder.encode(reply), media_type="application/json")
