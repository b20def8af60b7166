"""Start time (SPEC 7): `hapair serve` answers `/readyz` 200 within 3 s, embedded Redis included.

Run from the repository root: ``python -m bench.start [--starts 7]``.

Each start is a fresh data dir (so the embedded redis-server is set up from nothing), timed
from spawning ``python -m hapair serve`` until the first ``/readyz`` 200 (polled every 10 ms),
then the unit is stopped by its pid before the next one. Two kinds, interleaved:

- ``non_ha``: ``--listen``, ``--data-dir``, ``--admin-token`` only (what
  ``tests/integration/test_serve.py`` starts; it checks readiness, this measures its time);
- ``ha alone``: ``--mode first`` with a partner nobody answers (ready once it runs alone).

The figure is the median per kind, with min and max, and the CPU time hapair's own process
spent until ready (user + system, from /proc), which moves much less with the machine's load
than the wall clock does: the machine is shared, so a start can be slow for reasons that are
not hapair's (see README.md, "The machine caveat").
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time

from bench.common import Procs, hapair_args, machine_note, wait_http
from hapair.store.embedded import free_port

FIRST, SECOND, SHARED = "127.0.0.11", "127.0.0.12", "127.0.0.10"
TARGET_S = 3.0
KINDS = ("non_ha", "ha alone")


def start_once(procs: Procs, kind: str, name: str) -> tuple[float, float]:
    """Seconds from spawning a unit of ``kind`` with a fresh data dir to ``/readyz`` 200, and
    the CPU seconds hapair's process spent meanwhile (its embedded redis-server not counted)."""
    port = free_port(SHARED)
    token = "t-" + secrets.token_hex(8)
    data_dir = procs.dir / name
    if kind == "non_ha":
        args = [
            sys.executable, "-m", "hapair", "serve",
            "--listen", f"{FIRST}:{port}",
            "--data-dir", str(data_dir),
            "--admin-token", token,
            "--log-level", "warning",
        ]  # fmt: skip
    else:
        args = hapair_args(
            data_dir,
            mode="first",
            listen=f"{FIRST}:{port}",
            partner=f"{SECOND}:{port}",
            shared=f"{SHARED}:{port}",
            pair_key=secrets.token_hex(16),
            token=token,
        )
    start = time.monotonic()
    proc = procs.start(name, args)
    wait_http(f"http://{FIRST}:{port}/readyz", proc, timeout=30)
    elapsed = time.monotonic() - start
    cpu = proc.cpu_seconds()
    proc.stop()
    return elapsed, cpu


def bench_start(procs: Procs, starts: int, kinds: tuple[str, ...] = KINDS) -> dict[str, float]:
    """Runs ``starts`` starts of each kind, interleaved; prints and returns the medians."""
    times: dict[str, list[float]] = {k: [] for k in kinds}
    cpus: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(starts):
        for kind in kinds:
            wall, cpu = start_once(procs, kind, f"start-{kind.replace(' ', '-')}-{i}")
            times[kind].append(wall)
            cpus[kind].append(cpu)
    print(f"start (fresh data dir, embedded Redis) to /readyz 200, {starts} starts of each:")
    medians = {}
    for kind, values in times.items():
        median = medians[kind] = statistics.median(values)
        verdict = "OK" if median < TARGET_S else "MISSED"
        print(
            f"  {kind}: median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f}; "
            f"{', '.join(f'{t:.2f}' for t in values)}) (target < {TARGET_S:g} s) {verdict}; "
            f"hapair CPU to ready: median {statistics.median(cpus[kind]):.2f} s"
        )
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--starts", type=int, default=7, help="starts of each kind")
    ns = parser.parse_args(argv)
    print(machine_note())
    with Procs() as procs:
        bench_start(procs, ns.starts)
    print(machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
