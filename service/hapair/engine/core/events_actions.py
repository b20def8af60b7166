"""What goes into the engine's ``step`` (events, each at ``now``) and what comes out (actions
the driver carries out). Pure data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hapair.engine.core.state import Check, EngineRole, Params, Transition
from hapair.engine.pairlink.messages import Heartbeat


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened, at ``now`` (monotonic seconds of this unit's clock)."""

    now: float


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """A heartbeat interval has passed."""


@dataclass(frozen=True, kw_only=True)
class Deadline(Event):
    """The time ``due`` that :func:`~hapair.engine.core.state.deadline` named has come: the standby
    decides at its failover deadline itself, not at the next tick after it."""

    due: float


@dataclass(frozen=True, kw_only=True)
class LeaseLost(Event):
    """The virtual IP's lease ran out while this unit served it (its process was frozen or
    its loop stalled for ``ha_timeout``): the address is gone from the host."""


@dataclass(frozen=True, kw_only=True)
class Heard(Event):
    """The partner's heartbeat, sent to us or answered to ours."""

    heartbeat: Heartbeat


@dataclass(frozen=True, kw_only=True)
class StoreRead(Event):
    """This unit's Redis answered: its revision and parameters (also after a commit)."""

    revision: int
    params: Params


@dataclass(frozen=True, kw_only=True)
class StoreFailed(Event):
    """This unit's Redis did not answer."""


@dataclass(frozen=True, kw_only=True)
class LinkDown(Event):
    """A monitored interface is down."""

    interfaces: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class StateSyncSeen(Event):
    """The data plane saw the HAProxy peers link to the partner up or down."""

    ok: bool
    detail: str


@dataclass(frozen=True, kw_only=True)
class TrackChanged(Event):
    """A track's state changed (its checks crossed ``fall`` or ``rise``), or its first result."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class SharedServed(Event):
    """The shared address is served (the result of ``ServeShared``)."""


@dataclass(frozen=True, kw_only=True)
class SharedFailed(Event):
    """The shared address could not be served (bind or virtual IP failed)."""

    error: str = ""


@dataclass(frozen=True, kw_only=True)
class Promoted(Event):
    """This unit's Redis is a master."""


@dataclass(frozen=True, kw_only=True)
class Replicating(Event):
    """This unit's Redis replicates from ``url``; ``link_up``: its replication link is up
    (``master_link_status:up``), not only configured."""

    url: str
    link_up: bool = True


@dataclass(frozen=True, kw_only=True)
class ReplicateFailed(Event):
    """Pointing this unit's Redis at the partner's failed."""


@dataclass(frozen=True, kw_only=True)
class TakeoverAsked(Event):
    """``POST /unit/takeover`` on this unit, or the active's hand-over (``cause`` switchover
    or maintenance)."""

    request: int
    cause: str = "takeover"


@dataclass(frozen=True, kw_only=True)
class SwitchoverAsked(Event):
    """``POST /ha/actions/switchover`` on the active (``dry_run``: only the checks)."""

    request: int
    dry_run: bool = False
    synced: Synced | None = None


@dataclass(frozen=True, kw_only=True)
class Synced:
    """Revisions read at the moment of a hand-over, writes held: this unit's and the partner's
    (from its own Redis); fresher than the partner's last heartbeat."""

    revision: int | None
    partner_revision: int | None


@dataclass(frozen=True, kw_only=True)
class MaintenanceSet(Event):
    """``PUT /unit/maintenance``; ``force`` skips the hand-over checks; ``reason`` is what the
    record keeps while enabled."""

    request: int
    enabled: bool
    reason: str | None = None
    force: bool = False
    synced: Synced | None = None


@dataclass(frozen=True, kw_only=True)
class HandoverDone(Event):
    """The standby took the role over (``error`` None) or could not."""

    request: int
    error: str | None = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class PartnerDemoted(Event):
    """The partner stepped down and this unit's Redis holds its last revision."""

    request: int | None


@dataclass(frozen=True, kw_only=True)
class PartnerDemoteFailed(Event):
    """The partner could not be asked to step down."""

    request: int | None
    error: str


@dataclass(frozen=True, kw_only=True)
class DemoteAsked(Event):
    """The partner takes over and asks this unit to step down."""

    request: int
    by: str
    cause: str = "takeover"


@dataclass(frozen=True, kw_only=True)
class PartnerAnswered(Event):
    """Something answered from the partner's address, but not an authentic heartbeat (a 503,
    a refusal, an answer that fails authentication): the partner is there (SPEC 5).

    ``auth_failed``: the detail (``another pair key``, ``another pair``, ...) when the answer
    shows a unit that is not this pair's partner; None for any other answer.
    """

    auth_failed: str | None = None
    shared_address: str | None = None  # ``another pair``: the shared address it refused with


