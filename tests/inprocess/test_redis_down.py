"""Redis down: quick 503 ``store-unavailable`` with ``Retry-After``, never a hang, self-recovery."""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from hapair.store.embedded import EmbeddedRedis
from tests.api_checks import (
    PARAMS,
    create_token,
    problem,
)
from tests.inprocess.runner import InProcessFactory
from tests.ports import free_port
from tests.support import kill9, poll, restart
from tests.units import (
    ADMIN_TOKEN,
    DIRECT_HOST,
    MakeUnit,
    Unit,
)

# (method, path, body): what a client does while Redis is away.
REQUESTS: list[tuple[str, str, object]] = [
    ("GET", PARAMS, None),
    ("PATCH", PARAMS, {"ha_timeout": 3}),
    ("PUT", PARAMS, {}),
    ("GET", f"{PARAMS}/history", None),
    ("GET", f"{PARAMS}/history/1", None),
    ("POST", f"{PARAMS}/rollback", {"revision": 1}),
    ("GET", "/api/v1/ha/conflicts", None),
]

# SPEC 7 asks for a 503 within 2 s of Redis going down and a 200 within 2 s of its return:
# bench/redis_down.py measures them (killed and frozen, part of python -m bench.ha); printed here.
# A test asserts only what a loaded 2-core machine cannot break: every request is answered
# (a 503 store-unavailable, never a hang or a 500) well within NEVER_HANGS, 10x the figure.
NEVER_HANGS = 20.0


def test_store_timeouts_add_up_to_spec_two_seconds() -> None:
    """SPEC 7's two 2 s figures by construction, not by a stopwatch: a command waits at most
    one socket (or connect) timeout; once the probe has been silent ``DOWN_AFTER_S`` (plus a
    probe's timeout to notice) every command fails at once; a returning Redis is seen by the
    next probe."""
    from hapair.store import client
    from hapair.store.redis import Store

    probe = inspect.signature(Store.start_probe).parameters
    interval, timeout = probe["interval"].default, probe["timeout"].default
    assert client.SOCKET_TIMEOUT_S < 2
    assert client.CONNECT_TIMEOUT_S < 2
    assert client.DOWN_AFTER_S + timeout < 2
    # the probe pings on each QUIET_S beat unless something answered within SKIP_S: an
    # answering Redis (a PING within its timeout) is never silent for DOWN_AFTER_S
    assert client.QUIET_S + client.SKIP_S + timeout <= client.DOWN_AFTER_S
    assert interval + timeout < 2


@pytest.fixture
def unit_on_redis(make_unit: MakeUnit, redis_server: EmbeddedRedis) -> Unit:
    unit = make_unit(redis_url=redis_server.url)
    client = unit.client()
    r = client.patch(PARAMS, json={"ha_timeout": 15})
    assert r.status_code == 200, r.text
    return unit


def _timed(
    client: httpx.Client, method: str, path: str, body: object
) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    r = client.request(method, path, json=body)
    return r, time.monotonic() - start


def _assert_unavailable_fast(
    unit: Unit, requests: list[tuple[str, str, object]] = REQUESTS, *, limit: float = NEVER_HANGS
) -> None:
    client = unit.client(timeout=limit)
    # The active unit may answer reads from memory until its Redis probe notices the outage
    # (half a second): SPEC 7 asks for 503 within 2 s of Redis going down, never a hang.
    down_since = time.monotonic()
    slowest = 0.0

    def unavailable() -> bool:
        nonlocal slowest
        r, elapsed = _timed(client, "GET", PARAMS, None)
        slowest = max(slowest, elapsed)
        assert elapsed < limit, f"GET took {elapsed:.2f} s"
        assert r.status_code in (200, 503), r.text
        return r.status_code == 503

    poll(unavailable, timeout=limit, interval=0.05, what="503 store-unavailable")
    first_503 = time.monotonic() - down_since
    assert first_503 < limit
    for method, path, body in requests:
        r, elapsed = _timed(client, method, path, body)
        slowest = max(slowest, elapsed)
        problem(r, 503, "store-unavailable")
        assert int(r.headers["retry-after"]) >= 1, r.headers
        assert elapsed < limit, f"{method} {path} took {elapsed:.2f} s"
    r, elapsed = _timed(client, "GET", "/readyz", None)
    problem(r, 503, "store-unavailable")
    assert "retry-after" in r.headers
    assert elapsed < limit, f"/readyz took {elapsed:.2f} s"
    print(f"first 503 {first_503:.2f} s after Redis went away; slowest answer {slowest:.2f} s")
    # Liveness does not depend on Redis.
    assert client.get("/healthz").status_code == 200


