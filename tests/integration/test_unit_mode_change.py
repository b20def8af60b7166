"""Changing a unit's mode through the API: pending until the reboot, then in force."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.ports import free_port
from tests.support import HapairFactory, poll

pytestmark = pytest.mark.timeout(60)


def test_reboot_applies_pending_mode_and_unit_goes_active(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    port = free_port("127.0.0.10")
    direct, shared = f"http://127.0.0.11:{port}", f"http://127.0.0.10:{port}"
    proc = hapair_factory(
        [
            "--listen",
            f"127.0.0.11:{port}",
            "--data-dir",
            str(tmp_path / "u"),
            "--pair-key",
            "k-0123456789abcdef",
            "--admin-token",
            "adm-0123456789abcdef",
            "--heartbeat-interval",
            "0.3",
        ]
    )
    proc.wait_ready(direct)
    with httpx.Client(headers={"Authorization": "Bearer adm-0123456789abcdef"}, timeout=3) as c:
        assert c.get(f"{direct}/api/v1/ha/status").json() == {
            "pair": {"state": "disabled", "active": None},
            "units": [],
        }
        bad = c.patch(f"{direct}/api/v1/unit", json={"mode": "first"})
        assert bad.status_code == 422  # an HA mode needs both addresses
        assert {e["pointer"] for e in bad.json()["errors"]} >= {
            "/partner_address",
            "/shared_address",
        }
        assert c.get(f"{direct}/api/v1/unit").json()["pending"] is None
        staged = c.patch(
            f"{direct}/api/v1/unit",
            json={
                "mode": "first",
                "partner_address": f"127.0.0.12:{port}",
                "shared_address": f"127.0.0.10:{port}",
            },
        )
        assert staged.status_code == 202, staged.text
        unit = staged.json()
        assert unit["mode"] == "non_ha" and unit["reboot_required"] is True
        assert unit["pending"] == {
            "mode": "first",
            "partner_address": f"127.0.0.12:{port}",
            "shared_address": f"127.0.0.10:{port}",
        }
        assert c.post(f"{direct}/api/v1/unit/reboot").status_code == 202
        after = poll(
            lambda: (u := c.get(f"{direct}/api/v1/unit").json())["mode"] == "first" and u,
            timeout=10,
        )
        assert (
            after["pending"] is None
            and after["reboot_required"] is False
            and after["boots_in_window"] == 2
        )
        body = poll(
            lambda: (
                (s := c.get(f"{direct}/api/v1/ha/status").json())["pair"]["active"] == "first" and s
            ),
            timeout=10,
            what="first active after the reboot",
        )
        assert body["units"][0]["name"] == "first"
        assert c.patch(f"{shared}/api/v1/ha/parameters", json={"ha_timeout": 6}).status_code == 200
