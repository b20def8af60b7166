"""A unit's modes over its API: a non-HA unit answers the HA resources 409 ha-disabled, an HA
unit alone becomes active on the shared address and sends pair-wide writes there, and waits
out initial_wait_time after a boot. What ``hapair serve`` does as a process (its Redis child,
SIGTERM, --redis): tests/integration/test_serve.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api_checks import (
    PARAMS,
    problem,
    revision_of,
)
from tests.inprocess.runner import InProcessFactory, RedisDatabases, start_lone_unit
from tests.support import (
    poll,
)
from tests.units import (
    MakeUnit,
    Unit,
)


@pytest.fixture(scope="module")
def non_ha_unit(
    module_factory: InProcessFactory, redis_databases: RedisDatabases
) -> Iterator[Unit]:
    """A non-HA unit."""
    unit = start_lone_unit(
        module_factory, redis_databases, module_factory.directory / "non-ha", ha=False
    )
    try:
        yield unit
    finally:
        unit.close_clients()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", PARAMS, None),
        ("PUT", PARAMS, {}),
        ("PATCH", PARAMS, {"ha_timeout": 3}),
        ("GET", f"{PARAMS}/history", None),
        ("GET", f"{PARAMS}/history/1", None),
        ("POST", f"{PARAMS}/rollback", {"revision": 1}),
        ("GET", "/api/v1/ha/conflicts", None),
        ("POST", "/api/v1/ha/actions/force-partner-update", None),
    ],
)
def test_ha_resource_on_non_ha_unit_answers_409_ha_disabled(
    non_ha_unit: Unit, method: str, path: str, body: object
) -> None:
    client = non_ha_unit.client()
    r = client.request(method, path, json=body)
    problem(r, 409, "ha-disabled")


def test_ha_status_on_non_ha_unit_answers_disabled(non_ha_unit: Unit) -> None:
    r = non_ha_unit.client().get("/api/v1/ha/status")
    assert r.status_code == 200, r.text
    assert r.json()["pair"]["state"] == "disabled"
    assert r.json()["units"] == []


def test_ha_unit_alone_becomes_active_and_serves_shared_address(ha_unit: Unit) -> None:
    assert ha_unit.shared is not None
    ready = httpx.get(f"{ha_unit.shared}/readyz", timeout=2)
    assert ready.status_code == 200
    assert ready.json()["role"] == "active"
    assert httpx.get(f"{ha_unit.direct}/readyz").json()["role"] == "active"
    status = ha_unit.client(shared=False).get("/api/v1/ha/status").json()
    me = next(u for u in status["units"] if u["name"] == "first")
    assert me["role"] == "active"
    assert me["icon"] == "green-active"
    partner = next(u for u in status["units"] if u["name"] == "second")
    assert partner["role"] == "not_operational"
    assert partner["reason"] == "unreachable"
    # Reads work on the direct address too.
    r = ha_unit.client(shared=False).get(PARAMS)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", PARAMS, {}),
        ("PATCH", PARAMS, {"ha_timeout": 3}),
        ("POST", f"{PARAMS}/rollback", {"revision": 0}),
    ],
)
def test_pair_write_to_direct_address_answers_409_use_shared_address(
    ha_unit: Unit, method: str, path: str, body: object
) -> None:
    shared = ha_unit.client()
    before = revision_of(shared)
    direct = ha_unit.client(shared=False)
    r = direct.request(method, path, json=body)
    p = problem(r, 409, "use-shared-address")
    assert ha_unit.shared_address is not None
    assert ha_unit.shared_address in p["detail"]
    assert revision_of(shared) == before


def test_unit_with_initial_wait_time_becomes_active_only_after_it(make_unit: MakeUnit) -> None:
    unit = make_unit()
    client = unit.client()
    assert client.patch(PARAMS, json={"initial_wait_time": 2}).status_code == 200
    direct = unit.client(shared=False)
    old_boot = direct.get("/api/v1/unit").json()["boot_id"]
    assert direct.post("/api/v1/unit/reboot").status_code == 202
    start = time.monotonic()
    poll(
        lambda: direct.get("/api/v1/unit").json()["boot_id"] != old_boot,
        timeout=5,
        what="a new boot",
    )
    roles = []

    def active() -> bool:
        role = httpx.get(f"{unit.direct}/readyz", timeout=1).json().get("role")
        roles.append(role)
        return role == "active"

    poll(active, timeout=6, what="active after initial_wait_time")
    elapsed = time.monotonic() - start
    assert elapsed >= 1.8, (elapsed, roles)
    assert "not_operational" in roles, roles
    assert unit.shared is not None
    assert httpx.get(f"{unit.shared}/readyz", timeout=1).status_code == 200
