"""The HA engine's state: roles, causes, what a unit knows, and pure queries on it.

Part of the engine's pure core (``machine.py`` steps it): no I/O, no clock, no asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from hapair.domain.status import Role
from hapair.domain.version import PROTOCOL, VERSION
from hapair.engine.pairlink.messages import (
    AlertInfo,
    Heartbeat,
    LinksInfo,
    TrackInfo,
    TransitionInfo,
)

# The engine's roles: the public ones (``Role``) and, inside the engine, ``starting`` (no role
# decided yet; shown as not_operational / starting). ``standalone`` is a non-HA unit's.
STARTING: Final = "starting"
STANDALONE: Final = "standalone"
EngineRole = Role | Literal["starting"]
ENGINE_ROLES: tuple[str, ...] = (STARTING, *(r.value for r in Role))
HOLDING = (Role.ACTIVE, Role.INDETERMINATE)  # the roles of a unit that holds the pair's role
Cause = Literal[
    "boot-alone",
    "boot-partner-active",
    "boot-negotiated",
    "partner-lost",
    "preferred-return",
    "takeover",
    "demoted",
    "switchover",
    "split-brain-won",
    "split-brain-lost",
    "store-lost",
    "store-back",
    "link-failure",
    "pacified",
    "maintenance",
    "misconfigured",
    "shared-address-unavailable",
    "track-failed",
    "track-recovered",
    "version-skew",
    "partner-auth-failed",
    "shutdown",
]
CAUSES: tuple[str, ...] = Cause.__args__  # type: ignore[attr-defined]

# A partner whose answers fail authentication for this long (with no authentic heartbeat
# between) is not this pair's partner: shorter failures are a virtual ID change replicating.
AUTH_GRACE_S = 2.0
# Clocks further apart than this are shown (SPEC 5 "Clocks"); they change no role.
SKEW_ALERT_S = 10.0
# Split brain: active durations closer than this count as a tie (each side measures the other's
# through a heartbeat that took a while to arrive; a tie then decides the same on both sides).
ACTIVE_TIE_S = 1.0

# ---- state ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Config:
    """What a unit is for one boot: fixed until it reboots."""

    unit: str  # "first" or "second"
    mode: str
    shared_address: str | None
    pacified: bool = False
    has_partner: bool = True  # a partner address and pair key are configured
    maintenance: bool = False  # in maintenance at boot (kept in the data dir)
    maintenance_reason: str | None = None  # and the record's reason and since (wall clock)
    maintenance_since: float | None = None
    tracks: tuple[str, ...] = ()  # the names of the unit's tracks (``--track``)
    version: str = VERSION  # hapair's, told in every heartbeat
    protocol: int = PROTOCOL  # the unit-to-unit protocol this build speaks
    adverts: bool = False  # it sends and hears adverts (a pair on two hosts, SPEC 5b')
    # with adverts: how long a booting unit listens for its partner's before it takes the role
    # alone (an advert interval and a half: the partner's next advert arrives within it)
    listen_first: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Params:
    """The replicated HA parameters the rules read."""

    ha_timeout: float = 9.0
    initial_wait_time: float = 0.0
    preferred_server: str = "none"
    hard_reboot_on_link_failure: bool = False
    l7_persistence_updates: bool = False  # the switchover check ``state-sync`` applies
    failback_delay: float = 0.0
    # the stored virtual ID (None: the automatic one): a part of the pair id the partner checks
    virtual_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TrackState:
    """One track of this unit as its checks last said (``ok`` None: not checked yet)."""

    name: str
    ok: bool | None = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One change of the role the API shows."""

    from_role: str
    to_role: str
    cause: str
    at: float  # wall clock seconds


