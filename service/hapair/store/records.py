"""Records kept in Redis: a schema version, and decoding that tolerates what a newer unit wrote.

SPEC 5 "Versions": stored records carry a schema version (the member ``schema``, absent in
records written before it existed: schema 0) and are read tolerantly: a member this build does
not know (written by a newer unit) is kept, never an error, and written back unchanged when
this build rewrites the record. A newer unit migrates older records on boot (``migrate_data``,
``store/migrate.py``); an older unit never rewrites newer ones (``Decoded.newer``).

Only stored records are tolerant: the API's request bodies stay strict (unknown fields 422).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import msgspec

SCHEMA: Final = 1  # the schema this build writes; +1 (and a migration) when a record changes
SCHEMA_KEY: Final = "schema"

# schema N -> N + 1, on a record's members (a dict). 0 -> 1: the schema member appears, the
# shape is unchanged.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: dict}


T = TypeVar("T")


@dataclass(frozen=True)
class Decoded(Generic[T]):
    """A record read back: its value, the schema it was written with, and the members this
    build does not know (top level, and per nested record under that record's name)."""

    value: T
    schema: int = SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def newer(self) -> bool:
        """Written by a newer hapair: this build must not rewrite it."""
        return self.schema > SCHEMA


def migrate_data(data: dict[str, Any], schema: int) -> dict[str, Any]:
    """A record's members migrated from ``schema`` to this build's (a newer one as it is)."""
    while schema < SCHEMA:
        data = MIGRATIONS[schema](data)
        schema += 1
    return data


def _nested(type_: type[Any]) -> dict[str, type[msgspec.Struct]]:
    """The members of ``type_`` that are records themselves, by their encoded name."""
    out: dict[str, type[msgspec.Struct]] = {}
    for f in msgspec.structs.fields(type_):
        if isinstance(f.type, type) and issubclass(f.type, msgspec.Struct):
            out[f.encode_name] = f.type
    return out


def split(data: dict[str, Any], type_: type[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data``'s members ``type_`` knows, and the others (nested records' unknown members
    under the nested record's name)."""
    names = {f.encode_name for f in msgspec.structs.fields(type_)}
    known = {k: v for k, v in data.items() if k in names}
    extra = {k: v for k, v in data.items() if k not in names}
    for name, inner in _nested(type_).items():
        value = known.get(name)
        if isinstance(value, dict):
            known[name], inner_extra = split(value, inner)
            if inner_extra:
                extra[name] = inner_extra
    return known, extra


def decode(raw: bytes | str, type_: type[T]) -> Decoded[T]:
    """A stored record, read tolerantly: unknown members are kept aside, an older schema is
    migrated in memory. Raises ``msgspec.DecodeError``/``ValidationError`` when it is not a
    record of that type at all (a known member of the wrong type)."""
    data = msgspec.json.decode(raw)
    if not isinstance(data, dict):
        raise msgspec.ValidationError(f"a stored record is a JSON object, not {type(data)}")
    schema = data.pop(SCHEMA_KEY, 0)
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise msgspec.ValidationError(f"schema must be an integer, not {schema!r}")
    known, extra = split(migrate_data(data, schema), type_)
    return Decoded(msgspec.convert(known, type_), schema, extra)


def to_data(value: msgspec.Struct, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``value``'s members with the kept unknown ones merged back (known members win)."""
    data: dict[str, Any] = msgspec.to_builtins(value)
    for k, v in (extra or {}).items():
        if k in data and isinstance(data[k], dict) and isinstance(v, dict):
            data[k] = {**v, **data[k]}
        elif k not in data:
            data[k] = v
    return data


def encode(value: msgspec.Struct, extra: dict[str, Any] | None = None) -> bytes:
    """A record as stored: this build's schema, and the unknown members it was read with."""
    return msgspec.json.encode({**to_data(value, extra), SCHEMA_KEY: SCHEMA})
