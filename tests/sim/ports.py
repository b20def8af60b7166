"""The in-memory ports (``engine/ports.py``) a simulated unit's real :class:`Node` is given,
backed by the world (``world.py``): its Redis, the network, the shared address, the adverts'
path, the track checks. A :class:`Process` is one run of a unit's process: its own virtual
loop (``vloop.py``), its ``Node`` and the ``NodeControl`` the partner's calls and the API reach.

The partner link carries each call over the simulated network to the partner process' real
entry points (``NodeControl.on_heartbeat``, ``demote``, ``handover``), on the partner's loop,
as hashicorp/raft's ``fuzzy/transport.go`` carries RPCs between real ``Raft`` instances:

- a link cut on the way there refuses at once (a demote or a hand-over needs both ways); a
  partner not running refuses at once; a partner killed while it works on a call resets it;
- the request, and then the reply, may be lost or held back (``Network.send``); a lost one
  leaves the caller waiting until its own bound runs out: the client's timeout for a
  heartbeat (as ``partner_client_for`` sets it), the ``wait`` the shell passes for a demote or
  a hand-over (``DEMOTE_WAIT_S``, ``HANDOVER_WAIT_S``); a reply held back past that bound
  arrives to no one (a loss, ``Network.missed``);
- a frozen partner holds the request until it thaws (the caller times out meanwhile);
- a partner started with another pair key answers every call with a refusal
  (``PartnerAnswered`` with ``another pair key``); one still booting with an error (a 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import msgspec

from hapair.clock import next_beat
from hapair.domain.errors import PartnerUnavailable, StoreUnavailable
from hapair.domain.parameters import HAParameters, Snapshot
from hapair.domain.tracks import TrackSpec, TrackView
from hapair.domain.unit import BootRecord, Maintenance, UnitSettings
from hapair.engine.core import machine as m
from hapair.engine.node import Node
from hapair.engine.node_control import NodeControl
from hapair.engine.pairlink.messages import (
    AdvertsReport,
    DataPlaneReport,
    DemoteReply,
    DemoteRequest,
    HandoverReply,
    HandoverRequest,
    Heartbeat,
    UpdateLinkReport,
)
from hapair.engine.pairlink.partner import PartnerAnswered, PartnerError, partner_client_for
from hapair.engine.ports import Ports
from hapair.engine.tasks import Background
from hapair.keyring import Keyring
from hapair.settings import Settings
from hapair.store.unitfile import UnitFile
from tests.sim.network import HEARTBEAT
from tests.sim.units import (
    INTERVAL,
    SHARED,
    TRACK,
    TRACK_FALL,
    TRACK_INTERVAL,
    TRACK_RISE,
    Unit,
    other,
)

if TYPE_CHECKING:
    from tests.sim.vloop import VirtualLoop
    from tests.sim.world import World

T = TypeVar("T")
EPOCH = 1_000_000.0  # the wall clock at the world's time 0 (each unit's is off by its offset)
ADDRESSES = {"first": "10.0.0.1:8080", "second": "10.0.0.2:8080"}
UPDATE_ADDRESSES = {"first": "10.1.0.1", "second": "10.1.0.2"}
KEYS = ("sim-pair-key-zero-0123456789", "sim-pair-key-one-0123456789")


def redis_url(name: str) -> str:
    return f"redis://{name}.sim:6379"


def unit_of(url: str) -> str:
    """The unit a Redis URL of ``redis_url`` names."""
    return "first" if "//first." in url else "second"


def settings_of(u: Unit) -> Settings:
    """What ``u``'s process is started with: its address, one track, its pair key."""
    track = TrackSpec(
        name=TRACK,
        kind="tcp",
        target="127.0.0.1:1",
        interval=TRACK_INTERVAL,
        fall=TRACK_FALL,
        rise=TRACK_RISE,
    )
    key = KEYS[u.key]
    return Settings(
        listen=ADDRESSES[u.name],
        mode=u.name,
        heartbeat_interval=INTERVAL,
        interfaces=("eth0",),
        tracks=(track,),
        pair_key=key,
        pair_keys=Keyring(key),
        pacify_window_s=300.0,
        pacify_max_boots=3,
    )


