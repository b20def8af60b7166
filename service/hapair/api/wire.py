"""Wire structs: what the API reads and answers (the OpenAPI document is built from these)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hapair.domain import parameters as p
from hapair.domain.unit import Mode

Revision = Annotated[int, Meta(ge=0, description="Revision of the HA parameters.")]


class ProblemField(msgspec.Struct, kw_only=True):
    """One invalid field of a request body."""

    pointer: str
    detail: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | UnsetType = UNSET


class HAParametersWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The HA parameters as written with PUT (omitted fields take their defaults).

    Read-only fields may be sent back as read: ``revision``, when given, must be the current
    revision; ``updated_at`` and ``virtual_id_source`` are ignored.
    """

    ha_timeout: p.HATimeout = 9
    initial_wait_time: p.InitialWait = 0
    virtual_id: p.VirtualId | None = None
    use_broadcast: p.UseBroadcast = False
    preferred_server: p.PreferredServer = "none"
    update_interface: p.InterfaceName = "eth0"
    hard_reboot_on_link_failure: p.HardReboot = False
    l4_connection_updates: p.L4Updates = False
    l4_sync_threshold: p.SyncThreshold = 3
    l4_sync_period: p.SyncPeriod = 50
    l4_sync_refresh_period: p.RefreshPeriod = 0
    l7_persistence_updates: p.L7Updates = False
    multicast_interface: p.InterfaceName = "eth0"
    use_virtual_mac: p.UseVirtualMac = False
    revision: Revision | None = None
    updated_at: str | None = None
    virtual_id_source: Literal["auto", "manual"] | None = None


class HAParametersPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A JSON merge patch (RFC 7396) of the HA parameters; ``null`` resets a field."""

    ha_timeout: p.HATimeout | None | UnsetType = UNSET
    initial_wait_time: p.InitialWait | None | UnsetType = UNSET
    virtual_id: p.VirtualId | None | UnsetType = UNSET
    use_broadcast: p.UseBroadcast | None | UnsetType = UNSET
    preferred_server: p.PreferredServer | None | UnsetType = UNSET
    update_interface: p.InterfaceName | None | UnsetType = UNSET
    hard_reboot_on_link_failure: p.HardReboot | None | UnsetType = UNSET
    l4_connection_updates: p.L4Updates | None | UnsetType = UNSET
    l4_sync_threshold: p.SyncThreshold | None | UnsetType = UNSET
    l4_sync_period: p.SyncPeriod | None | UnsetType = UNSET
    l4_sync_refresh_period: p.RefreshPeriod | None | UnsetType = UNSET
    l7_persistence_updates: p.L7Updates | None | UnsetType = UNSET
    multicast_interface: p.InterfaceName | None | UnsetType = UNSET
    use_virtual_mac: p.UseVirtualMac | None | UnsetType = UNSET
    revision: Revision | None | UnsetType = UNSET
    updated_at: str | None | UnsetType = UNSET
    virtual_id_source: Literal["auto", "manual"] | None | UnsetType = UNSET


class HAParametersResource(msgspec.Struct, kw_only=True):
    """The HA parameters as stored, with the effective virtual ID and the revision."""

    ha_timeout: p.HATimeout
    initial_wait_time: p.InitialWait
    virtual_id: p.VirtualId
    virtual_id_source: Literal["auto", "manual"]
    use_broadcast: bool
    preferred_server: p.PreferredServer
    update_interface: p.InterfaceName
    hard_reboot_on_link_failure: bool
    l4_connection_updates: bool
    l4_sync_threshold: p.SyncThreshold
    l4_sync_period: p.SyncPeriod
    l4_sync_refresh_period: p.RefreshPeriod
    l7_persistence_updates: bool
    multicast_interface: p.InterfaceName
    use_virtual_mac: bool
    revision: Revision
    updated_at: str | None


class HistoryItem(msgspec.Struct, kw_only=True):
    """One committed revision: who changed what, and when."""

    revision: int
    updated_at: str
    actor: str
    changes: dict[str, list[Any]]


class HistoryPage(msgspec.Struct, kw_only=True):
    """Newest first; ``next_before`` continues the listing, null at the end."""

    items: list[HistoryItem]
    next_before: int | None


class RollbackRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The revision whose parameters become a new revision."""

    revision: Annotated[int, Meta(ge=0)]


