"""Auth of a unit that needs a process: ``hapair serve`` refusing to start with ``--no-auth`` on a
non-loopback address, and no token in anything the process logs (tests/inprocess/test_auth_ops.py:
the API's answers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api_checks import (
    BAD_TOKENS,
    PARAMS,
    create_token,
)
from tests.ports import free_port
from tests.units import (
    ADMIN_TOKEN,
    DIRECT_HOST,
    PARTNER_HOST,
    Unit,
)


@pytest.fixture(scope="module")
def viewer_token(ha_unit: Unit) -> str:
    return create_token(ha_unit.data_dir, "viewer")


def _serve_refused(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> str:
    """Runs ``hapair serve`` expecting it to refuse to start; returns its output."""
    out = subprocess.run(
        [sys.executable, "-m", "hapair", "serve", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode != 0, out
    return out.stdout + out.stderr


def test_no_auth_with_non_loopback_listen_is_refused(tmp_path: Path) -> None:
    port = free_port("0.0.0.0")
    output = _serve_refused(["--listen", f"0.0.0.0:{port}", "--no-auth"], tmp_path)
    assert "--no-auth" in output, output
    assert "loopback" in output, output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_no_auth_from_environment_with_non_loopback_listen_is_refused(tmp_path: Path) -> None:
    port = free_port("0.0.0.0")
    output = _serve_refused(["--listen", f"0.0.0.0:{port}"], tmp_path, env={"HAPAIR_NO_AUTH": "1"})
    assert "--no-auth" in output, output


def test_no_auth_with_non_loopback_shared_address_is_refused(tmp_path: Path) -> None:
    output = _serve_refused(
        [
            "--listen",
            f"{DIRECT_HOST}:{free_port(DIRECT_HOST)}",
            "--mode",
            "first",
            "--partner",
            f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}",
            "--shared",
            "192.0.2.10:8080",
            "--pair-key",
            "k-0123456789abcdef",
            "--no-auth",
        ],
        tmp_path,
    )
    assert "--no-auth" in output, output


def test_tokens_never_reach_the_log(ha_unit: Unit, viewer_token: str) -> None:
    # Make sure each token was used (good and bad), then look for it in everything logged.
    ha_unit.client(token=viewer_token).get(PARAMS)
    ha_unit.client(token=viewer_token).patch(PARAMS, json={})
    for bad in BAD_TOKENS:
        ha_unit.client(token=bad).get(PARAMS)
    ha_unit.client().get(PARAMS)
    text = ha_unit.proc.log_text()
    assert text, "the unit logs something"
    for token in [ADMIN_TOKEN, viewer_token, *BAD_TOKENS]:
        assert token not in text
    for path in ha_unit.data_dir.rglob("*.log"):
        for token in [ADMIN_TOKEN, viewer_token]:
            assert token not in path.read_text(errors="replace"), path