class DataDir:
    """A unit's data dir in memory: it outlives the process (boots, maintenance)."""

    def __init__(self, name: str) -> None:
        self.unit = UnitFile(
            settings=UnitSettings(
                mode=name,  # type: ignore[arg-type]
                partner_address=ADDRESSES[other(name)],
                shared_address=SHARED,
            )
        )
        self.boots = BootRecord()
        self.maintenance = Maintenance()

    def load_unit(self) -> UnitFile:
        return self.unit

    def save_unit(self, unit: Any) -> None:
        self.unit = unit

    def load_boots(self) -> BootRecord:
        return self.boots

    def save_boots(self, record: BootRecord) -> None:
        self.boots = record

    def load_maintenance(self) -> Maintenance:
        return self.maintenance

    def save_maintenance(self, maintenance: Maintenance) -> None:
        self.maintenance = maintenance


class Clock:
    """The world's logical time; the wall clock off by the unit's offset."""

    def __init__(self, world: World, unit: Unit) -> None:
        self.w, self.u = world, unit

    def now(self) -> float:
        return self.w.now

    def wall(self) -> float:
        return EPOCH + self.w.now + self.u.clock_offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def sleep_to_beat(self, period: float, after: float = 0.0) -> None:
        # each unit's beats on its own host's clock: a phase of its own
        now, phase = self.w.now, self.u.beat_phase
        await asyncio.sleep(next_beat(now - phase + after, period) + phase - now)

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        # a timer may fire ``timers_early`` before its time (uvloop rounds to the millisecond);
        # a short one fires on time (a real loop's clock has moved on by its next turn; the
        # simulation's would not: armed again for the rest, it would fire at the same instant)
        early = self.u.timers_early
        wait = delay - early if delay >= 2 * early else delay
        return asyncio.get_running_loop().call_later(wait, callback)


class Store:
    """The unit's own Redis (``LocalStore``); its replica follows the network (``World.sync``)."""

    def __init__(self, world: World, unit: Unit) -> None:
        self.w, self.u = world, unit
        self._last: Snapshot | None = None  # ``read_if_changed``'s last read

    def _redis(self) -> Any:
        self.w.sync()
        r = self.u.redis
        if not r.up:
            raise StoreUnavailable("redis is down")
        return r

    async def read(self) -> Snapshot:
        r = self._redis()
        return Snapshot(revision=r.revision, params=r.params, updated_at=None)

    async def read_if_changed(self) -> Snapshot:
        """``read``, or the last one's snapshot object again when what this Redis holds is
        unchanged (the real store can only tell from its marks; the world knows)."""
        r = self._redis()
        last = self._last
        if last is not None and (last.revision, last.params) == (r.revision, r.params):
            return last
        self._last = await self.read()
        return self._last

    async def revision(self) -> int:
        return int(self._redis().revision)

    async def promote(self) -> None:
        self._redis().replica_of = None

    async def wait_partner(self, within_ms: int) -> bool:
        """``WAIT``: the partner's Redis follows this one and holds its revision."""
        r, p = self._redis(), self.w.units[other(self.u.name)].redis
        return bool(p.up and p.replica_of == self.u.name and p.revision == r.revision)

    async def server_version(self) -> str:
        self._redis()
        return "7.2.4"

    async def is_master(self) -> bool:
        return self._redis().replica_of is None

    async def migrate(self) -> None:
        self._redis()


