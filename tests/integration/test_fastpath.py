"""The fast path of ``GET /api/v1/ha/parameters`` (``api/fastpath.py``) answers as Litestar does.

Two units run side by side on one external Redis: ``fast`` as every unit runs, and ``plain``
with ``HAPAIR_FASTPATH=off``, the environment variable that exists only for this comparison
(it leaves the fast path out of the app, so ``plain`` answers every request through
Litestar). Sharing the Redis gives both the same parameters, revision and tokens; the
parameters are written once, through ``fast``, before either unit reads them, with a fixed
``virtual_id`` (the automatic one derives from each unit's own shared address), so both
bodies are the same bytes. The same matrix of requests goes to both, on the shared and on the
direct address, and on two ``non_ha`` units (one of each kind); status, body and every header
but ``date`` must be equal, in order. Then the request counters of the route must be equal
too (the fast path counts under Litestar's route label), and finally the same comparison with
Redis stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hapair.store.embedded import EmbeddedRedis
from tests.integration.conftest import ADMIN_TOKEN, PARAMS, SHARED_HOST, Unit, start_unit
from tests.support import HapairFactory, make_redis, poll

OFF = {"HAPAIR_FASTPATH": "off"}
PLAIN_SHARED_HOST = "127.0.0.20"
TOKENS = "/api/v1/tokens"
SINCE = "Sun, 01 Jan 2023 00:00:00 GMT"


@dataclass
class Pair:
    """The unit with the fast path and the unit without it."""

    fast: Unit
    plain: Unit


@dataclass
class Tokens:
    viewer: str
    admin: str
    expired: str
    revoked: str


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with make_redis(tmp_path_factory.mktemp("fastpath-redis")) as server:
        yield server


@pytest.fixture(scope="module")
def ha(module_factory: HapairFactory, shared_redis: EmbeddedRedis) -> Iterator[Pair]:
    d = module_factory.directory
    fast = start_unit(module_factory, d / "fast", redis_url=shared_redis.url)
    plain = start_unit(
        module_factory,
        d / "plain",
        redis_url=shared_redis.url,
        shared_host=PLAIN_SHARED_HOST,
        env=OFF,
    )
    assert fast.shared is not None
    assert SHARED_HOST in fast.shared
    try:
        yield Pair(fast, plain)
    finally:
        fast.close_clients()
        plain.close_clients()


@pytest.fixture(scope="module")
def non_ha(module_factory: HapairFactory) -> Iterator[Pair]:
    d = module_factory.directory
    fast = start_unit(module_factory, d / "fast-non-ha", ha=False)
    plain = start_unit(module_factory, d / "plain-non-ha", ha=False, env=OFF)
    try:
        yield Pair(fast, plain)
    finally:
        fast.close_clients()
        plain.close_clients()


@pytest.fixture(scope="module")
def tokens(ha: Pair) -> Tokens:
    """Parameters written once (through ``fast``), and tokens of every kind, in the shared
    Redis; nothing here reads the parameters route."""
    admin = ha.fast.client()
    r = admin.put(PARAMS, json={"virtual_id": 42, "ha_timeout": 12})
    assert r.status_code == 200, r.text

    def create(role: str, expires_in_s: int | None = None) -> tuple[str, str]:
        r = admin.post(
            TOKENS, json={"role": role, "description": "fastpath", "expires_in_s": expires_in_s}
        )
        assert r.status_code == 201, r.text
        return r.json()["id"], r.json()["token"]

    _, viewer = create("viewer")
    _, created_admin = create("admin")
    _, expired = create("viewer", expires_in_s=1)
    revoked_id, revoked = create("admin")
    assert admin.delete(f"{TOKENS}/{revoked_id}").status_code == 204

    def gone(unit: Unit) -> bool:
        r = httpx.get(
            f"{unit.direct}/api/v1/ha/status", headers={"Authorization": f"Bearer {expired}"}
        )
        return r.status_code == 401

    for unit in (ha.fast, ha.plain):
        poll(partial(gone, unit), timeout=10, what="the 1 s token to expire")
    return Tokens(viewer=viewer, admin=created_admin, expired=expired, revoked=revoked)


Headers = list[tuple[str, str]]


def matrix(t: Tokens | None) -> list[tuple[str, str, str, Headers]]:
    """(name, method, path with query, headers): the requests both units must answer alike."""
    bearer = [("Authorization", f"Bearer {ADMIN_TOKEN}")]
    out: list[tuple[str, str, str, Headers]] = [
        ("bootstrap admin", "GET", PARAMS, bearer),
        ("no token", "GET", PARAMS, []),
        ("unknown token", "GET", PARAMS, [("Authorization", "Bearer not-a-token-5f1d2c")]),
        ("scheme alone", "GET", PARAMS, [("Authorization", "Bearer")]),
        ("basic scheme", "GET", PARAMS, [("Authorization", "Basic YWRtaW46YWRtaW4=")]),
        ("lower-case scheme", "GET", PARAMS, [("Authorization", f"bearer {ADMIN_TOKEN}")]),
        ("two spaces", "GET", PARAMS, [("Authorization", f"Bearer  {ADMIN_TOKEN}")]),
        ("two authorizations", "GET", PARAMS, [*bearer, ("Authorization", "Bearer x")]),
        ("query string", "GET", f"{PARAMS}?x=1", bearer),
        ("empty query value", "GET", f"{PARAMS}?limit=", bearer),
        ("trailing slash", "GET", f"{PARAMS}/", bearer),
        ("HEAD", "HEAD", PARAMS, bearer),
        ("OPTIONS", "OPTIONS", PARAMS, bearer),
        ("If-None-Match *", "GET", PARAMS, [*bearer, ("If-None-Match", "*")]),
        ("If-None-Match other", "GET", PARAMS, [*bearer, ("If-None-Match", '"999999"')]),
        ("If-Modified-Since", "GET", PARAMS, [*bearer, ("If-Modified-Since", SINCE)]),
        ("Origin", "GET", PARAMS, [*bearer, ("Origin", "http://evil.example")]),
    ]  # fmt: skip
    if t is not None:
        out += [
            ("viewer", "GET", PARAMS, [("Authorization", f"Bearer {t.viewer}")]),
            ("created admin", "GET", PARAMS, [("Authorization", f"Bearer {t.admin}")]),
            ("expired", "GET", PARAMS, [("Authorization", f"Bearer {t.expired}")]),
            ("revoked", "GET", PARAMS, [("Authorization", f"Bearer {t.revoked}")]),
        ]
    return out


def answer(base: str, method: str, path: str, headers: Headers) -> tuple[int, bytes, Headers]:
    r = httpx.request(method, base + path, headers=headers, timeout=10)
    kept = [(k.lower(), v) for k, v in r.headers.multi_items() if k.lower() != "date"]
    # Litestar's 405 lists the route's methods from a set: their order depends on the
    # process's string hash seed, so two processes may differ in order, never in content.
    kept = [(k, ", ".join(sorted(v.split(", "))) if k == "allow" else v) for k, v in kept]
    return r.status_code, r.content, kept


def compare(fast: str, plain: str, requests: list[tuple[str, str, str, Headers]]) -> set[int]:
    """Sends each request to both bases; returns the statuses seen. Fails on any difference."""
    seen = set()
    for name, method, path, headers in requests:
        got = answer(fast, method, path, headers)
        want = answer(plain, method, path, headers)
        assert got == want, f"{name} ({method} {path}): fast path {got} != Litestar {want}"
        seen.add(got[0])
    return seen


def test_ha_unit_answers_as_litestar_on_shared_and_direct_address(ha: Pair, tokens: Tokens) -> None:
    assert ha.fast.shared is not None
    assert ha.plain.shared is not None
    # Etag and body must match: both units hold one revision of the same parameters.
    bearer = [("Authorization", f"Bearer {ADMIN_TOKEN}")]
    etag = answer(ha.fast.direct, "GET", PARAMS, bearer)
    assert etag == answer(ha.plain.direct, "GET", PARAMS, bearer)  # (and counted on both)
    requests = [
        *matrix(tokens),
        ("If-None-Match current", "GET", PARAMS,
         [("Authorization", f"Bearer {ADMIN_TOKEN}"), ("If-None-Match", dict(etag[2])["etag"])]),
    ]  # fmt: skip
    for fast, plain in ((ha.fast.shared, ha.plain.shared), (ha.fast.direct, ha.plain.direct)):
        seen = compare(fast, plain, requests)
        assert {200, 401} <= seen, seen
    status, body, headers = etag
    assert status == 200
    assert b'"virtual_id":42' in body
    assert b'"ha_timeout":12' in body
    assert dict(headers)["etag"] == f'"{json.loads(body)["revision"]}"'


def test_fast_path_counts_under_the_route_label(ha: Pair, tokens: Tokens) -> None:
    """After the same requests, both units' counters of the route are equal (the requests are
    this test's own: it does not count on another test having run before it on this pair)."""

    def counters(unit: Unit) -> dict[tuple[str, str], float]:
        text = httpx.get(f"{unit.direct}/metrics").text
        out = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = s.labels
                if (
                    s.name == "hapair_http_requests_total"
                    and labels["route"] == PARAMS
                    and labels["method"] != "PUT"
                ):
                    out[(labels["method"], labels["status"])] = s.value
        return out

    bearer = [("Authorization", f"Bearer {ADMIN_TOKEN}")]
    for unit in (ha.fast, ha.plain):
        for _ in range(2):
            assert answer(unit.direct, "GET", PARAMS, bearer)[0] == 200
    fast, plain = counters(ha.fast), counters(ha.plain)
    assert fast == plain
    assert fast[("GET", "200")] >= 2, fast


