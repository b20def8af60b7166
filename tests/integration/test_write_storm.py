"""Fault test: kill -9 of the active during a write storm loses no acknowledged write (SPEC 7).

Several clients PATCH distinct values on the shared address while the active is killed. Every
answer with ``HA-Partner-Acknowledged: true`` must then be found on the new active: its
revision in the history, with the same changes, and the parameters as of that revision equal
to what the write answered.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.pairs import Pair
from tests.support import poll, read_history

PARAMS = "/api/v1/ha/parameters"
CLIENTS = 6
READ_ONLY = {"revision", "updated_at"}


@dataclass(frozen=True)
class Answer:
    client: int
    revision: int
    body: dict[str, Any]


class Storm:
    """``CLIENTS`` threads PATCHing the shared address until stopped; answers recorded."""

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[Answer] = []
        self.unacked = 0
        self.refused = 0  # 412 after contention, 409 while nobody is active, ...
        self.failed = 0  # connection errors and timeouts (the active died)
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(CLIENTS)]

    def _run(self, i: int) -> None:
        headers = {"Authorization": f"Bearer {self.pair.token}"}
        with httpx.Client(base_url=self.pair.shared_url, headers=headers, timeout=2.0) as http:
            k = 0
            while not self.stop.is_set():
                k += 1
                value = (k * CLIENTS + i) % 181  # distinct between clients, changes every time
                try:
                    r = http.patch(PARAMS, json={"initial_wait_time": value})
                except httpx.HTTPError:
                    with self.lock:
                        self.failed += 1
                    time.sleep(0.02)  # pace retries against a dead address, not a wait for state
                    continue
                with self.lock:
                    if r.status_code != 200:
                        self.refused += 1
                    elif r.headers.get("HA-Partner-Acknowledged") == "true":
                        body = r.json()
                        self.acked.append(Answer(i, int(body["revision"]), body))
                    else:
                        self.unacked += 1

    def count(self) -> int:
        with self.lock:
            return len(self.acked) + self.unacked

    def __enter__(self) -> Storm:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


@pytest.mark.timeout(90)
def test_kill9_of_active_during_write_storm_loses_no_acknowledged_write(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == 3, timeout=5, what="ha_timeout 3")

    with Storm(pair) as storm:
        poll(lambda: len(storm.acked) >= 50, timeout=15, what="50 acknowledged writes")
        acked_before_kill = len(storm.acked)
        killed_at = time.monotonic()
        pair.first.kill9()
        poll(lambda: pair.shared_unit_name(timeout=0.3) == "second", timeout=15, interval=0.05,
             what="the second unit answering the shared address")  # fmt: skip
        failover_s = time.monotonic() - killed_at
        after = storm.count()
        poll(lambda: storm.count() >= after + 20, timeout=10, what="writes on the new active")

    new_active = pair.second.url
    kept = read_history(pair.http, new_active)
    lost: list[str] = []
    for a in storm.acked:
        item = kept.get(a.revision)
        if item is None:
            lost.append(f"revision {a.revision} (client {a.client}) is not in the history")
            continue
        change = item["changes"].get("initial_wait_time")
        if change is not None and change[1] != a.body["initial_wait_time"]:
            lost.append(f"revision {a.revision}: history changed it to {change[1]}, "
                        f"the write answered {a.body['initial_wait_time']}")  # fmt: skip
            continue
        as_of = pair.http.get(f"{new_active}{PARAMS}/history/{a.revision}")
        assert as_of.status_code == 200, as_of.text
        got = {k: v for k, v in as_of.json().items() if k not in READ_ONLY}
        want = {k: v for k, v in a.body.items() if k not in READ_ONLY}
        if got != want:
            lost.append(f"revision {a.revision}: parameters {got} != answered {want}")

    print(
        f"write storm: {CLIENTS} clients; acknowledged {len(storm.acked)} "
        f"({acked_before_kill} before the kill), not acknowledged {storm.unacked}, "
        f"refused {storm.refused}, connection errors {storm.failed}; "
        f"failover {failover_s:.2f} s; acknowledged writes lost: {len(lost)}"
    )
    assert acked_before_kill >= 50
    assert not lost, "\n".join(lost[:20])