class PartnerStore:
    """Both Redis servers seen from the unit (``PartnerStore``): replication from the partner's
    (a full resync archives what only this unit held, ``World.replicate``)."""

    def __init__(self, world: World, unit: Unit) -> None:
        self.w, self.u = world, unit

    async def replicate_from(self, url: str, wait: float = 5.0) -> bool | None:
        return True if self.w.replicate(self.u, unit_of(url)) else None

    async def link_up(self, url: str) -> bool | None:
        return True if self.u.redis.replica_of == unit_of(url) else None

    async def revision(self, url: str, advertised: int) -> int:
        """Asked of the partner, which reads its Redis (else what it advertised)."""
        p = self.w.units[unit_of(url)]
        w, a, b = self.w, self.u.name, p.name
        if p.alive and p.redis.up and w.reaches(a, b) and w.reaches(b, a):
            return p.redis.revision
        return advertised

    async def force_update(self, url: str) -> tuple[int, int, float]:
        raise PartnerUnavailable("not simulated")

    async def close(self) -> None:
        pass


class Shared:
    """The shared address on one host: one process holds its listening socket at a time (a
    frozen one keeps it, a killed one loses it, another's bind fails)."""

    def __init__(self, world: World, unit: Unit) -> None:
        self.w, self.u = world, unit
        self.app: Any = None

    @property
    def serving(self) -> bool:
        return self.w.shared_holder == self.u.name

    async def serve(self, shared: str | None, params: HAParameters) -> str | None:
        if self.w.shared_holder in (None, self.u.name):
            self.w.shared_holder = self.u.name
            return None
        return "address in use"

    async def renew(self, params: HAParameters) -> bool:
        return self.serving

    async def release(self, *, drain: bool) -> None:
        if self.serving:
            self.w.shared_holder = None

    async def stop(self, *, drain: bool) -> None:
        await self.release(drain=drain)

    async def remove_leftover(self, shared: str | None, params: HAParameters) -> None:
        pass

    async def bind_ahead(self, shared: str | None) -> None:
        pass

    async def announce(self) -> tuple[str, str, int]:
        return ("", "", 0)


def _copy(message: T) -> T:
    """A message as the other side decodes it (nothing shared between the processes)."""
    return msgspec.json.decode(msgspec.json.encode(message), type=type(message))


class Link:
    """The partner link of one process (``PartnerLink``) over one path: ``direct`` (the HTTP
    path not cut alone, ``Network.direct_cut``) or ``update`` (``Network.update_cut``)."""

    def __init__(self, world: World, proc: Process, path: str, timeout: float) -> None:
        self.w, self.proc, self.path, self.timeout = world, proc, path, timeout

    def open(self, a: str, b: str) -> bool:
        w = self.w
        if not w.reaches(a, b):
            return False
        return w.net.direct_flows(a, b) if self.path == "direct" else w.net.update_flows(a, b)

    async def heartbeat(self, mine: Heartbeat) -> Heartbeat:
        proc = self.proc
        return await self._call(
            HEARTBEAT,
            lambda c: c.on_heartbeat(_copy(mine)),
            self.timeout,
            lambda: proc.changed(mine),
        )

    async def demote(self, request: DemoteRequest, wait: float) -> DemoteReply:
        return await self._call("demote", lambda c: c.demote(_copy(request)), wait)

    async def handover(self, request: HandoverRequest, wait: float) -> HandoverReply:
        return await self._call("handover", lambda c: c.handover(_copy(request)), wait)

    async def close(self) -> None:
        pass

    async def _call(
        self,
        kind: str,
        handle: Callable[[NodeControl], Awaitable[T]],
        wait: float,
        stale: Callable[[], bool] = lambda: False,
    ) -> T:
        w, a = self.w, self.proc.unit.name
        b = other(a)
        request = kind != HEARTBEAT  # a demote or a hand-over: both ways must be open
        if not self.open(a, b) or (request and not self.open(b, a)):
            raise PartnerError("connection refused (the link is cut)")
        target = w.units[b].proc
        if target is None:
            raise PartnerError("connection refused (the partner is not running)")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        asked = w.now

        def answer(outcome: Any) -> None:  # the reply reached this process
            if not self.proc.alive or loop.is_closed():
                return
            loop.call_soon(_settle, fut, outcome)

        def at_partner() -> None:  # the request reached the partner's host
            if target is not w.units[b].proc:
                answer(PartnerError("connection refused (the partner is not running)"))
                return
            if request and target.loop.frozen:
                w.net.on_wait(w.now, a, asked + wait)  # held until it thaws
            target.loop.call_soon(lambda: target.serve(run(), answer))

        async def run() -> Any:  # on the partner's loop
            try:
                if target.unit.key != self.proc.unit.key:
                    raise PartnerAnswered("401 another-pair-key", auth_failed="another pair key")
                result: Any = await handle(target.control)
                theirs = result
            except PartnerError as exc:
                result, theirs = exc, None
            except Exception as exc:  # an error status (a 503 while booting)
                result, theirs = PartnerAnswered(f"the partner answered: {exc!r}"), None
            if not self.open(b, a):
                return  # the reply's way is cut: the caller waits in vain
            if isinstance(theirs, Heartbeat):
                said = theirs

                def back_stale() -> bool:
                    return target.changed(said)
            else:
                back_stale = stale
            delivered = w.carry(
                b,
                a,
                f"{kind}-reply" if request else kind,
                lambda: answer(_copy(result) if theirs is not None else result),
                back_stale,
                fut.done,  # the caller gave up (its bound ran out) or was reset
            )
            if not delivered and request:
                w.net.on_wait(w.now, a, asked + wait)

        if not w.carry(a, b, kind, at_partner, stale) and request:
            w.net.on_wait(w.now, a, asked + wait)
        try:
            async with asyncio.timeout(wait):
                return await fut
        except TimeoutError:
            if request:
                w.note(f"{a}'s {kind} request timed out")
                w.net.on_timeout(w.now, a)
            raise PartnerError(f"{kind}: no answer within {wait:g} s") from None


