"""Messages between the two units.

Every field has a default, so a unit one version newer (with more fields) or older (with
fewer) still pairs: unknown fields are ignored and missing ones take their defaults. A field
nobody reads any more is dropped from the struct; an older unit's value for it is then ignored.
"""

from __future__ import annotations

import msgspec

# The protocol of a unit that does not say (built before heartbeats carried it): every such
# build spoke protocol 3 or earlier, and pairs with 3 and 4.
LEGACY_PROTOCOL = 3


class TransitionInfo(msgspec.Struct, kw_only=True):
    """A unit's last change of public role, as its heartbeat reports it."""

    from_role: str = ""
    to_role: str = ""
    cause: str = ""
    at: float = 0.0


class AppliedState(msgspec.Struct, kw_only=True):
    """Whether one HA parameter is in effect on a unit (``GET /ha/parameters/applied``).

    ``state`` is a plain string here (not an enum), so a state a newer unit adds never fails
    a heartbeat's decoding."""

    state: str = "pending"  # applied, pending, unsupported or failed
    detail: str = ""


class AdvertsReport(msgspec.Struct, kw_only=True, frozen=True):
    """How this unit's adverts go out (SPEC 5b'), for the applied state of
    ``multicast_interface`` and ``use_broadcast``: the interface and mode they were opened
    with, where they go, how many went out, and why they cannot (``error``)."""

    interface: str = ""
    broadcast: bool = False
    destination: str | None = None  # 224.0.0.18 or the interface's broadcast address
    port: int = 0
    sent: bool = False  # an advert went out since the link was opened this way
    error: str | None = None


class UpdateLinkReport(msgspec.Struct, kw_only=True, frozen=True):
    """How this unit's update link stands (SPEC 5b'), for the applied state of
    ``update_interface``: the interface, this unit's address used there, the partner's (None:
    the direct link carries everything), and why there is none (``error``)."""

    interface: str = ""
    local: str | None = None
    partner: str | None = None
    partner_heard: bool = False  # the partner's heartbeat (and addresses) is known
    error: str | None = None
    direct: bool = False  # this unit's address there is its direct address: one link


class DataPlaneReport(msgspec.Struct, kw_only=True):
    """A unit's applied parameters, as its heartbeat reports them."""

    observed_revision: int | None = None  # the revision its data plane last applied
    parameters: dict[str, AppliedState] = msgspec.field(default_factory=dict)
    peer_host: str = ""  # its HAProxy peer's address (on multicast_interface), if any


class TrackInfo(msgspec.Struct, kw_only=True):
    """One track of a unit, as its heartbeat reports it (``ok`` None: not checked yet)."""

    name: str = ""
    ok: bool | None = None
    detail: str = ""


class AlertInfo(msgspec.Struct, kw_only=True):
    """A condition a unit sees that changes no role by itself (``clock-skew``, ...)."""

    reason: str = ""
    detail: str = ""
    since: float = 0.0  # wall clock of the unit that reports it


class LinksInfo(msgspec.Struct, kw_only=True):
    """Which of the pair's links a unit hears its partner on (SPEC 5b'): ``heartbeat`` the
    HTTP exchange on the direct addresses; ``update`` the link that carries configuration sync
    (``update_interface``: heartbeats over the partner's address there; without a separate
    update link the direct link carries it, so it is ``heartbeat``'s); ``advert`` the
    partner's signed adverts (never on one host)."""

    heartbeat: bool = False
    update: bool = False
    advert: bool = False


