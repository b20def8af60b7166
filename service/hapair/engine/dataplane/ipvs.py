"""The IPVS connection sync daemon (L4 connection updates, SPEC 5c): the plan. Pure: no I/O.

``plan(parameters, role, facts)`` says what to write and run for the given parameters and
role on a kernel described by ``facts``: the two sysctls (``sync_threshold`` as ``"T P"`` in
one write, so the kernel never sees a threshold above the period; ``sync_refresh_period``)
and the sync daemon, ``master`` on the active and ``backup`` on the standby, on
``multicast_interface`` with ``syncid`` = the virtual ID. Threshold and period are packet
counts (a connection is synced when ``packets % period == threshold``), not the seconds the
seed's screen says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from hapair.domain.status import Role

DaemonState = Literal["master", "backup"]
DAEMON_STATES: Final[tuple[DaemonState, ...]] = ("master", "backup")
NO_IPVS: Final = "ip_vs is not available in this kernel"
SYSCTL_DIR: Final = "sys/net/ipv4/vs"  # under the proc root


@dataclass(frozen=True, kw_only=True)
class L4Parameters:
    """The parameters the plan reads."""

    on: bool  # l4_connection_updates
    threshold: int
    period: int
    refresh_period: int
    interface: str  # multicast_interface
    syncid: int  # the effective virtual ID


@dataclass(frozen=True, kw_only=True)
class Daemon:
    """A sync daemon: its state, interface and sync ID."""

    state: DaemonState
    interface: str
    syncid: int


@dataclass(frozen=True, kw_only=True)
class KernelFacts:
    """What the plan needs to know of the kernel.

    ``daemons`` None: unknown (hapair has not run one since it started): the plan stops both
    states before it starts the one it wants, so a daemon left behind never lingers.
    """

    ipvs: bool
    sync_threshold: str | None = None  # as read from the sysctl, e.g. "3\t50"
    sync_refresh_period: str | None = None
    daemons: frozenset[Daemon] | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Sysctl writes (name under ``net.ipv4.vs``, value) and daemon stops and starts, in the
    order to carry them out (stops first)."""

    supported: bool
    reason: str = ""
    sysctls: tuple[tuple[str, str], ...] = ()
    stop: tuple[DaemonState, ...] = ()
    start: tuple[Daemon, ...] = ()
    wanted: Daemon | None = None  # the daemon that runs once the plan is carried out

    def commands(self) -> list[list[str]]:
        """The ``ipvsadm`` command lines, in order."""
        out = [["ipvsadm", "--stop-daemon", state] for state in self.stop]
        out += [
            [
                "ipvsadm", "--start-daemon", d.state,
                "--mcast-interface", d.interface, "--syncid", str(d.syncid),
            ]
            for d in self.start
        ]  # fmt: skip
        return out


def wanted_daemon(p: L4Parameters, role: str) -> Daemon | None:
    """``master`` on the active, ``backup`` on the standby, none otherwise or when off."""
    if not p.on:
        return None
    if role == Role.ACTIVE:
        return Daemon(state="master", interface=p.interface, syncid=p.syncid)
    if role == Role.STANDBY:
        return Daemon(state="backup", interface=p.interface, syncid=p.syncid)
    return None


def _same(current: str | None, value: str) -> bool:
    return current is not None and current.split() == value.split()


def plan(p: L4Parameters, role: str, facts: KernelFacts) -> Plan:
    """What to write and run so that the kernel does what ``p`` says for ``role``.

    Args:
        p: The L4 parameters.
        role: The unit's decided engine role (``active``, ``standby``, ...).
        facts: The kernel as it is.
    """
    if not facts.ipvs:
        return Plan(supported=False, reason=NO_IPVS)
    sysctls: list[tuple[str, str]] = []
    threshold = f"{p.threshold} {p.period}"
    if not _same(facts.sync_threshold, threshold):
        sysctls.append(("sync_threshold", threshold))
    refresh = str(p.refresh_period)
    if not _same(facts.sync_refresh_period, refresh):
        sysctls.append(("sync_refresh_period", refresh))
    want = wanted_daemon(p, role)
    if facts.daemons is None:
        stop = DAEMON_STATES
        start = () if want is None else (want,)
    else:
        stop = tuple(s for s in DAEMON_STATES for d in facts.daemons if d.state == s and d != want)
        start = () if want is None or want in facts.daemons else (want,)
    return Plan(supported=True, sysctls=tuple(sysctls), stop=stop, start=start, wanted=want)


def running_after(plan_: Plan, before: frozenset[Daemon] | None) -> frozenset[Daemon]:
    """The daemons that run once ``plan_`` has been carried out in full."""
    kept = {d for d in (before or frozenset()) if d.state not in plan_.stop}
    return frozenset(kept | set(plan_.start))
