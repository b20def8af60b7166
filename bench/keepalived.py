"""keepalived beside hapair in the same namespaces (``bench/failover.py --keepalived``).

Debian's keepalived 2.2.7 (``apt-get install keepalived``), one VRRPv2 instance per unit
namespace of the bench's ``LanTopology``: ``advert_int 1``, both ``state BACKUP`` with
``nopreempt`` (a returning unit stays backup, as hapair's without a preferred server), priority
254 on first and 253 on second, so the master-down interval is 3 + (256 - P) / 256 s: 3.008 s
and 3.012 s (the "3.01 s" of issue 23). The virtual IP is the bench's (192.0.2.10/24 on eth0).
In each unit namespace a tiny TCP responder on port 8080 answers its unit's name, for the
client to poll through the virtual IP. keepalived runs in the foreground in its own session,
so a fault reaches its parent and its VRRP child at once (``killpg``): a kill -9 of the parent
alone would make the child shut down cleanly (it would hand over with a priority-0 advert,
which is no crash).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from hapair.cli.lan import IPV4, PREFIX4, SHARED_IP, LanTopology, ip

__all__ = ["PREFIX4", "SHARED_IP", "Keepalived", "ask_name", "available", "direct_name"]

PORT = 8080
PRIORITY = {"first": 254, "second": 253}

_RESPONDER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
name = sys.argv[2].encode()
while True:
    c, _ = s.accept()
    try:
        c.sendall(name)
    finally:
        c.close()
"""


def available() -> str | None:
    """None if keepalived is installed, else what to do."""
    if shutil.which("keepalived") is None:
        return "keepalived is not installed (apt-get install keepalived)"
    return None


def config(name: str) -> str:
    """The keepalived.conf of unit ``name``."""
    return f"""global_defs {{
    router_id hapair_bench_{name}
}}
vrrp_instance hapair_bench {{
    state BACKUP
    nopreempt
    interface eth0
    virtual_router_id 10
    priority {PRIORITY[name]}
    advert_int 1
    virtual_ipaddress {{
        {SHARED_IP}/{PREFIX4} dev eth0
    }}
}}
"""


class Group:
    """A process in its own session (pgid = pid): signals go to the whole group, by that id."""

    def __init__(self, cmd: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def pids(self) -> list[int]:
        """Every process of the group (keepalived's parent and its VRRP child)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == self.pid:  # pgrp
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.alive():
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait()
        else:
            self.signal(signal.SIGKILL)  # a child left behind by a crash of the parent


class Keepalived:
    """keepalived and a responder in each unit namespace of ``topology``."""

    def __init__(self, topology: LanTopology, directory: Path) -> None:
        self.topology = topology
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.units: dict[str, Group] = {}
        self.responders: dict[str, Group] = {}
        self.starts = {"first": 0, "second": 0}

    def start_responders(self) -> None:
        for name in ("first", "second"):
            cmd = [*self.topology.exec_prefix(name), sys.executable, "-c", _RESPONDER,
                   str(PORT), name]  # fmt: skip
            self.responders[name] = Group(cmd, self.dir / f"responder-{name}.log")

    def start(self, name: str) -> None:
        conf = self.dir / f"{name}.conf"
        conf.write_text(config(name))
        self.starts[name] += 1
        pids = [str(self.dir / f"{name}.{kind}.pid") for kind in ("main", "vrrp", "check", "bfd")]
        cmd = [
            *self.topology.exec_prefix(name), "keepalived", "--dont-fork", "--log-console",
            "--log-detail", "--no-syslog", "--vrrp", "-f", str(conf),
            "-p", pids[0], "-r", pids[1], "-c", pids[2], "-b", pids[3],
        ]  # fmt: skip
        self.units[name] = Group(cmd, self.dir / f"{name}-{self.starts[name]}.log")

    def holders(self) -> list[str]:
        """The unit namespaces that hold the virtual IP."""
        held = []
        for name in ("first", "second"):
            out = ip("-n", self.topology.ns(name), "-o", "addr", "show").stdout
            if any(f" {SHARED_IP}/" in line for line in out.splitlines()):
                held.append(name)
        return held

    def close(self) -> None:
        for group in [*self.units.values(), *self.responders.values()]:
            group.stop()


def ask_name(timeout: float) -> str | None:
    """Which unit's responder answers on the virtual IP (run in the client namespace)."""
    try:
        with socket.create_connection((SHARED_IP, PORT), timeout=timeout) as c:
            c.settimeout(timeout)
            return c.recv(64).decode() or None
    except OSError:
        return None


def direct_name(name: str, timeout: float = 0.5) -> str | None:
    """The responder of ``name`` on its own address (run in the client namespace)."""
    try:
        with socket.create_connection((IPV4[name], PORT), timeout=timeout) as c:
            return c.recv(64).decode() or None
    except OSError:
        return None


def settle_time() -> float:
    """The longest a fresh keepalived pair takes to elect a master: both start as backup."""
    return 3 + (256 - min(PRIORITY.values())) / 256 + 1
