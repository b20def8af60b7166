"""``replace`` for the core's frozen records (``state.py``, ``events_actions.py``).

``dataclasses.replace`` walks every field and calls the class's generated ``__init__`` with
all of them by keyword: about a third of a machine step, and the steps were the largest part
of an idle active's own CPU (issue 23 point 5, ``python -m bench.idle --sampled``). The core's
records have no ``__post_init__``, no ``InitVar`` and no ``init=False`` field (a test checks),
so a copy of the instance's ``__dict__`` with the changes is the same record.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any

__all__ = ["fast_replace", "field_names", "replace"]


@cache
def field_names(cls: Any) -> frozenset[str]:
    """The fields of a dataclass (``cls``: the class)."""
    return frozenset(f.name for f in dataclasses.fields(cls))


def fast_replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace(obj, **changes)`` for a frozen record of the core."""
    unknown = changes.keys() - field_names(obj.__class__)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {min(unknown)!r}")
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


if TYPE_CHECKING:
    # mypy checks every call's field names and types as dataclasses.replace's (its plugin)
    from dataclasses import replace
else:
    replace = fast_replace
