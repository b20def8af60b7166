"""The in-process tier: lone units run inside the test process (``runner.InProcess``), each on a
database of its own in a real Redis this session starts, driven by Litestar's TestClient.

The fixtures have the names and the meaning of tests/integration/conftest.py's (``ha_unit``,
``api``, ``make_unit``), so a test reads the same in either tier; a unit here is started with
the same flags and built by the same ``bootstrap.build`` as ``hapair serve``, without the
seconds a process takes to start. A test that needs a process (a pid, signals, SIGKILL,
``hapair serve``'s own start-up or exit, a listener's limits) or a second unit stays in
tests/integration/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.inprocess.runner import InProcessFactory, RedisDatabases, start_lone_unit
from tests.units import MakeUnit, Unit, admin_client, made_units


@pytest.fixture(scope="session")
def redis_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisDatabases]:
    """Fresh databases of real Redis servers for the in-process units of this session."""
    databases = RedisDatabases(tmp_path_factory.mktemp("inprocess-redis"))
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFactory]:
    """An InProcessFactory whose units live as long as the test module."""
    factory = InProcessFactory(tmp_path_factory.mktemp("inprocess-module"))
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def unit_factory(tmp_path: Path) -> Iterator[InProcessFactory]:
    """An InProcessFactory for this test only."""
    factory = InProcessFactory(tmp_path / "hapair")
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def ha_unit(module_factory: InProcessFactory, redis_databases: RedisDatabases) -> Iterator[Unit]:
    """An HA unit alone (active, on its shared address), admin token ``ADMIN_TOKEN``."""
    unit = start_lone_unit(module_factory, redis_databases, module_factory.directory / "unit-data")
    try:
        yield unit
    finally:
        unit.close_clients()


@pytest.fixture
def make_unit(
    unit_factory: InProcessFactory, redis_databases: RedisDatabases, tmp_path: Path
) -> Iterator[MakeUnit]:
    """``make_unit(name="d", **start_unit_kwargs) -> Unit``: a fresh unit for this test only."""
    yield from made_units(
        lambda name, **kwargs: start_lone_unit(
            unit_factory, redis_databases, tmp_path / name, **kwargs
        )
    )


@pytest.fixture
def api(ha_unit: Unit) -> Iterator[httpx.Client]:
    """An admin client on the module unit's shared address, parameters reset to defaults."""
    yield from admin_client(ha_unit)
