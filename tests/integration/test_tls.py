"""``--tls-cert``/``--tls-key``/``--tls-ca``: listeners and heartbeats speak verified HTTPS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from pathlib import Path

import httpx
import pytest

from hapair.domain.parameters import auto_virtual_id
from hapair.engine.pairlink import pairauth
from hapair.engine.pairlink.messages import Heartbeat
from hapair.engine.pairlink.partner import PartnerError, partner_client_for
from hapair.settings import Settings
from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair, pair_certificate
from tests.ports import free_port
from tests.support import HapairFactory, poll

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        shutil.which("openssl") is None, reason="openssl is needed to make a test certificate"
    ),
]


def _tls_pair(make_pair: MakePair, tmp_path: Path) -> tuple[Pair, str]:
    cert, key, ca = pair_certificate(tmp_path)
    extra = {name: ["--tls-ca", ca] for name in ("first", "second")}
    return make_pair(tls=(cert, key), extra=extra), ca


def test_pair_serves_https_and_pairs_over_it(make_pair: MakePair, tmp_path: Path) -> None:
    pair, ca = _tls_pair(make_pair, tmp_path)
    pair.start_both()  # the standby role needs heartbeats, which now go over verified HTTPS
    pair.wait_in_sync(via=pair.first)  # replication through the tunnel is up
    resp = pair.patch({"initial_wait_time": 3})
    assert resp.status_code == 200 and resp.headers["HA-Partner-Acknowledged"] == "true"
    assert pair.params(pair.second)["initial_wait_time"] == 3
    with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as verified:
        assert verified.get(f"{pair.shared_url}/healthz", timeout=2).status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{pair.first.address}/healthz", timeout=2)  # plain HTTP is not served


def test_partner_certificate_is_verified(make_pair: MakePair, tmp_path: Path) -> None:
    """Without --tls-ca the system store does not know the pair's CA: no heartbeat passes."""
    pair, ca = _tls_pair(make_pair, tmp_path)
    pair.first.start()

    async def heartbeat(tls_ca: str | None) -> Heartbeat:
        settings = Settings(
            pair_key=pair.pair_key, tls_cert="c.pem", tls_key="k.pem", tls_ca=tls_ca
        )
        shared = pair.shared_address  # the pair's identity is in every MAC (SPEC 6)
        pair_of = pairauth.pair_id(shared, auto_virtual_id(shared))
        client = partner_client_for(settings, "second", pair.first.address, pair=pair_of)
        assert client is not None
        try:
            return await client.heartbeat(Heartbeat(unit="second", mode="second"))
        finally:
            await client.close()

    with pytest.raises(PartnerError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(heartbeat(None))
    assert asyncio.run(heartbeat(ca)).unit == "first"


@pytest.mark.parametrize("given", ["--tls-cert", "--tls-key"])
def test_serve_refuses_half_a_tls_configuration(
    hapair_factory: HapairFactory, tmp_path: Path, given: str
) -> None:
    proc = hapair_factory(
        ["--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "d"),
         given, str(tmp_path / "x.pem")]
    )  # fmt: skip
    poll(lambda: proc.returncode is not None, timeout=15, what="hapair serve to exit")
    assert proc.returncode == 2
    assert "--tls-cert and --tls-key" in proc.log_text()
