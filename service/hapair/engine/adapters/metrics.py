"""The node's metrics port over ``hapair.metrics.Metrics``."""

from __future__ import annotations

from hapair.metrics import Metrics


class MetricsPort:
    """What the node sets, on the process' metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def set_role(self, role: str) -> None:
        self.metrics.set_role(role)

    def role_changed(self, role: str, cause: str) -> None:
        self.metrics.role_changed(role, cause)

    def set_track_ok(self, name: str, ok: bool) -> None:
        self.metrics.set_track_ok(name, ok)

    def set_parameter_applied(self, parameter: str, state: str) -> None:
        self.metrics.set_parameter_applied(parameter, state)

    def count_refused(self, reason: str) -> None:
        self.metrics.count_refused(reason)

    def set_boots(self, count: int) -> None:
        self.metrics.boots.set(count)

    def set_revision(self, revision: int) -> None:
        self.metrics.revision.set(revision)
