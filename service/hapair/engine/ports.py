"""What a :class:`~hapair.engine.node.Node` is given to reach the world: typed ports.

A node does no I/O of its own. Every effect of an action (Redis, the partner, the shared
address, the event stream, the role hook, the data plane) and every observation (time, the
links, the tracks) goes through one of these, so a test can hand it in-memory ones (``tests/sim``)
and production hands it the real ones (``engine/adapters``), the way hashicorp/raft's
``NewRaft(conf, fsm, logs, stable, snaps, trans)`` is given its transport and stores.

Each port says what the node needs of it, no more; the real classes satisfy them structurally.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from hapair.domain.parameters import HAParameters, Snapshot
from hapair.domain.tracks import TrackView
from hapair.domain.unit import BootRecord, Maintenance, UnitSettings
from hapair.engine.core import machine as m
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

Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


class Timer(Protocol):
    """A callback the clock will run, until cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The node's only source of time."""

    def now(self) -> float:
        """Monotonic seconds: the ``now`` of every event."""
        ...

    def wall(self) -> float:
        """Wall-clock seconds since the epoch (boot records, times shown)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_to_beat(self, period: float, after: float = 0.0) -> None:
        """Sleeps to the unit's next beat of ``period`` at least ``after`` seconds from now
        (``hapair.clock.next_beat``): what the unit does periodically wakes it together."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class PartnerLink(Protocol):
    """The signed calls to the partner's internal endpoints. A call that fails raises
    ``partner.PartnerError`` (``PartnerAnswered`` when something answered and refused)."""

    async def heartbeat(self, mine: Heartbeat) -> Heartbeat: ...

    async def demote(self, request: DemoteRequest, wait: float) -> DemoteReply: ...

    async def handover(self, request: HandoverRequest, wait: float) -> HandoverReply: ...

    async def close(self) -> None: ...


class LocalStore(Protocol):
    """This unit's Redis, as the engine uses it. A failure raises ``StoreUnavailable``."""

    async def read(self) -> Snapshot: ...

    async def read_if_changed(self) -> Snapshot:
        """``read``, or the same snapshot object as the last call's when nothing can have
        changed since (the tick's read: issue 23 point 5)."""
        ...

    async def revision(self) -> int: ...

    async def promote(self) -> None: ...

    async def wait_partner(self, within_ms: int) -> bool: ...

    async def server_version(self) -> str: ...

    async def is_master(self) -> bool: ...

    async def migrate(self) -> None:
        """Older records to this build's schema (its Redis is a master)."""
        ...


class PartnerStore(Protocol):
    """The two Redis servers of the pair, seen from this unit."""

    async def replicate_from(self, url: str, wait: float = 5.0) -> bool | None:
        """``wait``: how long each call to the partner may take."""
        ...

    async def link_up(self, url: str) -> bool | None: ...

    async def revision(self, url: str, advertised: int) -> int: ...

    async def force_update(self, url: str) -> tuple[int, int, float]: ...

    async def close(self) -> None: ...


class SharedAddress(Protocol):
    """The shared address: its listener and, with a shared interface, the virtual IP."""

    @property
    def serving(self) -> bool: ...

    async def serve(self, shared: str | None, params: HAParameters) -> str | None: ...

    async def renew(self, params: HAParameters) -> bool: ...

    async def release(self, *, drain: bool) -> None: ...

    async def stop(self, *, drain: bool) -> None: ...

    async def remove_leftover(self, shared: str | None, params: HAParameters) -> None: ...

    async def bind_ahead(self, shared: str | None) -> None: ...

    async def announce(self) -> tuple[str, str, int]: ...


class EventSink(Protocol):
    """The pair's event stream (``services.events.Events`` in production)."""

    def emit(self, type: str, data: dict[str, object], *, at: str | None = None) -> None:
        """Queued for the stream (kept in memory while this unit's Redis is a replica)."""
        ...

    async def publish(self, type: str, data: dict[str, object], *, at: str | None = None) -> None:
        """Written now."""
        ...

    async def flush(self) -> None: ...

    def end_streams_of(self, token_ids: list[str]) -> None:
        """Ends the streams of these (revoked) tokens at once."""
        ...


