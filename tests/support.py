"""Helpers for the integration tests: polling, real Redis servers, hapair processes, /proc.

Every process started here is stopped by its pid (never by name), and asks the kernel to be
signalled when the test process dies, so nothing outlives a killed pytest run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis

from hapair.store.embedded import EmbeddedRedis, death_signal_preexec
from hapair.store.redis_process import stop_process

T = TypeVar("T")


def poll(fn: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "") -> T:
    """Call ``fn`` until it returns something truthy and return that.

    Exceptions raised by ``fn`` count as "not yet", except a failed assertion, which fails at
    once (a check that went wrong is not retried into a pass). At the deadline an
    AssertionError names ``what`` and the last value or exception.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            value = fn()
        except AssertionError:
            raise
        except Exception as exc:
            last_exc, last_value = exc, None
        else:
            if value:
                return value
            last_exc, last_value = None, value
        if time.monotonic() >= deadline:
            last = f"last exception: {last_exc!r}" if last_exc else f"last value: {last_value!r}"
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or fn!r}; {last}"
            ) from last_exc
        time.sleep(interval)


def redis_client(server: EmbeddedRedis) -> redis.Redis:
    """A sync client of ``server`` as its ``hapair`` user (close it, or use it in a with)."""
    return redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)


def make_redis(directory: Path, *, password: str | None = None) -> EmbeddedRedis:
    """The production :class:`EmbeddedRedis` as tests run it (not started yet).

    Locked down as ``hapair serve`` runs it: tests connect with ``server.url`` (the ``hapair``
    user and its password) and hand that URL to ``hapair serve --redis``. Two servers that
    replicate from each other need the same ``password`` (a pair: ``derived_password``).
    ``appendfsync always``: fault tests SIGKILL it right after a write and expect the write.
    """
    return EmbeddedRedis(directory, password=password, appendfsync="always")


def kill9(server: EmbeddedRedis) -> None:
    """SIGKILL the server by pid (a crash), then reap it; ``start()`` brings it back."""
    pid = server.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.stop()  # reaps it (SIGTERM to a process already gone is a no-op)


def restart(server: EmbeddedRedis) -> None:
    """Start a stopped or killed server again, on the same port (its clients' URLs hold it)."""
    port = server.port
    server.start()
    assert server.port == port, f"redis-server came back on {server.port}, not {port}"


class _Exited(AssertionError):
    pass


class HapairProcess:
    """``python -m hapair serve ARGS`` as a child process, output in ``log_path``."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd if cwd is not None else log_path.parent
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "hapair", "serve", *self.args]

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once it ended (negative: killed by that signal), else ``None``."""
        return None if self._proc is None else self._proc.poll()

    def start(self) -> HapairProcess:
        assert self._proc is None or self._proc.poll() is not None, "already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
            )
        return self

    def wait_ready(self, base_url: str, timeout: float = 10, *, verify: bool = True) -> None:
        """Poll ``GET {base_url}/readyz`` until 200; fail at once if the process exits."""
        url = base_url.rstrip("/") + "/readyz"

        def ready() -> bool:
            if self.returncode is not None:
                raise _Exited(
                    f"hapair exited with {self.returncode} before ready:\n{self.log_tail()}"
                )
            return httpx.get(url, timeout=1.0, verify=verify).status_code == 200

        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                if ready():
                    return
            except _Exited:
                raise
            except httpx.HTTPError as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{url} not 200 after {timeout}s (last: {last!r}); log:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def terminate(self, timeout: float = 10) -> int | None:
        """SIGTERM by pid, wait, SIGKILL fallback; return the exit status."""
        if self._proc is None:
            return None
        return stop_process(self._proc, timeout)

    def kill9(self) -> int | None:
        """SIGKILL by pid and reap; return the exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        return self._proc.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class NsHapairProcess(HapairProcess):
    """``hapair serve`` inside a network namespace (``ip netns exec`` execs: same pid)."""

    def __init__(self, prefix: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix

    @property
    def command(self) -> list[str]:
        return [*self.prefix, *super().command]


class HapairFactory:
    """Starts hapair processes for one test and terminates all of them at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[HapairProcess] = []

    def __call__(
        self, args: list[str], env: dict[str, str] | None = None, *, start: bool = True
    ) -> HapairProcess:
        n = len(self.processes)
        proc = HapairProcess(args, env=env, log_path=self.directory / f"hapair-{n}.log")
        self.processes.append(proc)
        if start:
            proc.start()
        return proc

    def close(self, *, report: bool = True) -> None:
        for proc in self.processes:
            proc.terminate()
        if report:
            for i, proc in enumerate(self.processes):
                print(f"--- hapair-{i} {proc.args} exit {proc.returncode}:\n{proc.log_tail()}")


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of ``pid`` from /proc, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw.rpartition(")")[2].split()
    return fields[0], int(fields[1])


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (zombies included), read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None and stat[1] == pid:
            children.append(int(entry.name))
    return sorted(children)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in {"Z", "X", "x"}