def test_fast_path_leaves_no_failure_in_the_log(ha: Pair, tokens: Tokens) -> None:
    """The fast path hands a bug on to Litestar, but says so: it must not have."""
    assert '"event":"fastpath"' not in ha.fast.proc.log_text()


def test_non_ha_unit_answers_as_litestar(non_ha: Pair) -> None:
    seen = compare(non_ha.fast.direct, non_ha.plain.direct, matrix(None))
    assert 409 in seen, seen
    assert '"event":"fastpath"' not in non_ha.fast.proc.log_text()


def test_redis_stopped_answers_as_litestar(
    ha: Pair, tokens: Tokens, shared_redis: EmbeddedRedis
) -> None:
    shared_redis.stop()
    bearer = [("Authorization", f"Bearer {ADMIN_TOKEN}")]

    def unavailable(unit: Unit) -> bool:
        return answer(unit.direct, "GET", PARAMS, bearer)[0] == 503

    for unit in (ha.fast, ha.plain):
        poll(partial(unavailable, unit), timeout=10, what="503 with Redis stopped")
    assert ha.fast.shared is not None
    assert ha.plain.shared is not None
    # The direct addresses answer as long as the processes run.
    seen = compare(ha.fast.direct, ha.plain.direct, matrix(tokens))
    assert 503 in seen, seen
    # ha_timeout after Redis stopped, each unit steps aside (store-lost) and releases its shared
    # address, each at its own tick: on a loaded machine that can fall inside this loop. A
    # request that one of the two shared addresses no longer takes is not compared; every one
    # both answered must match.
    for name, method, path, headers in matrix(tokens):
        try:
            got = answer(ha.fast.shared, method, path, headers)
            want = answer(ha.plain.shared, method, path, headers)
        except httpx.ConnectError:
            continue
        assert got == want, f"{name} ({method} {path}): fast path {got} != Litestar {want}"
