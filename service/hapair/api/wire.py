"""Wire structs: what the API reads and answers (the OpenAPI document is built from these)."""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hapair.domain import parameters as p
from hapair.domain.backup import Bundle, BundleToken, ImportResult, TokenChanges, make_bundle

# The API answers these domain types as they are (their fields are the contract): re-exported
# here so every struct the OpenAPI document names is found in one module.
from hapair.domain.history import Conflict, ConflictsPage, HistoryItem, HistoryPage
from hapair.domain.parameter_forms import (
    HAParametersPatch,
    HAParametersResource,
    HAParametersWrite,
)
from hapair.domain.tokens import TokenCreate, TokenCreated, TokenItem, TokenList
from hapair.domain.unit import MaintenanceView, UnitPatch, UnitView
from hapair.domain.version import VERSION

__all__ = [
    "Accepted",
    "AnnounceResult",
    "Bundle",
    "BundleToken",
    "Conflict",
    "ConflictsPage",
    "ForcePartnerUpdateResult",
    "HAParametersPatch",
    "HAParametersResource",
    "HAParametersWrite",
    "Health",
    "HistoryItem",
    "HistoryPage",
    "ImportResult",
    "MaintenanceView",
    "MaintenanceWrite",
    "Problem",
    "ProblemField",
    "Revision",
    "RollbackRequest",
    "SwitchoverCheck",
    "SwitchoverResult",
    "TokenChanges",
    "TokenCreate",
    "TokenCreated",
    "TokenItem",
    "TokenList",
    "UnitPatch",
    "UnitView",
]

Revision = p.Revision

# A bundle as an example (the docs page shows it; schemathesis' examples phase imports it): its
# checksum is computed, so it imports.
BUNDLE_EXAMPLE: dict[str, object] = msgspec.to_builtins(
    make_bundle(
        version=VERSION,
        exported_at="2026-01-01T00:00:00.000Z",
        revision=12,
        params=p.HAParameters(ha_timeout=6, preferred_server="first"),
        tokens=[
            BundleToken(
                id="3f2a9c1d0b7e4a55",
                role="viewer",
                description="grafana",
                created_at="2026-01-01T00:00:00.000Z",
                expires_at=None,
                digest=hashlib.sha256(b"hp_example").hexdigest(),
            )
        ],
    )
)


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


class RollbackRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The revision whose parameters become a new revision."""

    revision: Annotated[int, Meta(ge=0)]


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


class Accepted(msgspec.Struct, kw_only=True):
    """An accepted action."""

    status: str
    detail: str


class Health(msgspec.Struct, kw_only=True):
    """Liveness or readiness."""

    status: str
    role: str | None = None
