"""Redis down (SPEC section 7): a lone unit on an external redis-server, which is killed and
then frozen (SIGSTOP: the harder case, a hang rather than a refusal); the latency of the 503,
and the time back to 200 once that Redis returns. Part of ``python -m bench.ha``.

Nothing here waits with a fixed sleep for a state: every wait polls with a deadline.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

import httpx
import redis

from bench.common import (
    FIRST,
    PARAMS,
    SECOND,
    SHARED,
    Proc,
    Procs,
    fmt,
    hapair_args,
    poll,
    start_redis,
    wait_http,
)
from hapair.store.embedded import free_port


def _timed_get(http: httpx.Client, url: str) -> tuple[int, float, str]:
    start = time.monotonic()
    try:
        r = http.get(url, timeout=10)
    except httpx.HTTPError as exc:
        return 0, time.monotonic() - start, type(exc).__name__
    slug = r.json().get("type", "") if r.status_code != 200 else ""
    return r.status_code, time.monotonic() - start, slug


def bench_redis_down(procs: Procs, samples: int) -> None:
    redis_proc, redis_url = start_redis(procs, "down-redis")
    port = free_port(SHARED)
    token = "t-" + secrets.token_hex(8)
    unit = procs.start(
        "down-unit",
        hapair_args(
            procs.dir / "down-unit",
            mode="first",
            listen=f"{FIRST}:{port}",
            partner=f"{SECOND}:{port}",
            shared=f"{SHARED}:{port}",
            pair_key=secrets.token_hex(16),
            token=token,
            extra=["--redis", redis_url],
        ),
    )
    base = f"http://{FIRST}:{port}"
    wait_http(base + "/readyz", unit)
    http = httpx.Client(headers={"Authorization": f"Bearer {token}"})
    redis_dir = procs.dir / "down-redis"
    print("Redis down (lone unit on an external redis-server; GET /api/v1/ha/parameters):")
    try:
        for how in ("killed", "frozen (SIGSTOP)"):
            if how == "killed":
                redis_proc.kill9()
            else:
                os.kill(redis_proc.pid, signal.SIGSTOP)
            # The active may answer reads from memory until its Redis probe notices (0.5 s):
            # the target is a 503 within 2 s of the fault, and no request hanging past 2 s.
            fault = time.monotonic()
            results = []
            first_503: float | None = None
            while time.monotonic() - fault < 10 and (first_503 is None or len(results) < samples):
                got = _timed_get(http, base + PARAMS)
                results.append(got)
                if got[0] == 503 and first_503 is None:
                    first_503 = time.monotonic() - fault
            statuses = sorted({f"{s} {slug}" for s, _, slug in results})
            worst = max(t for _, t, _ in results)
            ok = first_503 is not None and first_503 <= 2.0 and worst <= 2.0
            print(
                f"  {how}: answers {statuses}; first 503 after "
                f"{'never' if first_503 is None else f'{first_503:.2f} s'}; per-request latency "
                f"{fmt([t for _, t, _ in results])}; target 503 within 2 s "
                f"{'OK' if ok else 'MISSED'}"
            )
            if how == "killed":
                redis_proc = _restart_redis(procs, redis_dir, redis_url)
            else:
                os.kill(redis_proc.pid, signal.SIGCONT)
            back = time.monotonic()
            poll(
                lambda: http.get(base + PARAMS, timeout=5).status_code == 200,
                timeout=15,
                interval=0.01,
                what="200 again",
            )
            took = time.monotonic() - back
            print(
                f"    back to 200 {took:.2f} s after Redis returned "
                f"(target within 2 s) {'OK' if took <= 2.0 else 'MISSED'}"
            )
    finally:
        http.close()
        if redis_proc.alive():
            os.kill(redis_proc.pid, signal.SIGCONT)


def _restart_redis(procs: Procs, directory: Path, url: str) -> Proc:
    """The same redis-server again, on the same port and data."""
    from hapair.store.embedded import default_executable

    port = url.rsplit(":", 1)[1].split("/", maxsplit=1)[0]
    proc = procs.start(
        "down-redis-again",
        [
            default_executable(), "--port", port, "--bind", "127.0.0.1", "--dir", str(directory),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--protected-mode", "no",
        ],
    )  # fmt: skip
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        poll(client.ping, timeout=10, interval=0.005, what="redis back")
    finally:
        client.close()
    return proc
