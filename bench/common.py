"""Shared bench helpers: processes started and stopped by pid, and the kill -9 failover loop of
a pair. Importable from here too: wrk runs with CPU accounting (``bench/wrk.py``), percentiles
and summary lines (``bench/report.py``).

Every child asks the kernel for a signal when this script dies (``PR_SET_PDEATHSIG``), so a
bench interrupted by Ctrl-C or killed leaves no server behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import httpx

from bench.report import fmt, machine_note, percentile, seconds_line
from bench.wrk import Series, WrkResult, patch_script, run_wrk, wrk_available
from hapair.domain.unit import other_unit as partner_of
from hapair.store.embedded import death_signal_preexec, default_executable, free_port

__all__ = [
    "FIRST",
    "PARAMS",
    "ROOT",
    "SECOND",
    "SHARED",
    "KillablePair",
    "Proc",
    "Procs",
    "Series",
    "WrkResult",
    "fmt",
    "hapair_args",
    "kill_failovers",
    "machine_note",
    "partner_of",
    "patch_script",
    "percentile",
    "poll",
    "run_wrk",
    "seconds_line",
    "set_ha_timeout",
    "start_redis",
    "wait_http",
    "wrk_available",
]

ROOT = Path(__file__).resolve().parent.parent
PARAMS = "/api/v1/ha/parameters"
# a pair on loopback: the units' direct addresses and the shared address
FIRST, SECOND, SHARED = "127.0.0.11", "127.0.0.12", "127.0.0.10"
CLK_TCK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def poll(fn: Callable[[], T], *, timeout: float, interval: float = 0.02, what: str = "") -> T:
    """Calls ``fn`` until it returns something truthy (exceptions count as "not yet")."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = fn()
        except Exception as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


class Proc:
    """A child process with its output in a log file, stopped by its pid."""

    def __init__(self, cmd: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.cmd = list(cmd)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=ROOT,
                preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
            )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads), from /proc."""
        raw = Path(f"/proc/{self.pid}/stat").read_text()
        fields = raw.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def native_modules(self, *names: str) -> list[str]:
        """Which of the named compiled modules (e.g. ``uvloop``, ``httptools``) the process has
        loaded, from /proc/PID/maps: proof of the server stack a bench measured."""
        maps = Path(f"/proc/{self.pid}/maps").read_text()
        return [name for name in names if f"/{name}/" in maps]

    def kill9(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
        self.popen.wait()

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


class Procs:
    """Every process a bench started; ``close()`` stops them all by pid, newest first."""

    def __init__(self, prefix: str = "hapair-bench-") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.items: list[Proc] = []

    def start(self, name: str, cmd: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(cmd, self.dir / f"{name}-{len(self.items)}.log", env)
        self.items.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.items):
            proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def wait_http(
    url: str, proc: Proc | None = None, *, timeout: float = 15, status: int = 200
) -> float:
    """Polls ``url`` until it answers ``status``; returns the seconds it took from the call."""
    start = time.monotonic()

    def ok() -> bool:
        if proc is not None and not proc.alive():
            raise SystemExit(f"{proc.cmd[:4]} exited {proc.popen.returncode}:\n{proc.tail()}")
        return httpx.get(url, timeout=1.0).status_code == status

    poll(ok, timeout=timeout, interval=0.01, what=url)
    return time.monotonic() - start


def hapair_args(
    data_dir: Path,
    *,
    mode: str,
    listen: str,
    partner: str,
    shared: str,
    pair_key: str,
    token: str,
    heartbeat: float = 0.5,
    extra: Sequence[str] = (),
) -> list[str]:
    return [
        sys.executable, "-m", "hapair", "serve",
        "--listen", listen,
        "--data-dir", str(data_dir),
        "--mode", mode,
        "--partner", partner,
        "--shared", shared,
        "--pair-key", pair_key,
        "--admin-token", token,
        "--heartbeat-interval", str(heartbeat),
        "--log-level", "warning",
        *extra,
    ]  # fmt: skip


def start_redis(procs: Procs, name: str = "redis") -> tuple[Proc, str]:
    """A redis-server (the bundled one hapair embeds) with the same persistence as hapair's."""
    directory = procs.dir / name
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = procs.start(
        name,
        [
            default_executable(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "no",
        ],
    )  # fmt: skip

    def up() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    poll(up, timeout=10, what=f"redis on {port}")
    return proc, f"redis://127.0.0.1:{port}/0"


# --- failover of a pair ------------------------------------------------------------------


class KillablePair(Protocol):
    """A pair a bench can kill units of (``bench/ha.py`` on loopback, ``bench/failover.py``)."""

    def wait_settled(self, active: str, standby: str) -> None:
        """Poll until ``active`` is the active and ``standby`` the standby."""

    def kill9(self, name: str) -> None:
        """SIGKILL unit ``name``."""

    def failover_time(self, name: str, since: float) -> float:
        """Seconds from ``since`` (monotonic) until unit ``name`` answers on the shared address."""

    def start(self, name: str) -> object:
        """Start unit ``name`` again and wait until it is ready."""


def set_ha_timeout(
    request: Callable[..., httpx.Response], shared: str, standby: str, seconds: int
) -> None:
    """PATCH ``ha_timeout`` on the shared address, then poll until the standby holds it.

    Args:
        request: ``request(method, url, json=...)``, e.g. an ``httpx.Client``'s, with the token.
        shared: The shared address's URL.
        standby: The standby's direct URL.
        seconds: The new ``ha_timeout``.
    """
    r = request("PATCH", shared + PARAMS, json={"ha_timeout": seconds})
    assert r.status_code == 200, r.text
    poll(
        lambda: request("GET", standby + PARAMS).json()["ha_timeout"] == seconds,
        timeout=5,
        what=f"ha_timeout {seconds} on the standby",
    )


def kill_failovers(pair: KillablePair, rounds: int, active: str) -> tuple[list[float], str]:
    """``rounds`` times: kill -9 the settled active, time the failover to the standby, start
    the killed unit again (it comes back standby, no preferred server) and wait until the pair
    has settled the other way; the next round kills the new active.

    Returns:
        The failover times in seconds, and the active at the end.
    """
    times: list[float] = []
    for _ in range(rounds):
        standby = partner_of(active)
        pair.wait_settled(active, standby)
        killed = time.monotonic()
        pair.kill9(active)
        times.append(pair.failover_time(standby, killed))
        pair.start(active)
        pair.wait_settled(standby, active)
        active = standby
    return times, active