@dataclass(frozen=True)
class Check:
    """One hand-over check (``partner-reachable``, ``partner-standby``, ...)."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, kw_only=True)
class Takeover:
    """A takeover this unit asked its partner for, awaiting the answer."""

    request: int | None  # the API request waiting for it; None when the engine asked itself
    cause: str  # "takeover" or "preferred-return"
    # a switchover's or maintenance hand-over's checks, evaluated once when it was asked: the
    # answer lists these (all passed), never a second reading taken later
    checks: tuple[Check, ...] = ()
    reason: str | None = None  # a maintenance hand-over's: the reason the record keeps


@dataclass(frozen=True, kw_only=True)
class Told:
    """What this unit last wrote to the pair's event stream about the pair and its partner
    (``core/tell.py`` decides on it): a ``pair`` event and the partner's news are written
    when they differ from it. Kept across an in-process reboot, as the stream is."""

    pair: tuple[str, str | None] | None = None  # (state, active) of the last ``pair`` event
    partner_at: float = 0.0  # ``at`` of the partner's last role change written
    partner_maintenance: bool | None = None  # None: not heard as active yet
    partner_applied: tuple[tuple[str, str], ...] | None = None  # parameter -> state last heard
    partner_tracks: tuple[tuple[str, bool | None], ...] | None = None
    partner_alerts: frozenset[tuple[str, str]] | None = None  # (reason, detail) last heard


@dataclass(frozen=True, kw_only=True)
class State:
    """Everything one unit's engine knows. Replaced, never mutated."""

    config: Config
    params: Params = Params()
    booted: float = 0.0  # ``now`` at boot
    wall_offset: float = 0.0  # wall clock = now + wall_offset
    role: EngineRole = STARTING
    reason: str | None = "starting"
    cause: str = "boot-alone"  # why the decided role was taken
    public_role: Role = Role.NOT_OPERATIONAL
    public_reason: str | None = "starting"
    role_since: float = 0.0  # wall clock, of the public role
    last_transition: Transition | None = None
    active_since: float | None = None  # wall clock, when this unit last decided to be active
    active_at: float | None = None  # ``now`` (this unit's clock) of the same moment
    revision: int = 0
    store_down_since: float | None = None
    partner: Heartbeat | None = None
    heard_at: float | None = None
    hold_until: float = 0.0
    both_standby_since: float | None = None
    serving: bool = False  # this unit serves the shared address
    lease_lost_at: float | None = None  # when its virtual IP's lease ran out while serving
    bind_failed: bool = False  # a bind of the shared address failed since it became active
    master: bool = False  # its Redis was confirmed a master in the current role
    replica_of: str | None = None  # the partner Redis URL it was confirmed to replicate from
    replica_link_up: bool = False  # and its replication link to that Redis was seen up
    takeover: Takeover | None = None
    handover: Takeover | None = None  # a switchover or maintenance hand-over under way
    # in maintenance: the one record of it (saved in the data dir by ``SaveMaintenance``)
    maintenance: bool = False
    maintenance_reason: str | None = None
    maintenance_since: float | None = None  # wall clock
    stopped: bool = False
    # the HAProxy peers link to the partner (L7 persistence updates) as the data plane last
    # saw it: (up, detail)
    state_sync: tuple[bool, str] = (False, "not checked yet")
    tracks: tuple[TrackState, ...] = ()
    ready_since: float | None = None  # standby, fit and in sync since (the failback delay)
    # the partner's address answered (any answer, authentic or not: the partner is there)
    answered_at: float | None = None
    auth_failed: str | None = None  # why its last answer failed authentication
    auth_failed_since: float | None = None  # failing since (no authentic heartbeat between)
    auth_shared: str | None = None  # ``another pair``: the shared address the partner has
    alerts: tuple[AlertInfo, ...] = ()  # conditions shown that change no role (clock-skew)
    auth_alerted: str | None = None  # the partner-auth-failed alert raised, with this detail
    skew: float | None = None  # the partner's clock minus this unit's, at its last heartbeat
    # ``now`` of the partner's last fresh, valid advert (SPEC 5b': a second liveness path)
    advert_at: float | None = None
    advert_since: float | None = None  # the first advert of the current run (none missed)
    heard_since: float | None = None  # the first heartbeat of the current run (none missed)
    conflicts: tuple[tuple[str, str], ...] = ()  # virtual-ID conflicts: (sender, detail)
    # the update link (SPEC 5b'): whether a separate one is in use (this unit and its partner
    # have addresses on ``update_interface``), since when, and ``now`` of the partner's last
    # heartbeat over it and over the direct link
    update_separate: bool = False
    update_replication: bool = False  # replication runs over it too
    update_separate_since: float | None = None
    update_at: float | None = None
    direct_at: float | None = None
    told: Told = Told()  # what it last wrote to the event stream (``core/tell.py``)


