"""Unit-to-unit endpoints on the direct address, authenticated by the pair key (not in the docs).

A call is accepted only when signed by the configured partner for this unit, fresh and never
seen before (``engine/pairauth.py``); the answer is signed the same way and bound to the call.
One refused call still informs the engine: a heartbeat signed with the pair key by another unit
configured in this unit's mode (``SameName``) is shown to it, so the pair shows ``same-mode``.
"""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency

from hapair.domain.errors import Forbidden, Malformed, StoreUnavailable, Unauthorized
from hapair.engine import pairauth
from hapair.engine.driver import Engine
from hapair.engine.messages import (
    demote_request_decoder,
    encoder,
    handover_request_decoder,
    hb_decoder,
)
from hapair.engine.partner import (
    DEMOTE_PATH,
    HANDOVER_PATH,
    HEARTBEAT_PATH,
    PartnerError,
    check_redis_url,
    warn_once_in_a_while,
)

T = TypeVar("T")

# One nonce cache per process: the direct and the shared listener serve the same app, and a
# reboot (a new engine boot) must not forget the nonces of calls still inside the window.
NONCES = pairauth.NonceCache()


def _auth(engine: NamedDependency[Engine]) -> pairauth.PairAuth:
    own = engine.name
    if not engine.settings.pair_key or pairauth.partner_name(own) is None:
        raise Unauthorized("this unit is not in an HA mode with a pair key")
    return pairauth.PairAuth(engine.settings.pair_key, own, nonces=NONCES)


async def _verified(
    request: Request[Any, Any, Any], engine: NamedDependency[Engine], *, same_name: bool = False
) -> tuple[bytes, pairauth.PairAuth, str]:
    """The body of an authentic call, this unit's signer and the call's nonce.

    ``same_name``: a :class:`pairauth.SameName` refusal is raised as is (the caller shows the
    misconfiguration to the engine, then refuses).
    """
    body = await request.body()
    auth = _auth(engine)
    try:
        nonce = auth.verify_call(request.method, request.scope["path"], request.headers, body)
    except pairauth.SameName:
        if same_name:
            raise
        raise Unauthorized("unit-to-unit call refused: it claims to come from this unit") from None
    except pairauth.AuthFailed as exc:
        warn_once_in_a_while(
            f"call:{exc}",
            "unit-to-unit call refused",
            event="partner-call-refused",
            path=request.scope["path"],
            reason=str(exc),
            client=request.client.host if request.client else None,
        )
        raise Unauthorized(f"unit-to-unit call refused: {exc}") from None
    return body, auth, nonce


def _signed(
    request: Request[Any, Any, Any], auth: pairauth.PairAuth, nonce: str, body: bytes
) -> Response[bytes]:
    headers = auth.sign_answer(request.method, request.scope["path"], nonce, body)
    return Response(body, media_type="application/json", headers=headers)


def _decode(body: bytes, decoder: msgspec.json.Decoder[T], what: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Malformed(f"bad {what}: {exc}") from exc


@post(HEARTBEAT_PATH, include_in_schema=False, status_code=200)
async def heartbeat(
    request: Request[Any, Any, Any], engine: NamedDependency[Engine]
) -> Response[bytes]:
    """The partner's heartbeat; answered with ours."""
    try:
        body, auth, nonce = await _verified(request, engine, same_name=True)
    except pairauth.SameName as exc:
        await _same_name(engine, await request.body(), exc)
        raise Unauthorized(f"unit-to-unit call refused: {exc}") from None
    hb = _decode(body, hb_decoder, "heartbeat")
    try:
        check_redis_url(hb, engine.unit.partner_address, direction="sent")
    except PartnerError as exc:
        raise Forbidden(str(exc)) from None
    mine = await engine.on_heartbeat(hb)
    return _signed(request, auth, nonce, encoder.encode(mine))


async def _same_name(engine: NamedDependency[Engine], body: bytes, exc: pairauth.SameName) -> None:
    """Shows the engine a same-mode unit's heartbeat (its body must say so too)."""
    warn_once_in_a_while(
        "call:same-name", "unit-to-unit call refused", event="same-name", reason=str(exc)
    )
    try:
        hb = hb_decoder.decode(body)
    except msgspec.DecodeError:
        return
    if hb.mode == engine.unit.mode and hb.boot_id != engine.boot_id:
        with contextlib.suppress(PartnerError, StoreUnavailable):
            check_redis_url(hb, engine.unit.partner_address, direction="sent")
            await engine.on_heartbeat(hb)


@post(DEMOTE_PATH, include_in_schema=False, status_code=200)
async def demote(
    request: Request[Any, Any, Any], engine: NamedDependency[Engine]
) -> Response[bytes]:
    """The partner takes over: step down."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, demote_request_decoder, "demote request")
    reply = await engine.demote(req)
    return _signed(request, auth, nonce, encoder.encode(reply))


@post(HANDOVER_PATH, include_in_schema=False, status_code=200)
async def handover(
    request: Request[Any, Any, Any], engine: NamedDependency[Engine]
) -> Response[bytes]:
    """The active hands the role over (planned switchover, maintenance): take it."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, handover_request_decoder, "handover request")
    reply = await engine.handover(req)
    return _signed(request, auth, nonce, encoder.encode(reply))
