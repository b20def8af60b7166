"""A simulated world for two HA engines: the real ``machine.step`` against a simulated network,
simulated Redis replication and a logical clock.

What is simulated, and how it matches the shell (``engine/node.py``, the driver):
- time: one logical clock; ``first`` ticks at whole heartbeat intervals, ``second`` half an
  interval later. Before each ``Tick`` a unit reads its Redis (``StoreRead``/``StoreFailed``)
  and exchanges heartbeats with its partner (``Heard`` both ways), as the driver's ticker does.
- the network (``network.py``): directed links between the units that can be cut (one-way or
  both ways), lose single messages and hold them back (reordering them); a heartbeat needs the
  request to arrive, and its answer needs the way back; so do the partner requests (demote,
  hand-over) and their replies. A request or reply lost makes the asker fail once its wait
  runs out (the driver's: 5 s for a demote, 20 s for a hand-over); a cut link refuses at once.
- the shared address on one host: the unit whose process holds the listening socket keeps it
  while frozen (SIGSTOP) and loses it when killed; another unit's bind then fails.
- Redis: each unit's own server with its history of revisions (each with a unique id), a
  master or a replica of the other's; replicas follow their master whenever the network lets
  them (a full resync replaces what they held); ``WAIT`` acknowledges a write when the
  replica holds it.
- processes: kill (state gone, Redis lives on), restart (a boot, counted for the pacify rule),
  pause and resume (a frozen process hears nothing and answers nothing).
- tracks: each unit has one track on its service; the track's first result arrives at boot,
  and a failure or a recovery of the service reaches the engine ``TRACK_FALL`` (or
  ``TRACK_RISE``) check intervals later, as the checker's hysteresis does (the checker of a
  frozen process is frozen too: it tells that long after the process thaws).
- the pair key and the clock: a unit started with another pair key refuses its partner's
  calls and answers each with a refusal (``PartnerAnswered`` with ``another pair key``, as the
  driver turns a 401 ``another-pair-key`` into); demote and hand-over requests fail at once.
  A unit's wall clock may be off by any amount (its ``wall_offset`` at boot): heartbeats carry
  its times, the rules must not care.
- adverts (SPEC 5b'): each unit sends one at its tick; it reaches the partner unless the
  adverts' path is cut that way (``Network.adverts_cut``) or the keys differ; before each
  ``Tick`` a unit is told how long ago its partner's last advert arrived (``AdvertsSeen``), as
  the driver asks its adverts link. A partition of the LAN cuts both paths; a rule cuts only
  the HTTP path (adverts flowing: no failover) or only the adverts.
- the update link (SPEC 5b'): the HTTP path is the direct link and the update link together;
  each heartbeat that crosses it also arrives as its copy over the update link (``via``)
  unless that link alone is cut that way (``Network.update_cut``), which also stops
  replication from that side; the direct link alone cut (``Network.direct_cut``) lets only
  the copies through, so the update link carries everything. Each unit is told before its
  tick that a separate update link is in use (``UpdateLinkSeen``).
Results of actions are fed back as events in order, as the driver does.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

from hapair.domain.unit import record_boot
from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import Heartbeat
from tests.sim.network import Network
from tests.sim.traffic import Traffic
from tests.sim.units import (
    INTERVAL,
    NAMES,
    SHARED,
    TRACK,
    TRACK_FALL,
    TRACK_INTERVAL,
    TRACK_RISE,
    RoleChange,
    Unit,
    other,
)


class World:
    """Two units, a network, Redis replication and a clock."""

    def __init__(self, *, ha_timeout: float = 3.0, initial_wait: float = 0.0) -> None:
        self.now = 0.0
        self.units = {n: Unit(n) for n in NAMES}
        for u in self.units.values():
            u.redis.params = m.Params(ha_timeout=ha_timeout, initial_wait_time=initial_wait)
        self.net = Network(NAMES)
        self.shared_holder: str | None = None
        self.acknowledged: set[str] = set()
        self.changes: list[RoleChange] = []
        self.log: list[str] = []
        self.silently_dropped: list[tuple[str, set[str]]] = []
        self.promoted_unfit: list[str] = []  # promotions of a unit with a failed track
        self.on_track: Callable[[float], None] = lambda at: None  # a track result delivered
        self._ids = itertools.count(1)
        self._queue: deque[tuple[str, m.Event]] = deque()
        self.traffic = Traffic(self)

    # ---- helpers ---------------------------------------------------------------------------

    def reaches(self, a: str, b: str) -> bool:
        """Whether the direction ``a -> b`` is not cut (a partition); see ``net`` for the rest."""
        return self.net.reaches(a, b)

    def replicates(self, src: str, replica: str, *, way: tuple[str, str]) -> bool:
        """Replication ``src -> replica`` gets through ``way`` on the HTTP path (the replica's
        connection, or the stream) and the update link from the source (replication runs over
        the update link, SPEC 5b')."""
        return self.reaches(*way) and self.net.update_flows(src, replica)

    def heartbeat_of(self, u: Unit) -> Heartbeat:
        """What ``u`` sends (the driver adds the boot id, new at each boot, and the Redis URL:
        here the unit's name)."""
        assert u.state is not None
        hb = m.heartbeat(u.state, self.now)
        hb.boot_id = f"{u.name}-{u.incarnation}"
        hb.redis_url = u.name
        return hb

    def new_id(self) -> int:
        """A fresh request number (or a write's id)."""
        return next(self._ids)

    def note(self, text: str) -> None:
        """Keeps a line of what happened (printed when an invariant fails)."""
        self.log.append(f"t={self.now:6.2f} {text}")

    # ---- processes -------------------------------------------------------------------------

    def start(self, name: str) -> None:
        """Boots ``name``'s process (its Redis keeps what it held)."""
        u = self.units[name]
        u.boots = record_boot(u.boots, self.now, window_s=300.0, max_boots=3)
        config = m.Config(
            unit=name,
            mode=name,
            shared_address=SHARED,
            pacified=u.boots.pacified,
            maintenance=u.maintenance,
            tracks=(TRACK,),
            adverts=True,
            listen_first=1.5 * INTERVAL,
        )
        self.net.advert_at.pop((other(name), name), None)  # its adverts link is new
        u.advert_known = None
        r = u.redis
        state, actions = m.boot(
            config,
            r.params,
            r.revision if r.up else 0,
            self.now,
            1_000_000 + self.now + u.clock_offset,
        )
        u.state, u.paused, u.replies = state, False, {}
        u.incarnation += 1
        u.track_due = []
        self.note(f"{name} boots (pacified={u.boots.pacified})")
        self._execute(u, actions)
        self.run()
        self._track_result(u, u.service_ok)  # the checker's first result, at once

    def set_service(self, name: str, ok: bool) -> None:
        """The service behind ``name``'s track fails or comes back; its engine learns it
        ``fall`` (or ``rise``) checks later."""
        u = self.units[name]
        if u.service_ok == ok:
            return
        u.service_ok, u.service_since = ok, self.now
        u.track_due.append((round(self.now + _checks(ok), 6), ok))
        self.note(f"{name} service {'back' if ok else 'failed'}")

    def _track_result(self, u: Unit, ok: bool) -> None:
        if not u.alive:
            return
        self.on_track(self.now)
        self.deliver(u.name, m.TrackChanged(now=self.now, name=TRACK, ok=ok, detail=""))
        self.run()

    def _tracks_due(self, until: float) -> None:
        for u in self.units.values():
            if u.paused and u.state is not None:
                # the checker is frozen with its process: it checks again once thawed, and
                # tells the result fall (rise) checks after
                u.track_due = [
                    (max(at, round(until + _checks(ok), 6)), ok) for at, ok in u.track_due
                ]
                continue
            due = [d for d in u.track_due if d[0] <= until]
            u.track_due = [d for d in u.track_due if d[0] > until]
            for at, ok in due:
                self.now = max(self.now, at)
                self._track_result(u, ok)

    def kill(self, name: str) -> None:
        """kill -9: the process is gone (its socket with it), its Redis lives on."""
        u = self.units[name]
        u.state, u.paused = None, False
        if self.shared_holder == name:
            self.shared_holder = None
        self.note(f"{name} killed")

    # ---- delivering events -----------------------------------------------------------------

    def deliver(self, name: str, event: m.Event) -> None:
        """Queues ``event`` for ``name``'s engine."""
        self._queue.append((name, event))

    def run(self) -> None:
        """Steps queued events until none is left."""
        budget = 10_000
        while self._queue or self.traffic.resolve_handovers():
            budget -= 1
            assert budget > 0, "livelock: events keep causing events\n" + "\n".join(self.log[-40:])
            if self._queue:  # a reply held back by the network queues nothing yet
                name, event = self._queue.popleft()
                self.step(self.units[name], event)

    def step(self, u: Unit, event: m.Event) -> None:
        if not u.alive:
            return  # a dead or frozen process hears nothing
        assert u.state is not None
        before = u.state
        new, actions = m.step(before, event)
        u.state = new
        if new.role == "active" and before.role != "active":
            u.active_at = self.now
        promoted = new.role == "active" and before.role not in ("active", "indeterminate")
        if promoted and m.failed_tracks(new):
            self.promoted_unfit.append(f"{u.name} at t={self.now} on {event!r}")
        u.maintenance = new.maintenance
        for a in actions:
            if isinstance(a, m.Transitioned):
                self.changes.append(
                    RoleChange(
                        unit=u.name,
                        at=self.now,
                        transition=a.transition,
                        holding_before=m.holding(before, self.now),
                        # decided in this step (a public change may come later: the shared
                        # address served a moment after the decision); the engine's advert
                        # time is now - ago, which may differ from the arrival time by a
                        # float's rounding
                        advert_only=before.role not in ("active", "indeterminate")
                        and u.advert_known is not None
                        and self.now < u.advert_known + before.params.ha_timeout - 1e-9
                        and m.fresh_partner(before, self.now) is None,
                    )
                )
                t = a.transition
                self.note(f"{u.name}: {t.from_role} -> {t.to_role} ({t.cause})")
        self._execute(u, actions)

    def _execute(self, u: Unit, actions: list[m.Action]) -> None:
        for a in actions:
            self._carry_out(u, a)

    def _carry_out(self, u: Unit, a: m.Action) -> None:
        name, now = u.name, self.now
        match a:
            case m.SendHeartbeat():
                self.traffic.exchange(name)
            case m.Promote():
                if u.redis.up:
                    u.redis.replica_of = None
                    self.step(u, m.Promoted(now=now))
            case m.ReplicateFrom(url=source):
                self.step(u, self._replicate(u, source))
            case m.ServeShared():
                if self.shared_holder in (None, name):
                    self.shared_holder = name
                    self.step(u, m.SharedServed(now=now))
                else:
                    self.step(u, m.SharedFailed(now=now, error="address in use"))
            case m.StopShared():
                if self.shared_holder == name:
                    self.shared_holder = None
            case m.AskDemote(request=request, cause=cause):
                self.traffic.ask_demote(u, request, cause)
            case m.AskHandover(request=request, cause=cause):
                self.traffic.ask_handover(u, request, cause)
            case m.Reply(request=request):
                u.replies[request] = a
            case m.Reboot(cause=cause):
                self.note(f"{name} reboots ({cause})")
                self.kill(name)
                self.start(name)
            case m.RenewShared() | m.Reannounce():
                pass  # one host: the socket is the address, held while the process lives
            case m.Transitioned() | m.Note() | m.TrackReported() | m.Alert() | m.Emit():
                pass
            case m.FlushEvents() | m.SaveMaintenance():
                pass  # the stream and the data dir are not modelled (maintenance: u.maintenance)
            case _:
                raise AssertionError(f"unknown action {a!r}")

    def _replicate(self, u: Unit, source: str) -> m.Event:
        """``ReplicateFrom``: archive what only ``u`` holds into the source, then follow it."""
        src = self.units[source].redis
        if not (u.redis.up and src.up and self.replicates(source, u.name, way=(u.name, source))):
            return m.ReplicateFailed(now=self.now)
        if u.redis.replica_of != source:
            src.conflicts |= u.redis.ids() - src.ids()
            u.redis.replica_of = source
            self.sync()
        return m.Replicating(now=self.now, url=source)

    # ---- the world moving ------------------------------------------------------------------

    def sync(self) -> None:
        """Replicas follow their masters wherever the network lets them (full resync)."""
        for _ in range(2):  # a chain of two at most
            for u in self.units.values():
                src_name = u.redis.replica_of
                if src_name is None or not u.redis.up:
                    continue
                src = self.units[src_name].redis
                if src.up and self.replicates(src_name, u.name, way=(src_name, u.name)):
                    dropped = u.redis.ids() - src.ids() - src.conflicts - u.redis.conflicts
                    if dropped:
                        self.silently_dropped.append((u.name, dropped))
                    u.redis.entries = list(src.entries)
                    u.redis.params = src.params
                    u.redis.conflicts |= src.conflicts

    def tick(self, name: str) -> None:
        """What the driver's ticker does: read the store, heartbeat, look at links, tick."""
        u = self.units[name]
        if not u.alive:
            return
        now = self.now
        if u.redis.up:
            self.deliver(name, m.StoreRead(now=now, revision=u.redis.revision,
                                           params=u.redis.params))  # fmt: skip
        else:
            self.deliver(name, m.StoreFailed(now=now))
        self.advertise(name)
        self.traffic.exchange(name)
        at = self.net.advert_at.get((other(name), name))
        # what its adverts link tells the engine before the tick: the last advert's age
        u.advert_known = at
        self.deliver(name, m.AdvertsSeen(now=now, ago=None if at is None else now - at))
        # a separate update link is in use (each unit has an address there, told each tick)
        self.deliver(name, m.UpdateLinkSeen(now=now, separate=True))
        if not u.link_up:
            self.deliver(name, m.LinkDown(now=now, interfaces=("eth0",)))
        self.deliver(name, m.Tick(now=now))
        self.run()

    def advertise(self, name: str) -> None:
        """``name``'s advert of this tick: it reaches its partner's host unless the adverts'
        path is cut that way. One signed with another pair key is no partner's advert (it is a
        virtual-ID conflict, which changes no role): it counts for nothing here."""
        u, p = self.units[name], self.units[other(name)]
        if u.alive and (name, p.name) not in self.net.adverts_cut and u.key == p.key:
            self.net.advert_at[name, p.name] = self.now

    def next_deadline(self, until: float) -> tuple[float, str] | None:
        """The earliest deadline of a unit's machine (``machine.deadline``) not yet fired, due
        by ``until``: (time, unit). The driver's timer fires it at that time."""
        due: list[tuple[float, str]] = []
        for u in self.units.values():
            if u.alive and u.state is not None:
                at = m.deadline(u.state)
                if at is not None and at != u.deadline_fired and at <= until:
                    due.append((at, u.name))
        return min(due, default=None)

    def advance(self, half_intervals: int, check: object = None) -> None:
        """Moves the clock on, half an interval at a time; each unit ticks on its phase.
        Between ticks, messages held back arrive and the units' deadlines fire, in time order
        (a deadline already past, e.g. of a unit that was frozen, fires at once)."""
        for _ in range(half_intervals):
            until = round(self.now + INTERVAL / 2, 6)
            while True:
                arrives = self.net.peek_due(until)  # messages held back arrive
                timer = self.next_deadline(until)
                if timer is not None and (arrives is None or timer[0] <= arrives):
                    self.now = max(self.now, timer[0])
                    u = self.units[timer[1]]
                    u.deadline_fired = timer[0]
                    self.step(u, m.Deadline(now=self.now, due=timer[0]))
                elif (message := self.net.next_due(until)) is not None:
                    self.now = max(self.now, message[0])
                    message[1]()
                else:
                    break
                self.run()
            self._tracks_due(until)
            self.now = until
            phase = round(self.now / (INTERVAL / 2)) % 2
            self.tick("first" if phase == 0 else "second")
            self.sync()
            if callable(check):
                check()

    def write(self, params: m.Params | None = None) -> str | None:
        """A client's write through the shared address; its id if committed (acknowledged ones
        are remembered)."""
        name = self.shared_holder
        if name is None:
            return None
        u = self.units[name]
        if not u.alive or u.state is None or u.state.role != "active":
            return None
        r = u.redis
        if not r.up or r.replica_of is not None:
            return None  # a replica refuses writes
        wid = f"w{self.new_id()}"
        r.entries.append((r.revision + 1, wid))
        if params is not None:
            r.params = params
        self.deliver(name, m.StoreRead(now=self.now, revision=r.revision, params=r.params))
        self.sync()
        partner = self.units[other(name)].redis
        if partner.replica_of == name and wid in partner.ids():
            self.acknowledged.add(wid)
        self.note(f"{name} commits {r.revision} ({wid}, ack={wid in self.acknowledged})")
        self.run()
        return wid

    def ask(self, name: str, make: Callable[[float, int], m.Event]) -> m.Reply | None:
        """An API request to ``name`` (``make(now, request)``); its reply if it answered."""
        u = self.units[name]
        if not u.alive:
            return None
        rid = self.new_id()
        self.deliver(name, make(self.now, rid))
        self.run()
        return u.replies.get(rid)


def _checks(ok: bool) -> float:
    """How long after the service fails (comes back) its track says so: fall (rise) checks."""
    return TRACK_INTERVAL * (TRACK_RISE if ok else TRACK_FALL)
