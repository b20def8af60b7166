"""Operations of a unit: Prometheus metrics, JSON log lines, keep-alive without Nagle delay."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hapair.domain.version import VERSION
from tests.api_checks import (
    PARAMS,
    problem,
    revision_of,
)
from tests.units import (
    Unit,
)


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _metric(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_route_and_status(ha_unit: Unit) -> None:
    client = ha_unit.client()
    anonymous = ha_unit.client(token=None)
    before = _samples(client.get("/metrics").text)
    for _ in range(3):
        assert client.get(PARAMS).status_code == 200
    assert anonymous.get(PARAMS).status_code == 401
    assert client.patch(PARAMS, json={"ha_timeout": 4}).status_code == 422
    revision = revision_of(client)
    assert client.get(f"{PARAMS}/history/{revision}").status_code in (200, 404)
    after = _samples(client.get("/metrics").text)

    def delta(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    total = "hapair_http_requests_total"
    # +1: revision_of() also reads the parameters.
    assert delta(total, route=PARAMS, method="GET", status="200") == 4
    assert delta(total, route=PARAMS, method="GET", status="401") == 1
    assert delta(total, route=PARAMS, method="PATCH", status="422") == 1
    history_routes = {
        dict(labels)["route"]
        for (name, labels) in after
        if name == total and dict(labels)["route"].startswith(f"{PARAMS}/history/")
    }
    assert history_routes, after
    assert all("{" in r for r in history_routes), (
        f"route label must be the template: {history_routes}"
    )
    hist = "hapair_http_request_duration_seconds"
    assert delta(f"{hist}_count", route=PARAMS) == 6
    assert _metric(after, f"{hist}_bucket", route=PARAMS, le="+Inf") == _metric(
        after, f"{hist}_count", route=PARAMS
    )
    assert _metric(after, f"{hist}_sum", route=PARAMS) > 0


def test_metrics_count_unknown_paths(ha_unit: Unit) -> None:
    client = ha_unit.client()
    before = _samples(client.get("/metrics").text)
    problem(client.get("/no/such/path"), 404, "not-found")
    after = _samples(client.get("/metrics").text)
    counted = sum(
        value - before.get((name, labels), 0.0)
        for (name, labels), value in after.items()
        if name == "hapair_http_requests_total" and dict(labels)["status"] == "404"
    )
    assert counted == 1, "a 404 on an unknown path must be counted (route 'unmatched')"


def test_metrics_report_role_and_revision(ha_unit: Unit) -> None:
    client = ha_unit.client()
    r = client.patch(PARAMS, json={"initial_wait_time": 1 + revision_of(client) % 100})
    assert r.status_code == 200
    samples = _samples(client.get("/metrics").text)
    assert _metric(samples, "hapair_role", role="active") == 1
    others = [
        v
        for (name, labels), v in samples.items()
        if name == "hapair_role" and dict(labels)["role"] != "active"
    ]
    assert others, samples
    assert all(v == 0 for v in others)
    assert _metric(samples, "hapair_revision") == r.json()["revision"]


# SPEC 4 "Metrics": every family a unit exposes (docs/metrics.md says what each means).
SPEC_FAMILIES = {
    "hapair_build_info": "gauge",
    "hapair_partner_up": "gauge",
    "hapair_partner_heartbeat_age_seconds": "gauge",
    "hapair_in_sync": "gauge",
    "hapair_serving_shared": "gauge",
    "hapair_pair_state": "gauge",
    "hapair_role_changes": "counter",
    "hapair_conflicts": "counter",
    "hapair_store_up": "gauge",
    "hapair_maintenance": "gauge",
    "hapair_track_ok": "gauge",
    "hapair_parameter_applied": "gauge",
    "hapair_refused": "counter",
    "hapair_role": "gauge",
    "hapair_http_requests": "counter",
}


def test_metrics_every_spec_family_without_created_series(ha_unit: Unit) -> None:
    client = ha_unit.client()
    anonymous = ha_unit.client(token=None)
    assert anonymous.get(PARAMS).status_code == 401
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in SPEC_FAMILIES.items():
        assert name in families, name
        assert families[name].type == kind, name
    assert [
        s.name for f in families.values() for s in f.samples if s.name.endswith("_created")
    ] == []
    samples = _samples(text)
    assert _metric(samples, "hapair_build_info", version=VERSION) == 1
    assert _metric(samples, "hapair_refused_total", reason="unauthorized") >= 1
    # a lone HA unit: active on its shared address, its partner never heard
    assert _metric(samples, "hapair_serving_shared") == 1
    assert _metric(samples, "hapair_partner_up") == 0
    assert _metric(samples, "hapair_partner_heartbeat_age_seconds") == float("inf")
    assert _metric(samples, "hapair_in_sync") == 0
    assert _metric(samples, "hapair_store_up") == 1
    assert _metric(samples, "hapair_maintenance") == 0
    assert _metric(samples, "hapair_conflicts_total") == 0
    states = {dict(k[1])["state"]: v for k, v in samples.items() if k[0] == "hapair_pair_state"}
    assert states == {
        "paired": 0,
        "degraded": 1,
        "split-brain": 0,
        "misconfigured": 0,
        "disabled": 0,
    }
    roles = {dict(k[1])["role"]: v for k, v in samples.items() if k[0] == "hapair_role"}
    assert sum(roles.values()) == 1 and roles["active"] == 1
