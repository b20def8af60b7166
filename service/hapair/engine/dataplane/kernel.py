"""Carrying out an IPVS plan (``ipvs.plan``): the sysctls under a proc root (``/proc``, or a
directory tests point it at) and ``ipvsadm`` from ``PATH``, each run bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

from hapair.engine.dataplane.ipvs import SYSCTL_DIR, Daemon, KernelFacts, Plan

TIMEOUT_S = 5.0


def sysctl_dir(proc_root: Path) -> Path:
    """``<proc root>/sys/net/ipv4/vs``."""
    return proc_root / SYSCTL_DIR


def read_facts(proc_root: Path, daemons: frozenset[Daemon] | None) -> KernelFacts:
    """Whether the kernel has IPVS and the sysctls' current values (blocking: file reads)."""
    base = sysctl_dir(proc_root)
    if not base.is_dir():
        return KernelFacts(ipvs=False)

    def read(name: str) -> str | None:
        try:
            return (base / name).read_text().strip()
        except OSError:
            return None

    return KernelFacts(
        ipvs=True,
        sync_threshold=read("sync_threshold"),
        sync_refresh_period=read("sync_refresh_period"),
        daemons=daemons,
    )


def write_sysctl(proc_root: Path, name: str, value: str) -> None:
    """One write of ``value`` (blocking). Raises OSError."""
    with (sysctl_dir(proc_root) / name).open("w") as f:
        f.write(value + "\n")


@dataclass(kw_only=True)
class Outcome:
    """What carrying out a plan did: errors by part (``sysctl``, ``daemon``)."""

    sysctl_error: str | None = None
    daemon_error: str | None = None
    commands: list[list[str]] = field(default_factory=list)


async def run(argv: list[str], *, limit_s: float = TIMEOUT_S) -> str | None:
    """Runs one command; None when it succeeded, else why not."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except FileNotFoundError:
        return f"{argv[0]} not found on PATH"
    except OSError as exc:
        return f"{argv[0]}: {exc.strerror or exc}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=limit_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return f"{' '.join(argv)} did not end within {limit_s:g} s"
    if proc.returncode != 0:
        said = out.decode(errors="replace").strip().splitlines()
        return f"{' '.join(argv)} exited {proc.returncode}" + (f": {said[-1]}" if said else "")
    return None


async def carry_out(plan: Plan, proc_root: Path, *, limit_s: float = TIMEOUT_S) -> Outcome:
    """Writes the plan's sysctls, then stops and starts its daemons, in order."""
    outcome = Outcome()
    for name, value in plan.sysctls:
        try:
            await asyncio.to_thread(write_sysctl, proc_root, name, value)
        except OSError as exc:
            outcome.sysctl_error = f"net.ipv4.vs.{name} = {value!r}: {exc.strerror or exc}"
            break
    for argv in plan.commands():
        outcome.commands.append(argv)
        error = await run(argv, limit_s=limit_s)
        if error is not None and "--stop-daemon" in argv:
            continue  # stopping a daemon that does not run fails: nothing to stop
        if error is not None:
            outcome.daemon_error = error
            break
    return outcome


SIOCGIFADDR = 0x8915


def interface_ipv4(name: str) -> str | None:
    """The interface's IPv4 address, or None (no such interface, or no address)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
    except OSError:
        return None
    return socket.inet_ntoa(packed[20:24])