@dataclass(frozen=True, kw_only=True)
class UpdateLinkSeen(Event):
    """Whether a separate update link is in use (SPEC 5b'): this unit has an address on
    ``update_interface`` and its partner told one there, so heartbeats, replication and the
    hand-over calls also go that way. Told each tick. ``replication``: the partner's replica
    connects over it too (not with hapair's TLS tunnel or a ``--redis`` of the operator's,
    which keep to the direct address)."""

    separate: bool = False
    replication: bool = True


@dataclass(frozen=True, kw_only=True)
class AdvertsSeen(Event):
    """What this unit's adverts link saw, told each tick (SPEC 5b' "Adverts"): how long ago the
    partner's last fresh, valid advert arrived (None: none this boot), and the current
    virtual-ID conflicts as ``(sender address, detail)``. Only a unit that sends adverts (a
    pair on two hosts) tells it."""

    ago: float | None = None
    conflicts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Shutdown(Event):
    """The unit stops (process exit or reboot)."""


# ---- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """Something the driver must do."""


@dataclass(frozen=True)
class SendHeartbeat(Action):
    """Exchange heartbeats with the partner now; the answer comes back as ``Heard``."""


@dataclass(frozen=True)
class Promote(Action):
    """Make this unit's Redis a master (``REPLICAOF NO ONE``); answers ``Promoted``."""


@dataclass(frozen=True)
class ReplicateFrom(Action):
    """Make this unit's Redis a replica of ``url``, archiving first into the partner's Redis
    the revisions only this unit holds; answers ``Replicating`` or ``ReplicateFailed``."""

    url: str


@dataclass(frozen=True)
class ServeShared(Action):
    """Add the virtual IP (if any), announce it, bind the shared listener; answers
    ``SharedServed`` or ``SharedFailed``."""


@dataclass(frozen=True)
class RenewShared(Action):
    """Renew the virtual IP's lease (``ha_timeout`` seconds), never adding it back; answers
    ``LeaseLost`` when it ran out."""


@dataclass(frozen=True)
class Reannounce(Action):
    """Announce the virtual IP again: this unit kept it through a split brain it won, and the
    loser may have announced it meanwhile (a client's neighbour entry may point at the loser,
    which is taking the address off). Nothing answers it; without a virtual IP it does
    nothing."""


@dataclass(frozen=True)
class StopShared(Action):
    """Stop the shared listener and remove the virtual IP (if any)."""


@dataclass(frozen=True)
class AskDemote(Action):
    """Ask the partner to step down, wait for its last revision; answers ``PartnerDemoted`` or
    ``PartnerDemoteFailed``."""

    request: int | None
    cause: str = "takeover"


@dataclass(frozen=True)
class AskHandover(Action):
    """Ask the standby partner to take the role over (it asks this unit to step down) and
    answer once it serves the shared address; answers ``HandoverDone``."""

    request: int
    cause: str


@dataclass(frozen=True)
class Reply(Action):
    """Answer the API request ``request``: ``error`` is None, or a problem slug with a detail."""

    request: int
    error: str | None = None
    detail: str = ""
    demoted: bool = False
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Transitioned(Action):
    """The public role changed: log it, count it, run the hook (its ``role`` event, when
    this unit writes it, is an ``Emit`` after it)."""

    transition: Transition
    role: EngineRole


@dataclass(frozen=True)
class Alert(Action):
    """A condition that this unit sees began (``raised``) or ended: log it (its ``alert``
    event, when this unit writes it, is an ``Emit`` after it)."""

    reason: str  # partner-auth-failed, clock-skew, virtual-id-conflict, advert-path-down, ...
    detail: str
    raised: bool


@dataclass(frozen=True)
class Reboot(Action):
    """Restart the engine (a boot)."""

    cause: str


@dataclass(frozen=True)
class TrackReported(Action):
    """A track of this unit failed or recovered: log it (its ``track`` event, when this unit
    writes it, is an ``Emit`` after it). ``detail`` says what the check saw and, for an active
    that keeps the role with a failed track, why it keeps it."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Note(Action):
    """A log line worth keeping (``event`` and fields)."""

    event: str
    fields: tuple[tuple[str, object], ...] = field(default=())


@dataclass(frozen=True)
class Emit(Action):
    """One event for the pair's stream (SPEC 5a): ``kind`` (``role``, ``pair``, ``maintenance``,
    ``alert``, ``track``, ``applied``), its fields in order, and when it happened (wall clock;
    None: when written). ``core/tell.py`` decides which and when."""

    kind: str
    data: tuple[tuple[str, object], ...]
    at: float | None = None


@dataclass(frozen=True)
class FlushEvents(Action):
    """This unit became active: its Redis takes writes, so the events it kept in memory while
    it was a replica are written now."""


@dataclass(frozen=True)
class SaveMaintenance(Action):
    """The maintenance record changed: keep it in the data dir (it holds across boots)."""

    enabled: bool
    reason: str | None
    since: float | None  # wall clock
