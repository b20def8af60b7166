"""``hapair up``: a whole pair on this host (``--netns``: as two hosts, see ``up_netns``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hapair.cli.units import (
    StopFlag,
    pair_secrets,
    serve_command,
    spawn_unit,
    stop_units,
    unit_env,
)
from hapair.domain.unit import other_unit
from hapair.settings import DEFAULT_DATA_DIR, DEFAULTS, option, positive_float, tcp_port


def add_parser(sub: Any) -> None:
    """The ``up`` subcommand."""
    up = sub.add_parser("up", help="run a whole pair on this host")
    option(
        up,
        "--data-dir",
        env="DATA_DIR",
        default=DEFAULT_DATA_DIR,
        help="the pair's directory: pair.key, admin.token, up.json and a data directory per "
        "unit (first/, second/)",
    )
    option(
        up,
        "--port",
        env="PORT",
        default=8080,
        type=tcp_port,
        help="one port for the whole pair: the shared address 127.0.0.10:PORT and the units' "
        "direct addresses 127.0.0.11:PORT and 127.0.0.12:PORT (with --netns: 192.0.2.10, "
        ".11 and .12)",
    )
    option(
        up,
        "--heartbeat-interval",
        env="HEARTBEAT_INTERVAL",
        default=DEFAULTS.heartbeat_interval,
        type=positive_float,
    )
    up.add_argument(
        "--netns",
        action="store_true",
        help="the pair as two hosts in network namespaces hapair-first/-second/-client (root)",
    )


RESTART_AFTER_S = 20.0


def should_restart(
    exited_for_s: float, partner_status: dict[str, Any] | None, *, partner: str
) -> bool:
    """Whether ``hapair up`` starts an exited unit again (a pure rule).

    Once its partner has taken over (it says it is the pair's active), or ``RESTART_AFTER_S``
    after the exit in any case, as a rebooted appliance would come back.

    Args:
        exited_for_s: Seconds since the unit was seen exited.
        partner_status: The partner's ``GET /ha/status`` body, None when it does not answer.
        partner: The partner's name.

    Returns:
        True to start the unit now.
    """
    taken_over = partner_status is not None and partner_status["pair"]["active"] == partner
    return exited_for_s >= RESTART_AFTER_S or taken_over


def run(ns: argparse.Namespace) -> int:
    """``hapair up [--netns]``."""
    if ns.netns:
        from hapair.cli.up_netns import cmd_up_netns

        return cmd_up_netns(ns)
    return cmd_up(ns)


def _wait_ready(
    procs: dict[str, subprocess.Popen[bytes]], units: dict[str, str], stopping: Callable[[], bool]
) -> bool:
    """Polls each unit's ``/readyz`` (30 s); False when a unit exits first."""
    import httpx

    deadline = time.monotonic() + 30
    pending = set(units)
    while pending and not stopping() and time.monotonic() < deadline:
        for name in list(pending):
            if procs[name].poll() is not None:
                print(
                    f"hapair up: unit {name} exited with {procs[name].returncode}", file=sys.stderr
                )
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{units[name]}/readyz", timeout=1).status_code == 200:
                    pending.discard(name)
        time.sleep(0.1)
    return True


def _pair_status(address: str, token: str) -> dict[str, Any] | None:
    """``GET /api/v1/ha/status`` of the unit at ``address``; None when it does not answer."""
    import httpx

    with contextlib.suppress(httpx.HTTPError, ValueError):
        r = httpx.get(
            f"http://{address}/api/v1/ha/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=1,
        )
        if r.status_code == 200:
            body: dict[str, Any] = r.json()
            return body
    return None


def _wait_paired(address: str, token: str, stopping: Callable[[], bool]) -> None:
    """Polls ``/ha/status`` until the pair is paired (10 s at most)."""
    deadline = time.monotonic() + 10
    while not stopping() and time.monotonic() < deadline:
        status = _pair_status(address, token)
        if status is not None and status["pair"]["state"] == "paired":
            return
        time.sleep(0.1)


def cmd_up(ns: argparse.Namespace) -> int:
    """``hapair up``: a whole pair on this host, each unit with its embedded Redis.

    A unit that exits (say, killed to watch a failover) is started again once its partner has
    taken over (or after 20 s), as a rebooted appliance would be: it comes back as the
    standby, or pacified after too many boots.
    """
    from hapair.cli.ports import refusal
    from hapair.files import UnsafePath, check_private_dir, write_atomic
    from hapair.secretfiles import SecretError

    shared = f"127.0.0.10:{ns.port}"
    units = {"first": f"127.0.0.11:{ns.port}", "second": f"127.0.0.12:{ns.port}"}
    # before anything is written: on another pair's port, the units could not listen while
    # this command read the other pair's answers as theirs
    busy = refusal({"shared address": shared, **units})
    if busy is not None:
        print(f"hapair up: {busy}", file=sys.stderr)
        return 1
    data_dir = Path(ns.data_dir).absolute()
    try:
        # another user's directory, or one others may write in, could hold a planted key
        check_private_dir(data_dir)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        token = pair_secrets(data_dir)
        # `hapair status` run in the same folder finds the pair without flags
        up = json.dumps({"url": f"http://{shared}", **units}) + "\n"
        write_atomic(data_dir / "up.json", up.encode())  # replaces a planted symlink
    except (OSError, SecretError) as exc:
        print(f"hapair up: {exc}", file=sys.stderr)
        return 2
    env = unit_env()
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        command = serve_command(
            name,
            listen=units[name],
            partner=units[other_unit(name)],
            shared=shared,
            data_dir=data_dir,
            heartbeat_interval=ns.heartbeat_interval,
        )
        procs[name] = spawn_unit(command, unit_dir=data_dir / name, env=env)

    stopping = StopFlag().install()
    try:
        # first, then second: the pair comes up paired with first active, not racing
        for name, address in units.items():
            start(name)
            if not _wait_ready(procs, {name: address}, stopping):
                return 1
        _wait_paired(units["first"], token, stopping)
        if not stopping():
            print(
                f"hapair pair is up\n"
                f"  shared address : http://{shared}   (the active unit)\n"
                f"  first          : http://{units['first']}   (pid {procs['first'].pid})\n"
                f"  second         : http://{units['second']}   (pid {procs['second'].pid})\n"
                f"  admin token    : {token}\n"
                f"  docs           : http://{shared}/docs\n"
                f"  logs           : {data_dir / 'first' / 'hapair.log'}, "
                f"{data_dir / 'second' / 'hapair.log'}\n"
                f"Ctrl-C stops both units.",
                flush=True,
            )
        exited: dict[str, float] = {}
        while not stopping():
            for name, proc in procs.items():
                if proc.poll() is not None and name not in exited:
                    exited[name] = time.monotonic()
                    print(
                        f"hapair up: unit {name} exited ({proc.returncode}); it starts again "
                        "once its partner has taken over",
                        flush=True,
                    )
            for name, since in list(exited.items()):
                status = _pair_status(units[other_unit(name)], token)
                if should_restart(time.monotonic() - since, status, partner=other_unit(name)):
                    del exited[name]
                    start(name)
                    print(
                        f"hapair up: unit {name} started again (pid {procs[name].pid})", flush=True
                    )
            time.sleep(0.2)
    except UnsafePath as exc:  # a symlink planted in place of a unit's log: never followed
        print(f"hapair up: {exc}", file=sys.stderr)
        return 2
    finally:
        stop_units(procs)
        print("hapair pair stopped", flush=True)
    return 0
