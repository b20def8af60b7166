"""The bootstrap admin token (SPEC 6 "Rotation without downtime"): at least 16 characters, and
rotated by replacing its file and sending SIGHUP, without a restart."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import MakeUnit, log_events, run_serve
from tests.support import poll

OLD = "admin-token-before-" + "1" * 20
NEW = "admin-token-after-" + "2" * 20


def _write(path: Path, value: str) -> None:
    """Replace the file as an operator would: a new file renamed over the old one (0600)."""
    tmp = path.with_suffix(".new")
    tmp.write_text(value + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def _status(base: str, token: str) -> int:
    r = httpx.get(f"{base}/api/v1/unit", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return r.status_code


@pytest.mark.parametrize("how", ["value", "file", "environment"])
def test_a_short_admin_token_is_refused_at_start(how: str, tmp_path: Path) -> None:
    short = "too-short-12345"  # 15 characters
    args = ["--listen", "127.0.0.11:9", "--data-dir", str(tmp_path / "d")]
    env = None
    if how == "value":
        args += ["--admin-token", short]
    elif how == "file":
        (tmp_path / "token").write_text(short + "\n")
        args += ["--admin-token-file", str(tmp_path / "token")]
    else:
        env = {"HAPAIR_ADMIN_TOKEN": short}
    done = run_serve(args, env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "15 characters" in lines[0] and "at least 16" in lines[0]
    assert short not in done.stderr  # never the secret


def test_admin_token_rotates_on_sighup_without_restart(make_unit: MakeUnit, tmp_path: Path) -> None:
    token_file = tmp_path / "admin.token"
    _write(token_file, OLD)
    unit = make_unit("rotate", token=None, extra_args=["--admin-token-file", str(token_file)])
    base = unit.direct
    boot = httpx.get(
        f"{base}/api/v1/unit", headers={"Authorization": f"Bearer {OLD}"}, timeout=5
    ).json()["boot_id"]
    assert _status(base, NEW) == 401

    _write(token_file, NEW)
    assert _status(base, OLD) == 200  # nothing changes before the signal
    os.kill(unit.proc.pid, signal.SIGHUP)
    poll(lambda: _status(base, NEW) == 200, timeout=10, what="the new admin token to work")
    assert _status(base, OLD) == 401
    after = httpx.get(
        f"{base}/api/v1/unit", headers={"Authorization": f"Bearer {NEW}"}, timeout=5
    ).json()
    assert after["boot_id"] == boot  # the same process and boot: no restart
    assert unit.proc.returncode is None

    # a bad file changes nothing: the token in force stays, the log says why
    _write(token_file, "short")
    os.kill(unit.proc.pid, signal.SIGHUP)

    def refused() -> bool:
        return any(e.get("event") == "secrets-reload-failed" for e in log_events(unit.proc))

    poll(refused, timeout=10, what="the refused reload in the log")
    assert _status(base, NEW) == 200
    assert not any("short" in str(e.get("reason", "")) for e in log_events(unit.proc))
    reloaded = [e for e in log_events(unit.proc) if e.get("event") == "secrets-reloaded"]
    assert reloaded and reloaded[-1]["changed"] == ["admin token"]

    # a symlink planted in place of the file is not followed (SPEC 6 "Files"): refused, the
    # token in force stays, the log names the path and the reason
    elsewhere = tmp_path / "elsewhere.token"
    elsewhere.write_text("admin-token-planted-" + "3" * 20 + "\n")
    elsewhere.chmod(0o600)
    token_file.unlink()
    token_file.symlink_to(elsewhere)
    os.kill(unit.proc.pid, signal.SIGHUP)

    def refusals() -> list[str]:
        return [
            str(e.get("reason"))
            for e in log_events(unit.proc)
            if e.get("event") == "secrets-reload-failed"
        ]

    poll(lambda: len(refusals()) == 2, timeout=10, what="the refused symlink in the log")
    assert str(token_file) in refusals()[-1] and "symbolic link" in refusals()[-1]
    assert _status(base, NEW) == 200
    assert _status(base, "admin-token-planted-" + "3" * 20) == 401
