"""The generated SDK (``hapair_client``) against a real ``hapair serve``.

The unit runs in HA mode alone (active after ``initial_wait_time`` 0), so pair-wide writes go
to its shared address, as they would on a real pair.
"""

from __future__ import annotations

from typing import Any

import pytest
from hapair_client import AuthenticatedClient, Client
from hapair_client.api.ha import get_parameters, get_status, list_history, patch_parameters
from hapair_client.api.ops import healthz
from hapair_client.api.unit import get_unit
from hapair_client.models import HAParametersPatch, HAParametersResource, Problem

from tests.units import (
    ADMIN_TOKEN,
)


@pytest.fixture
def sdk(make_unit: Any) -> Any:
    """(admin client on the shared address, admin client on the direct address, unit)."""
    unit = make_unit("sdk")
    shared = AuthenticatedClient(base_url=unit.shared, token=ADMIN_TOKEN, timeout=10)
    direct = AuthenticatedClient(base_url=unit.direct, token=ADMIN_TOKEN, timeout=10)
    with shared, direct:
        yield shared, direct, unit


def test_sdk_reads_parameters_with_etag(sdk: Any) -> None:
    shared, direct, _ = sdk
    r = get_parameters.sync_detailed(client=shared)
    assert r.status_code == 200
    params = r.parsed
    assert isinstance(params, HAParametersResource)
    assert r.headers["etag"] == f'"{params.revision}"'
    assert params.ha_timeout == 9
    assert params.preferred_server == "none"
    assert params.virtual_id_source == "auto"
    # Reads are served on the direct address too.
    assert isinstance(get_parameters.sync(client=direct), HAParametersResource)


def test_sdk_patch_with_if_match_commits_one_revision(sdk: Any) -> None:
    shared, _, _ = sdk
    before = get_parameters.sync_detailed(client=shared)
    assert isinstance(before.parsed, HAParametersResource)
    etag = before.headers["etag"]
    r = patch_parameters.sync_detailed(
        client=shared,
        body=HAParametersPatch(ha_timeout=3, l4_sync_period=100),
        if_match=etag,
    )
    assert r.status_code == 200, r.content
    after = r.parsed
    assert isinstance(after, HAParametersResource)
    assert after.revision == before.parsed.revision + 1
    assert (after.ha_timeout, after.l4_sync_period) == (3, 100)
    assert r.headers["etag"] == f'"{after.revision}"'
    assert r.headers["ha-partner-acknowledged"] == "false"  # alone: no partner to acknowledge
    history = list_history.sync(client=shared, limit=1)
    assert not isinstance(history, Problem)
    assert history is not None
    assert history.items[0].revision == after.revision
    assert history.items[0].changes.additional_properties["ha_timeout"] == [9, 3]
    # null in a merge patch resets a field to its default.
    reset = patch_parameters.sync(client=shared, body=HAParametersPatch(ha_timeout=None))
    assert isinstance(reset, HAParametersResource)
    assert reset.ha_timeout == 9


def test_sdk_stale_if_match_is_a_typed_412_problem(sdk: Any) -> None:
    shared, _, _ = sdk
    current = get_parameters.sync(client=shared)
    assert isinstance(current, HAParametersResource)
    stale = f'"{current.revision}"'
    assert isinstance(
        patch_parameters.sync(client=shared, body=HAParametersPatch(use_broadcast=True)),
        HAParametersResource,
    )
    r = patch_parameters.sync_detailed(
        client=shared, body=HAParametersPatch(use_virtual_mac=True), if_match=stale
    )
    assert r.status_code == 412
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.parsed
    assert isinstance(problem, Problem)
    assert problem.type_ == "urn:hapair:problem:revision-mismatch"
    assert problem.status == 412
    assert str(current.revision) in problem.detail
    after = get_parameters.sync(client=shared)
    assert isinstance(after, HAParametersResource)
    assert after.use_virtual_mac is False  # nothing was stored


def test_sdk_cross_field_rule_is_a_typed_422_problem_naming_both_fields(sdk: Any) -> None:
    shared, _, _ = sdk
    r = patch_parameters.sync_detailed(
        client=shared, body=HAParametersPatch(l4_sync_threshold=50, l4_sync_period=20)
    )
    assert r.status_code == 422
    problem = r.parsed
    assert isinstance(problem, Problem)
    assert problem.type_ == "urn:hapair:problem:validation"
    assert problem.errors  # typed list of ProblemField
    pointers = sorted(e.pointer for e in problem.errors)
    assert pointers == ["/l4_sync_period", "/l4_sync_threshold"]
    assert (
        "l4_sync_threshold (50) must be less than l4_sync_period (20)" in problem.errors[0].detail
    )


def test_sdk_write_on_direct_address_is_use_shared_address_problem(sdk: Any) -> None:
    _, direct, unit = sdk
    problem = patch_parameters.sync(client=direct, body=HAParametersPatch(ha_timeout=6))
    assert isinstance(problem, Problem)
    assert problem.type_ == "urn:hapair:problem:use-shared-address"
    assert unit.shared_address in problem.detail


def test_sdk_status_unit_and_unauthenticated_ops(sdk: Any) -> None:
    shared, _, unit = sdk
    status = get_status.sync(client=shared)
    assert status is not None
    assert not isinstance(status, Problem)
    assert status.pair.active == "first"
    assert [u.role for u in status.units] == ["active", "not_operational"]
    me = get_unit.sync(client=shared)
    assert me is not None
    assert not isinstance(me, Problem)
    assert (me.name, me.mode, me.shared_address) == ("first", "first", unit.shared_address)
    anonymous = Client(base_url=unit.direct, timeout=10)
    with anonymous:
        health = healthz.sync(client=anonymous)
        assert health is not None
        assert health.status == "ok"
