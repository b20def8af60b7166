"""Flags refused at start: interface names outside SPEC's pattern never reach the engine."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


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


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.11", 0))
    busy.listen()
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
