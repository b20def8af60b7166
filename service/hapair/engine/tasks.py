"""A node's background tasks (heartbeat exchanges, partner calls, hooks, a reboot)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("hapair.engine")


class Background:
    """Tasks that run beside the node's loop; a failure is logged, shutdown cancels them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Runs ``coro`` in the background."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task failed",
                exc_info=task.exception(),
                extra={"event": "background-error", "task": task.get_name()},
            )

    def cancel(self) -> list[asyncio.Task[Any]]:
        """Cancels every task but the calling one (a reboot runs as a background task: it
        must not cancel itself); the tasks cancelled."""
        current = asyncio.current_task()
        cancelled = [t for t in self.tasks if t is not current]
        for t in cancelled:
            t.cancel()
        return cancelled