class Heartbeat(msgspec.Struct, kw_only=True):
    """What a unit tells its partner every heartbeat interval (and answers with its own).

    ``role`` is the role the unit decided; ``status_role``/``status_reason`` what its API shows
    (an active unit that cannot serve the shared address shows not_operational).
    """

    unit: str = ""
    mode: str = ""
    role: str = "starting"
    reason: str | None = None
    boot_id: str = ""
    revision: int = 0
    redis_url: str = ""
    address: str = ""
    shared_address: str | None = None
    pacified: bool = False
    maintenance: bool = False
    maintenance_reason: str | None = None
    replicating: bool = False  # its Redis follows its partner's (a standby's link is up)
    serving_shared: bool = False
    active_since: float = 0.0  # wall clock: when the unit last became active (shown only)
    # seconds it has been active, by its own clock, when it sent this (split brain tie: never
    # one unit's timestamp read against the other's clock)
    active_for: float = 0.0
    status_role: str = "not_operational"
    status_reason: str | None = "starting"
    status_detail: str | None = None  # e.g. which key or pair a partner-auth-failed saw
    alerts: list[AlertInfo] = msgspec.field(default_factory=list)
    role_since: float = 0.0
    last_transition: TransitionInfo | None = None
    sent_at: float = 0.0
    dataplane: DataPlaneReport | None = None  # absent from units before v3
    pair_key_id: str | None = None  # the id of the key it signs with (keyring.key_id)
    pair_key_next_id: str | None = None  # its next key's id during a rotation
    tracks: list[TrackInfo] = []
    version: str = ""  # hapair's version ("": a unit older than this field, unknown)
    protocol: int = LEGACY_PROTOCOL  # the unit-to-unit protocol it speaks
    links: LinksInfo | None = None  # what it hears its partner on (absent: an older unit)
    # its addresses on ``update_interface`` (SPEC 5b'), read by netlink, as ``IP/PREFIX``
    # (empty: none, or an older unit: the partner then keeps to the direct link)
    update_addresses: list[str] = msgspec.field(default_factory=list)
    # the link this heartbeat went over: "update" (the update link) or "" (the direct one)
    via: str = ""
    # its parameters' preferred_server ("": an older unit); both starting, units that name
    # different ones prefer neither (``core.state.boot_wins``)
    preferred_server: str = ""


class DemoteRequest(msgspec.Struct, kw_only=True):
    """The standby asks the active to step down for a takeover."""

    by: str = ""
    cause: str = "takeover"  # takeover, preferred-return, switchover, maintenance, track-failed


class HandoverRequest(msgspec.Struct, kw_only=True):
    """The active asks the standby to take the role over (planned switchover, maintenance)."""

    cause: str = "switchover"


class HandoverReply(msgspec.Struct, kw_only=True):
    """The standby's answer, once it serves the shared address (or why it could not)."""

    ok: bool = False
    error: str | None = None
    detail: str = ""


class DemoteReply(msgspec.Struct, kw_only=True):
    """The active's last revision, which the standby waits for before it promotes itself."""

    revision: int = 0
    demoted: bool = False  # it was active or grey and stepped down (logged by the asker)


class RevisionReply(msgspec.Struct, kw_only=True):
    """A unit's revision, read from its own Redis (``/internal/v1/revision``)."""

    revision: int = 0


class ResyncRequest(msgspec.Struct, kw_only=True):
    """The active asks the standby to re-point its replica now and wait for ``revision``."""

    revision: int = 0


class HistoryIdsReply(msgspec.Struct, kw_only=True):
    """The commit ids of the revisions a unit's history keeps (newest first)."""

    ids: list[str] = msgspec.field(default_factory=list)
    oldest: int = 0  # the oldest revision kept
    complete: bool = True  # the history holds every revision (fewer than it keeps)


class ConflictsRequest(msgspec.Struct, kw_only=True):
    """Revisions only the sender held, for the active's conflict archive (raw history
    entries as JSON, decoded by the store), and the sender's token revocations (digest ->
    the stored record), which the active keeps (a unit of an older protocol ignores them)."""

    entries: list[msgspec.Raw] = msgspec.field(default_factory=list)
    revoked: dict[str, msgspec.Raw] = msgspec.field(default_factory=dict)


class ConflictsReply(msgspec.Struct, kw_only=True):
    """The revisions the active archived."""

    revisions: list[int] = msgspec.field(default_factory=list)


hb_decoder = msgspec.json.Decoder(Heartbeat)
revision_reply_decoder = msgspec.json.Decoder(RevisionReply)
resync_request_decoder = msgspec.json.Decoder(ResyncRequest)
history_ids_decoder = msgspec.json.Decoder(HistoryIdsReply)
conflicts_request_decoder = msgspec.json.Decoder(ConflictsRequest)
conflicts_reply_decoder = msgspec.json.Decoder(ConflictsReply)
demote_request_decoder = msgspec.json.Decoder(DemoteRequest)
demote_reply_decoder = msgspec.json.Decoder(DemoteReply)
handover_request_decoder = msgspec.json.Decoder(HandoverRequest)
handover_reply_decoder = msgspec.json.Decoder(HandoverReply)
encoder = msgspec.json.Encoder()
