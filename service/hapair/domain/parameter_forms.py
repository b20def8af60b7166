"""The HA parameters as the API reads and answers them: a PUT body, a merge patch, and the
resource (the parameters with their revision), all derived from ``HAParameters``.

The services build the resource (and the API answers it), so it is a domain type; the write
and the patch exist for the OpenAPI document (the domain decodes the raw JSON itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args, get_type_hints

import msgspec
from msgspec import UNSET, UnsetType

from hapair.domain import parameters as p

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
