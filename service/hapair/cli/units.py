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
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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


def spawn_unit(
    command: Sequence[str], *, unit_dir: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start one unit; its output (JSON log lines) appended to ``unit_dir/hapair.log``.

    The unit gets SIGTERM when this process dies and runs in its own session (a Ctrl-C in the
    terminal reaches only ``hapair up``, which stops the units in order).
    """
    unit_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (unit_dir / "hapair.log").open("ab") as log_file:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_pdeathsig,  # noqa: PLW1509 - the units must not outlive `hapair up`
            start_new_session=True,
        )


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
