"""HTTP client for the partner unit's direct address: signed calls, verified answers."""

from __future__ import annotations

import ipaddress
import logging
import ssl
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import msgspec

from hapair.engine.pairlink import pairauth
from hapair.engine.pairlink.messages import (
    ConflictsReply,
    ConflictsRequest,
    DemoteReply,
    DemoteRequest,
    HandoverReply,
    HandoverRequest,
    Heartbeat,
    HistoryIdsReply,
    ResyncRequest,
    conflicts_reply_decoder,
    demote_reply_decoder,
    encoder,
    handover_reply_decoder,
    hb_decoder,
    history_ids_decoder,
    revision_reply_decoder,
)
from hapair.engine.pairlink.partner_http import PartnerHTTP, TransportError
from hapair.keyring import Keyring
from hapair.settings import Settings

HEARTBEAT_PATH = "/internal/v1/heartbeat"
DEMOTE_PATH = "/internal/v1/demote"
HANDOVER_PATH = "/internal/v1/handover"
# the partner's data, asked of the partner itself (never read from its Redis): its revision,
# a forced resync of its replica, its history's commit ids, the archive of divergent revisions
REVISION_PATH = "/internal/v1/revision"
RESYNC_PATH = "/internal/v1/resync"
HISTORY_IDS_PATH = "/internal/v1/history-ids"
CONFLICTS_PATH = "/internal/v1/conflicts"

log = logging.getLogger("hapair.partner")

_WARN_EVERY_S = 10.0
_last_warned: dict[str, float] = {}


class PartnerError(Exception):
    """The partner could not be reached, refused the call, or its answer is not authentic."""


class PartnerAnswered(PartnerError):
    """Something answered from the partner's address, but not with an authentic answer: the
    partner is there (SPEC 5 "A partner that answers is alive").

    ``auth_failed``: the detail when the answer shows a unit that is not this pair's partner
    (another pair key, another pair, a malformed or bad signature); None for any other answer
    (a 503 under load or while it boots, a refusal that is not about the key).
    """

    def __init__(
        self, message: str, auth_failed: str | None = None, shared_address: str | None = None
    ) -> None:
        super().__init__(message)
        self.auth_failed = auth_failed
        self.shared_address = shared_address  # an ``another pair`` refuser's shared address


def warn_once_in_a_while(key: str, message: str, **extra: object) -> None:
    """Logs a warning at most every 10 s per ``key`` (a fake partner answers every second)."""
    now = time.monotonic()
    if now - _last_warned.get(key, -_WARN_EVERY_S) >= _WARN_EVERY_S:
        _last_warned[key] = now
        log.warning(message, extra=extra)


def check_redis_url(hb: Heartbeat, partner_address: str | None, *, direction: str) -> None:
    """Refuses a partner heartbeat whose Redis URL is not on the partner's configured host.

    Raises:
        PartnerError: the URL points elsewhere (logged as a warning, ``redis-url-refused``).
    """
    if pairauth.redis_on_partner_host(hb.redis_url, partner_address):
        return
    if any(pairauth.redis_on_partner_host(hb.redis_url, a) for a in _update_hosts(hb)):
        return  # its Redis on its address on the update link (SPEC 5b')
    warn_once_in_a_while(
        f"redis-url:{direction}",
        "partner heartbeat refused: its Redis is not on the partner's host",
        event="redis-url-refused",
        direction=direction,
        partner_address=partner_address,
        redis_host=_host_for_log(hb.redis_url),
    )
    raise PartnerAnswered(
        "the partner's Redis URL is not on the partner's host",
        "its Redis is not on the partner's host",
    )


def _update_hosts(hb: Heartbeat) -> list[str]:
    """The partner's addresses on the update link, as ``HOST:0`` (what the host check reads)."""
    out = []
    for a in hb.update_addresses:
        host = a.partition("/")[0]
        out.append(f"[{host}]:0" if ":" in host else f"{host}:0")
    return out


def _host_for_log(url: str) -> str:
    """The host and port of a URL, never its credentials."""
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return "?"
    return f"{split.hostname}:{port}"


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifies the partner's certificate against ``ca_file``, else the system store."""
    return ssl.create_default_context(cafile=ca_file)


