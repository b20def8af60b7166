"""``hapair serve``: run one unit. Its flags and their ``HAPAIR_*`` variables are in settings.py;
its parts are built by ``bootstrap.build``; this module runs them until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from hapair import logs
from hapair.settings import Settings, SettingsRefused, add_serve_flags, from_flags

if TYPE_CHECKING:
    from hapair.bootstrap import Unit

log = logging.getLogger("hapair")


def add_parser(sub: Any) -> None:
    """The ``serve`` subcommand."""
    add_serve_flags(sub.add_parser("serve", help="run one unit"))


async def _serve(settings: Settings) -> int:
    from hapair.bootstrap import UnusableSettings, build

    try:
        unit = build(settings)
    except UnusableSettings as exc:
        raise SystemExit(f"hapair: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, _reload_secrets, unit)
    async with running(unit, on_stop=_bound_shutdown):
        loop.call_later(TRIM_AFTER_S, _trim_heap, loop, True)
        await stop.wait()
    return 0


TRIM_AFTER_S = 10.0
TRIM_EVERY_S = 60.0


def _trim_heap(loop: asyncio.AbstractEventLoop, first: bool = False) -> None:
    """``TRIM_AFTER_S`` after serving began, then every ``TRIM_EVERY_S``: hands the C heap's
    free pages back to the kernel (glibc's ``malloc_trim``). The imports and the boot (reading
    every module's code, building the app, the first replication) free much of what they
    allocate, and so do the requests a unit answers; glibc's free() only ever trims the top of
    the heap, so an idle unit would hold the holes for its whole life (issue 23: about 0.8 MB
    of RSS at idle after the first trim, 1.3 MB more once the pair had settled). The first
    trim collects the garbage cycles of the boot first (a full collection: tens of ms, once);
    the later ones only trim (about a millisecond). Nothing where the C library has no
    ``malloc_trim`` (musl)."""
    import ctypes
    import gc

    if first:
        gc.collect()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
    loop.call_later(TRIM_EVERY_S, _trim_heap, loop)


@asynccontextmanager
async def running(unit: Unit, *, on_stop: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Runs a built unit (``bootstrap.build``) until the block ends: what ``hapair serve`` does
    between building and its stop signal, also what the in-process tests run
    (tests/inprocess/runner.py). ``on_stop`` is called as stopping begins, before anything is
    undone (serve: the shutdown's bound)."""
    from hapair.cli.embedded import keep_embedded
    from hapair.domain.unit import parse_host_port
    from hapair.server.listener import Listener
    from hapair.urls import public_url

    settings = unit.deps.settings
    host, port = parse_host_port(settings.listen)
    direct = Listener(unit.app, host, port, ssl=settings.listener_ssl)
    engine = unit.deps.engine
    keeper: asyncio.Task[None] | None = None
    async with AsyncExitStack() as stack:
        # undone in reverse: the direct listener, then the store and the embedded Redis; the
        # app's lifespan (the engine, the event stream) ends first, while the partner can
        # still call in as the engine steps down
        stack.push_async_callback(unit.close)
        stack.push_async_callback(direct.stop)
        unit.store.start_probe()
        if unit.tunnel is not None:  # before the engine boots: a standby replicates through it
            await unit.tunnel.start()
        async with unit.app.lifespan():
            try:
                # before the listener answers: whoever sees /readyz 200 finds the unit's Redis
                # in runtime.json (``hapair token``); a failed start removes it (unit.close)
                unit.files.save_runtime(
                    {"pid": os.getpid(), "address": settings.listen, "redis_url": unit.redis_url}
                )
                await direct.start()
                engine.served()  # a start that fails before this is not a boot
                log.info(
                    "hapair serving",
                    extra={
                        "event": "start",
                        "address": settings.listen,
                        "redis": public_url(unit.redis_url),
                        "unit": engine.name,
                    },
                )
                if unit.embedded is not None:
                    keeper = asyncio.create_task(
                        keep_embedded(unit.embedded, engine, unit.redis_url)
                    )
                yield
            finally:
                if keeper is not None:
                    keeper.cancel()
                log.info("hapair stopping", extra={"event": "stop"})
                if on_stop is not None:
                    on_stop()


def _reload_secrets(unit: Any) -> None:
    """``SIGHUP``: re-read the secret files (``Unit.reload_secrets``); a bad file changes
    nothing and is said in the log."""
    from hapair.secretfiles import SecretError

    reason: str | None = None
    try:
        changed = unit.reload_secrets()
    except SecretError as exc:
        reason = str(exc)
    if reason is not None:
        log.error(
            "secret files not reloaded",
            extra={"event": "secrets-reload-failed", "reason": reason},
        )
        return
    log.info(
        "secret files reloaded",
        extra={"event": "secrets-reloaded", "changed": changed},
    )


SHUTDOWN_BOUND_S = 15.0


def _bound_shutdown() -> None:
    """A stop never hangs: past ``SHUTDOWN_BOUND_S`` the process writes every pending asyncio
    task's stack and every thread's stack to its log (so the step that hung can be found) and
    exits. The address and the engine are released first, within seconds. (A hang on the event
    stream's reader was found this way: see the README.)"""
    import faulthandler
    import io
    import threading

    loop = asyncio.get_running_loop()
    tasks_logged = threading.Event()

    def log_tasks() -> None:  # on the loop's thread: a loop that still runs shows its tasks
        for task in asyncio.all_tasks(loop):
            out = io.StringIO()
            task.print_stack(file=out)
            log.error(
                "pending at shutdown",
                extra={"event": "shutdown-stuck-task", "stack": out.getvalue()},
            )
        tasks_logged.set()

    def give_up() -> None:
        log.error(
            "shutdown took too long: stacks follow, exiting",
            extra={"event": "shutdown-stuck", "after_s": SHUTDOWN_BOUND_S},
        )
        loop.call_soon_threadsafe(log_tasks)
        tasks_logged.wait(1.0)  # a blocked loop logs nothing: the threads' stacks say why
        faulthandler.dump_traceback(all_threads=True)
        os._exit(0)

    timer = threading.Timer(SHUTDOWN_BOUND_S, give_up)
    timer.daemon = True
    timer.start()


def cmd_serve(ns: argparse.Namespace) -> int:
    """``hapair serve``."""
    from hapair import deferred

    deferred.defer_unused()  # before anything imports them: memory a unit holds for nothing
    from hapair.secretfiles import make_undumpable, scrub_process_environment

    try:
        settings = from_flags(ns)
    except SettingsRefused as exc:
        print(f"hapair: {exc}", file=sys.stderr)
        return 2
    scrub_process_environment()  # read: no child (role hook, redis-server) inherits them
    try:
        # /proc/PID/environ still holds the variables this process was started with: root's
        # only from here on, so a hook (same user, no CAP_SYS_PTRACE) cannot read them there
        make_undumpable()
    except OSError as exc:
        print(f"hapair: {exc}", file=sys.stderr)
        return 1
    if settings.shared_interface:
        from hapair.engine.netif.vip import VipError, check_capabilities

        try:
            check_capabilities()
        except VipError as exc:
            print(f"hapair: --shared-interface {settings.shared_interface}: {exc}", file=sys.stderr)
            return 2
    logs.setup(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from hapair.server.listener import ListenError, run

    try:
        return run(_serve(settings))  # on uvloop, the loop of every listener of this process
    except BaseException as exc:
        failed = _found(exc, ListenError)
        if failed is None:
            raise
        print(f"hapair: {failed.strerror}", file=sys.stderr)  # one line, no traceback
        return 1


def _found(exc: BaseException, kind: type[OSError]) -> OSError | None:
    """``exc`` or the first ``kind`` inside it (an exception group from the app's lifespan)."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _found(inner, kind)
            if found is not None:
                return found
    return None
