"""Shared fixtures: real Redis servers and hapair processes, always stopped by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.store.embedded import EmbeddedRedis
from tests.support import HapairFactory, make_redis


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
