"""Virtual time for the simulation: asyncio event loops that never block and read one logical
clock, stepped by a :class:`Scheduler` in time order.

Each simulated process (a unit's :class:`~hapair.engine.node.Node`, its tasks and timers) runs
on its own :class:`VirtualLoop`; the world (messages in flight, track results) on another.
``asyncio.sleep``, ``call_later``, ``asyncio.timeout`` and ``wait_for`` in the shell then run
on logical time, deterministically and at once. A loop's ``select`` never waits: time moves
only when the scheduler moves it, to the earliest timer of any loop that runs. So:

- a frozen process (SIGSTOP) is a loop the scheduler skips: nothing of it runs, its timers
  come due meanwhile and fire once it thaws, as a stopped process' do;
- a killed process is a loop the scheduler drops: its tasks never run again;
- one process reaches another only by scheduling a callback on the other's loop (the
  simulated network does, ``world.py``), which runs when that loop runs.

Like the ``looptime`` and aiotools ``VirtualClock`` libraries (no dependency added). The
stepping uses ``BaseEventLoop._run_once`` (CPython 3.11's private step of ``run_forever``).
"""

from __future__ import annotations

import asyncio
import selectors
from asyncio import events
from collections.abc import Mapping
from typing import Any

TIME_EPSILON = 1e-9  # timers this close to the time the scheduler moves to fire with it


class _Selector(selectors.BaseSelector):
    """Registers the loop's self-pipe and never waits: no real I/O happens in a simulation."""

    def __init__(self) -> None:
        self._keys: dict[int, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys

    def close(self) -> None:
        self._keys.clear()


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on the scheduler's clock; ``frozen``: the scheduler skips it."""

    def __init__(self, scheduler: Scheduler, name: str) -> None:
        super().__init__(_Selector())
        self.scheduler = scheduler
        self.name = name
        self.frozen = False

    def time(self) -> float:
        return self.scheduler.now

    def next_timer(self) -> float | None:
        """When the earliest timer not cancelled comes due (None: none)."""
        pending = [h.when() for h in self._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        return min(pending, default=None)

    def ready(self) -> bool:
        """A callback is ready to run now, or a timer is due."""
        if self._ready:  # type: ignore[attr-defined]
            return True
        due = self.next_timer()
        return due is not None and due <= self.scheduler.now + TIME_EPSILON

    def run_ready(self) -> None:
        """Runs one round of this loop's ready callbacks and due timers, as its own."""
        events._set_running_loop(self)
        try:
            self._run_once()  # type: ignore[attr-defined]
        finally:
            events._set_running_loop(None)

    def drop(self) -> None:
        """The process is gone: its tasks never run again. Their coroutines are closed now
        (their ``finally`` blocks run now, on this closed world, rather than whenever the
        garbage collector gets to them)."""
        for task in asyncio.all_tasks(self):
            task._log_destroy_pending = False  # type: ignore[attr-defined]
            task.get_coro().close()
        self.close()


class Scheduler:
    """One logical clock and the loops that run on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.loops: list[VirtualLoop] = []

    def loop(self, name: str) -> VirtualLoop:
        """A new loop on this clock."""
        loop = VirtualLoop(self, name)
        self.loops.append(loop)
        return loop

    def drop(self, loop: VirtualLoop) -> None:
        self.loops.remove(loop)
        loop.drop()

    def close(self) -> None:
        """Drops every loop (the end of a run)."""
        for loop in list(self.loops):
            self.drop(loop)

    def settle(self, budget: int = 200_000) -> None:
        """Runs every loop that is not frozen until none has anything to do now."""
        while True:
            moved = False
            for loop in list(self.loops):
                while not loop.frozen and not loop.is_closed() and loop.ready():
                    loop.run_ready()
                    moved = True
                    budget -= 1
                    if budget <= 0:
                        raise AssertionError(f"livelock: {loop.name} keeps running at {self.now}")
            if not moved:
                return

    def run_until(self, until: float) -> None:
        """Moves the clock to ``until``, firing every timer due by then in time order."""
        self.settle()
        while True:
            due = [t for lp in self.loops if not lp.frozen and (t := lp.next_timer()) is not None]
            nxt = min(due, default=None)
            if nxt is None or nxt > until + TIME_EPSILON:
                break
            self.now = max(self.now, min(nxt, until))
            self.settle()
        self.now = max(self.now, until)
        self.settle()
