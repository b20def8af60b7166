"""A unit whose event-stream clients went away stops at once on SIGTERM (a process's stop, exit
status and log). The stream itself: tests/inprocess/test_events.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api_checks import (
    commit_threshold,
    problem,
)
from tests.integration.sse import EVENTS, Follower
from tests.support import HapairFactory
from tests.units import (
    start_unit,
)


@pytest.mark.parametrize("attempt", range(3))
def test_events_unit_whose_stream_clients_went_away_stops_at_once_on_sigterm(
    hapair_factory: HapairFactory, tmp_path: Path, attempt: int
) -> None:
    """A stop once waited for the fan-out reader forever: the cancellation of its blocked XREAD
    was lost (the reader task stayed 'cancelling', back in XREAD), until the SIGKILL 10 s later
    or the 15 s watchdog. It was seen after stream clients had gone away (``abandon``), in 3 of
    5 such stops; with later changes elsewhere this sequence stopped meeting the race (0 of 9
    on the old reader), so this test guards the stop itself: three units, each must exit by
    itself, status 0, no ``shutdown-stuck``."""
    unit = start_unit(
        hapair_factory, tmp_path / f"unit{attempt}", env={"HAPAIR_EVENTS_KEEPALIVE_S": "0.3"}
    )
    try:
        filtered = Follower(unit.direct, params={"types": "role,pair"})
        every = Follower(unit.direct, params={"types": "revision"})
        try:
            every.wait_revisions([commit_threshold(unit.client(), 4)])
        finally:
            filtered.abandon()
            every.abandon()
        bogus = unit.client(shared=False).get(EVENTS, params={"types": "bogus"})
        problem(bogus, 400, "malformed")
    finally:
        unit.close_clients()
    # Past the unit's own 15 s bound (serve.SHUTDOWN_BOUND_S), so that a stop that hangs logs
    # its stacks (and each step's time, ``closed``) before the SIGKILL: the failure says where.
    status = unit.proc.terminate(timeout=20)
    assert status == 0, f"exit {status} (-9: it had to be killed)\n{unit.proc.log_tail(80)}"
    assert "shutdown-stuck" not in unit.proc.log_text(), unit.proc.log_tail(80)