class PartnerClient:
    """Signed calls to the partner's internal endpoints; answers are verified before use.

    Args:
        address: the partner's direct address ``HOST:PORT``.
        pair_key: the pair key.
        own_name: this unit's name (``first`` or ``second``); the partner is the other one.
        tls: whether the partner serves HTTPS (its certificate is verified).
        tls_ca: the CA file for the partner's certificate; None: the system store.
        timeout: seconds per call (``demote`` may pass its own).
        pair: the pair id (``pairauth.pair_id``), or a function giving the current one.
        source: the local IP the calls leave from (this unit's direct host): the partner
            keeps connections for that address that no other client can take (SPEC 6).
        home: the partner's direct address when ``address`` is its address on the update link
            (what its heartbeat's Redis URL is checked against, with its update addresses).
    """

    def __init__(
        self,
        address: str,
        pair_key: str | Keyring,
        *,
        own_name: str,
        tls: bool,
        timeout: float,
        tls_ca: str | None = None,
        pair: str | Callable[[], str] = "",
        source: str | None = None,
        home: str | None = None,
    ) -> None:
        scheme = "https" if tls else "http"
        self.address = address
        # the partner's configured (direct) address: its Redis is on that host or on its
        # update link (a client over the update link calls another address of the same unit)
        self.home = home or address
        self.base_url = f"{scheme}://{address}"
        self.auth = pairauth.PairAuth(pair_key, own_name, pair=pair)
        self.challenge = ""  # the partner's latest challenge, for the next call
        self.http = PartnerHTTP(
            address,
            ssl_context=tls_context(tls_ca) if tls else None,
            timeout=timeout,
            source=source,
            # over the update link the certificate checked is still the one for the partner's
            # configured (direct) host
            server_name=self.home.rpartition(":")[0].strip("[]") if home else None,
        )

    async def close(self) -> None:
        """Closes the kept connections."""
        await self.http.close()

    async def _post(self, path: str, body: bytes, wait: float | None = None) -> bytes:
        """One signed call, bound to the partner's latest challenge (once more with a fresh one
        if the partner refused it as stale: it rebooted, or the last one ran out)."""
        for attempt in range(2):
            signed = self.auth.sign_call("POST", path, body, challenge=self.challenge)
            headers = {"content-type": "application/json", **signed}
            try:
                resp = await self.http.post(path, body, headers, wait=wait)
            except TransportError as exc:
                raise PartnerError(str(exc)) from exc
            refused = resp.headers.get(pairauth.REFUSED_HEADER)
            if resp.status == 401 and refused == "challenge" and attempt == 0:
                self._take_challenge(resp.headers.get(pairauth.CHALLENGE_HEADER, ""))
                continue
            break
        if resp.status != 200:
            shared = resp.headers.get(pairauth.SHARED_HEADER)
            raise _answered(resp.status, refused, shared)
        try:
            challenge = self.auth.verify_answer(
                "POST", path, signed[pairauth.NONCE_HEADER], resp.headers, resp.content
            )
        except pairauth.AuthFailed as exc:
            warn_once_in_a_while(
                f"answer:{exc.reason}",
                "partner answer refused",
                event="partner-answer-refused",
                path=path,
                reason=exc.reason,
            )
            raise PartnerAnswered(f"partner answer refused: {exc}", _detail(exc.reason)) from exc
        self._take_challenge(challenge)
        return resp.content

    async def call(self, path: str, body: bytes, wait: float | None = None) -> bytes:
        """A signed call to one of the partner's internal endpoints; its verified answer."""
        return await self._post(path, body, wait=wait)

    def _take_challenge(self, challenge: str) -> None:
        if len(challenge) == 32 and all(c in "0123456789abcdef" for c in challenge):
            self.challenge = challenge

    async def heartbeat(self, mine: Heartbeat) -> Heartbeat:
        """Sends our heartbeat; the partner answers with its own (signed, Redis on its host)."""
        raw = await self._post(HEARTBEAT_PATH, encoder.encode(mine))
        hb = _decode(raw, hb_decoder, "heartbeat")
        check_redis_url(hb, self.home, direction="answered")
        return hb

    async def demote(self, request: DemoteRequest, wait: float) -> DemoteReply:
        """Asks the active partner to step down."""
        raw = await self._post(DEMOTE_PATH, encoder.encode(request), wait=wait)
        return _decode(raw, demote_reply_decoder, "demote reply")

    async def revision(self) -> int:
        """The partner's revision, read by the partner from its own Redis."""
        raw = await self._post(REVISION_PATH, b"{}")
        return _decode(raw, revision_reply_decoder, "revision").revision

    async def resync(self, revision: int, wait: float) -> int:
        """Asks the standby partner to re-point its replica at this unit now and to wait until
        it holds ``revision``; the revision it holds then."""
        body = encoder.encode(ResyncRequest(revision=revision))
        raw = await self._post(RESYNC_PATH, body, wait=wait)
        return _decode(raw, revision_reply_decoder, "resync reply").revision

    async def history_ids(self, wait: float = 5.0) -> HistoryIdsReply:
        """The commit ids of the revisions the partner's history keeps."""
        raw = await self._post(HISTORY_IDS_PATH, b"{}", wait=wait)
        return _decode(raw, history_ids_decoder, "history ids")

    async def archive(
        self, entries: list[bytes], wait: float = 5.0, revoked: dict[str, bytes] | None = None
    ) -> list[int]:
        """Sends revisions only this unit held to the active partner's conflict archive, and
        this unit's token revocations, in calls under the body limit; the revisions it
        archived."""
        archived: list[int] = []
        for batch in _batches(entries, CONFLICTS_BATCH_BYTES):
            body = encoder.encode(ConflictsRequest(entries=[msgspec.Raw(e) for e in batch]))
            raw = await self._post(CONFLICTS_PATH, body, wait=wait)
            reply: ConflictsReply = _decode(raw, conflicts_reply_decoder, "conflicts reply")
            archived += reply.revisions
        # digest (hex) and record, one item each, so that batches stay under the body limit
        items = [d.encode() + b" " + v for d, v in sorted((revoked or {}).items())]
        for batch in _batches(items, CONFLICTS_BATCH_BYTES):
            parts = (item.partition(b" ") for item in batch)
            chunk = {d.decode(): msgspec.Raw(v) for d, _, v in parts}
            await self._post(CONFLICTS_PATH, encoder.encode(ConflictsRequest(revoked=chunk)), wait)
        return archived

    async def handover(self, request: HandoverRequest, wait: float) -> HandoverReply:
        """Asks the standby partner to take the role over (planned switchover, maintenance)."""
        raw = await self._post(HANDOVER_PATH, encoder.encode(request), wait=wait)
        return _decode(raw, handover_reply_decoder, "handover reply")


