"""Runs ``python -m hapair ARGS`` with a cProfile window opened and closed by signals, for
``bench/idle.py``: SIGUSR1 starts profiling the event loop's thread, SIGUSR2 stops it and writes
the stats to ``$HAPAIR_BENCH_PROFILE``. Nothing in hapair knows about it.

``python -m bench.profiled serve --listen ...``
"""

from __future__ import annotations

import cProfile
import os
import signal
import time
from types import FrameType

from bench.wrapped import run_hapair

# CPU time of the loop's thread, not wall time: on a loaded machine a wall clock charges the
# time the thread waited for a CPU to whatever function it was in
profiler = cProfile.Profile(time.thread_time)


def _start(_sig: int, _frame: FrameType | None) -> None:
    profiler.enable()  # the calling thread: signal handlers run in the main thread, the loop's


def _stop(_sig: int, _frame: FrameType | None) -> None:
    profiler.disable()
    profiler.dump_stats(os.environ["HAPAIR_BENCH_PROFILE"])


def main() -> None:
    run_hapair({signal.SIGUSR1: _start, signal.SIGUSR2: _stop})


if __name__ == "__main__":
    main()