def wall(s: State, now: float) -> float:
    """The wall clock reading of ``now``."""
    return now + s.wall_offset


def fresh_partner(s: State, now: float) -> Heartbeat | None:
    """The partner's last heartbeat if heard within ``ha_timeout``."""
    if s.partner is None or s.heard_at is None:
        return None
    if now >= s.heard_at + s.params.ha_timeout:  # the same sum as ``deadline``: no rounding gap
        return None
    return s.partner


# A deadline whose event comes later than this was missed: the process was frozen (or its
# loop stalled) over it, so what it last heard is old news. The next tick, which exchanges
# heartbeats first, decides instead.
DEADLINE_SLACK = 0.25


def advert_heard(s: State, now: float) -> bool:
    """The partner's adverts arrived within ``ha_timeout`` (SPEC 5b'): it is alive for failover
    purposes, as a partner whose address answers is (``answered``), whatever became of the HTTP
    path. What it holds (its role, its revision) is still what its heartbeats said. The same
    sum as ``deadline``."""
    return s.advert_at is not None and now < s.advert_at + s.params.ha_timeout


def update_link_down(s: State, now: float) -> bool:
    """A separate update link is in use and no heartbeat came over it within ``ha_timeout``
    (SPEC 5b': replication and the hand-over calls go that way, so the pair is not in sync)."""
    if not s.update_separate:
        return False
    return s.update_at is None or now >= s.update_at + s.params.ha_timeout


def links(s: State, now: float) -> LinksInfo:
    """Which links this unit hears its partner on: ``heartbeat`` (an authentic heartbeat
    within ``ha_timeout``; with a separate update link, one over the direct link), ``update``
    (the link that carries replication and the hand-over calls: with a separate update link,
    a heartbeat over it within ``ha_timeout``; without one, the direct link's, ``heartbeat``'s)
    and ``advert``."""
    hb = fresh_partner(s, now) is not None
    if not s.update_separate:
        return LinksInfo(heartbeat=hb, update=hb, advert=advert_heard(s, now))
    direct = s.direct_at is not None and now < s.direct_at + s.params.ha_timeout
    return LinksInfo(
        heartbeat=direct, update=hb and not update_link_down(s, now), advert=advert_heard(s, now)
    )


def answers_partner(s: State) -> bool:
    """Whether this unit answers its partner's heartbeat exchange rather than calling (a pair
    makes one exchange per interval; the one that answers calls only when the other's calls
    stop coming): never while active; a unit whose partner is active does; otherwise
    ``second`` does.

    The active calls, so its heartbeat and its advert (sent just before, in the same tick)
    reach the standby at one phase of the interval, as keepalived's master's advert does: the
    standby's last sign of life before a fault is on average half an interval old, not nearer
    because an answer to its own call came at another phase (issue 23 point 4: the median
    against keepalived's). Both units may leave a call out at once only while one's view of
    the other's role is stale, for an interval at most."""
    if s.role == Role.ACTIVE:
        return False
    if s.partner is not None and s.partner.role == Role.ACTIVE:
        return True
    return s.config.unit == "second"


