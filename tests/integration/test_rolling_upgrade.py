"""The rolling-upgrade drill of docs/operations.md ("Rolling upgrade, one unit at a time") on a
real pair serving a client loop and a write storm on the shared address: maintenance on the
standby, its build replaced, maintenance off, switchover, the same on the other unit. Twice
when the clone has one: from HEAD to "N+1" (tests/integration/builds.py), and from the
previous release (its tag in the clone's history, when its protocol pairs with HEAD's) to HEAD.

What it shows (SPEC 7, "pair-key rotation, rolling upgrade"): 0 acknowledged writes lost, the
clients' reads fail only within the one planned switchover, and writes are refused (409
``version-skew``) only while the versions are mixed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hapair.store.client import DOWN_AFTER_S
from tests.integration.builds import (
    Build,
    Release,
    head,
    newer_build,
    previous_release,
    release_build,
)
from tests.integration.conftest import MakePair
from tests.integration.handover import ready, switchover
from tests.integration.pairs import Pair, Unit
from tests.storm import WriteStorm, missing_writes, read_conflicts, read_history
from tests.support import poll

pytestmark = pytest.mark.timeout(300)


class ReadLoop:
    """One client reading the parameters through the shared address until stopped, each
    request on its own connection (as a client following a moving address); every failure
    kept with the time its request was sent."""

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url}/api/v1/ha/parameters"
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        self.ok = 0
        self.failures: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(headers=self.headers, timeout=2.0, trust_env=False) as http:
            while not self.stop.wait(0.02):
                sent = time.monotonic()  # a request sent in the gap fails in it, however late
                try:
                    r = http.get(self.url)
                except httpx.HTTPError as exc:
                    self.failures.append((sent, type(exc).__name__))
                    continue
                if r.status_code == 200:
                    self.ok += 1
                else:
                    detail = r.json().get("detail", "") if r.content else ""
                    self.failures.append((sent, f"{r.status_code} {detail}"))

    def __enter__(self) -> ReadLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def _unit(pair: Pair, unit: Unit) -> dict[str, Any]:
    r = pair.http.get(f"{unit.url}/api/v1/unit")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _maintenance(pair: Pair, unit: Unit, enabled: bool) -> None:
    """``PUT /unit/maintenance`` on ``unit``'s direct address (a unit that has just started
    on a loaded machine may take a while to answer: 30 s)."""
    r = pair.http.put(
        f"{unit.url}/api/v1/unit/maintenance",
        json={"enabled": enabled, "reason": "upgrade" if enabled else None},
        timeout=30,
    )
    assert r.status_code == 200, r.text


def _replace_build(pair: Pair, unit: Unit, env: dict[str, str], version: str) -> None:
    """Steps 1-3 of the procedure on ``unit``, the standby: maintenance on, its process
    stopped and started from the new build, maintenance off, back as the standby in sync."""
    _maintenance(pair, unit, True)
    unit.stop()
    unit.env = {**unit.env, **env}
    unit.start(wait=False)
    assert unit.proc is not None
    unit.proc.wait_ready(unit.url, timeout=60, verify=False)  # a loaded machine starts slowly
    assert _unit(pair, unit)["version"] == version
    assert _unit(pair, unit)["maintenance"]["enabled"] is True  # kept across the restart
    _maintenance(pair, unit, False)
    poll(lambda: ready(pair), timeout=60, what=f"{unit.name} standby and in sync again")


def _upgrades() -> list[Any]:
    """HEAD -> N+1 always; the previous release -> HEAD when the clone has a tag of one that
    pairs with HEAD (none before v0.2.0: 0.1.0 speaks protocol 3, see CHANGELOG.md)."""
    cases = [pytest.param(None, id="head-to-next")]
    release = previous_release()
    if release is not None:
        cases.append(pytest.param(release, id=f"{release.tag}-to-head"))
    return cases


def _builds(release: Release | None, directory: Path) -> tuple[Build, Build]:
    if release is None:
        return head(), newer_build(directory, 1)
    return release_build(directory, release), head()


@pytest.mark.parametrize("release", _upgrades())
def test_rolling_upgrade_keeps_serving_and_loses_no_write(
    release: Release | None, make_pair: MakePair, tmp_path: Path
) -> None:
    old, new = _builds(release, tmp_path)
    pair = make_pair(env=old.env())
    pair.start_both()
    poll(lambda: ready(pair), timeout=30, what="every switchover check passes")
    assert [_unit(pair, u)["version"] for u in (pair.first, pair.second)] == [old.version] * 2
    with (
        ReadLoop(pair.shared_url, pair.token) as reads,
        WriteStorm(pair.shared_url, pair.token, clients=2, timeout=2.0, pause=0.05) as storm,
    ):
        poll(lambda: len(storm.acked) >= 10, timeout=30, what="acknowledged writes before")
        failures_before = len(reads.failures)
        _replace_build(pair, pair.second, new.env(), new.version)
        # the switchover: the upgraded unit takes the role (the one gap the clients see)
        started = time.monotonic()
        r = switchover(pair)
        assert r.status_code == 200, r.text
        pair.wait_roles({"first": "standby", "second": "active"}, via=pair.second, timeout=30)
        poll(lambda: pair.shared_unit_name() == "second", timeout=30, what="second serves")
        ended = time.monotonic()
        _replace_build(pair, pair.first, new.env(), new.version)
        # both on the new build: writes are acknowledged again
        acked = len(storm.acked)
        poll(lambda: len(storm.acked) >= acked + 10, timeout=30, what="writes after")
    assert failures_before == 0, reads.failures[:5]
    # one gap: every failed read within the switchover, give or take the time after which a
    # unit calls its Redis down (store/client.py DOWN_AFTER_S: on a loaded machine the
    # standby's resync just before the switchover has cost the active a 503 at that moment)
    slack = DOWN_AFTER_S
    outside = [(t, what) for t, what in reads.failures if not started - slack <= t <= ended + slack]
    gap = max((t for t, _ in reads.failures), default=started) - min(
        (t for t, _ in reads.failures), default=started
    )
    print(
        f"rolling upgrade {old.version} -> {new.version}: reads ok {reads.ok}, failed "
        f"{len(reads.failures)} within {gap:.2f} s (switchover took {ended - started:.2f} s); "
        f"writes: {storm.summary()}"
    )
    assert not outside, (started, ended, outside[:5])
    # writes refused only as the procedure says: version-skew while mixed (and, in the
    # switchover's moment, not-active / the address moving, or the 503 of the gap above)
    allowed = {"409 version-skew", "409 not-active", "503 store-unavailable"}
    assert set(storm.refused_by) <= allowed, storm.refused_by
    conflicts = read_conflicts(pair.http, pair.second.url)
    history = read_history(pair.http, pair.second.url)
    with storm.lock:
        written = [w for w in storm.written if w.acknowledged]
    lost = missing_writes(written, history, conflicts)
    assert not lost, "\n".join(lost[:20])
    for unit in (pair.first, pair.second):
        assert _unit(pair, unit)["version"] == new.version
