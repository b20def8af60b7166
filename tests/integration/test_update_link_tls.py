"""Over the update link a unit calls its partner's address there, but checks the certificate
for the partner's configured (direct) host: the pair's certificates need not name the update
link's addresses (SPEC 5b', 6). A real TLS server on loopback whose certificate names another
address only, and ``PartnerHTTP`` (the unit-to-unit client) handshaking with it."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from pathlib import Path

import pytest

from hapair.engine.pairlink.partner import PartnerClient, tls_context
from hapair.engine.pairlink.partner_http import PartnerHTTP, TransportError
from tests.integration.pairs import pair_certificate

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

NAMED = "192.0.2.11"  # the partner's direct host, the only one its certificate names


async def _serve(cert: str, key: str) -> tuple[asyncio.Server, int]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=ctx)
    return server, server.sockets[0].getsockname()[1]


def test_the_update_links_client_checks_the_partners_direct_identity(tmp_path: Path) -> None:
    cert, key, ca = pair_certificate(tmp_path, (NAMED,))

    async def run() -> None:
        server, port = await _serve(cert, key)
        async with server:
            address = f"127.0.0.1:{port}"  # "the partner's address on the update link"
            plain = PartnerHTTP(address, ssl_context=tls_context(ca), timeout=5)
            with pytest.raises(TransportError, match=r"CERTIFICATE_VERIFY_FAILED|mismatch"):
                await plain.post("/x", b"", {})
            await plain.close()
            named = PartnerHTTP(address, ssl_context=tls_context(ca), timeout=5, server_name=NAMED)
            answer = await named.post("/x", b"", {})
            assert (answer.status, answer.content) == (200, b"ok")
            await named.close()

    asyncio.run(run())


def test_the_update_links_partner_client_names_the_partners_direct_host(tmp_path: Path) -> None:
    """``PartnerClient`` with ``home`` (what the update link's wiring gives it) checks that
    name; without, the host it calls."""
    _, _, ca = pair_certificate(tmp_path, (NAMED,))
    over_update = PartnerClient("198.51.100.12:8080", "k" * 32, own_name="first", tls=True,
                                timeout=1, tls_ca=ca, home=f"{NAMED}:8080")  # fmt: skip
    assert over_update.http.server_name == NAMED
    direct = PartnerClient(f"{NAMED}:8080", "k" * 32, own_name="first", tls=True, timeout=1,
                           tls_ca=ca)  # fmt: skip
    assert direct.http.server_name == NAMED
    assert over_update.home == direct.home == f"{NAMED}:8080"
