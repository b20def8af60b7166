"""Prometheus metrics of one unit (a registry per app, so several apps can live in one process),
on hapair's own small primitives and exposition (``hapair/prometheus.py``: why not
``prometheus_client``).

docs/metrics.md lists every family, one line each. Two ways values arrive, and this module
imports neither the engine nor the services:

- pushed by whoever knows the fact as it happens: the engine's announcer (``set_role``,
  ``role_changed``), the parameter service (``committed``), the API (requests, and
  ``count_refused`` for every refused request), and, for features that set their own state,
  the small setters ``set_track_ok``, ``forget_tracks``, ``set_parameter_applied`` and
  ``count_refused``;
- read at scrape time through one narrow function, the ``sampler`` the composition root gives
  (``services.pair_metrics``): it answers a ``PairSample`` (partner, sync, shared address, pair
  state, store, maintenance, conflicts) that ``collect`` turns into gauges.

Every label's values are bounded: roles, causes, pair states, problem slugs and parameter
states come from closed lists (an unknown value is counted as ``other``); track and parameter
names are the unit's configured ones. No family has a ``_created`` series.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from hapair.domain.parameters import HAParameters
from hapair.domain.status import PAIR_STATES, Role
from hapair.domain.version import VERSION
from hapair.prometheus import Counter, Family, Fixed, Gauge, Histogram, Registry, render

log = logging.getLogger("hapair.metrics")

STARTING = "starting"
STANDALONE = "standalone"
ROLES: tuple[str, ...] = (STARTING, *(r.value for r in Role), STANDALONE)
"""The values of ``hapair_role``'s ``role`` label."""
APPLIED_STATES: tuple[str, ...] = ("applied", "pending", "unsupported", "failed")
"""The values of ``hapair_parameter_applied``'s ``state`` label (SPEC 4)."""
PARAMETERS: tuple[str, ...] = HAParameters.__struct_fields__
OTHER = "other"


@dataclass(frozen=True)
class PairSample:
    """The pair as this unit sees it at scrape time (read by ``services.pair_metrics``)."""

    ha: bool
    partner_up: bool
    partner_heartbeat_age_s: float | None  # None: never heard since this unit booted
    in_sync: bool
    serving_shared: bool
    pair_state: str
    store_up: bool
    maintenance: bool
    conflicts: int | None  # None: the store could not be read


Sampler = Callable[[], Awaitable[PairSample]]


class _PairCollector:
    """The families read at scrape time, from the last ``PairSample``."""

    def __init__(self) -> None:
        self.sample: PairSample | None = None

    def __call__(self) -> Iterator[Family]:
        s = self.sample
        if s is None:
            return
        yield _gauge("hapair_store_up", "1 when this unit's Redis answers.", s.store_up)
        yield _gauge("hapair_maintenance", "1 while this unit is in maintenance.", s.maintenance)
        yield _gauge(
            "hapair_serving_shared",
            "1 while this unit serves the shared address.",
            s.serving_shared,
        )
        yield Fixed(
            "hapair_pair_state",
            "1 for the pair's state as this unit sees it.",
            "gauge",
            [
                ("hapair_pair_state", (("state", state),), 1.0 if state == s.pair_state else 0.0)
                for state in PAIR_STATES
            ],
        )
        if s.conflicts is not None:
            # a counter: the archive of conflicting revisions only grows (SPEC 5)
            yield Fixed(
                "hapair_conflicts",
                "Conflicting revisions archived (split brains).",
                "counter",
                [("hapair_conflicts_total", (), float(s.conflicts))],
            )
        if not s.ha:
            return
        yield _gauge(
            "hapair_partner_up", "1 when the partner was heard within ha_timeout.", s.partner_up
        )
        age = s.partner_heartbeat_age_s
        yield _gauge(
            "hapair_partner_heartbeat_age_seconds",
            "Seconds since the partner's last heartbeat (+Inf: none since boot).",
            math.inf if age is None else age,
        )
        yield _gauge(
            "hapair_in_sync", "1 when the pair is in sync (same revision, link up).", s.in_sync
        )


def _gauge(name: str, doc: str, value: float | bool) -> Family:
    return Fixed(name, doc, "gauge", [(name, (), float(value))])


