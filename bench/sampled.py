"""Runs ``python -m hapair ARGS`` with a CPU-time sampler, for ``bench/idle.py --sampled``:
SIGUSR1 starts it, SIGUSR2 stops it and writes the stacks it saw, one ``frame;frame;... count``
line each (innermost last), to ``$HAPAIR_BENCH_SAMPLED``. Nothing in hapair knows about it.

``ITIMER_PROF`` fires after each ``INTERVAL_S`` of CPU the process used (user and system, all
threads), and the handler records the main thread's Python stack (the event loop's), so the
counts are proportional to CPU time without a profiler's cost on every call (cProfile
inflates code that makes many small calls several times over). CPU a worker thread used is
charged to whatever the loop was doing then (most often waiting in ``run_forever``).

``python -m bench.sampled serve --listen ...``
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from types import FrameType

from bench.wrapped import run_hapair

INTERVAL_S = 0.0002
stacks: Counter[str] = Counter()


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_qualname} ({'/'.join(code.co_filename.rsplit('/', 2)[-2:])})"


def _sample(_sig: int, frame: FrameType | None) -> None:
    names = []
    while frame is not None:
        names.append(_where(frame))
        frame = frame.f_back
    stacks[";".join(reversed(names))] += 1


def _start(_sig: int, _frame: FrameType | None) -> None:
    stacks.clear()
    signal.setitimer(signal.ITIMER_PROF, INTERVAL_S, INTERVAL_S)


def _stop(_sig: int, _frame: FrameType | None) -> None:
    signal.setitimer(signal.ITIMER_PROF, 0, 0)
    path = os.environ["HAPAIR_BENCH_SAMPLED"]
    with open(path + ".part", "w") as out:
        for stack, count in stacks.items():
            out.write(f"{stack} {count}\n")
    os.replace(path + ".part", path)


def main() -> None:
    run_hapair({signal.SIGPROF: _sample, signal.SIGUSR1: _start, signal.SIGUSR2: _stop})


if __name__ == "__main__":
    main()
