"""Shared fixtures: real Redis servers and hapair processes, always stopped by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import HapairFactory, RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started redis-server on a free port; stopped at teardown whatever happened."""
    server = RedisServer(tmp_path / "redis-server")
    try:
        server.start()
        yield server
    finally:
        server.close()


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
