"""``up.json`` (SPEC 6 "Files"): ``hapair status`` and ``hapair token`` (and ``events``,
``backup``) send the data dir's admin token to the URL ``hapair up`` wrote there, so the file
is read without following a symlink, only if nobody else owns or may write it, and its URL is
used only if it is an http(s) URL of a loopback address: else one line, exit 2, and not a
single connection tried.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hapair.cli.status import cmd_status
from hapair.cli.token import cmd_token
from hapair.cli.upfile import UpFileError, loopback_url, up_url
from tests.support import untouched

ADMIN_TOKEN = "hp_" + "a" * 40


def test_loopback_url_is_what_hapair_up_writes_and_nothing_else() -> None:
    for good in ("http://127.0.0.10:8080", "https://127.0.0.1:1/", "http://[::1]:8080"):
        assert loopback_url(good), good
    for bad in (
        "http://192.0.2.1:8080",
        "http://localhost:8080",  # a name: could resolve anywhere
        "http://127.0.0.1.example.com:8080",
        "http://user:pw@127.0.0.1:8080",
        "http://127.0.0.1@192.0.2.1:8080",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "http://127.0.0.1:port/",
        "127.0.0.1:8080",
        "",
    ):
        assert not loopback_url(bad), bad


def _up(data_dir: Path, url: object) -> None:
    data_dir.mkdir(mode=0o700, exist_ok=True)
    (data_dir / "up.json").write_text(json.dumps({"url": url}) + "\n")
    (data_dir / "admin.token").write_text(ADMIN_TOKEN + "\n")
    (data_dir / "admin.token").chmod(0o600)


def test_up_url_refuses_a_symlink_another_users_file_and_a_far_url(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = tmp_path / "d"
    _up(data_dir, "http://127.0.0.10:8080")
    assert up_url(data_dir) == "http://127.0.0.10:8080"
    assert up_url(tmp_path) is None  # none there
    _up(data_dir, "http://192.0.2.1:8080")
    with pytest.raises(UpFileError, match=re.escape("'http://192.0.2.1:8080', not an http")):
        up_url(data_dir)
    _up(data_dir, ["http://127.0.0.10:8080"])
    with pytest.raises(UpFileError, match="not an http"):
        up_url(data_dir)
    (data_dir / "up.json").write_text("not json")
    with pytest.raises(UpFileError, match="does not hold hapair up's JSON"):
        up_url(data_dir)
    (data_dir / "up.json").unlink()
    (data_dir / "up.json").symlink_to(outside)
    with pytest.raises(UpFileError, match=re.escape(f"{data_dir / 'up.json'} is a symbolic link")):
        up_url(data_dir)
    untouched(outside)
    (data_dir / "up.json").unlink()
    _up(data_dir, "http://127.0.0.10:8080")
    if os.geteuid() != 0:
        return  # only root can give a file away
    os.chown(data_dir / "up.json", 65534, 65534)
    with pytest.raises(UpFileError, match="owned by another user"):
        up_url(data_dir)


def _ns(data_dir: Path, **more: Any) -> argparse.Namespace:
    values = {
        "url": None, "token": None, "token_file": None, "data_dir": str(data_dir),
        "tls_ca": None, "color": False, "redis": None, "json": False,
    }  # fmt: skip
    return argparse.Namespace(**{**values, **more})


class _Connects:
    """Every TCP connection this process tries (``socket.socket.connect``), refused."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[object] = []
        real = socket.socket.connect

        def connect(sock: socket.socket, address: Any) -> None:
            self.seen.append(address)
            if address[0] == "192.0.2.1":  # never let the test itself reach out
                raise ConnectionRefusedError(address)
            real(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)


def test_status_and_token_refuse_a_far_up_json_and_connect_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ``up.json`` another hand changed to a non-loopback URL: one line, exit 2, and not a
    single connection is tried (the admin token of the directory never leaves the host). The
    control: with a loopback URL the same command does connect (to a listener of the test)."""
    pytest.importorskip("hapair_client")
    data_dir = tmp_path / "d"
    connects = _Connects(monkeypatch)
    _up(data_dir, "http://192.0.2.1:8080")
    for run, ns, name in (
        (cmd_status, _ns(data_dir), "status"),
        (cmd_token, _ns(data_dir, token_command="list"), "token"),
        (cmd_token, _ns(data_dir, token_command="revoke", id="x"), "token"),
    ):
        assert run(ns) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"hapair {name}: {data_dir / 'up.json'} gives the URL "), err
        assert "'http://192.0.2.1:8080'" in err and len(err.splitlines()) == 1, err
        assert ADMIN_TOKEN not in err
    assert connects.seen == []

    with socket.create_server(("127.0.0.1", 0)) as listener:  # the control
        port = listener.getsockname()[1]
        _up(data_dir, f"http://127.0.0.1:{port}")
        listener.settimeout(5)
        accepted: list[bytes] = []

        def serve_one() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                accepted.append(conn.recv(4096))

        thread = threading.Thread(target=serve_one)
        thread.start()
        assert cmd_status(_ns(data_dir)) == 2  # the listener closes without an answer
        thread.join(10)
    assert connects.seen == [("127.0.0.1", port)]
    assert accepted and f"Bearer {ADMIN_TOKEN}".encode() in accepted[0]
    capsys.readouterr()


@pytest.mark.parametrize("command", [["status"], ["token", "list"]])
def test_the_cli_refuses_a_symlinked_or_far_up_json_at_once(
    tmp_path: Path, outside: Path, command: list[str]
) -> None:
    """The real commands: exit 2, one line naming the file, at once (no connect timeout)."""
    data_dir = tmp_path / "d"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")}
    _up(data_dir, "http://192.0.2.1:8080")
    (data_dir / "linked").mkdir(mode=0o700)
    (data_dir / "linked" / "up.json").symlink_to(outside)
    cases = (
        (data_dir, "gives the URL 'http://192.0.2.1:8080'"),
        (data_dir / "linked", "is a symbolic link: hapair does not follow one"),
    )
    for where, reason in cases:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "hapair", *command, "--data-dir", str(where)],
            capture_output=True, text=True, timeout=60, check=False, env=env,
        )  # fmt: skip
        took = time.monotonic() - began
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert str(where / "up.json") in done.stderr and reason in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        # a bound a loaded machine cannot break (the interpreter's start); that nothing
        # connects is shown in-process above
        assert took < 20, took
    untouched(outside)