class Metrics:
    """Every family of one unit (docs/metrics.md)."""

    def __init__(self, *, causes: Sequence[str] = (), reasons: Sequence[str] = ()) -> None:
        """``causes``: the engine's role-change causes; ``reasons``: the problem slugs (the
        composition root gives both: this module imports neither the engine nor the API)."""
        self.registry = Registry()
        self.sampler: Sampler | None = None
        self._pair = _PairCollector()
        self.registry.collectors.append(self._pair)
        self.causes = (*causes, OTHER)
        add = self.registry.add
        self.build_info = add(
            Gauge("hapair_build_info", "1, labelled with hapair's version.", ["version"])
        )
        self.build_info.labels(version=VERSION).set(1)
        self.requests = add(
            Counter(
                "hapair_http_requests",
                "HTTP requests by route template, method and status.",
                ["route", "method", "status"],
            )
        )
        self.latency = add(
            Histogram(
                "hapair_http_request_duration_seconds",
                "HTTP request latency by route template.",
                ["route"],
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            )
        )
        self.role = add(Gauge("hapair_role", "1 for the unit's current role.", ["role"]))
        self.revision = add(Gauge("hapair_revision", "Revision of the HA parameters."))
        self.boots = add(Gauge("hapair_boots_in_window", "Boots within the pacify window."))
        self.role_changes = add(
            Counter("hapair_role_changes", "Role changes of this unit, by cause.", ["cause"])
        )
        for cause in self.causes:
            self.role_changes.labels(cause=cause)
        self.commits = add(Counter("hapair_commits", "Committed parameter revisions."))
        self.refused = add(
            Counter(
                "hapair_refused",
                "Refused requests and actions, by reason (the problem type's slug).",
                ["reason"],
            )
        )
        self.reasons = (*reasons, OTHER)
        for reason in self.reasons:
            self.refused.labels(reason=reason)
        self.track_ok = add(Gauge("hapair_track_ok", "1 while the track is healthy.", ["track"]))
        self._tracks: set[str] = set()
        self.parameter_applied = add(
            Gauge(
                "hapair_parameter_applied",
                "1 for each parameter's data-plane state on this unit.",
                ["parameter", "state"],
            )
        )

    # Pushed by the engine and the services.

    def set_role(self, role: str) -> None:
        """Marks ``role`` as the current one."""
        for r in ROLES:
            self.role.labels(role=r).set(1 if r == role else 0)

    def role_changed(self, role: str, cause: str) -> None:
        """This unit's role changed to ``role`` for ``cause`` (one of the engine's causes)."""
        self.set_role(role)
        self.role_changes.labels(cause=cause if cause in self.causes else OTHER).inc()

    def committed(self, revision: int) -> None:
        """A parameter revision was committed."""
        self.commits.inc()
        self.revision.set(revision)

    def count_refused(self, reason: str) -> None:
        """One request or action refused; ``reason``: a problem slug (api/problems.py), else
        counted as ``other``. The API counts every problem answer here; a refusal that never
        becomes an HTTP answer (an engine-level one) calls it with its own slug."""
        self.refused.labels(reason=reason if reason in self.reasons else OTHER).inc()

    def set_track_ok(self, name: str, ok: bool) -> None:
        """The state of the configured track ``name`` (tracks, SPEC 5)."""
        self._tracks.add(name)
        self.track_ok.labels(track=name).set(1 if ok else 0)

    def forget_tracks(self, keep: Iterable[str] = ()) -> None:
        """Drops the series of tracks no longer configured (only ``keep`` stay)."""
        kept = set(keep)
        for name in self._tracks - kept:
            self.track_ok.remove(name)
        self._tracks &= kept

    def set_parameter_applied(self, parameter: str, state: str) -> None:
        """``parameter``'s data-plane state on this unit (``GET /ha/parameters/applied``):
        one of ``APPLIED_STATES``; the family holds one 1 per parameter."""
        if parameter not in PARAMETERS or state not in APPLIED_STATES:
            # labels stay bounded: a name or state outside the lists makes no series
            log.warning(
                "metric label refused",
                extra={"event": "metric-label", "parameter": parameter, "state": state},
            )
            return
        for s in APPLIED_STATES:
            self.parameter_applied.labels(parameter=parameter, state=s).set(1 if s == state else 0)

    # Read at scrape time.

    async def collect(self) -> None:
        """Reads the pair's state through the sampler (when one is given)."""
        if self.sampler is not None:
            self._pair.sample = await self.sampler()

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return render(self.registry.collect())

    def families(self) -> Iterator[str]:
        """The names of the families this unit exposes (tests and docs use it)."""
        for metric in self.registry.collect():
            yield metric.name
