"""Shared fixtures: real Redis servers and hapair processes, always stopped by pid."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from hapair.store.embedded import EmbeddedRedis
from tests.support import HapairFactory, make_redis

# Property tests and the simulation draw the same examples on every run (``derandomize``): a
# run of the suite, CI's included, passes or fails on the code, never on the draw. To explore
# (new examples each run, as the long simulation runs do): HAPAIR_HYPOTHESIS=explore, with
# ``--hypothesis-seed=N`` to replay one.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(
    "explore" if os.environ.get("HAPAIR_HYPOTHESIS") == "explore" else "repeatable"
)


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
