"""HA service levels (SPEC section 7): replication lag, failover, start time, Redis down.

Run from the repository root: ``python -m bench.ha [--writes 300] [--failovers 3]``.

- replication: a real pair on loopback; sequential PATCHes on the shared address. For each
  write: whether it was answered ``HA-Partner-Acknowledged: true``, whether a GET on the
  standby's direct address right after the answer already shows it, and the lag from sending
  the write until its revision is visible in the standby's Redis (a thread polls it in a
  tight loop) and on the standby's direct address.
- failover: ``ha_timeout`` 3, kill -9 of the active, time until the shared address answers
  from the other unit; the killed unit is restarted (it comes back standby) and the next kill
  goes the other way.
- start: ``hapair serve`` with a fresh data dir (embedded Redis) until ``/readyz`` is 200
  (``bench/start.py``, which also runs alone with more starts).
- Redis down: a lone unit on an external redis-server; the latency of the 503 when that Redis
  is killed and when it is frozen (SIGSTOP: the harder case, a hang rather than a refusal),
  and the time back to 200 once it returns.

Nothing here waits with a fixed sleep for a state: every wait polls with a deadline.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time

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
    kill_failovers,
    machine_note,
    partner_of,
    poll,
    set_ha_timeout,
    wait_http,
)
from bench.redis_down import bench_redis_down
from bench.start import bench_start
from hapair.store import keys
from hapair.store.embedded import free_port


class PairBench:
    """Two units on loopback, started and stopped by pid."""

    def __init__(self, procs: Procs) -> None:
        self.procs = procs
        self.port = free_port(SHARED)
        self.token = "bench-" + secrets.token_hex(8)
        self.key = secrets.token_hex(16)
        self.hosts = {"first": FIRST, "second": SECOND}
        self.proc: dict[str, Proc] = {}
        self.http = httpx.Client(headers={"Authorization": f"Bearer {self.token}"}, timeout=5)

    def url(self, name: str) -> str:
        return f"http://{self.hosts[name]}:{self.port}"

    @property
    def shared(self) -> str:
        return f"http://{SHARED}:{self.port}"

    def start(self, name: str) -> float:
        other = partner_of(name)
        args = hapair_args(
            self.procs.dir / name,
            mode=name,
            listen=f"{self.hosts[name]}:{self.port}",
            partner=f"{self.hosts[other]}:{self.port}",
            shared=f"{SHARED}:{self.port}",
            pair_key=self.key,
            token=self.token,
        )
        start = time.monotonic()
        self.proc[name] = self.procs.start(name, args)
        wait_http(self.url(name) + "/readyz", self.proc[name])
        return time.monotonic() - start

    def roles(self, via: str) -> dict[str, str]:
        body = self.http.get(self.url(via) + "/api/v1/ha/status", timeout=1).json()
        return {u["name"]: u["role"] for u in body["units"]}

    def wait_roles(self, expected: dict[str, str], via: str, timeout: float = 20) -> None:
        poll(
            lambda: all(self.roles(via).get(k) == v for k, v in expected.items()),
            timeout=timeout,
            interval=0.05,
            what=f"roles {expected}",
        )

    def wait_settled(self, active: str, standby: str) -> None:
        self.wait_roles({active: "active", standby: "standby"}, via=active)

    def kill9(self, name: str) -> None:
        self.proc[name].kill9()

    def failover_time(self, name: str, since: float) -> float:
        poll(lambda: self.shared_name() == name, timeout=15, interval=0.01, what="failover")
        return time.monotonic() - since

    def shared_name(self) -> str | None:
        try:
            r = self.http.get(self.shared + "/api/v1/unit", timeout=0.5)
        except httpx.HTTPError:
            return None
        return str(r.json()["name"]) if r.status_code == 200 else None

    def redis_url(self, name: str) -> str:
        runtime = json.loads((self.procs.dir / name / "runtime.json").read_text())
        return str(runtime["redis_url"])

    def close(self) -> None:
        self.http.close()


def bench_replication(pair: PairBench, writes: int) -> None:
    standby_redis = redis.Redis.from_url(pair.redis_url("second"), socket_timeout=2)
    seen: dict[int, float] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            raw = standby_redis.get(keys.REVISION)
            rev = int(raw or 0)
            now = time.monotonic()
            for r in range(max(seen, default=rev - 1) + 1, rev + 1):
                seen.setdefault(r, now)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    acked = at_once = 0
    redis_lag: list[float] = []
    api_lag: list[float] = []
    not_acked_lag: list[float] = []
    try:
        for i in range(writes):
            sent = time.monotonic()
            r = pair.http.patch(pair.shared + PARAMS, json={"initial_wait_time": i % 180})
            answered = time.monotonic()
            if r.status_code != 200:
                raise SystemExit(f"write {i}: {r.status_code} {r.text}")
            rev = int(r.json()["revision"])
            ack = r.headers.get("HA-Partner-Acknowledged") == "true"
            acked += ack

            def visible(rev: int = rev) -> float | None:
                got = pair.http.get(pair.url("second") + PARAMS).json()["revision"]
                return time.monotonic() if got >= rev else None

            first_try = visible()
            if first_try is not None and ack:
                at_once += 1
            shown = first_try or poll(visible, timeout=5, interval=0.001, what=f"rev {rev}")
            api_lag.append(shown - sent)
            if not ack:
                not_acked_lag.append(max(0.0, shown - answered))
            poll(lambda rev=rev: rev in seen, timeout=5, interval=0.001, what=f"redis rev {rev}")
            redis_lag.append(seen[rev] - sent)
    finally:
        stop.set()
        watcher.join(timeout=5)
        standby_redis.close()
    print(f"replication ({writes} sequential PATCHes on the shared address):")
    print(f"  acknowledged by the partner: {acked}/{writes}")
    print(f"  acknowledged and visible on the standby's direct address at once: {at_once}/{acked}")
    print(f"  send -> visible in the standby's Redis:  {fmt(redis_lag)}")
    print(f"  send -> visible on the standby's API:    {fmt(api_lag)}")
    if not_acked_lag:
        print(f"  not acknowledged, answer -> visible:     {fmt(not_acked_lag)}")


def bench_failover(pair: PairBench, rounds: int) -> None:
    set_ha_timeout(pair.http.request, pair.shared, pair.url("second"), 3)
    times, _ = kill_failovers(pair, rounds, "first")
    print(f"failover after kill -9 (ha_timeout 3, heartbeat 0.5 s), {rounds} rounds:")
    print(
        f"  shared address answered by the new active after: "
        f"{', '.join(f'{t:.2f}' for t in times)} s; max {max(times):.2f} s "
        f"(target <= 4.00 s) {'OK' if max(times) <= 4.0 else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--failovers", type=int, default=3)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--down-samples", type=int, default=10)
    ns = parser.parse_args(argv)
    print(machine_note())
    with Procs() as procs:
        bench_start(procs, ns.starts)
        bench_redis_down(procs, ns.down_samples)
        pair = PairBench(procs)
        try:
            pair.start("first")
            pair.wait_roles({"first": "active"}, via="first")
            pair.start("second")
            pair.wait_roles({"first": "active", "second": "standby"}, via="first")
            bench_replication(pair, ns.writes)
            bench_failover(pair, ns.failovers)
        finally:
            pair.close()
    print(machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
