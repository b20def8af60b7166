"""hapair's own exposition (service/hapair/prometheus.py) writes what ``prometheus_client``
writes for the same families, byte for byte: the same values set on both, rendered side by
side (``_created`` series off, as the unit had them)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hapair import prometheus as own

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ODD = 'we"ird\\label\nvalue'


@pytest.fixture
def no_created() -> Iterator[None]:
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        prometheus_client.enable_created_metrics()  # type: ignore[no-untyped-call]


def test_same_bytes_as_prometheus_client(no_created: None) -> None:
    theirs = prometheus_client.CollectorRegistry()
    mine = own.Registry()
    pairs = []
    for cls, mcls, args, kwargs in (
        (prometheus_client.Gauge, own.Gauge, ("g_plain", "A gauge."), {}),
        (prometheus_client.Gauge, own.Gauge, ("g_lab", "With \\ and\nlines.", ["a", "b"]), {}),
        (prometheus_client.Counter, own.Counter, ("c_plain", "A counter."), {}),
        (prometheus_client.Counter, own.Counter, ("c_lab", "By reason.", ["reason"]), {}),
        (prometheus_client.Gauge, own.Gauge, ("g_none", "No series yet.", ["track"]), {}),
        (
            prometheus_client.Histogram,
            own.Histogram,
            ("h_lab", "Latency.", ["route"]),
            {"buckets": BUCKETS},
        ),
    ):
        pairs.append((cls(*args, registry=theirs, **kwargs), mine.add(mcls(*args, **kwargs))))
    (tg, mg), (tgl, mgl), (tc, mc), (tcl, mcl), _, (th, mh) = pairs
    for g in (tg, mg):
        g.set(1234567.0)
    for g in (tgl, mgl):
        g.labels("x", ODD).set(math.inf)
        g.labels(a="y", b="z").set(-0.5)
        g.labels("gone", "soon").set(1)
        g.remove("gone", "soon")
        g.labels("nan", "n").set(math.nan)
    for c in (tc, mc):
        c.inc()
        c.inc(2.5)
    for c in (tcl, mcl):
        c.labels(reason="b").inc()
        c.labels("a")
    for h in (th, mh):
        for value in (0.0003, 0.001, 0.7, 5.0, 0.02):
            h.labels("/healthz").observe(value)
        h.labels(route=ODD).observe(2.5)
    expected = prometheus_client.generate_latest(theirs)
    assert own.render(mine.collect()) == expected
    # and it parses as what was set
    parsed = {f.name: f for f in text_string_to_metric_families(expected.decode())}
    assert parsed["c_plain"].samples[0].value == 3.5


def test_labels_are_checked_and_counters_only_go_up() -> None:
    c = own.Counter("c", "doc", ["a", "b"])
    with pytest.raises(ValueError, match="takes labels"):
        c.labels("only-one")
    with pytest.raises(ValueError, match="only goes up"):
        c.labels("x", "y").inc(-1)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1.0"), (0.0, "0.0"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
     (1234567.0, "1.234567e+06"), (0.001, "0.001"), (-1234567.0, "-1234567.0")],
)  # fmt: skip
def test_values_as_go_writes_them(value: float, text: str) -> None:
    assert own.go_float(value) == text
    assert prometheus_client.utils.floatToGoString(value) == text
