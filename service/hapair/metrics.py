"""Prometheus metrics of one unit (a registry per app, so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hapair.engine.state import ENGINE_ROLES, STANDALONE

ROLES = (*ENGINE_ROLES, STANDALONE)  # the values of hapair_role's ``role`` label
APPLIED_STATES = ("applied", "pending", "unsupported", "failed")


class Metrics:
    """Requests by route and status, latency, role and revision."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hapair_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hapair_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.role = Gauge(
            "hapair_role", "1 for the unit's current role.", ["role"], registry=self.registry
        )
        self.revision = Gauge(
            "hapair_revision", "Revision of the HA parameters.", registry=self.registry
        )
        self.boots = Gauge(
            "hapair_boots_in_window", "Boots within the pacify window.", registry=self.registry
        )
        self.role_changes = Counter(
            "hapair_role_changes", "Role changes of this unit.", registry=self.registry
        )
        self.parameter_applied = Gauge(
            "hapair_parameter_applied",
            "1 for each HA parameter's applied state on this unit (applied, pending, "
            "unsupported, failed).",
            ["parameter", "state"],
            registry=self.registry,
        )
        self.track_ok = Gauge(
            "hapair_track_ok",
            "1 while a track of this unit is healthy, 0 while it is failed (after its first "
            "check).",
            ["track"],
            registry=self.registry,
        )
        self.commits = Counter(
            "hapair_commits", "Committed parameter revisions.", registry=self.registry
        )

    def set_parameter_applied(self, parameter: str, state: str) -> None:
        """Marks ``state`` as the parameter's current applied state on this unit."""
        for st in APPLIED_STATES:
            self.parameter_applied.labels(parameter=parameter, state=st).set(
                1 if st == state else 0
            )

    def set_track_ok(self, name: str, ok: bool) -> None:
        """``hapair_track_ok{track}``: 1 while the track is healthy, 0 while it is failed."""
        self.track_ok.labels(track=name).set(1 if ok else 0)

    def set_role(self, role: str) -> None:
        """Marks ``role`` as the current one."""
        for r in ROLES:
            self.role.labels(role=r).set(1 if r == role else 0)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