def _settle(fut: asyncio.Future[Any], outcome: Any) -> None:
    if fut.done():
        return
    if isinstance(outcome, BaseException):
        fut.set_exception(outcome)
    else:
        fut.set_result(outcome)


class Adverts:
    """The adverts' path (``Adverts``): an advert reaches the partner's host unless that way
    is cut; one signed with another pair key is no partner's (it counts for nothing here)."""

    def __init__(self, world: World, unit: Unit) -> None:
        self.w, self.u = world, unit

    async def configure(self, *, unit: str, interface: str, broadcast: bool) -> None:
        pass

    def send(self, *, boot_id: str, role: str, revision: int) -> None:
        self.w.advertise(self.u.name)

    def partner_ago(self) -> float | None:
        at = self.w.net.advert_at.get((other(self.u.name), self.u.name))
        self.u.advert_known = at  # what the engine is told (the invariants' ``advert_only``)
        return None if at is None else self.w.now - at

    def conflicts(self) -> tuple[tuple[str, str], ...]:
        return ()

    def report(self) -> AdvertsReport | None:
        return None

    def close(self) -> None:
        pass


class UpdateLink:
    """A separate update link (``UpdateLink``): each unit has an address there; its client is
    the partner link over the update path; the partner's replica connects over it."""

    def __init__(self, unit: Unit, link: Link) -> None:
        self.u, self._link = unit, link

    @property
    def link(self) -> Link:
        return self._link

    @property
    def replicates(self) -> bool:
        return True

    def addresses(self) -> list[str]:
        return [UPDATE_ADDRESSES[self.u.name]]

    def report(self) -> UpdateLinkReport | None:
        return None

    async def refresh(
        self, *, interface: str, partner: Heartbeat | None, partner_address: str | None
    ) -> None:
        pass

    async def close(self) -> None:
        pass


class Checks:
    """One boot's track checks (``Checks``): the first result at once, then what the world
    delivers (``World.set_service``: fall or rise checks after the service changed)."""

    def __init__(self, world: World, unit: Unit) -> None:
        self.w, self.u = world, unit
        self.put: Callable[[m.Event], None] | None = None

    def start(self, put: Callable[[m.Event], None], now: Callable[[], float]) -> None:
        self.put = put
        self.u.track_due = []
        self.tell(self.u.service_ok)

    def tell(self, ok: bool) -> None:
        if self.put is not None:
            self.w.on_track(self.w.now)
            self.put(m.TrackChanged(now=self.w.now, name=TRACK, ok=ok, detail=""))

    async def stop(self) -> None:
        self.put = None

    def views(self) -> list[TrackView]:
        return []


