"""HTTP client for the partner unit's direct address."""

from __future__ import annotations

import httpx
import msgspec

from hapair.engine import pairauth
from hapair.engine.messages import (
    DemoteReply,
    DemoteRequest,
    Heartbeat,
    demote_reply_decoder,
    encoder,
    hb_decoder,
)

HEARTBEAT_PATH = "/internal/v1/heartbeat"
DEMOTE_PATH = "/internal/v1/demote"


class PartnerError(Exception):
    """The partner could not be reached or refused the call."""


class PartnerClient:
    """Signed calls to the partner's internal endpoints."""

    def __init__(self, address: str, pair_key: str, *, tls: bool, timeout: float) -> None:
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://{address}"
        self.pair_key = pair_key
        # The partner's certificate is often self-signed; the pair key authenticates it.
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            verify=False,  # noqa: S501 - a self-signed partner; the pair key authenticates it
            trust_env=False,
        )

    async def close(self) -> None:
        """Closes the connection pool."""
        await self._client.aclose()

    async def _post(self, path: str, body: bytes, wait: float | None = None) -> bytes:
        headers = {"content-type": "application/json", **pairauth.sign(self.pair_key, body)}
        try:
            if wait is None:
                resp = await self._client.post(path, content=body, headers=headers)
            else:
                resp = await self._client.post(path, content=body, headers=headers, timeout=wait)
        except httpx.HTTPError as exc:
            raise PartnerError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code != 200:
            raise PartnerError(f"partner answered {resp.status_code}")
        return resp.content

    async def heartbeat(self, mine: Heartbeat) -> Heartbeat:
        """Sends our heartbeat; the partner answers with its own."""
        raw = await self._post(HEARTBEAT_PATH, encoder.encode(mine))
        try:
            return hb_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise PartnerError(f"bad heartbeat: {exc}") from exc

    async def demote(self, request: DemoteRequest, wait: float) -> DemoteReply:
        """Asks the active partner to step down."""
        raw = await self._post(DEMOTE_PATH, encoder.encode(request), wait=wait)
        try:
            return demote_reply_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise PartnerError(f"bad demote reply: {exc}") from exc
