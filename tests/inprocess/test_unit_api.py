"""``/api/v1/unit``: the unit view, pending settings, reboot, boot counting and pacify."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from hapair.domain.version import PROTOCOL, VERSION
from tests.api_checks import (
    MERGE_PATCH,
    PARAMS,
    RFC3339_UTC,
    problem,
)
from tests.ports import free_port
from tests.support import poll
from tests.units import (
    DIRECT_HOST,
    PARTNER_HOST,
    MakeUnit,
    Unit,
    wait_active_on_shared,
)

UNIT = "/api/v1/unit"


def _reboot(client: httpx.Client) -> dict[str, Any]:
    """POST /unit/reboot and wait for the new boot; returns the new unit view."""
    old = client.get(UNIT).json()["boot_id"]
    r = client.post(f"{UNIT}/reboot")
    assert r.status_code == 202, r.text

    def rebooted() -> dict[str, Any] | None:
        view: dict[str, Any] = client.get(UNIT).json()
        return view if view["boot_id"] != old else None

    return poll(rebooted, timeout=10, what="a new boot_id after POST /unit/reboot")


def _refuses_connections(base: str) -> bool:
    try:
        httpx.get(f"{base}/healthz", timeout=1)
    except httpx.ConnectError:
        return True
    return False


def test_get_unit_answers_every_field(ha_unit: Unit) -> None:
    r = ha_unit.client(shared=False).get(UNIT)
    assert r.status_code == 200, r.text
    view = r.json()
    assert set(view) == {
        "name",
        "mode",
        "pending",
        "reboot_required",
        "address",
        "partner_address",
        "shared_address",
        "boot_id",
        "booted_at",
        "boots_in_window",
        "pacified",
        "maintenance",
        "tracks",
        "version",
        "protocol",
        "redis_version",
    }
    assert view["version"] == VERSION
    assert view["protocol"] == PROTOCOL
    assert isinstance(view["redis_version"], str) and view["redis_version"]
    assert view["maintenance"] == {"enabled": False, "reason": None, "since": None}
    assert view["tracks"] == []
    assert view["name"] == "first"
    assert view["mode"] == "first"
    assert view["pending"] is None
    assert view["reboot_required"] is False
    assert f"http://{view['address']}" == ha_unit.direct
    assert view["shared_address"] == ha_unit.shared_address
    assert view["partner_address"].startswith(f"{PARTNER_HOST}:")
    assert re.fullmatch(r"[0-9a-f]{16,}", view["boot_id"]), view["boot_id"]
    assert RFC3339_UTC.match(view["booted_at"]), view["booted_at"]
    assert view["boots_in_window"] == 1
    assert view["pacified"] is False
    # The same unit answers on the shared address.
    assert ha_unit.client().get(UNIT).json()["boot_id"] == view["boot_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "bogus"},
        {"mode": None},
        {"mode": 1},
        {"shared_address": "not-an-ip:8080"},
        {"shared_address": "127.0.0.30"},
        {"shared_address": "127.0.0.30:0"},
        {"shared_address": "127.0.0.30:70000"},
        {"shared_address": 5},
        {"partner_address": "bad host:80"},
        {"partner_address": ["127.0.0.1:1"]},
        {"partner_address": None},  # mode first needs a partner
        {"shared_address": None},  # and a shared address
        {"name": "second"},
        {"boot_id": "x"},
        [],
        "first",
    ],
)
def test_patch_unit_invalid_answers_422_and_stores_nothing(ha_unit: Unit, body: object) -> None:
    client = ha_unit.client(shared=False)
    before = client.get(UNIT).json()
    unit_file = (ha_unit.data_dir / "unit.json").read_bytes()
    r = client.patch(UNIT, json=body, headers={"content-type": MERGE_PATCH})
    problem(r, 422, "validation")
    assert client.get(UNIT).json() == before
    assert (ha_unit.data_dir / "unit.json").read_bytes() == unit_file


def test_patch_unit_malformed_or_wrong_media_type_is_refused(ha_unit: Unit) -> None:
    client = ha_unit.client(shared=False)
    before = client.get(UNIT).json()
    problem(
        client.patch(UNIT, content=b"{", headers={"content-type": MERGE_PATCH}), 400, "malformed"
    )
    problem(
        client.patch(UNIT, content=b"{}", headers={"content-type": "text/plain"}),
        415,
        "unsupported-media-type",
    )
    assert client.get(UNIT).json() == before


def test_patch_unit_stores_pending_and_reboot_applies_it(make_unit: MakeUnit) -> None:
    unit = make_unit()
    direct = unit.client(shared=False)
    first = direct.get(UNIT).json()
    new_shared = f"127.0.0.20:{free_port('127.0.0.20')}"

    r = direct.patch(
        UNIT, json={"shared_address": new_shared}, headers={"content-type": MERGE_PATCH}
    )
    assert r.status_code == 202, r.text
    view = r.json()
    assert view["pending"] == {"shared_address": new_shared}
    assert view["reboot_required"] is True
    assert view["shared_address"] == unit.shared_address  # not applied yet
    assert direct.get(UNIT).json() == view
    stored = json.loads((unit.data_dir / "unit.json").read_text())
    assert stored["pending"] == {"shared_address": new_shared}
    # application/json is accepted as well; the same value twice stays one pending change.
    r = direct.patch(UNIT, json={"shared_address": new_shared})
    assert r.status_code == 202, r.text
    assert r.json()["pending"] == {"shared_address": new_shared}

    after = _reboot(direct)
    assert after["shared_address"] == new_shared
    assert after["pending"] is None
    assert after["reboot_required"] is False
    assert after["boots_in_window"] == first["boots_in_window"] + 1
    assert after["boot_id"] != first["boot_id"]
    assert after["booted_at"] >= first["booted_at"]
    old_shared = unit.shared
    unit.shared, unit.shared_address = f"http://{new_shared}", new_shared
    wait_active_on_shared(unit)
    poll(
        lambda: _refuses_connections(str(old_shared)), timeout=5, what="old shared address released"
    )
    params = unit.client().get(PARAMS).json()
    assert (params["virtual_id"], params["virtual_id_source"]) == (20, "auto")

    # Back to non_ha: HA resources go away, the shared address is released.
    r = direct.patch(UNIT, json={"mode": "non_ha"})
    assert r.status_code == 202, r.text
    assert r.json()["pending"] == {"mode": "non_ha"}
    after = _reboot(direct)
    assert (after["name"], after["mode"], after["pending"]) == ("standalone", "non_ha", None)
    assert after["boots_in_window"] == first["boots_in_window"] + 2
    problem(direct.get(PARAMS), 409, "ha-disabled")
    poll(lambda: _refuses_connections(unit.shared or ""), timeout=5, what="shared address released")


def test_reboot_counts_boots_and_pacifies_then_clears_after_window(make_unit: MakeUnit) -> None:
    window, max_boots = 3, 3
    unit = make_unit(
        env={"HAPAIR_PACIFY_WINDOW_S": str(window), "HAPAIR_PACIFY_MAX_BOOTS": str(max_boots)}
    )
    direct = unit.client(shared=False)
    view = direct.get(UNIT).json()
    assert (view["boots_in_window"], view["pacified"]) == (1, False)
    # Reboot quickly until pacified: exactly when more than max_boots fall in the window.
    for _ in range(8):
        view = _reboot(direct)
        if view["pacified"]:
            break
        assert view["boots_in_window"] <= max_boots, view
    assert view["pacified"] is True, view
    assert view["boots_in_window"] == max_boots + 1, view
    assert httpx.get(f"{unit.direct}/readyz").json()["role"] == "pacified"
    assert unit.shared is not None
    poll(lambda: _refuses_connections(str(unit.shared)), timeout=5, what="shared address released")
    problem(direct.patch(PARAMS, json={"ha_timeout": 3}), 409, "pacified")
    problem(direct.put(PARAMS, json={}), 409, "pacified")
    problem(direct.post(f"{UNIT}/takeover"), 409, "pacified")
    # the machine's refusal (the API checks nothing of its own), worded as the writes'
    taken = direct.post(f"{UNIT}/takeover").json()["detail"]
    assert taken == direct.put(PARAMS, json={}).json()["detail"]
    assert direct.get(PARAMS).status_code == 200  # reads still work
    me = next(u for u in direct.get("/api/v1/ha/status").json()["units"] if u["name"] == "first")
    assert (me["role"], me["icon"]) == ("pacified", "blue")
    # A boot inside the window keeps it pacified.
    view = _reboot(direct)
    assert view["pacified"] is True

    # Wait out the window (no boot for `window` seconds), then a boot clears it.
    poll(
        lambda: direct.get(UNIT).json()["boots_in_window"] == 0,
        timeout=window + 5,
        interval=0.1,
        what="the pacify window to pass",
    )
    view = _reboot(direct)
    assert (view["pacified"], view["boots_in_window"]) == (False, 1)
    wait_active_on_shared(unit)
    r = unit.client().patch(PARAMS, json={"ha_timeout": 3})
    assert r.status_code == 200, r.text


def test_a_reboot_asked_for_during_a_reboot_is_a_boot_too(make_unit: MakeUnit) -> None:
    """Every 202 from ``POST /unit/reboot`` is a boot: one asked for while the last is still
    booting (its new boot_id already shows) runs when that one is done, it is not dropped."""
    unit = make_unit(env={"HAPAIR_PACIFY_WINDOW_S": "120", "HAPAIR_PACIFY_MAX_BOOTS": "10"})
    direct = unit.client(shared=False)
    assert direct.get(UNIT).json()["boots_in_window"] == 1
    for _ in range(3):
        r = direct.post(f"{UNIT}/reboot")
        assert r.status_code == 202, r.text
    poll(
        lambda: direct.get(UNIT).json()["boots_in_window"] >= 3,
        timeout=15,
        what="the reboots asked for to boot",
    )
    view = poll(
        lambda: (v := direct.get(UNIT).json())["boots_in_window"] == 4 and v,
        timeout=15,
        what="4 boots: the first and one per 202 (the ones asked for mid-reboot included)",
    )
    assert view["pacified"] is False


def test_boot_times_persist_across_process_restarts(make_unit: MakeUnit) -> None:
    env = {"HAPAIR_PACIFY_WINDOW_S": "120", "HAPAIR_PACIFY_MAX_BOOTS": "2"}
    unit = make_unit(env=env)
    direct = unit.client(shared=False)
    view = direct.get(UNIT).json()
    assert (view["boots_in_window"], view["pacified"]) == (1, False)
    view = _reboot(direct)
    assert (view["boots_in_window"], view["pacified"]) == (2, False)
    assert unit.proc.terminate() == 0
    boots = json.loads((unit.data_dir / "boots.json").read_text())
    assert len(boots["boots"]) == 2

    again = make_unit(env=env, wait_active=False)
    assert again.data_dir == unit.data_dir
    view = again.client(shared=False).get(UNIT).json()
    assert (view["boots_in_window"], view["pacified"]) == (3, True)
    assert httpx.get(f"{again.direct}/readyz").json()["role"] == "pacified"

    # And the pacified flag itself survives a restart too.
    assert again.proc.terminate() == 0
    third = make_unit(env=env, wait_active=False)
    view = third.client(shared=False).get(UNIT).json()
    assert (view["boots_in_window"], view["pacified"]) == (4, True)


def test_unit_endpoints_on_non_ha_unit(make_unit: MakeUnit) -> None:
    unit = make_unit(ha=False, extra_args=["--pair-key", "it-pair-key-0123456789"])
    client = unit.client()
    view = client.get(UNIT).json()
    assert (view["name"], view["mode"], view["shared_address"]) == ("standalone", "non_ha", None)
    assert f"http://{view['address']}".startswith(f"http://{DIRECT_HOST}:")
    assert view["pacified"] is False
    partner = f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}"
    # HA mode needs both addresses: naming only the mode is refused, with both fields named.
    body = problem(client.patch(UNIT, json={"mode": "second"}), 422, "validation")
    assert {"/partner_address", "/shared_address"} <= {e["pointer"] for e in body["errors"]}
    ha = {"mode": "second", "partner_address": partner, "shared_address": "127.0.0.10:1"}
    r = client.patch(UNIT, json=ha)
    assert r.status_code == 202, r.text
    assert r.json()["pending"] == ha

    # Without a pair key the unit could not run in HA mode: refused now, not at the reboot.
    keyless = make_unit("keyless", ha=False).client()
    body = problem(keyless.patch(UNIT, json=ha), 422, "validation")
    assert [e["pointer"] for e in body["errors"]] == ["/mode"]
    assert "pair key" in body["errors"][0]["detail"]
    assert keyless.get(UNIT).json()["pending"] is None
