"""Flags refused at start: interface names outside SPEC's pattern never reach the engine."""

from __future__ import annotations

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
