"""``hapair up``'s restart rule for a unit that exited, and how both ``hapair up`` commands
start their units (``cli/units.py``), without processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hapair.cli.units import serve_command, unit_env
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


def test_units_get_their_secrets_as_file_names_never_as_values(tmp_path: Path) -> None:
    command = serve_command(
        "first",
        listen="127.0.0.11:8080",
        partner="127.0.0.12:8080",
        shared="127.0.0.10:8080",
        data_dir=tmp_path,
        heartbeat_interval=0.5,
        extra=("--shared-interface", "eth0"),
    )
    flags = dict(zip(command[4::2], command[5::2], strict=True))
    assert command[1:4] == ["-m", "hapair", "serve"]
    assert flags == {
        "--listen": "127.0.0.11:8080",
        "--data-dir": str(tmp_path / "first"),
        "--mode": "first",
        "--partner": "127.0.0.12:8080",
        "--shared": "127.0.0.10:8080",
        "--shared-interface": "eth0",
        "--heartbeat-interval": "0.5",
        "--pair-key-file": str(tmp_path / "pair.key"),
        "--admin-token-file": str(tmp_path / "admin.token"),
    }


def test_unit_environment_carries_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from hapair.secretfiles import SECRET_ENV

    for name in SECRET_ENV:
        monkeypatch.setenv(name, "secret")
    monkeypatch.setenv("HAPAIR_LOG_LEVEL", "info")
    env = unit_env()
    assert not set(SECRET_ENV) & set(env)
    assert env["HAPAIR_LOG_LEVEL"] == "info"
