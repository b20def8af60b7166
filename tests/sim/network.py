"""The simulated network between the two units (``World.carry`` carries the messages over it,
``ports.Link`` the calls between the processes).

Each direction is a :class:`Link` that can be cut (a partition: every message is lost), lose
single messages (the next ``n``, or each with a probability) and hold messages back (an extra
delay up to a bound, which also reorders them). The randomness is a ``random.Random`` seeded
from hypothesis' draws: a run replays from hypothesis' choices. Messages held back wait on the
world's loop (``vloop.py``) until the clock reaches them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

HEARTBEAT = "heartbeat"  # a heartbeat request or its answer; the other kinds are requests


@dataclass
class Link:
    """One direction between the units."""

    cut: bool = False
    lose_next: int = 0  # the next this many messages are lost
    loss: float = 0.0  # each message is lost with this probability
    delay: float = 0.0  # each message that gets through is held back up to this long
    rnd: Random = field(default_factory=lambda: Random(0))
    heard_at: float = 0.0  # when a heartbeat last got through
    lost_since: float | None = None  # a heartbeat lost since then: the first one's time

    def degraded(self) -> bool:
        """The link loses or delays messages (cut aside)."""
        return bool(self.lose_next or self.loss or self.delay)

    def describe(self) -> str:
        return f"lose next {self.lose_next}, loss {self.loss:g}, delay up to {self.delay:g} s"


class Network:
    """Two directed links and the messages in flight on them, and the adverts' path (SPEC
    5b'): another path between the same units, whose datagrams (one each heartbeat interval)
    are lost where it is cut. A partition of the LAN cuts both; only the HTTP path may be lost
    (a firewall, a proxy) or only the adverts' (a switch that drops multicast)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.links = {(a, b): Link() for a in names for b in names if a != b}
        self.adverts_cut: set[tuple[str, str]] = set()  # directions whose adverts are lost
        # the update link (SPEC 5b' update_interface): directions it is cut, since when. The
        # HTTP path (``links``) is the direct link and the update link together; a partition
        # cuts both. Cut alone it stops replication and the heartbeats' copies sent over it.
        self.update_cut: dict[tuple[str, str], float] = {}
        # the direct link alone cut (the update link carries the heartbeats, the calls and
        # replication): directions, since when; heartbeats that way cross the update link only
        self.direct_cut: dict[tuple[str, str], float] = {}
        # when the last advert from a to b arrived (forgotten when b restarts: its link is new)
        self.advert_at: dict[tuple[str, str], float] = {}
        # told of each message lost (time, from, to, kind): the invariants' fault bookkeeping
        self.on_loss: Callable[[float, str, str, str], None] = lambda *_: None
        # told of a heartbeat that gets through after some were lost (time, from, to, how long
        # none got through)
        self.on_gap: Callable[[float, str, str, float], None] = lambda *_: None
        # told of each message held back (time sent, from, to, kind)
        self.on_held: Callable[[float, str, str, str], None] = lambda *_: None
        # told of each message delivered late (time of delivery, from, to, kind, whether its
        # sender has changed since: stale news)
        self.on_late: Callable[[float, str, str, str, bool], None] = lambda *_: None
        # told when a unit starts waiting for the answer to a request lost on the way (time,
        # unit, when its wait runs out), and when that wait runs out (time, unit)
        self.on_wait: Callable[[float, str, float], None] = lambda *_: None
        self.on_timeout: Callable[[float, str], None] = lambda *_: None

    def reaches(self, a: str, b: str) -> bool:
        """Whether the direction ``a -> b`` is not cut."""
        return not self.links[a, b].cut

    def partitioned(self) -> bool:
        """The HTTP path is cut one way or both (heartbeats, replication, requests)."""
        return any(link.cut for link in self.links.values())

    def direct_flows(self, a: str, b: str) -> bool:
        """The direct link is not cut alone ``a -> b`` (the HTTP path may be, see ``links``)."""
        return (a, b) not in self.direct_cut

    def update_flows(self, a: str, b: str) -> bool:
        """The update link is not cut ``a -> b`` (the HTTP path may be, see ``links``)."""
        return (a, b) not in self.update_cut

    def adverts_flow(self) -> bool:
        """No direction of the adverts' path is cut."""
        return not self.adverts_cut

    def degraded(self) -> bool:
        return any(link.degraded() for link in self.links.values())

    def heal(self) -> None:
        """Every link as new: not cut, losing and delaying nothing (the bookkeeping stays)."""
        for link in self.links.values():
            link.cut, link.lose_next, link.loss, link.delay = False, 0, 0.0, 0.0
        self.adverts_cut.clear()
        self.update_cut.clear()
        self.direct_cut.clear()

    def send(self, a: str, b: str, now: float, kind: str) -> float | None:
        """A message from ``a`` to ``b`` on a link that is not cut: None if it is lost, else
        how long it is held back."""
        link = self.links[a, b]
        lost = False
        if link.lose_next:
            link.lose_next -= 1
            lost = True
        elif link.loss and link.rnd.random() < link.loss:
            lost = True
        if lost:
            if kind == HEARTBEAT and link.lost_since is None:
                link.lost_since = now
            self.on_loss(now, a, b, kind)
            return None
        delay = round(link.rnd.uniform(0.0, link.delay), 2) if link.delay else 0.0
        if delay:
            self.on_held(now, a, b, kind)
        return delay

    def arrived(self, a: str, b: str, now: float, kind: str, *, late: bool, stale: bool) -> None:
        """Bookkeeping of a message that got to ``b``."""
        if kind == HEARTBEAT:
            link = self.links[a, b]
            if link.lost_since is not None:
                self.on_gap(now, a, b, now - link.heard_at)
            link.heard_at, link.lost_since = now, None
        if late:
            self.on_late(now, a, b, kind, stale)

    def missed(self, a: str, b: str, now: float, kind: str) -> None:
        """A message held back so long that ``b`` stopped waiting for it (an answer after the
        caller's timeout): it is lost, as ``send`` loses one."""
        link = self.links[a, b]
        if kind == HEARTBEAT and link.lost_since is None:
            link.lost_since = now
        self.on_loss(now, a, b, kind)

    def starved(self, now: float, longer_than: float) -> list[tuple[str, str]]:
        """The directions on which heartbeats were lost and none got through for
        ``longer_than``."""
        return [
            d
            for d, link in self.links.items()
            if link.lost_since is not None and now - link.heard_at >= longer_than
        ]
