"""``--tls-cert``/``--tls-key``: both listeners and the heartbeats speak HTTPS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.pairs import Pair
from tests.support import HapairFactory

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        shutil.which("openssl") is None, reason="openssl is needed to make a test certificate"
    ),
]


def _certificate(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=hapair-test",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return str(cert), str(key)


def test_pair_serves_https_and_pairs_over_it(hapair_factory: HapairFactory, tmp_path: Path) -> None:
    pair = Pair(hapair_factory, tmp_path, tls=_certificate(tmp_path))
    pair.start_both()  # the standby role needs heartbeats, which now go over HTTPS
    resp = pair.patch({"initial_wait_time": 3})
    assert resp.status_code == 200 and resp.headers["HA-Partner-Acknowledged"] == "true"
    assert pair.params(pair.second)["initial_wait_time"] == 3
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{pair.first.address}/healthz", timeout=2)  # plain HTTP is not served
    pair.close()
