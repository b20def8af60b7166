"""The core's own ``replace`` (engine/core/frozen.py) makes the record ``dataclasses.replace``
makes, for every frozen record of the core: the shortcut holds only while none of them has a
``__post_init__``, an ``InitVar`` or an ``init=False`` field, which this checks too."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from hapair.engine.core import events_actions, frozen, state
from hapair.engine.core import machine as m

RECORDS = sorted(
    {
        cls
        for module in (state, events_actions)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
    },
    key=lambda c: c.__qualname__,
)


def test_there_are_records_to_check() -> None:
    assert len(RECORDS) > 20, RECORDS
    assert m.State in RECORDS and m.Tick in RECORDS


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__qualname__)
def test_the_shortcut_holds_for(cls: type) -> None:
    assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
    assert not hasattr(cls, "__post_init__"), cls
    for f in dataclasses.fields(cls):
        assert f.init, (cls, f.name)
        assert not isinstance(f.type, dataclasses.InitVar), (cls, f.name)


def test_same_record_as_dataclasses_replace() -> None:
    config = m.Config(unit="first", mode="first", shared_address="127.0.0.10:8080")
    s, _ = m.boot(config, m.Params(ha_timeout=3.0), 0, 100.0, 1000.0)
    for ours, theirs in (
        (frozen.replace(s, revision=7), dataclasses.replace(s, revision=7)),
        (frozen.replace(s, stopped=True), dataclasses.replace(s, stopped=True)),
        (frozen.replace(s, told=s.told), dataclasses.replace(s, told=s.told)),
    ):
        assert ours == theirs
        assert ours.__dict__ == theirs.__dict__
        assert ours is not s
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.replace(s, revision=1).revision = 2  # type: ignore[misc]


def test_unknown_field_refused() -> None:
    tick = m.Tick(now=1.0)
    with pytest.raises(TypeError, match="has no field 'nope'"):
        frozen.fast_replace(tick, nope=1)
