"""How ``hapair up`` (loopback, ``up``) and ``hapair up --netns`` (``up_netns``) run their units.

Both start ``hapair serve`` twice with the same flags (secrets as files, never as values), log
to ``<data-dir>/<unit>/hapair.log``, stop on SIGINT/SIGTERM and stop the units the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from hapair.files import open_append


class StopFlag:
    """Set by SIGINT or SIGTERM once :meth:`install` ran; calling it says whether it is set."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self) -> bool:
        return self.stopping

    def set(self, *_: Any) -> None:
        """Ask the supervisor loop to stop (a signal handler)."""
        self.stopping = True

    def install(self) -> StopFlag:
        """Make SIGINT (Ctrl-C) and SIGTERM set the flag instead of raising or exiting."""
        signal.signal(signal.SIGINT, self.set)
        signal.signal(signal.SIGTERM, self.set)
        return self


def pair_secrets(data_dir: Path) -> str:
    """Create (0600) or read ``pair.key`` and ``admin.token`` in ``data_dir``; the admin token.

    Raises:
        OSError: A file cannot be read or written.
        hapair.secretfiles.SecretError: A file exists with an unusable value or mode.
    """
    from hapair.secretfiles import new_pair_key, read_or_create
    from hapair.services.tokens import new_token

    read_or_create(data_dir / "pair.key", new_pair_key)  # read by the units, never passed on
    return read_or_create(data_dir / "admin.token", new_token)


def unit_env() -> dict[str, str]:
    """This process's environment without secrets: the units read theirs from the files."""
    from hapair.secretfiles import SECRET_ENV

    return {k: v for k, v in os.environ.items() if k not in SECRET_ENV}


def serve_command(
    name: str,
    *,
    listen: str,
    partner: str,
    shared: str,
    data_dir: Path,
    heartbeat_interval: float,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``hapair serve`` argv of unit ``name``; its data in ``data_dir / name``."""
    return [
        sys.executable, "-m", "hapair", "serve",
        "--listen", listen,
        "--data-dir", str(data_dir / name),
        "--mode", name,
        "--partner", partner,
        "--shared", shared,
        *extra,
        "--heartbeat-interval", str(heartbeat_interval),
        # files, not values: argv is visible to every user in `ps`
        "--pair-key-file", str(data_dir / "pair.key"),
        "--admin-token-file", str(data_dir / "admin.token"),
    ]  # fmt: skip


def _pdeathsig() -> None:
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


LOG_MAX_BYTES = 10 * 1024 * 1024
"""``hapair.log`` is rotated past this size (``hapair.log.1`` .. ``.LOG_BACKUPS``, 0600)."""
LOG_BACKUPS = 3


class RotatingLog:
    """An append-only log file bounded in size: past ``max_bytes`` it becomes ``NAME.1`` (the
    older ones move up to ``NAME.<backups>``, the oldest dropped) and a new one is started.
    Every file is 0600 (the JSON lines name tokens' ids, addresses, the unit's actions).

    Raises:
        hapair.files.UnsafePath: A symlink (or anything but this user's regular file) is in
            the log's place: refused, naming it, never written through.
    """

    def __init__(
        self, path: Path, *, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS
    ) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        self._fd = self._open()
        self._size = os.fstat(self._fd).st_size

    def _open(self) -> int:
        # 0600, an older hapair up's 0644 log narrowed; a symlink planted in its place is
        # refused (UnsafePath naming it), never appended through (hapair/files.py)
        return open_append(self.path)

    def write(self, data: bytes) -> None:
        """Appends ``data`` (whole lines), rotating first when it would pass the bound."""
        if self._size and self._size + len(data) > self.max_bytes:
            self._rotate()
        os.write(self._fd, data)
        self._size += len(data)

    def _rotate(self) -> None:
        os.close(self._fd)
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._fd = self._open()
        self._size = 0

    def close(self) -> None:
        """Closes the file."""
        os.close(self._fd)


def _pump(stream: IO[bytes], log: RotatingLog) -> None:
    """Copies a unit's output into its log, line by line, until the unit closes it."""
    try:
        for line in iter(stream.readline, b""):
            log.write(line)
    finally:
        log.close()
        stream.close()


def spawn_unit(
    command: Sequence[str], *, unit_dir: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start one unit; its output (JSON log lines) appended to ``unit_dir/hapair.log``, which
    is rotated past ``LOG_MAX_BYTES`` and kept 0600 (``RotatingLog``, fed by a thread).

    The unit gets SIGTERM when this process dies and runs in its own session (a Ctrl-C in the
    terminal reaches only ``hapair up``, which stops the units in order).
    """
    unit_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = RotatingLog(unit_dir / "hapair.log")
    proc = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_pdeathsig,  # noqa: PLW1509 - the units must not outlive `hapair up`
        start_new_session=True,
    )
    assert proc.stdout is not None
    threading.Thread(target=_pump, args=(proc.stdout, log), daemon=True).start()
    return proc


def stop_units(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 10) -> None:
    """SIGTERM every unit still running, then wait for each (SIGKILL after ``timeout`` s)."""
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
