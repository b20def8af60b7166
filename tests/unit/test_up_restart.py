"""``hapair up``'s restart rule for a unit that exited, without processes."""

from __future__ import annotations

from typing import Any

import pytest

from hapair.cli.up import RESTART_AFTER_S, should_restart


def _status(active: str | None) -> dict[str, Any]:
    return {"pair": {"state": "degraded", "active": active}, "units": []}


@pytest.mark.parametrize(
    ("exited_for_s", "partner_status", "expected"),
    [
        (0.1, _status("second"), True),  # the partner took over: start the unit again
        (0.1, _status("first"), False),  # the partner still sees the exited unit as active
        (0.1, _status(None), False),  # nobody active yet
        (0.1, None, False),  # the partner does not answer
        (RESTART_AFTER_S - 0.1, None, False),
        (RESTART_AFTER_S, None, True),  # after 20 s whatever the partner says
        (RESTART_AFTER_S, _status("first"), True),
    ],
)
def test_exited_unit_restarts_once_partner_took_over_or_after_the_bound(
    exited_for_s: float, partner_status: dict[str, Any] | None, expected: bool
) -> None:
    assert should_restart(exited_for_s, partner_status, partner="second") is expected