class Conflict(msgspec.Struct, kw_only=True):
    """A revision a unit held that the pair never saw (split brain), archived when it rejoined."""

    unit: str
    archived_at: str
    revision: int
    updated_at: str
    actor: str
    changes: dict[str, list[Any]]
    parameters: dict[str, Any]


class ConflictsPage(msgspec.Struct, kw_only=True):
    """Every archived conflict."""

    items: list[Conflict]


class SwitchoverCheck(msgspec.Struct, kw_only=True):
    """One hand-over check."""

    name: str
    ok: bool
    detail: str


class SwitchoverResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A planned switchover done (``from``, ``to``, ``duration_ms``: the new active serves
    the shared address), or a dry run (``ok``). ``checks`` lists every check."""

    checks: list[SwitchoverCheck]
    ok: bool | None = None
    from_unit: str | None = msgspec.field(default=None, name="from")
    to_unit: str | None = msgspec.field(default=None, name="to")
    duration_ms: float | None = None


class MaintenanceWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Maintenance on or off for this unit."""

    enabled: bool
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class MaintenanceView(msgspec.Struct, kw_only=True):
    """A unit's maintenance mode."""

    enabled: bool
    reason: str | None
    since: str | None


class AnnounceResult(msgspec.Struct, kw_only=True):
    """What ``POST /ha/actions/announce`` sent."""

    address: str
    interface: str
    sent: int


class ForcePartnerUpdateResult(msgspec.Struct, kw_only=True):
    """The standby holds the active's revision."""

    revision: int
    partner_revision: int
    duration_ms: float


class UnitPending(msgspec.Struct, kw_only=True):
    """Unit settings waiting for a reboot (only the fields that change)."""

    mode: Mode | UnsetType = UNSET
    partner_address: str | None | UnsetType = UNSET
    shared_address: str | None | UnsetType = UNSET


class UnitView(msgspec.Struct, kw_only=True):
    """This unit: its mode, addresses, boot and pacified state."""

    name: str
    mode: Mode
    pending: UnitPending | None
    reboot_required: bool
    address: str
    partner_address: str | None
    shared_address: str | None
    boot_id: str
    booted_at: str
    boots_in_window: int
    pacified: bool
    maintenance: MaintenanceView


class UnitPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Unit settings to change at the next reboot."""

    mode: Mode | UnsetType = UNSET
    partner_address: str | None | UnsetType = UNSET
    shared_address: str | None | UnsetType = UNSET


class Accepted(msgspec.Struct, kw_only=True):
    """An accepted action."""

    status: str
    detail: str


class Health(msgspec.Struct, kw_only=True):
    """Liveness or readiness."""

    status: str
    role: str | None = None


TokenRole = Literal["viewer", "admin"]
MAX_TOKEN_LIFETIME_S = 10 * 365 * 24 * 3600


class TokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new API token: its role, a note for people, and how long it lives (null: forever)."""

    role: TokenRole
    description: Annotated[str, Meta(max_length=200)] | None = None
    expires_in_s: Annotated[int, Meta(ge=1, le=MAX_TOKEN_LIFETIME_S)] | None = None


class TokenCreated(msgspec.Struct, kw_only=True):
    """A created token; ``token`` is shown this once (only its digest is stored)."""

    id: str
    token: str
    role: TokenRole
    expires_at: str | None


class TokenItem(msgspec.Struct, kw_only=True):
    """An API token as listed (never the token or its digest)."""

    id: str
    role: TokenRole
    description: str | None
    created_at: str
    expires_at: str | None


class TokenList(msgspec.Struct, kw_only=True):
    """Every API token of the pair (the bootstrap admin token is not one of them)."""

    items: list[TokenItem]