def deadline(s: State) -> float | None:
    """When this unit must decide next, by the clock alone: a standby's failover deadline
    (last heard, answered or heard by advert + ``ha_timeout``, or the end of its hold if
    later). None: nothing is due."""
    if s.stopped or s.role != Role.STANDBY or s.heard_at is None:
        return None
    if s.maintenance or s.config.pacified or not fit(s):
        return None  # never takes the role by itself (a failed track: until it recovers)
    # a partner that answers (even unheard: a 503, a refusal) is there: counted from its answer;
    # so is one whose adverts arrive (SPEC 5b')
    last = max(s.heard_at, s.answered_at or s.heard_at, s.advert_at or s.heard_at)
    return max(last + s.params.ha_timeout, s.hold_until)


def may_serve(s: State, now: float) -> bool:
    """Whether an active unit may (again) put the shared address up. After its lease ran
    out (frozen, SIGSTOP), only once it heard its partner since (who may have taken over:
    the split-brain rules decide first), or heard nothing for ``ha_timeout`` (it is alone)."""
    lost = s.lease_lost_at
    if lost is None:
        return True
    heard_since = s.heard_at is not None and s.heard_at > lost
    return heard_since or now - lost >= s.params.ha_timeout


def answered(s: State, now: float) -> bool:
    """The partner's address answered within ``ha_timeout`` (authentic or not): it is there.
    The same sum as ``deadline`` (``now - answered_at < ha_timeout`` can hold at the deadline
    itself, by float rounding)."""
    return s.answered_at is not None and now < s.answered_at + s.params.ha_timeout


def auth_failure(s: State, now: float) -> str | None:
    """The detail of the partner's authentication failure, once it has lasted
    ``AUTH_GRACE_S`` while the partner still answers; else None."""
    if s.auth_failed is None or s.auth_failed_since is None or not answered(s, now):
        return None
    return s.auth_failed if now - s.auth_failed_since >= AUTH_GRACE_S else None


def active_for(s: State, now: float) -> float:
    """Seconds this unit has held the role, by its own clock (0 when it does not)."""
    if s.role not in HOLDING or s.active_at is None:
        return 0.0
    return max(0.0, now - s.active_at)


def holding(s: State, now: float) -> bool:
    """Just demoted for a takeover: the unit does not take the role back for a while."""
    return now < s.hold_until


@dataclass(frozen=True, kw_only=True)
class Sync:
    """Whether the pair is in sync as one unit knows it, and the facts that say so."""

    in_sync: bool
    revision: int | None  # this unit's
    partner_revision: int | None
    link_up: bool  # the standby's replication link to the active

    @property
    def detail(self) -> str:
        """The ``partner-in-sync`` check's detail."""
        link = "up" if self.link_up else "down"
        return (
            f"partner at revision {_rev(self.partner_revision)}, this unit at "
            f"{_rev(self.revision)}, replication {link}"
        )


def _rev(revision: int | None) -> str:
    return "unknown" if revision is None else str(revision)


UNREAD: Final = -1  # ``sync``'s default: the revision the state holds


def sync(
    s: State, now: float, *, revision: int | None = UNREAD, partner_revision: int | None = UNREAD
) -> Sync:
    """THE in-sync rule (issue 21), used by the status, ``wait_in_sync``, the hand-over checks,
    the metric and the preferred server's return: the active and the standby hold the same
    revision **and** the standby's replication link to the active is up. For the active: its
    standby partner says its link is up (its heartbeat's ``replicating``); for the standby: its
    own Redis replicates from the active partner's and the link was seen up. Any other pair of
    roles, or a partner not heard within ``ha_timeout``, is not in sync.

    ``revision`` and ``partner_revision``: fresher readings than the state's (from each Redis;
    None when it could not be read, which is never in sync)."""
    mine = s.revision if revision == UNREAD else revision
    p = fresh_partner(s, now)
    if p is None:
        return Sync(in_sync=False, revision=mine, partner_revision=None, link_up=False)
    theirs = p.revision if partner_revision == UNREAD else partner_revision
    if s.update_replication and update_link_down(s, now):
        # replication runs over the update link: a stalled one is not in sync, whatever the
        # replica says before its own timeout (Redis's repl-timeout is a minute)
        link = False
    elif s.role == Role.ACTIVE:
        link = p.role == Role.STANDBY and p.replicating
    elif s.role == Role.STANDBY:
        link = (
            p.role == Role.ACTIVE
            and s.replica_link_up
            and s.replica_of is not None
            and s.replica_of == p.redis_url
        )
    else:
        link = False
    ok = link and mine is not None and theirs is not None and mine == theirs
    return Sync(in_sync=ok, revision=mine, partner_revision=theirs, link_up=link)


