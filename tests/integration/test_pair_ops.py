"""A pair as its operator sees it: ``hapair status``, the role-change hook, ``hapair up``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair
from tests.support import children_of, pid_alive, poll

pytestmark = pytest.mark.timeout(90)


def test_status_cli_prints_coloured_squares(pair: Pair) -> None:
    pair.start_both()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hapair",
            "status",
            "--url",
            pair.shared_url,
            "--token",
            pair.token,
            "--color",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert "pair: paired (active: first)" in out
    assert "\033[42;30m A \033[0m first" in out  # green square with A
    assert "\033[42m   \033[0m second" in out  # green square


def test_role_hook_runs_with_role_environment(make_pair: MakePair, tmp_path: Path) -> None:
    out = tmp_path / "hook.log"
    hook = f'echo "$HAPAIR_ROLE $HAPAIR_UNIT $HAPAIR_SHARED_ADDRESS $HAPAIR_VIRTUAL_ID" >> {out}'
    p = make_pair(
        extra={"first": ["--on-role-change", hook], "second": ["--on-role-change", hook]},
    )
    p.start_both()
    expected_first = f"active first {p.shared_address} 10"
    expected_second = f"standby second {p.shared_address} 10"
    lines = poll(
        lambda: (
            (t := out.read_text().splitlines() if out.exists() else [])
            and expected_first in t
            and expected_second in t
            and t
        ),
        timeout=10,
        what="hook lines",
    )
    assert expected_first in lines


def test_up_runs_a_pair_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    from tests.ports import free_port

    port = free_port("127.0.0.10")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hapair",
            "up",  # the README's run command: default (relative) data dir ./.hapair
            "--port",
            str(port),
            "--heartbeat-interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert (
            f"127.0.0.10:{port}" in text
            and f"127.0.0.11:{port}" in text
            and f"127.0.0.12:{port}" in text
        ), text
        token = next(line.split(":", 1)[1].strip() for line in lines if "admin token" in line)
        units = children_of(proc.pid)
        everything = units + [pid for u in units for pid in children_of(u)]
        assert len(everything) >= 4, everything  # two hapair units and their two redis-servers
        resp = httpx.get(
            f"http://127.0.0.10:{port}/api/v1/ha/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert resp.status_code == 200
        # `hapair status` in the same folder finds the pair and its token by itself
        out = subprocess.run(
            [sys.executable, "-m", "hapair", "status"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        assert "pair: paired (active: first)" in out, out
        # a second `hapair up` on this port (another data dir) refuses at once, naming the
        # address and the process that holds it, and writes nothing
        other = tmp_path / "other"
        second_up = subprocess.run(
            [sys.executable, "-m", "hapair", "up", "--port", str(port), "--data-dir", str(other)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second_up.returncode == 1, second_up.stdout + second_up.stderr
        assert "pair is up" not in second_up.stdout, second_up.stdout
        [refused] = second_up.stderr.strip().splitlines()
        held = f"127.0.0.10:{port}"
        assert refused.startswith(f"hapair up: {held} (shared address) is already in use by pid ")
        holder = int(refused.split("by pid ")[1].split(":")[0])
        assert holder in units, (refused, units)  # one of this pair's units serves it
        assert "hapair serve" in refused, refused
        assert not other.exists(), list(other.iterdir())
        # kill -9 the active: second takes over, then `up` starts first again: the standby
        headers = {"Authorization": f"Bearer {token}"}
        shared_params = f"http://127.0.0.10:{port}/api/v1/ha/parameters"
        assert (
            httpx.patch(shared_params, json={"ha_timeout": 3}, headers=headers).status_code == 200
        )
        first_pid = next(
            int(x.split("pid ")[1].rstrip(")\n ")) for x in lines if x.lstrip().startswith("first")
        )
        os.kill(first_pid, signal.SIGKILL)
        restarted = proc.stdout.readline() + proc.stdout.readline()
        assert "unit first exited" in restarted, restarted
        assert "started again" in restarted, restarted

        def paired() -> bool:
            r = httpx.get(
                f"http://127.0.0.12:{port}/api/v1/ha/status",
                headers={"Authorization": f"Bearer {token}"},
                timeout=2,
            )
            got = {u["name"]: u["role"] for u in r.json()["units"]}
            return got == {"first": "standby", "second": "active"}

        poll(paired, timeout=30, interval=0.2, what="first back as the standby")
        units = children_of(proc.pid)
        everything += units + [pid for u in units for pid in children_of(u)]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        poll(
            lambda: not any(pid_alive(p) for p in everything), timeout=10, what="all processes gone"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        for pid in children_of(proc.pid) if proc.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
