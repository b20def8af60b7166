"""What a bench prints: percentiles, one-line summaries, the machine's load."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def fmt(values: Sequence[float], unit: str = "ms", scale: float = 1000.0) -> str:
    """p50, p99 and max of ``values`` (seconds) in ``unit`` (``scale`` per second)."""
    if not values:
        return "n/a"
    v = [x * scale for x in values]
    return (
        f"p50 {percentile(v, 50):.2f} {unit}, p99 {percentile(v, 99):.2f} {unit}, "
        f"max {max(v):.2f} {unit} (n={len(v)})"
    )


def machine_note() -> str:
    """CPU count and load average, printed with every report (the machine is shared)."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"machine: {os.cpu_count()} CPUs, load average {' '.join(load)} (shared, noisy)"


def seconds_line(label: str, values: Sequence[float], target: float | None = None) -> str:
    """``label: median, min, max (n=..: each)`` in seconds; with ``target``, whether the max
    met it."""
    text = (
        f"{label}: median {statistics.median(values):.2f} s, min {min(values):.2f}, max "
        f"{max(values):.2f} (n={len(values)}: {', '.join(f'{v:.2f}' for v in values)})"
    )
    if target is not None:
        text += f"; target <= {target:.2f} s: {'OK' if max(values) <= target else 'MISSED'}"
    return text
