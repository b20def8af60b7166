"""``hapair serve ARGS`` run inside the test process: the unit of the in-process tier.

:class:`InProcess` stands where :class:`tests.support.HapairProcess` stands (``start``,
``wait_ready``, ``terminate``, ``log_tail``, ``client``), so the one ``tests.units.Unit``
drives either. What runs is what ``hapair serve`` runs: the same flags parsed into the same
``Settings`` (``HAPAIR_*`` variables of ``env`` included), ``bootstrap.build`` building the same
parts, run by serve's own ``cli.serve.running`` (the store's probe, the app's lifespan with the
engine, the direct listener, ``runtime.json``; undone in reverse) on an event loop of its own
in a thread: anyio's blocking portal. The loop is asyncio's, not serve's uvloop: uvloop's
``loop.close()`` hung now and then in a portal thread when a unit stopped. The direct listener
and the shared one the engine binds while active are real sockets; ``client()`` is Litestar's
``TestClient`` on that loop, so requests go through the whole ASGI app (middleware, auth,
problems) without a socket.

What it cannot be is refused, never faked: no pid of its own, no SIGKILL, no signals, no
process output to assert on (``log_text``): a test that needs those is a process-level test
(tests/integration/). What the unit's loop thread logs is kept in ``log_path`` as JSON lines for
diagnosis (``log_tail``, printed when a test fails).

``RedisDatabases`` hands each unit a database nobody used on real redis-servers of the session;
``start_lone_unit`` is ``tests.units.start_unit`` on one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from httpx._client import ClientState
from litestar.testing import TestClient

from hapair.bootstrap import Unit as Parts
from hapair.bootstrap import build
from hapair.cli.serve import running
from hapair.logs import JsonFormatter
from hapair.settings import Settings, add_serve_flags, from_flags
from hapair.store.embedded import EmbeddedRedis
from tests.support import HapairFactory
from tests.units import Unit, start_unit

_ENV_LOCK = threading.Lock()
STOP_BOUND_S = 20.0  # then the loop's pending tasks are printed (the stop goes on)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``env`` on top while the flags are read (their defaults and the lab
    limits come from ``HAPAIR_*`` variables), as a child process would have it."""
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def settings_of(args: Sequence[str], env: Mapping[str, str] | None = None) -> Settings:
    """The settings ``hapair serve ARGS`` runs with (``SettingsRefused`` when it refuses)."""
    parser = argparse.ArgumentParser(prog="hapair serve")
    add_serve_flags(parser)
    with _environment(env or {}):
        return from_flags(parser.parse_args(list(args)))


