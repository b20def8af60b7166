"""Starts that fail: interface names outside SPEC's pattern never reach the engine; a busy port
is said in one line, and a start that never served is not a boot (issue 20 point 5)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import ADMIN_TOKEN, DIRECT_HOST, PARTNER_HOST, SHARED_HOST
from tests.ports import free_port
from tests.support import HapairFactory


@pytest.mark.parametrize(
    ("flag", "name"),
    [
        ("--interface", "eth0;reboot"),
        ("--interface", "$(id)"),
        ("--interface", ".."),
        ("--interface", "x" * 16),
        ("--shared-interface", "ethé"),
        ("--shared-interface", "."),
    ],
)
def test_serve_refuses_a_bad_interface_name(tmp_path: Path, flag: str, name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hapair", "serve", "--data-dir", str(tmp_path), flag, name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "an interface name is 1 to 15 of A-Z a-z 0-9 _ . -" in proc.stderr
    assert not (tmp_path / "unit.json").exists()  # nothing was set up


def _busy(host: str) -> socket.socket:
    """A socket listening on a free port of ``host`` (closed by the caller)."""
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((host, 0))
    busy.listen()
    return busy


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    busy = _busy("127.0.0.11")
    address = f"127.0.0.11:{busy.getsockname()[1]}"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "hapair", "serve", "--listen", address,
             "--data-dir", str(tmp_path / "d")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        busy.close()
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"hapair: cannot listen on {address}: address already in use "
        "(another process listens there)"
    ), proc.stderr


def test_failed_starts_on_a_busy_port_are_not_boots(
    tmp_path: Path, hapair_factory: HapairFactory
) -> None:
    """Five starts of an HA unit on a busy port (a service manager restarting it through a
    short port conflict) leave no boot behind: once the port is free the unit starts with one
    boot in the window and takes part in HA, never pacified (SPEC's limit is 3 boots)."""
    busy = _busy(DIRECT_HOST)
    address = f"{DIRECT_HOST}:{busy.getsockname()[1]}"
    shared = f"{SHARED_HOST}:{free_port(SHARED_HOST)}"
    args = [
        "--listen", address, "--data-dir", str(tmp_path / "d"),
        "--mode", "first", "--partner", f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}",
        "--shared", shared, "--pair-key", "it-pair-key-0123456789", "--admin-token", ADMIN_TOKEN,
    ]  # fmt: skip
    try:
        for _ in range(5):
            failed = subprocess.run(
                [sys.executable, "-m", "hapair", "serve", *args],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert failed.returncode == 1, failed.stderr
            assert "address already in use" in failed.stderr, failed.stderr
    finally:
        busy.close()
    unit = hapair_factory(args)
    unit.wait_ready(f"http://{address}", timeout=60)
    got = httpx.get(
        f"http://{address}/api/v1/unit",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["boots_in_window"], body["pacified"]) == (1, False), body
