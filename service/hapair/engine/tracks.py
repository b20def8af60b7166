"""Running the tracks' checks (SPEC section 5, "Tracks"): the engine's shell.

Each track is one asyncio task that checks every ``interval``, each check bounded by its
``timeout``: a process (``exec``, ``ping``) is killed with its process group when it runs out,
a socket (``tcp``, ``http``) is given up, a read of ``/proc`` or ``/sys`` runs in a thread. No
check ever runs on the engine's loop of events: the result goes through the fall/rise
hysteresis (``domain/tracks.observe``) and a change reaches the engine as a ``TrackChanged``
event. What a failed track means for the role is the pure core's (``engine/core/tracks_rules.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
from collections.abc import Callable
from pathlib import Path

from hapair.clock import iso
from hapair.domain.tracks import TrackHealth, TrackSpec, TrackView, observe
from hapair.engine.core import machine as m

Put = Callable[[m.Event], None]
Now = Callable[[], float]


class Tracks:
    """The checks of one unit's tracks, for one boot of its engine."""

    def __init__(
        self,
        specs: tuple[TrackSpec, ...],
        *,
        on_result: Callable[[str, bool], None] | None = None,
        proc: Path = Path("/proc"),
        sys_class_net: Path = Path("/sys/class/net"),
    ) -> None:
        self.specs = specs
        self.health: dict[str, TrackHealth] = {s.name: TrackHealth() for s in specs}
        self.since: dict[str, float | None] = {s.name: None for s in specs}
        self._tasks: list[asyncio.Task[None]] = []
        self._on_result = on_result
        self._proc = proc
        self._net = sys_class_net

    def start(self, put: Put, now: Now) -> None:
        """Starts one checking task per track; changes are ``put`` as events at ``now()``."""
        for spec in self.specs:
            task = asyncio.create_task(self._run(spec, put, now), name=f"track-{spec.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Stops every check (a process under way is killed)."""
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def views(self) -> list[TrackView]:
        """The tracks as ``GET /unit`` shows them."""
        out = []
        for spec in self.specs:
            h, since = self.health[spec.name], self.since[spec.name]
            out.append(
                TrackView(
                    name=spec.name,
                    kind=spec.kind,
                    target=spec.target,
                    ok=h.ok,
                    since=None if since is None else iso(since),
                    detail=h.detail,
                )
            )
        return out

    async def _run(self, spec: TrackSpec, put: Put, now: Now) -> None:
        next_at = time.monotonic()
        while True:
            good, detail = await self.check(spec)
            before = self.health[spec.name]
            after = observe(spec, before, good, detail)
            self.health[spec.name] = after
            if after.ok != before.ok:
                self.since[spec.name] = time.time()
                if self._on_result is not None:
                    self._on_result(spec.name, bool(after.ok))
            if after.ok != before.ok or after.detail != before.detail:
                put(m.TrackChanged(now=now(), name=spec.name, ok=bool(after.ok), detail=detail))
            next_at = max(next_at + spec.interval, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    async def check(self, spec: TrackSpec) -> tuple[bool, str]:
        """One check, bounded by the track's timeout: (healthy, what was seen)."""
        try:
            async with asyncio.timeout(spec.timeout):  # keeps a cancellation (wait_for: 3.11)
                return await self._check(spec)
        except TimeoutError:
            return False, f"no answer within {spec.timeout:g} s"
        except OSError as exc:
            return False, os.strerror(exc.errno) if exc.errno else str(exc)

    async def _check(self, spec: TrackSpec) -> tuple[bool, str]:
        match spec.kind:
            case "exec":
                return await _run_process(shlex.split(spec.target))
            case "ping":
                wait = max(1, int(spec.timeout))
                good, detail = await _run_process(
                    ["ping", "-n", "-q", "-c1", f"-W{wait}", spec.target]
                )
                return good, "answers" if good else f"no answer ({detail})"
            case "tcp":
                return await _connect(spec.target)
            case "http":
                return await _http(spec.target, spec.timeout)
            case "interface":
                return await asyncio.to_thread(_operstate, self._net, spec.target)
            case "process":
                return await asyncio.to_thread(_process_runs, self._proc, spec.target)
        return False, f"unknown kind {spec.kind}"


async def _run_process(argv: list[str]) -> tuple[bool, str]:
    """Runs ``argv`` without a shell in its own process group; healthy on exit 0. A check
    that runs out of time is killed with its whole group (the caller's ``wait_for`` cancels
    this)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = await proc.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.shield(proc.wait())
        raise
    if proc.returncode == 0:
        return True, "exit 0"
    last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
    detail = f"exit {proc.returncode}"
    return False, f"{detail}: {last[0][:200]}" if last else detail


async def _connect(target: str) -> tuple[bool, str]:
    host, _, port = target.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, "connected"


async def _http(url: str, seconds: float) -> tuple[bool, str]:
    import httpx  # only a unit with an http track loads it (issue 23: a lighter unit)

    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client:
            r = await client.get(url)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"[:200]
    return 200 <= r.status_code < 300, f"HTTP {r.status_code}"


def _operstate(net: Path, name: str) -> tuple[bool, str]:
    try:
        state = (net / name / "operstate").read_text().strip()
    except OSError:
        return False, "no such interface"
    # ``unknown`` counts as up, as for --interface (loopback and tun report it)
    return state in ("up", "unknown"), f"operstate {state}"


def _process_runs(proc: Path, name: str) -> tuple[bool, str]:
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().rstrip("\n")
        except OSError:
            continue
        if comm == name:
            return True, f"pid {entry.name}"
    return False, "not running"
