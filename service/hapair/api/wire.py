"""Wire structs: what the API reads and answers (the OpenAPI document is built from these)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, get_args, get_type_hints

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hapair.domain import parameters as p

# The API answers these domain types as they are (their fields are the contract): re-exported
# here so every struct the OpenAPI document names is found in one module.
from hapair.domain.history import Conflict, ConflictsPage, HistoryItem, HistoryPage
from hapair.domain.tokens import TokenCreate, TokenCreated, TokenItem, TokenList
from hapair.domain.unit import MaintenanceView, UnitPatch, UnitView

__all__ = [
    "Accepted",
    "AnnounceResult",
    "Conflict",
    "ConflictsPage",
    "ForcePartnerUpdateResult",
    "HAParametersPatch",
    "HAParametersResource",
    "HAParametersWrite",
    "Health",
    "HistoryItem",
    "HistoryPage",
    "MaintenanceView",
    "MaintenanceWrite",
    "Problem",
    "ProblemField",
    "Revision",
    "RollbackRequest",
    "SwitchoverCheck",
    "SwitchoverResult",
    "TokenCreate",
    "TokenCreated",
    "TokenItem",
    "TokenList",
    "UnitPatch",
    "UnitView",
]

Revision = p.Revision


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


# The three wire forms of the HA parameters are derived from the domain's ``HAParameters`` (each
# field's type, range, description and default written once there) and ``ReadOnlyFields``:
# adding a parameter is one edit. Their docstrings are the components' descriptions.
_PARAMETER_TYPES: dict[str, Any] = get_type_hints(p.HAParameters, include_extras=True)
_READ_ONLY_TYPES: dict[str, Any] = get_type_hints(p.ReadOnlyFields, include_extras=True)


def _derive(name: str, doc: str, fields: list[Any], *, closed: bool) -> type[msgspec.Struct]:
    return msgspec.defstruct(
        name,
        fields,
        module=__name__,
        namespace={"__doc__": doc},
        kw_only=True,
        forbid_unknown_fields=closed,
    )


def _write_fields() -> list[Any]:
    """Every parameter with its default, then the read-only fields, optional."""
    fields: list[Any] = [
        (name, _PARAMETER_TYPES[name], getattr(p.DEFAULTS, name)) for name in p.PARAMETER_FIELDS
    ]
    return fields + [(name, hint | None, None) for name, hint in _READ_ONLY_TYPES.items()]


def _patch_fields() -> list[Any]:
    """Every field of a write, nullable (``null`` resets) and absent unless sent."""
    return [(name, hint | None | UnsetType, UNSET) for name, hint, _ in _write_fields()]


def _resource_fields() -> list[Any]:
    """Every parameter, all required; the virtual ID is the effective one (never null) and its
    source follows it; the revision and its time close the object."""
    fields: list[Any] = []
    for name in p.PARAMETER_FIELDS:
        hint = _PARAMETER_TYPES[name]
        if name == "virtual_id":
            (effective,) = [arg for arg in get_args(hint) if arg is not type(None)]
            fields += [
                (name, effective),
                ("virtual_id_source", _READ_ONLY_TYPES["virtual_id_source"]),
            ]
        else:
            fields.append((name, hint))
    return fields + [(name, _READ_ONLY_TYPES[name]) for name in ("revision", "updated_at")]


if TYPE_CHECKING:
    # mypy cannot see the fields of a class msgspec.defstruct makes, so it reads this view. Typed
    # code builds and reads the resource: it has the domain's fields and the read-only ones
    # (mypy types virtual_id as the domain's ``int | None``; in a resource it is never null). No
    # code builds or reads a write or a patch (the handlers take the raw JSON and the domain
    # decodes it): they exist for the OpenAPI document, and mypy needs only their names.
    class HAParametersWrite(msgspec.Struct):
        """A PUT body (see the runtime definition)."""

    class HAParametersPatch(msgspec.Struct):
        """A merge-patch body (see the runtime definition)."""

    class HAParametersResource(p.HAParameters, p.ReadOnlyFields, frozen=True, kw_only=True):
        """The parameters as answered (see the runtime definition)."""

else:
    HAParametersWrite = _derive(
        "HAParametersWrite",
        # The text of a class docstring, indented as one (the document shows it as written).
        """The HA parameters as written with PUT (omitted fields take their defaults).

    Read-only fields may be sent back as read: ``revision``, when given, must be the current
    revision; ``updated_at`` and ``virtual_id_source`` are ignored.
    """,
        _write_fields(),
        closed=True,
    )
    HAParametersPatch = _derive(
        "HAParametersPatch",
        "A JSON merge patch (RFC 7396) of the HA parameters; ``null`` resets a field.",
        _patch_fields(),
        closed=True,
    )
    HAParametersResource = _derive(
        "HAParametersResource",
        "The HA parameters as stored, with the effective virtual ID and the revision.",
        _resource_fields(),
        closed=False,
    )


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