def in_sync(s: State, now: float) -> bool:
    """``sync`` with the revisions the state holds."""
    return sync(s, now).in_sync


def failed_tracks(s: State) -> list[TrackState]:
    """This unit's failed tracks."""
    return [t for t in s.tracks if t.ok is False]


def fit(s: State) -> bool:
    """Every track of this unit is checked and healthy: it may be promoted."""
    return all(t.ok is True for t in s.tracks)


def partner_failed(p: Heartbeat) -> bool:
    """The partner has a failed track (as its heartbeat says)."""
    return any(t.ok is False for t in p.tracks)


def partner_fit(p: Heartbeat) -> bool:
    """Every track of the partner is checked and healthy (as its heartbeat says)."""
    return all(t.ok is True for t in p.tracks)


def track_detail(s: State) -> str:
    """What the failed tracks say: ``name: detail; ...``."""
    return "; ".join(f"{t.name}: {t.detail}" if t.detail else t.name for t in failed_tracks(s))


def public(s: State) -> tuple[Role, str | None]:
    """The role and reason the API shows for the decided role: never more than is true."""
    if s.maintenance and s.role != Role.PACIFIED:
        return Role.NOT_OPERATIONAL, "maintenance"
    if s.role in (STARTING, Role.STANDBY) and failed_tracks(s):
        # never promoted (an active whose track fails keeps the role until a fit partner
        # takes it: a degraded active beats none)
        return Role.NOT_OPERATIONAL, "track-failed"
    if s.role == STARTING:
        return Role.NOT_OPERATIONAL, "starting"
    if s.role == Role.ACTIVE and s.config.shared_address and not s.serving:
        if s.bind_failed:
            return Role.NOT_OPERATIONAL, "shared-address-unavailable"
        return s.public_role, s.public_reason  # the bind is under way: nothing new to claim yet
    if s.role == Role.NOT_OPERATIONAL:
        return Role.NOT_OPERATIONAL, s.reason
    return s.role, None


def shown(s: State, *, serving_now: bool) -> tuple[Role, str | None, bool]:
    """What ``GET /ha/status`` shows for this unit: its role, the reason when not operational,
    and whether it serves the shared address. The public role, except for a unit that decided
    to be active whose shared listener answers already (``serving_now``): the result event of
    its bind is a moment behind, so it shows what is."""
    role, serving = s.public_role, s.serving
    if s.role == Role.ACTIVE and serving_now:
        role, serving = Role.ACTIVE, True
    return role, s.public_reason if role == Role.NOT_OPERATIONAL else None, serving


def publishes(s: State, now: float) -> bool:
    """Whether this unit writes its own events to the pair's stream (its Redis takes writes):
    as the active, or with no partner heard within ``ha_timeout``. Otherwise the active partner
    writes them, from this unit's heartbeat."""
    return s.role == Role.ACTIVE or fresh_partner(s, now) is None


