"""Restore into a freshly installed pair (issue 19 point 3): a bundle backed up from one pair
with ``hapair backup`` is restored with ``hapair restore`` through the shared address of a
pair started on empty data dirs; both of its units hold the parameters and the tokens."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.conftest import MakePair
from tests.support import poll

PARAMS = "/api/v1/ha/parameters"


def _hapair(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hapair", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


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
    done = _hapair(
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
    done = _hapair(
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
