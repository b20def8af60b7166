"""The few Prometheus primitives a unit exposes (gauges, counters, one histogram, with labels)
and their text exposition (format 0.0.4), byte for byte as ``prometheus_client``'s
``generate_latest`` writes the same families with its ``_created`` series disabled.

Why not ``prometheus_client`` itself: importing it (its exposition module brings ``wsgiref``,
``http.server``, ``urllib.request`` and their imports, for servers a unit never runs) and its
per-series objects (a lock and a value object per series, per histogram bucket) held about
1.2 MB of a unit's memory, 2 % of the 60 MB an idle paired unit may use with its Redis
(SPEC 7, issue 23). The tests still parse every exposition with ``prometheus_client``'s
parser, and ``promtool check metrics`` reads one (tests/unit/test_prometheus_rules.py).

Single-threaded by design: the values are changed on the event loop (a ``+=`` under the GIL).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Self, TypeVar

__all__ = ["Counter", "Family", "Fixed", "Gauge", "Histogram", "Registry", "go_float", "render"]

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]
_F = TypeVar("_F", bound="Family")
CollectorFn = Callable[[], Iterable["Family"]]


def go_float(value: float) -> str:
    """A value as Prometheus (Go) writes it: ``1.0``, ``+Inf``, ``NaN``, ``1.234567e+06``
    (``prometheus_client.utils.floatToGoString``)."""
    d = float(value)
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    if math.isnan(d):
        return "NaN"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return s


class Family:
    """One metric family: its name, help, type and the samples it has now."""

    kind = "untyped"

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation

    def samples(self) -> Iterator[Sample]:
        return iter(())


class _Labelled(Family):
    """A family with label names: one child per label values, made by ``labels``."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation)
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], Self] = {}

    def _new(self) -> Self:
        raise NotImplementedError

    def labels(self, *values: str, **named: str) -> Self:
        """The child for these label values (made at first use; positional or by name)."""
        if named:
            values = tuple(str(named[n]) for n in self.labelnames)
        key = tuple(str(v) for v in values)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}")
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._new()
        return child

    def remove(self, *values: str) -> None:
        """Drops the child of these label values (its series goes)."""
        self._children.pop(tuple(str(v) for v in values), None)

    def samples(self) -> Iterator[Sample]:
        if not self.labelnames:
            yield from self._own(())
            return
        for key, child in self._children.items():
            yield from child._own(tuple(zip(self.labelnames, key, strict=True)))

    def _own(self, labels: Labels) -> Iterator[Sample]:
        raise NotImplementedError


class _Value(_Labelled):
    """A family whose series are one value each (a gauge's, a counter's)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        self.value = 0.0

    def _new(self) -> Self:
        return type(self)(self.name, self.documentation)

    def _own(self, labels: Labels) -> Iterator[Sample]:
        yield self.sample_name, labels, self.value

    @property
    def sample_name(self) -> str:
        return self.name


class Gauge(_Value):
    kind = "gauge"

    def set(self, value: float) -> None:
        self.value = float(value)


class Counter(_Value):
    """A counter; its sample (and its HELP and TYPE lines) are ``NAME_total``."""

    kind = "counter"

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.value += amount

    @property
    def sample_name(self) -> str:
        return f"{self.name}_total"


class Histogram(_Labelled):
    """A histogram with fixed upper bounds (``+Inf`` added): ``_bucket`` (cumulative),
    ``_count`` and ``_sum``."""

    kind = "histogram"

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *,
        buckets: Sequence[float],
    ) -> None:  # fmt: skip
        super().__init__(name, documentation, labelnames)
        self.bounds = (*sorted(float(b) for b in buckets), math.inf)
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0

    def _new(self) -> Self:
        return type(self)(self.name, self.documentation, buckets=self.bounds[:-1])

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
                break
        self.sum += value

    def _own(self, labels: Labels) -> Iterator[Sample]:
        total = 0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            total += count
            yield f"{self.name}_bucket", (*labels, ("le", go_float(bound))), float(total)
        yield f"{self.name}_count", labels, float(total)
        yield f"{self.name}_sum", labels, self.sum


class Registry:
    """The families of one app, in the order they were added; ``collectors`` are called at
    render time for families made then."""

    def __init__(self) -> None:
        self.families: list[Family] = []
        self.collectors: list[CollectorFn] = []

    def add(self, family: _F) -> _F:
        self.families.append(family)
        return family

    def collect(self) -> Iterator[Family]:
        for collector in self.collectors:
            yield from collector()
        yield from self.families


class Fixed(Family):
    """A family made at render time with the samples it has then (a collector's)."""

    def __init__(self, name: str, documentation: str, kind: str, samples: Iterable[Sample]):
        super().__init__(name, documentation)
        self.kind = kind
        self._samples = tuple(samples)

    def samples(self) -> Iterator[Sample]:
        return iter(self._samples)


def _escape(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _label_value(text: str) -> str:
    return _escape(text).replace('"', '\\"')


def _line(name: str, labels: Labels, value: float) -> str:
    if not labels:
        return f"{name} {go_float(value)}\n"
    inner = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels))
    return f"{name}{{{inner}}} {go_float(value)}\n"


def render(families: Iterable[Family]) -> bytes:
    """The text exposition (format 0.0.4) of ``families``."""
    out: list[str] = []
    for family in families:
        name = f"{family.name}_total" if family.kind == "counter" else family.name
        out.append(f"# HELP {name} {_escape(family.documentation)}\n")
        out.append(f"# TYPE {name} {family.kind}\n")
        out.extend(_line(*sample) for sample in family.samples())
    return "".join(out).encode()
