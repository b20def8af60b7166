"""``hapair backup`` and ``hapair restore`` (the CLI) through real pairs: a backup and restore
through one pair, and a restore into a freshly installed pair (issue 19 point 3): a bundle
backed up from one pair is restored through the shared address of a pair started on empty data
dirs; both of its units hold the parameters and the tokens. The bundle's API on a lone unit:
tests/inprocess/test_backup.py."""

from __future__ import annotations

import json
import select
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api_checks import canonical_checksum
from tests.integration.conftest import MakePair
from tests.support import poll

PARAMS = "/api/v1/ha/parameters"


def test_restore_into_a_freshly_installed_pair(make_pair: MakePair, tmp_path: Path) -> None:
    old = make_pair()
    old.start_both()
    assert old.patch({"ha_timeout": 6, "initial_wait_time": 30}).status_code == 200
    r = old.http.post(f"{old.shared_url}/api/v1/tokens", json={"role": "viewer"})
    assert r.status_code == 201, r.text
    viewer = r.json()
    token_file = tmp_path / "old.token"
    token_file.write_text(old.token + "\n")
    bundle = tmp_path / "pair.json"
    done = hapair(
        "backup", "--out", str(bundle), "--url", old.shared_url, "--token-file", str(token_file)
    )
    assert done.returncode == 0, done.stderr
    # the old pair is gone; the new one starts on empty data dirs (a fresh install)
    for unit in (old.first, old.second):
        unit.stop()
    for name in ("first", "second"):
        shutil.rmtree(tmp_path / name)
    new = make_pair()
    new.start_both()
    fresh = new.params(new.first)
    assert fresh["revision"] == 0
    token_file.write_text(new.token + "\n")
    done = hapair(
        "restore", str(bundle), "--json", "--url", new.shared_url, "--token-file", str(token_file)
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["changes"] == {
        "ha_timeout": [fresh["ha_timeout"], 6],
        "initial_wait_time": [fresh["initial_wait_time"], 30],
    }
    assert viewer["id"] in answer["tokens"]["added"]
    restored = new.params(new.first)
    assert (restored["revision"], restored["ha_timeout"], restored["initial_wait_time"]) == (
        1,
        6,
        30,
    )
    assert restored["virtual_id_source"] == "auto"  # an auto virtual_id stays auto
    poll(
        lambda: new.params(new.second) == restored,
        timeout=15,
        what="the standby of the new pair holds the restored parameters",
    )
    # the old pair's viewer token works on the new pair, on both units
    for url in (new.shared_url, new.second.url):
        r = httpx.get(f"{url}{PARAMS}", headers={"Authorization": f"Bearer {viewer['token']}"})
        assert r.status_code == 200, (url, r.text)


def hapair(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``hapair ARGS`` run to its end, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "hapair", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        input=stdin,
    )


def first_line(args: list[str], timeout: float = 20) -> str:
    """The first line ``hapair ARGS`` prints (a command that runs on, stopped by its pid)."""
    with subprocess.Popen(
        [sys.executable, "-m", "hapair", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            assert ready, f"no output within {timeout}s"
            return proc.stdout.readline()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_cli_backup_and_restore_through_a_pair(make_pair: MakePair, tmp_path: Path) -> None:
    pair = make_pair()
    pair.start_both()
    token_file = tmp_path / "token"
    token_file.write_text(pair.token + "\n")
    unit_flags = ["--url", pair.shared_url, "--token-file", str(token_file)]
    assert pair.patch({"ha_timeout": 6, "virtual_id": 9}).status_code == 200

    out = tmp_path / "pair.bundle.json"
    done = hapair("backup", "--out", str(out), *unit_flags)
    assert done.returncode == 0, done.stderr
    assert "written to" in done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    bundle = json.loads(out.read_text())
    assert bundle["checksum"] == canonical_checksum(bundle)
    assert bundle["parameters"]["ha_timeout"] == 6
    exported_revision = bundle["revision"]

    assert pair.patch({"ha_timeout": 12, "virtual_id": None}).status_code == 200
    changed = pair.params(pair.first)
    dry = hapair("restore", str(out), "--dry-run", *unit_flags)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "dry run: nothing was stored",
        f"parameters: revision {changed['revision'] + 1} (actor import)",
        "  ha_timeout: 12 -> 6",
        "  virtual_id: null -> 9",
        "tokens: unchanged",
    ]
    assert pair.params(pair.first) == changed

    done = hapair("restore", str(out), "--json", *unit_flags)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changes"] == {"ha_timeout": [12, 6], "virtual_id": [None, 9]}
    restored = pair.params(pair.first)
    assert restored["revision"] == changed["revision"] + 1 > exported_revision
    assert (restored["ha_timeout"], restored["virtual_id"]) == (6, 9)

    def on_standby() -> bool:
        return pair.params(pair.second)["revision"] == restored["revision"]

    poll(on_standby, timeout=10, what="the import on the standby")

    # a damaged file: refused with the pointer, nothing changed
    damaged = tmp_path / "damaged.json"
    damaged.write_text(out.read_text().replace('"ha_timeout":6', '"ha_timeout":3'))
    refused = hapair("restore", str(damaged), *unit_flags)
    assert refused.returncode == 2
    assert "422" in refused.stderr and "/checksum" in refused.stderr
    assert pair.params(pair.first)["revision"] == restored["revision"]

    # --token-file on status and events; a token file that is missing is said in one line
    status = hapair("status", *unit_flags)
    assert status.returncode == 0, status.stderr
    assert "first" in status.stdout
    line = first_line(["events", "--since", "0", "--json", *unit_flags])
    assert json.loads(line)["event"]
    missing = hapair("status", "--url", pair.shared_url, "--token-file", str(tmp_path / "no"))
    assert missing.returncode == 2
    assert "--token-file" in missing.stderr and len(missing.stderr.splitlines()) == 1
