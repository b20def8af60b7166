"""Write storms for fault tests: no acknowledged write may be lost.

:class:`WriteStorm` PATCHes from several clients while a fault happens; afterwards
:func:`missing_writes` looks for every answered write in the history and ``/ha/conflicts``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import httpx

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
        pause: float = 0.0,
    ) -> None:
        self.url = url.rstrip("/") + _PARAMS
        self.token = token
        self.clients = clients
        self.timeout = timeout
        self.executor = executor
        # between one client's writes: a storm that outlasts the history's 1000 revisions
        # (domain/limits.py HISTORY_KEEP) could no longer be checked against it
        self.pause = pause
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
                elif self.pause:
                    self.stop.wait(self.pause)

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
