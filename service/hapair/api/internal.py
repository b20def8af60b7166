"""Unit-to-unit endpoints on the direct address, authenticated by the pair key (not in the docs).

A call is accepted only when signed by the configured partner for this unit, fresh and never
seen before (``engine/pairlink/pairauth.py``); the answer is signed the same way and bound to
the call.
One refused call still informs the engine: a heartbeat signed with the pair key by another unit
configured in this unit's mode (``SameName``) is shown to it, so the pair shows ``same-mode``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

import msgspec
from litestar import Request, Response, post

from hapair.api.deps import EngineDep
from hapair.api.problems import from_domain
from hapair.domain.errors import (
    Forbidden,
    Malformed,
    NotActive,
    StoreUnavailable,
    Unauthorized,
)
from hapair.domain.status import Role
from hapair.engine.control import HAControl
from hapair.engine.pairlink import pairauth
from hapair.engine.pairlink.messages import (
    ConflictsReply,
    RevisionReply,
    conflicts_request_decoder,
    demote_request_decoder,
    encoder,
    handover_request_decoder,
    hb_decoder,
    resync_request_decoder,
)
from hapair.engine.pairlink.partner import (
    CONFLICTS_PATH,
    DEMOTE_PATH,
    HANDOVER_PATH,
    HEARTBEAT_PATH,
    HISTORY_IDS_PATH,
    RESYNC_PATH,
    REVISION_PATH,
    PartnerError,
    check_redis_url,
)
from hapair.engine.pairlink.rotation import ROTATE_PATH, answer_rotate, rotate_request_decoder

T = TypeVar("T")
MAX_REVOKED = 1000  # revocations in one conflicts call (the body is 64 KiB at most anyway)

# One nonce cache per process: the direct and the shared listener serve the same app. Calls are
# bound to challenges of the current boot (``engine.challenges``), so a reboot refuses the
# calls made before it whatever this cache remembers.
NONCES = pairauth.NonceCache()


def _auth(engine: EngineDep) -> pairauth.PairAuth:
    own = engine.name
    if not engine.settings.pair_key or pairauth.partner_name(own) is None:
        _refuse(engine, None, pairauth.AuthFailed("no-pair-key"))
    keys = engine.settings.pair_keys or engine.settings.pair_key
    return pairauth.PairAuth(keys, own, pair=engine.pair_id, nonces=NONCES)


def _refuse(
    engine: EngineDep,
    request: Request[Any, Any, Any] | None,
    exc: pairauth.AuthFailed,
    auth: pairauth.PairAuth | None = None,
) -> NoReturn:
    """Counts and logs the refusal (fixed reason, at most once a minute), answers 401 with
    the reason, this unit's pair and key ids (and a fresh challenge to a caller whose only fault
    was a stale one)."""
    engine.refusals.refused(
        exc.reason,
        path=request.scope["path"] if request is not None else None,
        client=request.client.host if request is not None and request.client else None,
    )
    problem = from_domain(Unauthorized(f"unit-to-unit call refused: {exc}"))
    extra = {pairauth.REFUSED_HEADER: exc.reason}
    if auth is not None:
        # a fresh challenge only for a caller that holds the key (the only way to this reason)
        fresh = engine.challenges.issue() if exc.reason == "challenge" else ""
        extra = auth.refusal(exc.reason, fresh)
        if exc.reason == "another-pair":  # a key holder: tell a misconfigured shared address
            extra[pairauth.SHARED_HEADER] = engine.unit.shared_address or ""
            engine.recheck_pair()  # or the partner has read a new virtual ID, this unit not yet
    problem.headers = {**(problem.headers or {}), **extra}
    raise problem


async def _verified(
    request: Request[Any, Any, Any], engine: EngineDep, *, same_name: bool = False
) -> tuple[bytes, pairauth.PairAuth, str]:
    """The body of an authentic call, this unit's signer and the call's nonce.

    ``same_name``: a :class:`pairauth.SameName` refusal is raised as is (the caller shows the
    misconfiguration to the engine, then refuses).
    """
    body = await request.body()
    auth = _auth(engine)
    try:
        nonce = auth.verify_call(
            request.method, request.scope["path"], request.headers, body, engine.challenges
        )
    except pairauth.SameName as exc:
        if same_name:
            raise
        _refuse(engine, request, exc, auth)
    except pairauth.AuthFailed as exc:
        _refuse(engine, request, exc, auth)
    return body, auth, nonce


def _signed(
    request: Request[Any, Any, Any],
    engine: EngineDep,
    auth: pairauth.PairAuth,
    nonce: str,
    body: bytes,
) -> Response[bytes]:
    return _signed_at(engine, auth, nonce, body, method=request.method, path=request.scope["path"])


def _signed_at(
    engine: HAControl, auth: pairauth.PairAuth, nonce: str, body: bytes, *, method: str, path: str
) -> Response[bytes]:
    challenge = engine.challenges.issue()
    headers = auth.sign_answer(method, path, nonce, body, challenge=challenge)
    return Response(body, media_type="application/json", headers=headers)


def _decode(body: bytes, decoder: msgspec.json.Decoder[T], what: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Malformed(f"bad {what}: {exc}") from exc


@post(HEARTBEAT_PATH, include_in_schema=False, status_code=200)
async def heartbeat(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """The partner's heartbeat; answered with ours."""
    try:
        body, auth, nonce = await _verified(request, engine, same_name=True)
    except pairauth.SameName as exc:
        await _same_name(engine, await request.body(), exc)
        _refuse(engine, request, exc, _auth(engine))
    hb = _decode(body, hb_decoder, "heartbeat")
    try:
        check_redis_url(hb, engine.unit.partner_address, direction="sent")
    except PartnerError as exc:
        raise Forbidden(str(exc)) from None
    mine = await engine.on_heartbeat(hb)
    return _signed(request, engine, auth, nonce, encoder.encode(mine))