class Hooks(Protocol):
    """The operator's role hook (``--on-role-change``)."""

    def run_role_hook(self, role: str, unit: str, shared: str | None, virtual_id: int) -> None: ...


class DataDir(Protocol):
    """What this unit keeps in its data dir."""

    def load_unit(self) -> Any: ...

    def save_unit(self, unit: Any) -> None: ...

    def load_boots(self) -> BootRecord: ...

    def save_boots(self, record: BootRecord) -> None: ...

    def load_maintenance(self) -> Maintenance: ...

    def save_maintenance(self, maintenance: Maintenance) -> None: ...


class Links(Protocol):
    """The monitored network interfaces."""

    def down(self, names: tuple[str, ...]) -> tuple[str, ...]: ...


class Adverts(Protocol):
    """The pair's adverts on ``multicast_interface`` (SPEC 5b'): sending this unit's, hearing
    the partner's and other senders of the virtual ID (``engine/adapters/adverts.py``)."""

    async def configure(self, *, unit: str, interface: str, broadcast: bool) -> None:
        """Opens the link this way unless it already is (a failure shows in ``report``)."""

    def send(self, *, boot_id: str, role: str, revision: int) -> None: ...

    def partner_ago(self) -> float | None:
        """Seconds since the partner's last fresh, valid advert (None: none)."""

    def conflicts(self) -> tuple[tuple[str, str], ...]:
        """The current virtual-ID conflicts: (sender address, detail)."""

    def report(self) -> AdvertsReport | None:
        """How the adverts go out (None: never configured)."""

    def close(self) -> None: ...


class UpdateLink(Protocol):
    """The update link (SPEC 5b' ``update_interface``): this unit's addresses there, its
    listener there and the client to the partner's address there
    (``engine/adapters/uplink.py``)."""

    @property
    def link(self) -> PartnerLink | None:
        """The client to the partner over the update link (None: the direct link only)."""

    @property
    def replicates(self) -> bool:
        """The partner's replica connects over it (this unit's Redis listens there)."""

    def addresses(self) -> list[str]: ...

    def report(self) -> UpdateLinkReport | None: ...

    async def refresh(
        self, *, interface: str, partner: Heartbeat | None, partner_address: str | None
    ) -> None: ...

    async def close(self) -> None: ...


class Checks(Protocol):
    """One boot's track checks: results are put on the node's queue as events."""

    def start(self, put: Callable[[m.Event], None], now: Callable[[], float]) -> None: ...

    async def stop(self) -> None: ...

    def views(self) -> list[TrackView]: ...


class DataPlane(Protocol):
    """The data plane (HAProxy, IPVS) that follows the role."""

    @property
    def report(self) -> DataPlaneReport: ...

    def update(self, inputs: Any) -> None: ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class Metrics(Protocol):
    """The metrics the node sets."""

    def set_role(self, role: str) -> None: ...

    def role_changed(self, role: str, cause: str) -> None: ...

    def set_track_ok(self, name: str, ok: bool) -> None: ...

    def set_parameter_applied(self, parameter: str, state: str) -> None: ...

    def count_refused(self, reason: str) -> None: ...

    def set_boots(self, count: int) -> None: ...

    def set_revision(self, revision: int) -> None: ...


@dataclass
class Ports:
    """Everything a node reaches the world through. The factories are called at each boot:
    the partner's address and the tracks may change with the unit's settings."""

    clock: Clock
    files: DataDir
    store: LocalStore
    partner_store: PartnerStore
    shared: SharedAddress
    events: EventSink | None
    hooks: Hooks
    links: Links
    metrics: Metrics
    dataplane: DataPlane
    # (unit settings, the pair id's getter) -> the partner link, None without a partner
    partner: Callable[[UnitSettings, Callable[[], str]], PartnerLink | None]
    # (on a track's result) -> this boot's checks
    checks: Callable[[Callable[[str, bool], None]], Checks]
    # told of every step (state before, event, state after, actions): the simulation's
    # invariants watch the production shell through it
    trace: Callable[[m.State, m.Event, m.State, list[m.Action]], None] | None = None
    # the pair's adverts: only a unit of a pair on two hosts (``--shared-interface``) has them
    adverts: Adverts | None = None
    # the update link: a unit of a pair on two hosts (not on loopback) with a real network
    update_link: UpdateLink | None = None
