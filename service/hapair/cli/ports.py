"""Whether an address of this host is free to listen on, and who holds it when it is not.

``hapair up`` asks before it starts anything: on a port another pair holds, its units would fail
to listen while it read the other pair's answers as theirs (issue 20: a second ``hapair up``
printed "hapair pair is up" with a new admin token, then restarted its units every 20 s).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

from hapair.cli.text import printable

LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket


def in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (a bind there fails with EADDRINUSE)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the listeners bind
        probe.bind((host, port))
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    finally:
        probe.close()
    return False


def _inodes(host: str, port: int, table: Path = Path("/proc/net/tcp")) -> set[str]:
    """Socket inodes listening on ``host:port`` or on every address at ``port``."""
    wanted = {f"{socket.inet_aton(h)[::-1].hex().upper()}:{port:04X}" for h in (host, "0.0.0.0")}
    found = set()
    with contextlib.suppress(OSError):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[1] in wanted and fields[3] == LISTEN:
                found.add(fields[9])
    return found


def holder(host: str, port: int) -> str | None:
    """The process listening on ``host:port`` as ``pid N: its command line``; None when this
    user cannot see it (another user's process, without root)."""
    inodes = {f"socket:[{i}]" for i in _inodes(host, port)}
    if not inodes:
        return None
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        with contextlib.suppress(OSError):
            fds = Path("/proc", pid, "fd")
            if any(os.readlink(fds / fd) in inodes for fd in os.listdir(fds)):
                raw = Path("/proc", pid, "cmdline").read_bytes().rstrip(b"\0")
                command = raw.replace(b"\0", b" ").decode(errors="replace")
                return f"pid {pid}: {printable(command)[:200]}"
    return None


def refusal(addresses: dict[str, str]) -> str | None:
    """One line naming the first of ``addresses`` (what: host:port) that is in use, and who
    holds it; None when every one is free."""
    for what, address in addresses.items():
        host, port = address.rsplit(":", 1)
        if in_use(host, int(port)):
            who = holder(host, int(port)) or "another process"
            return f"{address} ({what}) is already in use by {who}; stop it or pick another --port"
    return None
