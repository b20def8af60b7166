"""What bench's wrappers of a unit share (``profiled.py``, ``traced.py``, ``sampled.py``): run
``python -m hapair ARGS`` in this process with their signal handlers set. Imports nothing a
unit does not (the wrappers measure the unit's own memory and CPU)."""

from __future__ import annotations

import runpy
import signal
import sys
from collections.abc import Callable
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


def run_hapair(handlers: dict[signal.Signals, Handler]) -> None:
    """Sets ``handlers``, then runs hapair's command line on this process's arguments."""
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    sys.argv = ["hapair", *sys.argv[1:]]
    runpy.run_module("hapair", run_name="__main__", alter_sys=True)
