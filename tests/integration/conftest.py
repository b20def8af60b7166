"""Fixtures for the process-level tests: real ``hapair serve`` processes over HTTP.

The unit (``tests.units.Unit``) and the API checks (``tests.api_checks``) are shared with the
in-process tier (tests/inprocess/), which runs the same flags inside the test process; a test
belongs here when it needs what only a process has (a pid, signals, SIGKILL, its own output,
``hapair serve``'s start-up and exit, a listener's limits) or a second unit.
Module-scoped units keep the suite fast (a process start costs ~1.5 s); tests that need a
fresh unit (known revisions, environment overrides) start their own with :func:`start_unit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_checks import (
    DEFAULTS,
    MERGE_PATCH,
    PARAMS,
    RFC3339_UTC,
    assert_unchanged,
    create_token,
    log_events,
    problem,
    reset_parameters,
    revision_of,
    run_serve,
)
from tests.integration.lanpair import LanPair
from tests.integration.pairs import Pair
from tests.netns import Lan
from tests.support import HapairFactory
from tests.units import (
    ADMIN_TOKEN,
    DIRECT_HOST,
    PARTNER_HOST,
    SHARED_HOST,
    MakeUnit,
    Unit,
    admin_client,
    made_units,
    start_unit,
    wait_active_on_shared,
)

__all__ = [
    "ADMIN_TOKEN",
    "DEFAULTS",
    "DIRECT_HOST",
    "MERGE_PATCH",
    "PARAMS",
    "PARTNER_HOST",
    "RFC3339_UTC",
    "SHARED_HOST",
    "MakePair",
    "MakeUnit",
    "Unit",
    "assert_unchanged",
    "create_token",
    "log_events",
    "problem",
    "reset_parameters",
    "revision_of",
    "run_serve",
    "start_unit",
    "wait_active_on_shared",
]

MakePair = Callable[..., Pair]


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HapairFactory]:
    """A HapairFactory whose processes live as long as the test module."""
    factory = HapairFactory(tmp_path_factory.mktemp("hapair-module"))
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def ha_unit(module_factory: HapairFactory) -> Iterator[Unit]:
    """An HA unit alone (active, on its shared address), admin token ``ADMIN_TOKEN``."""
    unit = start_unit(module_factory, module_factory.directory / "unit-data")
    try:
        yield unit
    finally:
        unit.close_clients()


@pytest.fixture
def make_unit(hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[MakeUnit]:
    """``make_unit(name="d", **start_unit_kwargs) -> Unit``: a fresh unit for this test only."""
    yield from made_units(
        lambda name, **kwargs: start_unit(hapair_factory, tmp_path / name, **kwargs)
    )


@pytest.fixture
def api(ha_unit: Unit) -> Iterator[httpx.Client]:
    """An admin client on the module unit's shared address, parameters reset to defaults."""
    yield from admin_client(ha_unit)


@pytest.fixture
def make_pair(hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[MakePair]:
    """``make_pair(**pair_kwargs) -> Pair`` in ``tmp_path``; every pair made is closed after."""
    pairs: list[Pair] = []

    def make(**kwargs: Any) -> Pair:
        made = Pair(hapair_factory, tmp_path, **kwargs)
        pairs.append(made)
        return made

    try:
        yield make
    finally:
        for made in pairs:
            made.close()


@pytest.fixture
def pair(make_pair: MakePair) -> Pair:
    """A pair with the default arguments, not started (``pair.start_both()``)."""
    return make_pair()


@pytest.fixture
def lan() -> Iterator[Lan]:
    """Two unit namespaces and a client on one bridge (``tests.netns.Lan``), removed after."""
    with Lan() as net:
        yield net


@pytest.fixture
def lan_pair(lan: Lan, hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[LanPair]:
    """A pair on ``lan`` (``LanPair``: each unit in its namespace), not started; closed after."""
    made = LanPair(lan, hapair_factory, tmp_path / "pair")
    try:
        yield made
    finally:
        made.close()