def _wait_recovered(unit: Unit, revision: int) -> float:
    client = unit.client()
    start = time.monotonic()

    def back() -> bool:
        r = client.get(PARAMS, timeout=3)
        assert r.status_code in (200, 503), r.text
        return r.status_code == 200

    poll(
        back, timeout=NEVER_HANGS, interval=0.05, what="GET /ha/parameters 200 after Redis returned"
    )
    elapsed = time.monotonic() - start
    assert client.get(PARAMS).json()["revision"] == revision
    assert client.get("/readyz").status_code == 200
    r = client.patch(PARAMS, json={"ha_timeout": 6})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == revision + 1
    return elapsed


def test_redis_stopped_answers_503_quickly_then_recovers(
    unit_on_redis: Unit, redis_server: EmbeddedRedis
) -> None:
    client = unit_on_redis.client()
    revision = client.get(PARAMS).json()["revision"]
    redis_server.stop()
    _assert_unavailable_fast(unit_on_redis)
    _assert_unavailable_fast(unit_on_redis)  # still quick on a second round
    restart(redis_server)
    elapsed = _wait_recovered(unit_on_redis, revision)
    print(f"recovered {elapsed:.2f} s after Redis came back")
    # SPEC 7's "back to 200 within 2 s": measured by bench/redis_down.py; here it comes back at all
    assert elapsed < NEVER_HANGS


def test_redis_killed_answers_503_quickly_then_recovers(
    unit_on_redis: Unit, redis_server: EmbeddedRedis
) -> None:
    client = unit_on_redis.client()
    revision = client.get(PARAMS).json()["revision"]
    kill9(redis_server)
    _assert_unavailable_fast(unit_on_redis)
    restart(redis_server)
    _wait_recovered(unit_on_redis, revision)


def test_redis_hung_answers_503_without_hanging(
    unit_on_redis: Unit, redis_server: EmbeddedRedis
) -> None:
    """A Redis that accepts connections but never answers (SIGSTOP) must not hang requests."""
    client = unit_on_redis.client()
    revision = client.get(PARAMS).json()["revision"]
    pid = redis_server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        # Each request waits out the socket timeout here: a few are enough.
        _assert_unavailable_fast(unit_on_redis, REQUESTS[:2])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    _wait_recovered(unit_on_redis, revision)


def test_viewer_token_while_redis_down_answers_503_not_401(
    unit_on_redis: Unit, redis_server: EmbeddedRedis
) -> None:
    viewer = create_token(unit_on_redis.data_dir, "viewer")
    client = unit_on_redis.client(token=viewer, timeout=NEVER_HANGS)
    assert client.get(PARAMS).status_code == 200
    redis_server.stop()
    r, elapsed = _timed(client, "GET", PARAMS, None)
    problem(r, 503, "store-unavailable")
    print(f"viewer's 503 in {elapsed:.2f} s")
    assert elapsed < NEVER_HANGS
    restart(redis_server)
    poll(lambda: client.get(PARAMS).status_code == 200, timeout=10, what="viewer reads again")


def test_unit_started_while_redis_down_becomes_ready_when_it_returns(
    unit_factory: InProcessFactory, redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    redis_server.stop()
    port = free_port(DIRECT_HOST)
    direct = f"http://{DIRECT_HOST}:{port}"
    unit_factory(
        ["--listen", f"{DIRECT_HOST}:{port}", "--data-dir", str(tmp_path / "d"),
         "--redis", redis_server.url, "--admin-token", ADMIN_TOKEN]
    )  # fmt: skip

    def not_ready() -> httpx.Response | None:
        r = httpx.get(f"{direct}/readyz", timeout=3)
        return r if r.status_code == 503 else None

    r = poll(not_ready, timeout=15, what="/readyz 503 while Redis is down")
    problem(r, 503, "store-unavailable")
    restart(redis_server)
    poll(
        lambda: httpx.get(f"{direct}/readyz", timeout=3).status_code == 200,
        timeout=10,
        what="/readyz 200 once Redis is up",
    )
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert httpx.get(f"{direct}/api/v1/unit", headers=headers).status_code == 200
