"""A simulated world for two HA units: each runs the production shell, a real
:class:`~hapair.engine.node.Node` (``engine/node.py``) with its ``NodeControl``, on in-memory
ports (``ports.py``) and a virtual-time event loop of its own (``vloop.py``).

What is simulated, and what the shell does itself:
- time: one logical clock, moved by the scheduler to the next timer of any process. The shell
  runs its own ticker (``_tick_forever``: observe, then tick), its deadline timer, its bounded
  waits (the partner's answers, its requests' replies, its actions' bounds). A process boots
  at its phase (``first`` at whole heartbeat intervals, ``second`` half an interval later).
- the network (``network.py``): directed links between the units that can be cut (one-way or
  both ways), lose single messages and hold them back (reordering them); a heartbeat needs the
  request to arrive, and its answer needs the way back; so do the partner requests (demote,
  hand-over) and their replies. How a call travels and fails is ``ports.Link``'s.
- the shared address on one host: the process that holds the listening socket keeps it while
  frozen (SIGSTOP) and loses it when killed; another process' bind then fails.
- Redis: each unit's own server with its history of revisions (each with a unique id), a
  master or a replica of the other's; replicas follow their master whenever the network lets
  them (a full resync replaces what they held, after the revisions only the replica held are
  archived in its new master); ``WAIT`` acknowledges a write when the replica holds it.
- processes: kill (the loop and its tasks dropped, no clean shutdown; Redis and the data dir
  live on), restart (a new ``Node`` on the same data dir and Redis: a boot, counted for the
  pacify rule), pause and resume (the loop is not run: a frozen process hears nothing and
  answers nothing; its timers fire once it thaws). A ``Reboot`` action is the shell's own.
- tracks: each unit has one track on its service; the track's first result arrives at boot,
  and a failure or a recovery of the service reaches the engine ``TRACK_FALL`` (or
  ``TRACK_RISE``) check intervals later, as the checker's hysteresis does (the checker of a
  frozen process is frozen too: it tells that long after the process thaws).
- the pair key and the clock: a unit started with another pair key refuses its partner's
  calls and answers each with a refusal (``ports.Link``). A unit's wall clock may be off by
  any amount (its ``clock_offset``): heartbeats carry its times, the rules must not care.
- adverts (SPEC 5b'): each unit's shell sends one at its tick; it reaches the partner unless
  the adverts' path is cut that way (``Network.adverts_cut``) or the keys differ; the shell
  asks its adverts port how long ago its partner's last one arrived.
- the update link (SPEC 5b'): a separate update link is in use; the shell calls its partner
  over it too (heartbeats marked ``via``, and the demote and hand-over calls while it is up);
  it is cut alone by ``Network.update_cut`` (which also stops replication from that side), the
  direct link alone by ``Network.direct_cut``; a partition cuts both.
The world learns the units' decisions from ``Ports.trace`` (every step of each machine).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from hapair.domain.errors import DomainError
from hapair.domain.parameters import HAParameters, Snapshot
from hapair.engine.core import machine as m
from hapair.engine.node_control import NodeControl
from tests.sim.network import Network
from tests.sim.ports import DataDir, Process
from tests.sim.units import (
    INTERVAL,
    NAMES,
    TRACK_FALL,
    TRACK_INTERVAL,
    TRACK_RISE,
    RoleChange,
    Unit,
    other,
)
from tests.sim.vloop import Scheduler

PHASE = {"first": 0.0, "second": INTERVAL / 2}  # when in the interval each unit's ticks come


class _Errors(logging.Handler):
    """Errors the shell logs (a failed step, action, tick or background task) go to the world
    being simulated: an invariant says there are none. A bound that ran out (``TimeoutError``:
    a tick's observation or an action overran, as after a freeze) is the shell's bounded wait
    doing its work, logged, and no failure."""

    world: World | None = None

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, TimeoutError):
            return
        w = self.world
        if w is not None:
            event = getattr(record, "event", "")
            w.errors.append(f"t={w.now:.2f} {record.getMessage()} ({event}): {exc!r}")


_ERRORS = _Errors(logging.ERROR)
logging.getLogger("hapair").addHandler(_ERRORS)


class World:
    """Two units, a network, Redis replication and a clock."""

    def __init__(self, *, ha_timeout: float = 3.0, initial_wait: float = 0.0) -> None:
        self.time = Scheduler()
        self.loop = self.time.loop("world")  # messages in flight, track results
        self.units = {n: Unit(n, DataDir(n)) for n in NAMES}
        # two hosts: their beats fall at different phases (one host's units share theirs)
        self.units[NAMES[1]].beat_phase = 0.37
        for u in self.units.values():
            u.redis.params = HAParameters(
                ha_timeout=int(ha_timeout),  # type: ignore[arg-type]
                initial_wait_time=int(initial_wait),
            )
        self.net = Network(NAMES)
        self.shared_holder: str | None = None
        self.acknowledged: set[str] = set()
        self.changes: list[RoleChange] = []
        self.log: list[str] = []
        self.errors: list[str] = []  # what the shell logged as errors, and unexpected answers
        self.silently_dropped: list[tuple[str, set[str]]] = []
        self.promoted_unfit: list[str] = []  # promotions of a unit with a failed track
        self.on_track: Callable[[float], None] = lambda at: None  # a track result delivered
        self._ids = itertools.count(1)
        _ERRORS.world = self
        for loop in self.time.loops:
            loop.set_exception_handler(self._loop_error)

    @property
    def now(self) -> float:
        return self.time.now

    def close(self) -> None:
        """The end of a run: every process and message dropped."""
        self.time.close()
        if _ERRORS.world is self:
            _ERRORS.world = None

    # ---- helpers ---------------------------------------------------------------------------

    def reaches(self, a: str, b: str) -> bool:
        """Whether the direction ``a -> b`` is not cut (a partition); see ``net`` for the rest."""
        return self.net.reaches(a, b)

    def replicates(self, src: str, replica: str, *, way: tuple[str, str]) -> bool:
        """Replication ``src -> replica`` gets through ``way`` on the HTTP path (the replica's
        connection, or the stream) and the update link from the source (replication runs over
        the update link, SPEC 5b')."""
        return self.reaches(*way) and self.net.update_flows(src, replica)

    def note(self, text: str) -> None:
        """Keeps a line of what happened (printed when an invariant fails)."""
        self.log.append(f"t={self.now:6.2f} {text}")

    def _loop_error(self, loop: Any, context: dict[str, Any]) -> None:
        what = f"{context.get('message')} {context.get('exception')!r}"
        self.errors.append(f"t={self.now:.2f} {loop.name}: {what}")

    def settle(self) -> None:
        """Runs what is due now (a rule's effects, before the next rule)."""
        self.time.settle()

    # ---- processes -------------------------------------------------------------------------

    def start(self, name: str) -> None:
        """Starts ``name``'s process (its Redis and data dir keep what they held): it boots at
        its phase (now, or within half an interval)."""
        u = self.units[name]
        if u.proc is not None:
            return
        loop = self.time.loop(name)
        loop.set_exception_handler(self._loop_error)
        proc = Process(self, u, loop)
        u.proc = proc
        self.net.advert_at.pop((other(name), name), None)  # its adverts link is new
        u.advert_known = None
        u.track_due = []
        phase = PHASE[name]
        at = phase + math.ceil((self.now - phase) / INTERVAL - 1e-9) * INTERVAL
        self.note(f"{name} starts (boots at t={at:g})")
        loop.call_at(at, lambda: loop.create_task(proc.boot()))
        self.settle()

    def kill(self, name: str) -> None:
        """kill -9: the process is gone (its socket with it), its Redis lives on."""
        u = self.units[name]
        proc, u.proc = u.proc, None
        if proc is None:
            return
        if self.shared_holder == name:
            self.shared_holder = None
        proc.kill()
        self.time.drop(proc.loop)
        self.note(f"{name} killed")
        self.settle()

    def pause(self, name: str) -> None:
        """SIGSTOP: nothing of the process runs until ``resume``."""
        u = self.units[name]
        if u.proc is not None:
            u.proc.loop.frozen = True
            self.note(f"{name} paused")

    def resume(self, name: str) -> None:
        """SIGCONT: its timers that came due meanwhile fire now; its checker checks again and
        tells what changed fall (rise) checks later."""
        u = self.units[name]
        if u.proc is None or not u.proc.loop.frozen:
            return
        u.proc.loop.frozen = False
        self.note(f"{name} resumed")
        due, u.track_due = u.track_due, []
        for at, ok in due:
            self._track_later(u, max(at, round(self.now + _checks(ok), 6)), ok)
        self.settle()

    def traced(
        self, u: Unit, before: m.State, event: m.Event, new: m.State, actions: list[m.Action]
    ) -> None:
        """One step of ``u``'s machine (``Ports.trace``): what the invariants keep of it."""
        now = self.now
        if new.role == "active" and before.role != "active":
            u.active_at = now
        promoted = new.role == "active" and before.role not in ("active", "indeterminate")
        if promoted and m.failed_tracks(new):
            self.promoted_unfit.append(f"{u.name} at t={now} on {event!r}")
        for a in actions:
            if isinstance(a, m.Transitioned):
                self.changes.append(
                    RoleChange(
                        unit=u.name,
                        at=now,
                        transition=a.transition,
                        holding_before=m.holding(before, now),
                        # decided in this step (a public change may come later: the shared
                        # address served a moment after the decision); the engine's advert
                        # time is now - ago, which may differ from the arrival time by a
                        # float's rounding
                        advert_only=before.role not in ("active", "indeterminate")
                        and u.advert_known is not None
                        and now < u.advert_known + before.params.ha_timeout - 1e-9
                        and m.fresh_partner(before, now) is None,
                        decided=new.role,
                    )
                )
                t = a.transition
                self.note(f"{u.name}: {t.from_role} -> {t.to_role} ({t.cause})")
            elif isinstance(a, m.Reboot):
                self.note(f"{u.name} reboots ({a.cause})")

    # ---- tracks ----------------------------------------------------------------------------

    def set_service(self, name: str, ok: bool) -> None:
        """The service behind ``name``'s track fails or comes back; its engine learns it
        ``fall`` (or ``rise``) checks later."""
        u = self.units[name]
        if u.service_ok == ok:
            return
        u.service_ok, u.service_since = ok, self.now
        # a change supersedes what the checker had still to tell (a real one needs ``rise`` or
        # ``fall`` results in a row): a "back" and a "failed" at the same instant are due at the
        # same time too, and the loop's timer heap need not run them in the order they came
        u.track_due.clear()
        self._track_later(u, round(self.now + _checks(ok), 6), ok)
        self.note(f"{name} service {'back' if ok else 'failed'}")

    def _track_later(self, u: Unit, at: float, ok: bool) -> None:
        item = (at, ok)
        u.track_due.append(item)
        proc = u.proc

        def due() -> None:
            if item not in u.track_due or u.proc is not proc or proc is None:
                return  # (told already, or the process it was for is gone)
            if u.paused:
                return  # the checker is frozen with its process: ``resume`` reschedules
            u.track_due.remove(item)
            proc.loop.call_soon(proc.checks.tell, ok)

        self.loop.call_at(at, due)

    # ---- messages --------------------------------------------------------------------------

    def carry(
        self,
        a: str,
        b: str,
        kind: str,
        arrive: Callable[[], None],
        stale: Callable[[], bool] = lambda: False,
        expired: Callable[[], bool] = lambda: False,
    ) -> bool:
        """A message from ``a`` to ``b`` over a link that is not cut: ``arrive`` runs when it
        gets there (at once, or when the clock reaches it); False if it is lost. ``stale``:
        whether what it says is no longer true when it arrives late; ``expired``: whether its
        receiver stopped waiting for it by then (an answer after the caller's timeout is lost
        to it)."""
        delay = self.net.send(a, b, self.now, kind)
        if delay is None:
            self.note(f"lost: {kind} {a} -> {b}")
            return False
        if not delay:
            self.net.arrived(a, b, self.now, kind, late=False, stale=False)
            arrive()
            return True

        def late() -> None:
            if expired():
                self.note(f"too late by {delay:g} s (no longer awaited): {kind} {a} -> {b}")
                self.net.missed(a, b, self.now, kind)
                return
            self.note(f"late by {delay:g} s: {kind} {a} -> {b}")
            self.net.arrived(a, b, self.now, kind, late=True, stale=stale())
            arrive()

        self.loop.call_later(delay, late)
        return True

    def advertise(self, name: str) -> None:
        """``name``'s advert of this tick: it reaches its partner's host unless the adverts'
        path is cut that way. One signed with another pair key is no partner's advert (it is a
        virtual-ID conflict, which changes no role): it counts for nothing here."""
        u, p = self.units[name], self.units[other(name)]
        if u.alive and (name, p.name) not in self.net.adverts_cut and u.key == p.key:
            self.net.advert_at[name, p.name] = self.now

    # ---- Redis -----------------------------------------------------------------------------

    def replicate(self, u: Unit, source: str) -> bool:
        """``ReplicateFrom``: archive what only ``u`` holds into the source, then follow it."""
        src = self.units[source].redis
        if not (u.redis.up and src.up and self.replicates(source, u.name, way=(u.name, source))):
            return False
        if u.redis.replica_of != source:
            src.conflicts |= u.redis.ids() - src.ids()
            u.redis.replica_of = source
            self.sync()
        return True

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

    # ---- the world moving ------------------------------------------------------------------

    def advance(self, half_intervals: int, check: object = None) -> None:
        """Moves the clock on, half an interval at a time (each process ticks on its own);
        ``check`` after each half interval."""
        for _ in range(half_intervals):
            self.time.run_until(round(self.now + INTERVAL / 2, 6))
            self.sync()
            if callable(check):
                check()

    # ---- clients ---------------------------------------------------------------------------

    def write(self, params: HAParameters | None = None) -> str | None:
        """A client's write through the shared address; its id if committed (acknowledged ones
        are remembered). The unit must be active (the API's write gate) and not hand the role
        over (its writes are held then: one refused here)."""
        name = self.shared_holder
        if name is None:
            return None
        u = self.units[name]
        proc = u.proc
        if proc is None or not u.alive:
            return None
        try:
            proc.control.check_pair_write(via_shared=True)
        except DomainError:
            return None
        if proc.control.write_lock.locked():
            return None
        r = u.redis
        if not r.up or r.replica_of is not None:
            return None  # a replica refuses writes
        wid = f"w{next(self._ids)}"
        r.entries.append((r.revision + 1, wid))
        if params is not None:
            r.params = params
        snapshot = Snapshot(revision=r.revision, params=r.params, updated_at=None)
        proc.loop.call_soon(proc.node.note_commit, snapshot)
        self.sync()
        partner = self.units[other(name)].redis
        if partner.replica_of == name and wid in partner.ids():
            self.acknowledged.add(wid)
        self.note(f"{name} commits {r.revision} ({wid}, ack={wid in self.acknowledged})")
        self.settle()
        return wid

    def request(
        self, name: str, what: str, call: Callable[[NodeControl], Awaitable[object]]
    ) -> None:
        """An API request to ``name``'s process (``NodeControl``), answered when it is: its
        answer is noted; one that is no API answer (a 500) is an error."""
        proc = self.units[name].proc
        if proc is None or not proc.node.running:
            return  # (its listener is not up: refused)

        async def run() -> None:
            try:
                answer: object = await call(proc.control)
            except DomainError as exc:
                answer = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a 500
                self.errors.append(f"t={self.now:.2f} {what} on {name}: {exc!r}")
                raise
            self.note(f"{what} on {name}: {answer}")

        proc.loop.call_soon(lambda: proc.loop.create_task(run()))
        self.settle()


def _checks(ok: bool) -> float:
    """How long after the service fails (comes back) its track says so: fall (rise) checks."""
    return TRACK_INTERVAL * (TRACK_RISE if ok else TRACK_FALL)