CONFLICTS_BATCH_BYTES = 48 * 1024  # under the 64 KiB body limit, with room for the envelope

D = TypeVar("D")


def _decode(raw: bytes, decoder: msgspec.json.Decoder[D], what: str) -> D:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise PartnerError(f"bad {what}: {exc}") from exc


def _batches(items: list[bytes], limit: int) -> list[list[bytes]]:
    """``items`` in order, in batches of at most ``limit`` bytes (one item alone may pass)."""
    out: list[list[bytes]] = []
    size = 0
    for item in items:
        if not out or size + len(item) > limit:
            out.append([])
            size = 0
        out[-1].append(item)
        size += len(item) + 1
    return out


def _detail(reason: str) -> str | None:
    """The ``partner-auth-failed`` detail of a refusal reason, None if it is not one."""
    return pairauth.REASONS[reason] if reason in pairauth.AUTH_FAILURES else None


def _answered(status: int, refused: str | None, shared: str | None) -> PartnerError:
    """A non-200 answer: the partner is there; a refusal of our key or pair says so. A unit
    that is not in an HA mode (``no-pair-key``) never takes the pair's role: not a partner."""
    if status == 401 and refused == "no-pair-key":
        return PartnerError("the partner is not in an HA mode")
    if status == 401:
        if refused is None:
            return PartnerAnswered("partner answered 401", "not a hapair unit of this version")
        if refused in pairauth.REASONS:
            return PartnerAnswered(
                f"partner refused the call: {refused}",
                _detail(refused),
                shared[:64] if refused == "another-pair" and shared is not None else None,
            )
    return PartnerAnswered(f"partner answered {status}")


def partner_client_for(
    settings: Settings,
    own_name: str,
    partner_address: str | None,
    pair: str | Callable[[], str] = "",
    *,
    source: str | None = None,
    home: str | None = None,
) -> PartnerClient | None:
    """The client a unit named ``own_name`` uses for its partner, or None (no HA, no key).
    ``source``: the local IP the calls leave from (default: this unit's direct host; the update
    link's client leaves from this unit's address there).

    Calls time out within one heartbeat interval (0.3 s .. 2 s); HTTPS when the unit serves
    HTTPS, the partner's certificate verified against ``settings.tls_ca`` (else the system
    store).
    """
    if not partner_address or not settings.pair_key or pairauth.partner_name(own_name) is None:
        return None
    return PartnerClient(
        partner_address,
        settings.pair_keys or settings.pair_key,
        own_name=own_name,
        tls=settings.tls,
        tls_ca=settings.tls_ca,
        timeout=max(0.3, min(settings.heartbeat_interval * 0.9, 2.0)),
        pair=pair,
        source=source or source_address(settings.listen),
        home=home,
    )


def source_address(listen: str) -> str | None:
    """The local IP calls to the partner leave from: this unit's direct host when it is a
    specific IP address (the partner reserves connections for it); None otherwise (any)."""
    host = listen.rpartition(":")[0].strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if ip.is_unspecified else str(ip)