async def heartbeat_answer(
    engine: HAControl, path: str, headers: Mapping[str, str], body: bytes
) -> Response[bytes] | None:
    """``heartbeat``'s answer to a call that passes every check, for the fast path in front of
    Litestar (``api/fastpath.py``, issue 23 point 5: the standby answers one a second); None
    for any other call, with nothing of it recorded, so that ``heartbeat`` answers it as
    always, every refusal included. The call's nonce is recorded (``verify_call``) only after
    every other check passed: a caller naming this unit (``SameName``, recorded before it is
    raised) is left to ``heartbeat`` before that, and ``verify_call`` records nothing when it
    refuses otherwise."""
    if not engine.boot_id or not engine.running:  # the engine answers 503: still booting
        return None
    if not engine.settings.pair_key or pairauth.partner_name(engine.name) is None:
        return None
    if headers.get(pairauth.FROM_HEADER) == engine.name:
        return None
    try:
        hb = hb_decoder.decode(body)
        check_redis_url(hb, engine.unit.partner_address, direction="sent")
    except (msgspec.DecodeError, PartnerError):
        return None
    auth = _auth(engine)
    try:
        nonce = auth.verify_call("POST", path, headers, body, engine.challenges)
    except pairauth.AuthFailed:
        return None
    mine = await engine.on_heartbeat(hb)
    return _signed_at(engine, auth, nonce, encoder.encode(mine), method="POST", path=path)


async def _same_name(engine: EngineDep, body: bytes, exc: pairauth.SameName) -> None:
    """Shows the engine a same-mode unit's heartbeat (its body must say so too)."""
    try:
        hb = hb_decoder.decode(body)
    except msgspec.DecodeError:
        return
    if hb.mode == engine.unit.mode and hb.boot_id != engine.boot_id:
        with contextlib.suppress(PartnerError, StoreUnavailable):
            check_redis_url(hb, engine.unit.partner_address, direction="sent")
            await engine.on_heartbeat(hb)


@post(DEMOTE_PATH, include_in_schema=False, status_code=200)
async def demote(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """The partner takes over: step down."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, demote_request_decoder, "demote request")
    reply = await engine.demote(req)
    return _signed(request, engine, auth, nonce, encoder.encode(reply))


@post(HANDOVER_PATH, include_in_schema=False, status_code=200)
async def handover(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """The active hands the role over (planned switchover, maintenance): take it."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, handover_request_decoder, "handover request")
    reply = await engine.handover(req)
    return _signed(request, engine, auth, nonce, encoder.encode(reply))


# The partner's data, asked of the partner (SPEC 6, "Redis, v3": no unit logs into its
# partner's Redis). Each answers from this unit's own Redis; Redis trouble is a 503.


@post(REVISION_PATH, include_in_schema=False, status_code=200)
async def revision(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """This unit's revision, read from its own Redis."""
    _body, auth, nonce = await _verified(request, engine)
    held = await engine.partner_store.own_revision()
    return _signed(request, engine, auth, nonce, encoder.encode(RevisionReply(revision=held)))


@post(RESYNC_PATH, include_in_schema=False, status_code=200)
async def resync(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """The active forces an update: re-point the replica at it now, wait for its revision."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, resync_request_decoder, "resync request")
    partner = engine.partner_fresh()
    if partner is None or partner.role != Role.ACTIVE or engine.role != Role.STANDBY:
        raise NotActive("this unit is not the standby of an active partner it hears")
    held = await engine.partner_store.resync(partner.redis_url, req.revision)
    return _signed(request, engine, auth, nonce, encoder.encode(RevisionReply(revision=held)))


@post(HISTORY_IDS_PATH, include_in_schema=False, status_code=200)
async def history_ids(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """The commit ids this unit's history keeps (the partner compares before it replicates)."""
    _body, auth, nonce = await _verified(request, engine)
    reply = await engine.partner_store.history_ids()
    return _signed(request, engine, auth, nonce, encoder.encode(reply))


@post(CONFLICTS_PATH, include_in_schema=False, status_code=200)
async def conflicts(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """Revisions only the partner held, archived here (this unit is the active)."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, conflicts_request_decoder, "conflicts request")
    if engine.role != Role.ACTIVE:
        raise NotActive("this unit is not the active one: it keeps no archive now")
    unit = pairauth.partner_name(engine.name) or "partner"
    if len(req.revoked) > MAX_REVOKED or any(len(d) > 128 for d in req.revoked):
        raise Malformed(f"at most {MAX_REVOKED} revocations of 128-character digests a call")
    await engine.partner_store.merge_revocations({d: bytes(v) for d, v in req.revoked.items()})
    try:
        revisions = await engine.partner_store.archive_from_partner(
            unit, [bytes(e) for e in req.entries]
        )
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Malformed(f"bad history entry: {exc}") from exc
    return _signed(
        request, engine, auth, nonce, encoder.encode(ConflictsReply(revisions=revisions))
    )


@post(ROTATE_PATH, include_in_schema=False, status_code=200)
async def rotate_pair_key(request: Request[Any, Any, Any], engine: EngineDep) -> Response[bytes]:
    """The active switches the pair to the next key: switch too when ours is the same."""
    body, auth, nonce = await _verified(request, engine)
    req = _decode(body, rotate_request_decoder, "rotate request")
    reply = answer_rotate(engine.settings.pair_keys, req)
    return _signed(request, engine, auth, nonce, encoder.encode(reply))
