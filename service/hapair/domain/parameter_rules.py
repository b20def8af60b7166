"""Per-field rules read from a struct's annotations, so that each range is written once.

A field's type says what it accepts (``bool``; a ``Literal``; an ``int`` with ``Meta(ge, le)``;
a ``str`` with a ``Meta`` pattern) and, from the same facts, how a bad value is told: "an
integer from 0 to 180", "one of 3, 6, 9, 12, 15". Two texts the type cannot say come from the
``Meta``'s ``extra`` (which neither msgspec's nor Litestar's schema shows): ``expected`` for a
pattern-checked string, ``null`` for what null means in a nullable field.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Meta

BOOLEAN = "a boolean (true or false)"


@dataclass(frozen=True)
class FieldRule:
    """What one field accepts, and the words for what it expects."""

    hint: Any  # the full annotation: msgspec converts a value against it
    expected: str
    integer: bool  # an integral float counts as its int; a boolean is not an integer
    nullable: bool
    full_match: re.Pattern[str] | None

    def convert(self, name: str, value: Any) -> tuple[Any, str | None]:
        """The value as the field's type, or None and the problem with it.

        Args:
            name: The field's name, for the message.
            value: The JSON-decoded value (not null).

        Returns:
            ``(converted, None)``, or ``(None, "<name> must be <expected>, got <value>")``.
        """
        if self.integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not (self.integer and isinstance(value, bool)):
            try:
                converted = msgspec.convert(value, self.hint, strict=True)
            except msgspec.ValidationError:
                pass
            else:
                if self.full_match is None or self.full_match.fullmatch(converted):
                    return converted, None
        return None, f"{name} must be {self.expected}, got {_show(value)}"


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _parts(hint: Any) -> tuple[Any, Meta, bool]:
    """The base type, its (merged) constraints and whether null is allowed."""
    nullable = False
    if get_origin(hint) in (Union, types.UnionType):
        args = get_args(hint)
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"no field rule for a union of {rest}")
        nullable, hint = len(rest) < len(args), rest[0]
    metas: list[Meta] = []
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        metas = [m for m in extras if isinstance(m, Meta)]
    if len(metas) > 1:
        raise TypeError(f"no field rule for several Meta on {hint}")
    return hint, (metas[0] if metas else Meta()), nullable


def _expected(name: str, base: Any, meta: Meta) -> str:
    extra = meta.extra or {}
    if base is bool:
        return BOOLEAN
    if get_origin(base) is Literal:
        return "one of " + ", ".join(str(v) for v in get_args(base))
    if base is int and meta.ge is not None and meta.le is not None:
        return f"an integer from {meta.ge} to {meta.le}"
    if base is str and "expected" in extra:
        return str(extra["expected"])
    raise TypeError(f"no field rule for {name}: {base} with {meta}")


def _rule(name: str, hint: Any) -> FieldRule:
    base, meta, nullable = _parts(hint)
    expected = _expected(name, base, meta)
    if nullable:
        meaning = (meta.extra or {}).get("null")
        expected += f", or null for {meaning}" if meaning else ", or null"
    literal = get_args(base) if get_origin(base) is Literal else ()
    integer = base is int or bool(literal and all(type(v) is int for v in literal))
    # msgspec patterns use re.search, where "$" also matches before a final newline.
    full_match = re.compile(meta.pattern.removesuffix("$") + r"\Z") if meta.pattern else None
    return FieldRule(hint, expected, integer, nullable, full_match)


def field_rules(struct: type[msgspec.Struct]) -> dict[str, FieldRule]:
    """Every field's rule, in field order.

    Args:
        struct: A struct whose fields are annotated as this module describes.

    Returns:
        The rule of each field, keyed by field name.

    Raises:
        TypeError: A field's annotation is not one this module can read.
    """
    hints = typing.get_type_hints(struct, include_extras=True)
    return {name: _rule(name, hints[name]) for name in struct.__struct_fields__}
