"""``GET /ha/parameters/applied``: whether each HA parameter is in effect on each unit."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

AppliedStateName = Literal["applied", "pending", "unsupported", "failed"]


class ParameterApplied(msgspec.Struct, kw_only=True):
    """One parameter on one unit."""

    state: Annotated[
        AppliedStateName,
        Meta(
            description="`applied`: in effect as stored; `pending`: being applied; "
            "`unsupported`: this unit cannot apply it; `failed`: applying it failed"
        ),
    ]
    detail: Annotated[str, Meta(description="What drives it, or why it is not applied.")]


class UnitApplied(msgspec.Struct, kw_only=True):
    """One unit's applied parameters."""

    name: Annotated[str, Meta(description="`first` or `second`.")]
    observed_revision: Annotated[
        int | None,
        Meta(description="The revision the unit's data plane last applied (null: unknown)."),
    ]
    reported_at: Annotated[
        str | None,
        Meta(
            description="RFC 3339 UTC: now for the answering unit, the last heartbeat heard "
            "for the partner (null: never heard)."
        ),
    ]
    parameters: Annotated[
        dict[str, ParameterApplied],
        Meta(description="Per parameter; empty for a partner never heard or older than v3."),
    ]


class ParametersApplied(msgspec.Struct, kw_only=True):
    """Both units, the answering unit first."""

    units: list[UnitApplied]
