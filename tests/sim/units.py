"""The parts of the simulated world (``world.py``): one unit (its process, its Redis and its
data dir) as plain data, the units' names and the heartbeat interval; what happens to them is
:class:`World`'s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hapair.domain.parameters import HAParameters
from hapair.engine.core import machine as m

if TYPE_CHECKING:
    from tests.sim.ports import DataDir, Process

INTERVAL = 1.0
TRACK = "svc"  # every unit has one track; its checks every TRACK_INTERVAL, fall and rise
TRACK_INTERVAL = 0.5
TRACK_FALL = 2
TRACK_RISE = 2
NAMES = ("first", "second")
SHARED = "127.0.0.10:8080"


def other(name: str) -> str:
    """The partner's name."""
    return "second" if name == "first" else "first"


@dataclass
class Redis:
    """One unit's simulated Redis."""

    up: bool = True
    entries: list[tuple[int, str]] = field(default_factory=list)  # (revision, unique id)
    params: HAParameters = field(default_factory=HAParameters)
    replica_of: str | None = None  # the unit whose Redis this one follows, None: master
    conflicts: set[str] = field(default_factory=set)

    @property
    def revision(self) -> int:
        """The newest revision held."""
        return self.entries[-1][0] if self.entries else 0

    def ids(self) -> set[str]:
        """The unique ids of the revisions held."""
        return {i for _, i in self.entries}


@dataclass
class Unit:
    """One simulated unit: its process (``proc``: its loop, its real ``Node``; None when dead),
    its Redis and its data dir (both outlive the process)."""

    name: str
    data: DataDir
    redis: Redis = field(default_factory=Redis)
    proc: Process | None = None
    link_up: bool = True
    active_at: float | None = None  # when its engine last decided to be active
    service_ok: bool = True  # the service its track checks
    service_since: float = 0.0  # when the service last failed or came back
    track_due: list[tuple[float, bool]] = field(default_factory=list)  # results on their way
    key: int = 0  # which pair key it was started with (two units with different keys refuse)
    clock_offset: float = 0.0  # how far its wall clock is off (read at boot, as the engine)
    beat_phase: float = 0.0  # where its monotonic clock's beats fall (its host's, not the other's)
    timers_early: float = 0.0  # how far before their time its timers fire (uvloop keeps ms)
    advert_known: float | None = None  # the partner's last advert its engine was told of

    @property
    def state(self) -> m.State | None:
        """The state its node's machine holds (None: no process, or not booted yet)."""
        return None if self.proc is None else self.proc.node.state

    @property
    def paused(self) -> bool:
        """Its process is frozen (SIGSTOP)."""
        return self.proc is not None and self.proc.loop.frozen

    @property
    def alive(self) -> bool:
        """The process runs, has booted and is not frozen."""
        s = self.state
        return s is not None and not self.paused and not s.stopped


@dataclass
class RoleChange:
    """A transition a unit announced, for the invariants."""

    unit: str
    at: float
    transition: m.Transition
    holding_before: bool
    # its engine had no heartbeat of its partner within ha_timeout but had been told of an
    # advert within it (SPEC 5b'): the partner is alive, heard on the adverts' path only
    advert_only: bool = False
    decided: str = ""  # the role its engine decided in that step (the public one may differ)