def process_name(pid: int) -> str | None:
    """The ``comm`` of ``pid`` (e.g. ``redis-server``), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


# ---- write storms (fault tests: no acknowledged write may be lost) --------------------------

STORM_FIELD = "initial_wait_time"
_PARAMS = "/api/v1/ha/parameters"


@dataclass(frozen=True)
class Written:
    """A PATCH answered 200: its revision, the value it wrote, whether the partner acked it."""

    client: int
    revision: int
    value: int
    acknowledged: bool
    at: float  # time.monotonic() of the answer


class WriteStorm:
    """``clients`` loops PATCHing ``STORM_FIELD`` on ``url`` until stopped; 200s recorded.

    With ``executor`` (e.g. :func:`tests.netns.netns_executor` threads inside a client
    namespace, at least ``clients`` workers) the loops run there; else on plain threads.
    Each request has its own connection (``Connection: close``), as a client that must follow
    an address moving between hosts would.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        clients: int = 4,
        timeout: float = 2.0,
        executor: Executor | None = None,
    ) -> None:
        self.url = url.rstrip("/") + _PARAMS
        self.token = token
        self.clients = clients
        self.timeout = timeout
        self.executor = executor
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.written: list[Written] = []
        self.refused = 0  # non-200 answers (409 while nobody is active, 503, ...)
        self.refused_by: Counter[str] = Counter()  # "409 not-active": count
        self.failed = 0  # connection errors and timeouts
        self._threads: list[threading.Thread] = []
        self._futures: list[Future[None]] = []

    @property
    def acked(self) -> list[Written]:
        with self.lock:
            return [w for w in self.written if w.acknowledged]

    def count(self) -> int:
        with self.lock:
            return len(self.written)

    def _run(self, i: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Connection": "close"}
        with httpx.Client(headers=headers, timeout=self.timeout, trust_env=False) as http:
            k = 0
            while not self.stop.is_set():
                k += 1
                value = (k * self.clients + i) % 181  # distinct between clients, changes each time
                try:
                    r = http.patch(self.url, json={STORM_FIELD: value})
                except httpx.HTTPError:
                    with self.lock:
                        self.failed += 1
                    self.stop.wait(0.02)  # pace retries against a dead address
                    continue
                with self.lock:
                    if r.status_code == 200:
                        body = r.json()
                        ack = r.headers.get("HA-Partner-Acknowledged") == "true"
                        self.written.append(
                            Written(i, int(body["revision"]), value, ack, time.monotonic())
                        )
                    else:
                        self.refused += 1
                        self.refused_by[f"{r.status_code} {_problem_slug(r)}".strip()] += 1
                if r.status_code != 200:
                    self.stop.wait(0.02)

    def __enter__(self) -> WriteStorm:
        for i in range(self.clients):
            if self.executor is not None:
                self._futures.append(self.executor.submit(self._run, i))
            else:
                t = threading.Thread(target=self._run, args=(i,), daemon=True)
                t.start()
                self._threads.append(t)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=10)
        for f in self._futures:
            f.result(timeout=10)

    def summary(self) -> str:
        with self.lock:
            acked = sum(w.acknowledged for w in self.written)
            return (
                f"{self.clients} clients: answered 200 {len(self.written)} (acknowledged "
                f"{acked}), refused {self.refused} {dict(self.refused_by)}, connection "
                f"errors/timeouts {self.failed}"
            )


def _problem_slug(r: httpx.Response) -> str:
    """``not-active`` for a problem of type ``urn:hapair:problem:not-active``, else ''."""
    try:
        kind = r.json().get("type", "")
    except ValueError:
        return ""
    return str(kind).rpartition(":")[2] if isinstance(kind, str) else ""


def read_history(http: httpx.Client, base: str) -> dict[int, dict[str, Any]]:
    """Every history item the unit at ``base`` keeps, by revision."""
    items: dict[int, dict[str, Any]] = {}
    before: int | None = None
    while True:
        query: dict[str, int] = {"limit": 1000, **({"before": before} if before else {})}
        page = http.get(f"{base}{_PARAMS}/history", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        items.update({item["revision"]: item for item in body["items"]})
        before = body["next_before"]
        if before is None:
            return items


def read_conflicts(http: httpx.Client, base: str) -> list[dict[str, Any]]:
    """``GET /ha/conflicts`` items of the unit at ``base``."""
    r = http.get(f"{base}/api/v1/ha/conflicts")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def missing_writes(
    written: Sequence[Written],
    history: Mapping[int, dict[str, Any]],
    conflicts: Sequence[dict[str, Any]],
) -> list[str]:
    """The writes found neither in ``history`` (that revision, that value) nor in
    ``conflicts`` (archived with that revision and value): lost ones."""
    archived = {(int(c["revision"]), c.get("parameters", {}).get(STORM_FIELD)) for c in conflicts}
    lost = []
    for w in written:
        item = history.get(w.revision)
        change = item["changes"].get(STORM_FIELD) if item is not None else None
        if change is not None and change[1] == w.value:
            continue
        if item is not None and not item["changes"]:
            continue  # a write of the value already there: a revision that changes nothing
        if (w.revision, w.value) in archived:
            continue
        lost.append(
            f"revision {w.revision} ({STORM_FIELD}={w.value}, client {w.client}, "
            f"acknowledged {w.acknowledged}): history has {item!r}"
        )
    return lost