class _ThreadLog(logging.Handler):
    """Writes the records logged on one thread (a unit's loop) to a file, as serve does."""

    def __init__(self, path: Path, thread: int) -> None:
        super().__init__()
        self.thread = thread
        self.setFormatter(JsonFormatter())
        self.stream = path.open("a", encoding="utf-8")  # closed in finish()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and not self.stream.closed:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """Closes the file (not ``close()``: every uvicorn listener started runs
        ``logging.config.dictConfig``, which closes every handler there is)."""
        self.stream.close()


class AppClient(TestClient[Any]):
    """Litestar's TestClient on a running unit's loop: ``with`` closes it as it closes an
    ``httpx.Client`` (a TestClient's own ``with`` would run the app's lifespan again: a second
    boot of the engine)."""

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def close(self) -> None:
        """Closed as an ``httpx.Client`` closes (no request after it); there is no connection
        to release (Litestar's transport has no ``close``)."""
        self._state = ClientState.CLOSED


class InProcess:
    """One unit run in this process with ``hapair serve``'s flags (see the module's doc)."""

    def __init__(
        self, args: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.args = list(args)
        self.env = dict(env or {})
        self.log_path = log_path
        self.parts: Parts | None = None
        self._stack: contextlib.ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self.returncode: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pid(self) -> int:
        raise AssertionError("an in-process unit has no pid of its own: a process-level test")

    def kill9(self) -> int | None:
        raise AssertionError("an in-process unit cannot be SIGKILLed: a process-level test")

    def start(self) -> InProcess:
        assert self._stack is None, "already running"
        settings = settings_of(self.args, self.env)
        assert not settings.clock_offset_s, "a clock offset is process-wide: a process test"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        hapair_log = logging.getLogger("hapair")
        if hapair_log.getEffectiveLevel() > logging.INFO:
            hapair_log.setLevel(logging.INFO)  # serve logs at info (logs.setup)
        with contextlib.ExitStack() as stack:
            portal = stack.enter_context(start_blocking_portal(backend="asyncio"))
            handler = _ThreadLog(self.log_path, portal.call(_thread_id))
            stack.callback(handler.finish)
            logging.getLogger().addHandler(handler)
            stack.callback(logging.getLogger().removeHandler, handler)
            self.parts = build(settings)
            stack.enter_context(portal.wrap_async_context_manager(running(self.parts)))
            self._loop = portal.call(asyncio.get_running_loop)
            self._portal, self.returncode = portal, None
            self._stack = stack.pop_all()
        return self

    def wait_ready(self, base_url: str, timeout: float = 10, *, verify: bool = True) -> None:
        """Polls ``GET /readyz`` through the app until 200 (``verify``: no TLS in-process)."""
        del verify
        deadline = time.monotonic() + timeout
        with self.client(base_url, timeout=timeout) as client:
            while (status := client.get("/readyz").status_code) != 200:
                if time.monotonic() >= deadline:
                    raise AssertionError(f"{base_url}/readyz {status} after {timeout}s")
                time.sleep(0.02)

    def client(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
        verify: bool = True,
    ) -> AppClient:
        """Litestar's TestClient on this unit's app and loop (the lifespan is the unit's)."""
        del verify
        assert self.parts is not None and self._portal is not None, "not running"
        client = AppClient(self.parts.app, base_url=base_url, timeout=timeout)
        client.blocking_portal = self._portal
        client.headers.update(headers or {})
        return client

    def signal_stop(self) -> None:
        """Nothing ahead of ``terminate`` (which stops the unit): no signal reaches it."""

    def terminate(self, timeout: float = 10) -> int | None:
        """Stops the unit as SIGTERM stops serve: the lifespan ends, then the listener and the
        store; returns 0 (``None`` if never started)."""
        del timeout
        if self._stack is None:
            return self.returncode
        stack, self._stack, self._portal = self._stack, None, None
        # a stop that hangs says where (serve's own bound, _bound_shutdown, is not armed here)
        timer = threading.Timer(STOP_BOUND_S, self._print_tasks)
        timer.daemon = True
        timer.start()
        try:
            stack.close()
        finally:
            timer.cancel()
        self.returncode = 0
        return 0

    def _print_tasks(self) -> None:
        """Every task still pending on the unit's loop, with its stack (on stdout: shown with
        the test that hangs)."""

        def show() -> None:
            print(f"--- in-process unit still stopping after {STOP_BOUND_S} s; its tasks:")
            for task in asyncio.all_tasks():
                task.print_stack(file=sys.stdout)

        assert self._loop is not None
        self._loop.call_soon_threadsafe(show)

    def log_text(self) -> str:
        raise AssertionError(
            "what a unit logs is its process's output (logging set up by serve, uvicorn's "
            "own lines): a process-level test; log_tail() is for diagnosis"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of what the unit's loop logged (shown when a test fails)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _thread_id() -> int:
    return threading.get_ident()


class InProcessFactory(HapairFactory):
    """Starts in-process units as ``HapairFactory`` starts processes; stops them at close."""

    runner = InProcess


DATABASES = 16  # a Redis server's default number of databases


class RedisDatabases:
    """Fresh Redis databases: each unit gets one nobody used (an empty one, never flushed:
    hapair's locked-down user may not FLUSHDB), on real redis-servers started as needed
    (hapair's own ``EmbeddedRedis``, 16 databases each), stopped by pid at close."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.servers: list[EmbeddedRedis] = []
        self.taken = DATABASES

    def take(self) -> str:
        """The URL of a database no unit has used."""
        if self.taken == DATABASES:
            server = EmbeddedRedis(self.directory / f"redis-{len(self.servers)}")
            self.servers.append(server)
            server.start()
            self.taken = 0
        url = self.servers[-1].url
        base, _, db = url.rpartition("/")
        assert db == "0", url
        self.taken += 1
        return f"{base}/{self.taken - 1}"

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def start_lone_unit(
    factory: InProcessFactory, databases: RedisDatabases, data_dir: Path, **kwargs: Any
) -> Unit:
    """``start_unit`` in this process, on a fresh database unless ``redis_url`` is given
    (``redis_url=None`` explicitly: the unit starts its embedded Redis, as serve does)."""
    kwargs.setdefault("redis_url", databases.take())
    return start_unit(factory, data_dir, **kwargs)
