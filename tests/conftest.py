"""Shared fixtures: real Redis servers and hapair processes, always stopped by pid."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from hapair.store.embedded import EmbeddedRedis
from tests.netns_lan import remove_orphaned_lans
from tests.support import HapairFactory, make_redis

# Property tests and the simulation draw the same examples on every run (``derandomize``): a
# run of the suite, CI's included, passes or fails on the code, never on the draw. The draw
# depends on the test function alone, not on which xdist worker runs it or after what, and
# ``derandomize`` turns the example database off (no .hypothesis/ shared by workers). To explore
# (new examples each run, as the long simulation runs do): HAPAIR_HYPOTHESIS=explore, with
# ``--hypothesis-seed=N`` to replay one.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(
    "explore" if os.environ.get("HAPAIR_HYPOTHESIS") == "explore" else "repeatable"
)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Without pytest-xdist (``-p no:xdist``, or not installed) the addopts' ``-n 4 --dist
    loadgroup`` are accepted and ignored: the suite runs one test at a time, as with ``-n 0``."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "absent: -n and --dist are ignored")
    # pytest keeps lowercase short options for itself and its plugins: xdist adds -n the same way
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)
    group.addoption("--dist", dest="dist", default="no")


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("xdist"):  # its mark, known (and meaningless) alone
        config.addinivalue_line("markers", "xdist_group(name): one xdist worker runs the group")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Namespaces a killed test process left (``tests.netns_lan.remove_orphaned_lans``) go
    before this session (each xdist worker's too) makes its own."""
    if os.geteuid() == 0 and shutil.which("ip"):
        for ns in remove_orphaned_lans():
            print(f"removed namespace {ns}: its test process is gone")


# pytest-xdist (``-n``/``--dist loadgroup`` in pyproject.toml's addopts) hands tests to its
# workers one at a time, except the tests of one ``xdist_group``, which run on one worker one
# after another. A module of tests/integration/ whose tests share a module-scoped fixture (a
# running unit, a built image) is one group: else each worker running one of its tests would
# start that unit (or build that image) again. Groups named by hand are kept (e.g. "timing").
@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function) or item.get_closest_marker("xdist_group"):
            continue
        if "/tests/integration/" not in str(item.path) and "/tests/fuzz/" not in str(item.path):
            continue
        defs = item._fixtureinfo.name2fixturedefs.values()
        if any(fixture_defs[-1].scope == "module" for fixture_defs in defs if fixture_defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A started redis-server on a free port, hapair's own ``EmbeddedRedis`` (locked down:
    connect with its ``url``); stopped by pid at teardown whatever happened."""
    with make_redis(tmp_path / "redis-server") as server:
        yield server


@pytest.fixture
def hapair_factory(tmp_path: Path) -> Iterator[HapairFactory]:
    """``make(args, env=None) -> HapairProcess``: each one is terminated at teardown.

    Each process's log tail is printed at teardown; pytest shows it when the test fails.
    """
    factory = HapairFactory(tmp_path / "hapair")
    try:
        yield factory
    finally:
        factory.close()
