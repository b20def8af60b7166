"""Helpers for the integration tests: polling, real Redis servers, hapair processes.

Every process started here is stopped by its pid (never by name), and asks the kernel to be
signalled when the test process dies, so nothing outlives a killed pytest run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis

from hapair.store.embedded import EmbeddedRedis, RedisPasswords, death_signal_preexec
from hapair.store.redis_process import stop_process
from tests.procfs import children_of, is_redis, pid_alive, process_name
from tests.storm import (
    STORM_FIELD,
    WriteStorm,
    Written,
    missing_writes,
    read_conflicts,
    read_history,
)

T = TypeVar("T")


def poll(fn: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "") -> T:
    """Call ``fn`` until it returns something truthy and return that.

    Exceptions raised by ``fn`` count as "not yet", except a failed assertion, which fails at
    once (a check that went wrong is not retried into a pass). At the deadline an
    AssertionError names ``what`` and the last value or exception.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            value = fn()
        except AssertionError:
            raise
        except Exception as exc:
            last_exc, last_value = exc, None
        else:
            if value:
                return value
            last_exc, last_value = None, value
        if time.monotonic() >= deadline:
            last = f"last exception: {last_exc!r}" if last_exc else f"last value: {last_value!r}"
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or fn!r}; {last}"
            ) from last_exc
        time.sleep(interval)


def redis_client(server: EmbeddedRedis) -> redis.Redis:
    """A sync client of ``server`` as its ``hapair`` user (close it, or use it in a with)."""
    return redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)


def make_redis(directory: Path, *, passwords: RedisPasswords | None = None) -> EmbeddedRedis:
    """The production :class:`EmbeddedRedis` as tests run it (not started yet).

    Locked down as ``hapair serve`` runs it: tests connect with ``server.url`` (the ``hapair``
    user and its password) and hand that URL to ``hapair serve --redis``. Two servers that
    replicate from each other need the same ``passwords`` (a pair:
    ``RedisPasswords.derived(pair_key)``).
    ``appendfsync always``: fault tests SIGKILL it right after a write and expect the write.
    """
    return EmbeddedRedis(directory, passwords=passwords, appendfsync="always")


def kill9(server: EmbeddedRedis) -> None:
    """SIGKILL the server by pid (a crash), then reap it; ``start()`` brings it back."""
    pid = server.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.stop()  # reaps it (SIGTERM to a process already gone is a no-op)


def restart(server: EmbeddedRedis) -> None:
    """Start a stopped or killed server again, on the same port (its clients' URLs hold it)."""
    port = server.port
    server.start()
    assert server.port == port, f"redis-server came back on {server.port}, not {port}"


class _Exited(AssertionError):
    pass


class HapairProcess:
    """``python -m hapair serve ARGS`` as a child process, output in ``log_path``."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd if cwd is not None else log_path.parent
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop_sent = False

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "hapair", "serve", *self.args]

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once it ended (negative: killed by that signal), else ``None``."""
        return None if self._proc is None else self._proc.poll()

    def start(self) -> HapairProcess:
        assert self._proc is None or self._proc.poll() is not None, "already running"
        self._stop_sent = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
            )
        return self

    def wait_ready(self, base_url: str, timeout: float = 30, *, verify: bool = True) -> None:
        """Poll ``GET {base_url}/readyz`` until 200; fail at once if the process exits."""
        url = base_url.rstrip("/") + "/readyz"

        def ready() -> bool:
            if self.returncode is not None:
                raise _Exited(
                    f"hapair exited with {self.returncode} before ready:\n{self.log_tail()}"
                )
            return httpx.get(url, timeout=1.0, verify=verify).status_code == 200

        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                if ready():
                    return
            except _Exited:
                raise
            except httpx.HTTPError as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{url} not 200 after {timeout}s (last: {last!r}); log:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def client(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
        verify: bool = True,
    ) -> httpx.Client:
        """An httpx client on ``base_url``, one of this process's addresses."""
        return httpx.Client(base_url=base_url, headers=headers, timeout=timeout, verify=verify)

    def terminate(self, timeout: float = 10) -> int | None:
        """SIGTERM by pid (unless ``signal_stop`` sent it), wait, SIGKILL fallback; return the
        exit status."""
        if self._proc is None:
            return None
        if not self._stop_sent:
            return stop_process(self._proc, timeout)
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill9()

    def signal_stop(self) -> None:
        """SIGTERM by pid without waiting (``terminate`` then waits): processes that stop
        together stop in the time of the slowest, not of all of them in turn."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            self._stop_sent = True

    def kill9(self) -> int | None:
        """SIGKILL by pid and reap; return the exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        return self._proc.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class NsHapairProcess(HapairProcess):
    """``hapair serve`` inside a network namespace (``ip netns exec`` execs: same pid)."""

    def __init__(self, prefix: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix

    @property
    def command(self) -> list[str]:
        return [*self.prefix, *super().command]


class HapairFactory:
    """Starts hapair processes for one test and terminates all of them at teardown.

    ``runner``: what runs each unit (``tests.inprocess.runner.InProcessFactory`` runs them in
    this process); every runner has ``start``, ``signal_stop``, ``terminate``, ``log_tail``.
    """

    runner: Any = HapairProcess

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[Any] = []

    def __call__(
        self, args: list[str], env: dict[str, str] | None = None, *, start: bool = True
    ) -> Any:
        n = len(self.processes)
        proc = self.runner(args, env=env, log_path=self.directory / f"hapair-{n}.log")
        self.processes.append(proc)
        if start:
            proc.start()
        return proc

    def close(self, *, report: bool = True) -> None:
        for proc in self.processes:  # a pair's units stop together (a second less per pair)
            proc.signal_stop()
        for proc in self.processes:
            proc.terminate()
        if report:
            for i, proc in enumerate(self.processes):
                print(f"--- hapair-{i} {proc.args} exit {proc.returncode}:\n{proc.log_tail()}")


# Moved, importable from here as before: /proc helpers (tests/procfs.py), write storms
# (tests/storm.py).
__all__ = [
    "STORM_FIELD",
    "HapairFactory",
    "HapairProcess",
    "NsHapairProcess",
    "WriteStorm",
    "Written",
    "children_of",
    "is_redis",
    "kill9",
    "make_redis",
    "missing_writes",
    "pid_alive",
    "poll",
    "process_name",
    "read_conflicts",
    "read_history",
    "redis_client",
    "restart",
]


OUTSIDE = b"outside the data dir: never read, never written\n"  # the ``outside`` fixture's


def untouched(path: Path) -> None:
    """``path`` (the ``outside`` fixture's file) still holds what it held, with its mode."""
    assert path.read_bytes() == OUTSIDE
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