class Links:
    """The monitored link (``Links``)."""

    def __init__(self, unit: Unit) -> None:
        self.u = unit

    def down(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return () if self.u.link_up else names


class Quiet:
    """The event stream, the role hook, the metrics and the data plane: not simulated."""

    report = DataPlaneReport()

    def run_role_hook(self, role: str, unit: str, shared: str | None, virtual_id: int) -> None:
        pass

    def set_role(self, role: str) -> None:
        pass

    def role_changed(self, role: str, cause: str) -> None:
        pass

    def set_track_ok(self, name: str, ok: bool) -> None:
        pass

    def set_parameter_applied(self, parameter: str, state: str) -> None:
        pass

    def count_refused(self, reason: str) -> None:
        pass

    def set_boots(self, count: int) -> None:
        pass

    def set_revision(self, revision: int) -> None:
        pass

    def update(self, inputs: Any) -> None:
        pass

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class Process:
    """One run of a unit's process: its loop, its real ``Node`` on the in-memory ports and the
    ``NodeControl`` its partner's calls and the API reach."""

    def __init__(self, world: World, unit: Unit, loop: VirtualLoop) -> None:
        self.w, self.unit, self.loop = world, unit, loop
        self.alive = True
        # the answers of the calls it works on (a dict: reset in the order they came)
        self.calls: dict[Callable[[Any], None], None] = {}
        self.settings = settings_of(unit)
        client = partner_client_for(
            self.settings, unit.name, ADDRESSES[other(unit.name)], pair=lambda: ""
        )
        assert client is not None
        timeout = client.http.timeout  # the heartbeat's bound, as production's client has it
        direct = Link(world, self, "direct", timeout)
        self.checks = Checks(world, unit)
        quiet = Quiet()
        partner_store = PartnerStore(world, unit)
        self.shared = Shared(world, unit)
        ports = Ports(
            clock=Clock(world, unit),
            files=unit.data,
            store=Store(world, unit),
            partner_store=partner_store,
            shared=self.shared,
            events=None,
            hooks=quiet,
            links=Links(unit),
            metrics=quiet,
            dataplane=quiet,
            partner=lambda settings, pair: direct,
            checks=lambda on_result: self.checks,
            trace=lambda before, event, after, actions: world.traced(
                unit, before, event, after, actions
            ),
            adverts=Adverts(world, unit),
            update_link=UpdateLink(unit, Link(world, self, "update", timeout)),
        )
        self.node = Node(settings=self.settings, ports=ports, background=Background())
        self.node.redis_url = redis_url(unit.name)
        self.control = NodeControl(
            self.node, partner_store=cast(Any, partner_store), shared=cast(Any, self.shared)
        )

    async def boot(self) -> None:
        await self.control.boot()
        self.control.served()  # its listener is up: the boot counts

    def serve(self, call: Awaitable[Any], answer: Callable[[Any], None]) -> None:
        """Works on a call from the partner; a kill meanwhile resets its connection."""
        self.calls[answer] = None

        async def work() -> None:
            try:
                await call
            finally:
                self.calls.pop(answer, None)

        self.loop.create_task(work())

    def kill(self) -> None:
        """kill -9: the calls it works on are reset; its loop never runs again."""
        self.alive = False
        for answer in list(self.calls):
            answer(PartnerError("connection reset (the partner died)"))
        self.calls.clear()

    def changed(self, hb: Heartbeat) -> bool:
        """Its heartbeat ``hb`` is no longer what it says (stale news when it arrives late)."""
        s = self.node.state
        if s is None or not self.alive or self.unit.proc is not self:
            return True
        return (s.role, s.maintenance, s.serving) != (hb.role, hb.maintenance, hb.serving_shared)