def heartbeat(s: State, now: float) -> Heartbeat:
    """What this unit tells its partner (the driver adds identity, address and Redis URL)."""
    t = s.last_transition
    return Heartbeat(
        unit=s.config.unit,
        mode=s.config.mode,
        role=s.role,
        reason=s.reason,
        revision=s.revision,
        shared_address=s.config.shared_address,
        pacified=s.config.pacified,
        maintenance=s.maintenance,
        maintenance_reason=s.maintenance_reason,
        replicating=s.replica_of is not None and s.replica_link_up,
        serving_shared=s.serving,
        active_since=s.active_since or 0.0,
        active_for=active_for(s, now),
        status_role=s.public_role,
        status_reason=s.public_reason,
        status_detail=s.auth_failed if s.public_reason == "partner-auth-failed" else None,
        alerts=list(s.alerts),
        role_since=s.role_since,
        last_transition=None
        if t is None
        else TransitionInfo(from_role=t.from_role, to_role=t.to_role, cause=t.cause, at=t.at),
        sent_at=wall(s, now),
        tracks=[TrackInfo(name=x.name, ok=x.ok, detail=x.detail) for x in s.tracks],
        version=s.config.version,
        protocol=s.config.protocol,
        links=links(s, now),
        preferred_server=s.params.preferred_server,
    )


def version_skew(s: State, p: Heartbeat) -> bool:
    """The partner speaks a protocol more than one apart from this unit's (N and N+1 pair:
    how a pair is upgraded one unit at a time; further apart they refuse each other)."""
    return abs(p.protocol - s.config.protocol) > 1


def stepped_down(p: Heartbeat, params: Params) -> bool:
    """The partner stepped down on request (a takeover, a switchover, a maintenance hand-over)
    and holds off for 2 x ``ha_timeout`` (its own clock: the heartbeat's send time against its
    transition's)."""
    t = p.last_transition
    return (
        p.role == Role.STANDBY
        and t is not None
        and t.to_role == Role.STANDBY
        and t.cause in ("demoted", "switchover", "maintenance", "track-failed")
        and p.sent_at - t.at < 2 * params.ha_timeout
    )


def won_split_brain(p: Heartbeat) -> bool:
    """The partner is grey as the winner of a split brain (it takes the role at its tick)."""
    t = p.last_transition
    return t is not None and t.to_role == Role.INDETERMINATE and t.cause == "split-brain-won"


def boot_wins(s: State, p: Heartbeat) -> bool:
    """Both starting: a unit whose tracks are all healthy wins over one with a failed track;
    then the preferred server wins, then the higher revision, then ``first``.

    When the two units' parameters name different preferred servers (a change that did not
    reach the other's Redis: replication was cut), neither is preferred: the higher revision
    wins, and the preferred server its parameters name takes the role back once in sync. Each
    going by its own Redis, both waited for the other, neither ever active (found by
    ``tests/sim``)."""
    if failed_tracks(s) and not partner_failed(p):
        return False
    if partner_failed(p) and not failed_tracks(s):
        return True
    pref = boot_preference(s, p)
    if pref == s.config.unit:
        return True
    if pref == p.unit:
        return False
    if s.revision != p.revision:
        return s.revision > p.revision
    return s.config.unit == "first"


def boot_preference(s: State, p: Heartbeat) -> str:
    """The preferred server both starting units go by (``boot_wins``): none when they name
    different ones (a partner that does not say, older than the field, is taken to agree)."""
    mine, theirs = s.params.preferred_server, p.preferred_server
    return mine if not theirs or theirs == mine else "none"


def split_brain_wins(s: State, p: Heartbeat, now: float) -> bool:
    """Both active: the higher revision stays; on a tie the unit that became active more
    recently (a unit back from a freeze or a partition yields), then the preferred server,
    then ``first``.

    "More recently" compares durations each unit measured itself (SPEC 5 "Clocks"): this
    unit's time in the role against the partner's ``active_for`` plus the age of its heartbeat
    here; never one host's timestamp against the other's clock. Within ``ACTIVE_TIE_S`` it is
    a tie.
    """
    if s.revision != p.revision:
        return s.revision > p.revision
    mine = active_for(s, now)
    theirs = p.active_for + (now - s.heard_at if s.heard_at is not None else 0.0)
    if abs(mine - theirs) >= ACTIVE_TIE_S:
        return mine < theirs
    pref = s.params.preferred_server
    if pref == s.config.unit:
        return True
    if pref == p.unit:
        return False
    return s.config.unit == "first"
