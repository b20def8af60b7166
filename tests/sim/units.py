"""The parts of the simulated world (``world.py``): one unit's process and its Redis as plain
data, the units' names and the heartbeat interval; what happens to them is :class:`World`'s."""

from __future__ import annotations

from dataclasses import dataclass, field

from hapair.domain.unit import BootRecord
from hapair.engine.core import machine as m

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
    params: m.Params = field(default_factory=m.Params)
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
    """One simulated unit: its process (``state``, None when dead) and its Redis."""

    name: str
    redis: Redis = field(default_factory=Redis)
    state: m.State | None = None
    paused: bool = False
    link_up: bool = True
    boots: BootRecord = field(default_factory=BootRecord)
    replies: dict[int, m.Reply] = field(default_factory=dict)
    maintenance: bool = False  # kept in the data dir: survives restarts
    incarnation: int = 0  # counts the boots: an answer to an older process is not waited for
    deadline_fired: float | None = None  # the last machine deadline whose timer fired
    active_at: float | None = None  # when its engine last decided to be active
    service_ok: bool = True  # the service its track checks
    service_since: float = 0.0  # when the service last failed or came back
    track_due: list[tuple[float, bool]] = field(default_factory=list)  # results on their way
    key: int = 0  # which pair key it was started with (two units with different keys refuse)
    clock_offset: float = 0.0  # how far its wall clock is off (read at boot, as the engine)
    advert_known: float | None = None  # the partner's last advert its engine was told of

    @property
    def alive(self) -> bool:
        """The process runs and is not frozen."""
        return self.state is not None and not self.paused and not self.state.stopped


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
