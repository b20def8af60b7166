"""A frozen active on one host (issue 7, point 5; SPEC 5 "status never claims more than is true").

The pair on loopback (first 127.0.0.11, second .12, shared 127.0.0.10), ``ha_timeout`` 3,
heartbeat 0.5 s. The active is frozen with SIGSTOP for longer than ``ha_timeout`` while four
clients PATCH the shared address. On one host the frozen process still holds the shared socket,
so the survivor decides to be active but cannot bind: all along it must say so
(``not_operational`` / ``shared-address-unavailable``), never ``green-active`` without
``serving_shared``. After SIGCONT: one active within 2 heartbeats, no acknowledged write lost,
and whatever a unit committed alone is in ``/ha/conflicts``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair, Unit
from tests.support import (
    WriteStorm,
    missing_writes,
    poll,
    read_conflicts,
    read_history,
)

pytestmark = pytest.mark.timeout(90)

HEARTBEAT = 0.5
HA_TIMEOUT = 3
# SPEC 7 asks for one active within 2 heartbeats of SIGCONT: bench/failover.py measures that
# ("SIGCONT -> one active serving"); here only an outer bound that a loaded 2-core machine keeps
# (speed is measured by bench/, never by timed assertions in tests), the figure is printed.
RESUME_BOUND = 2 * HEARTBEAT + 4


@pytest.fixture
def pair(make_pair: MakePair) -> Pair:
    """The pair with a ``HEARTBEAT`` s heartbeat (closed by ``make_pair``)."""
    return make_pair(heartbeat=HEARTBEAT)


class OwnStatus:
    """Polls ``unit``'s own entry in its own status all along; records each answer."""

    def __init__(self, pair: Pair, unit: Unit) -> None:
        self.pair, self.unit = pair, unit
        self.stop = threading.Event()
        self.seen: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.pair.token}"}
        with httpx.Client(headers=headers, timeout=0.5) as c:
            while not self.stop.is_set():
                try:
                    units = c.get(f"{self.unit.url}/api/v1/ha/status").json()["units"]
                except (httpx.HTTPError, ValueError, KeyError):
                    continue
                me = next(u for u in units if u["name"] == self.unit.name)
                self.seen.append({**me, "t": time.monotonic()})
                self.stop.wait(0.05)

    def __enter__(self) -> OwnStatus:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(timeout=5)

    def latest(self) -> dict[str, Any] | None:
        return self.seen[-1] if self.seen else None

    def false_claims(self) -> list[dict[str, Any]]:
        return [u for u in self.seen if u["icon"] == "green-active" and not u["serving_shared"]]

    def story(self) -> list[str]:
        out: list[str] = []
        for u in self.seen:
            shared = "+shared" if u["serving_shared"] else ""
            label = f"{u['role']}/{u['icon']}/{u['reason']}{shared}"
            if not out or out[-1] != label:
                out.append(label)
        return out


def own(pair: Pair, unit: Unit) -> dict[str, Any]:
    return next(u for u in pair.status(unit)["units"] if u["name"] == unit.name)


def test_frozen_active_survivor_never_claims_the_shared_address_and_nothing_is_lost(
    pair: Pair,
) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": HA_TIMEOUT}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == HA_TIMEOUT, timeout=5,
         what="ha_timeout on the standby")  # fmt: skip
    first = pair.first.proc
    assert first is not None
    storm = WriteStorm(pair.shared_url, pair.token, clients=4, timeout=1.0)
    with OwnStatus(pair, pair.second) as watch, storm:
        poll(lambda: len(storm.acked) >= 20, timeout=15, what="20 acknowledged writes")
        stopped = time.monotonic()
        os.kill(first.pid, signal.SIGSTOP)
        try:

            def unavailable() -> bool:
                me = watch.latest()
                return me is not None and (me["role"], me["reason"]) == (
                    "not_operational",
                    "shared-address-unavailable",
                )

            poll(unavailable, timeout=HA_TIMEOUT + 3, what="second: shared-address-unavailable")
            decided = time.monotonic() - stopped
            poll(lambda: time.monotonic() - stopped > HA_TIMEOUT + 2, timeout=HA_TIMEOUT + 3,
                 what="a freeze well past ha_timeout")  # fmt: skip
            assert unavailable(), watch.story()
        finally:
            os.kill(first.pid, signal.SIGCONT)
        resumed = time.monotonic()

        def one_active() -> str:
            roles = {u.name: own(pair, u) for u in (pair.first, pair.second)}
            actives = [n for n, u in roles.items() if u["role"] == "active"]
            standbys = [n for n, u in roles.items() if u["role"] == "standby"]
            if len(actives) == 1 and len(standbys) == 1 and roles[actives[0]]["serving_shared"]:
                return actives[0]
            return ""

        active = poll(one_active, timeout=10, interval=0.02, what="one active after SIGCONT")
        settled = time.monotonic() - resumed
        assert pair.shared_unit_name() == active
        after = storm.count()
        poll(lambda: storm.count() >= after + 10, timeout=10, what="writes after SIGCONT")

    survivor = pair.units[active]
    history = read_history(pair.http, survivor.url)
    conflicts = read_conflicts(pair.http, survivor.url)
    with storm.lock:
        written = list(storm.written)
    lost = missing_writes([w for w in written if w.acknowledged], history, conflicts)
    unarchived = missing_writes(written, history, conflicts)
    print(
        f"one host, SIGSTOP of the active for {HA_TIMEOUT + 2} s: second said "
        f"shared-address-unavailable {decided:.2f} s after the freeze; its own status: "
        f"{watch.story()}; after SIGCONT {active} was the one active within {settled:.2f} s; "
        f"write storm: {storm.summary()}; conflicts archived: {len(conflicts)}; acknowledged "
        f"writes lost: {len(lost)}; answered writes in neither history nor conflicts: "
        f"{len(unarchived)}"
    )
    assert not watch.false_claims(), watch.false_claims()[:3]
    assert len(storm.acked) >= 20
    assert not lost, "\n".join(lost[:20])
    assert not unarchived, "\n".join(unarchived[:20])
    assert settled <= RESUME_BOUND
    # the other unit replicates the survivor and shows the same conflicts
    other = pair.second if active == "first" else pair.first
    assert own(pair, other)["role"] == "standby"
    poll(lambda: read_conflicts(pair.http, other.url) == conflicts, timeout=5,
         what="the conflicts on the standby")  # fmt: skip
