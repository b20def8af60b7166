"""Throughput: hapair's GET /ha/parameters against its own /healthz, and hapair against FastAPI.

Run from the repository root: ``python -m bench.throughput [--duration 5] [--rounds 3]``.

Everything is measured side by side in one run, on one machine, under the same load (wrk, same
threads and connections), with runs interleaved A, B, A, B... and medians reported, because
this machine is shared and noisy. Besides requests/s it prints each server's CPU time per
request (user + system, from /proc), which is much less sensitive to the noise than
throughput and says where a ratio comes from.

- hapair: one unit alone (``--mode first``, nobody at the partner address), so it is active
  with its embedded Redis; reads go to the direct address, writes to the shared one.
- alternative: ``bench/alt_fastapi.py`` (FastAPI + pydantic) served as its users serve it,
  uvicorn with uvloop and httptools (as hapair serves too), over its own redis-server (the same
  bundled binary and persistence settings).

With ``--without-fastpath``, a second lone unit started with ``HAPAIR_FASTPATH=off`` (every
request through Litestar's router, as before ``api/fastpath.py``) is measured in the same
rounds: its own parameters / healthz ratio, side by side with the unit as it runs.

Writes are ``PATCH`` merge patches whose value changes on every request (so each one commits a
revision); neither side has a replica, so neither waits for one.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import (
    Proc,
    Procs,
    Series,
    hapair_args,
    machine_note,
    patch_script,
    run_wrk,
    start_redis,
    wait_http,
    wrk_available,
)
from hapair.store.embedded import free_port

PARAMS = "/api/v1/ha/parameters"
HEALTH = "hapair GET /healthz"
GET_H = "hapair GET /api/v1/ha/parameters"
GET_A = "fastapi GET /api/v1/ha/parameters"
PATCH_H = "hapair PATCH /api/v1/ha/parameters"
PATCH_A = "fastapi PATCH /api/v1/ha/parameters"
HEALTH_P = "plain GET /healthz"
GET_P = "plain GET /api/v1/ha/parameters"


@dataclass
class Case:
    """One thing to measure: a URL on a server, with headers or a wrk script."""

    series: Series
    url: str
    server: Proc
    headers: dict[str, str] = field(default_factory=dict)
    script: Path | None = None

    def run(self, duration: float, connections: int, threads: int) -> None:
        self.series.runs.append(
            run_wrk(
                self.url,
                server=self.server,
                duration=duration,
                connections=connections,
                threads=threads,
                headers=self.headers,
                script=self.script,
            )
        )


def start_hapair(
    procs: Procs,
    token: str,
    name: str = "hapair",
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> tuple[Proc, str, str]:
    """A lone unit (active, embedded Redis); returns it, its direct and its shared URL."""
    port = free_port("127.0.0.10")
    proc = procs.start(
        name,
        hapair_args(
            procs.dir / name,
            mode="first",
            listen=f"127.0.0.11:{port}",
            partner=f"127.0.0.12:{port}",
            shared=f"127.0.0.10:{port}",
            pair_key=secrets.token_hex(16),
            token=token,
            extra=extra,
        ),
        env,
    )
    direct, shared = f"http://127.0.0.11:{port}", f"http://127.0.0.10:{port}"
    wait_http(f"{direct}/readyz", proc)
    wait_http(f"{shared}/readyz", proc)
    return proc, direct, shared


def start_alt(procs: Procs, token: str) -> tuple[Proc, str]:
    """The FastAPI alternative over its own redis-server."""
    _redis, redis_url = start_redis(procs, "alt-redis")
    port = free_port()
    proc = procs.start(
        "alt",
        [sys.executable, "-m", "bench.alt_fastapi", "--listen", f"127.0.0.1:{port}",
         "--redis", redis_url, "--token", token],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", proc)
    return proc, url


def sanity(read_base: str, write_base: str, auth: dict[str, str]) -> None:
    """Both servers answer the same shape and accept the bench's patch."""
    got = httpx.get(read_base + PARAMS, headers=auth)
    if got.status_code != 200 or "ETag" not in got.headers:
        raise SystemExit(f"GET {read_base}{PARAMS}: {got.status_code} {got.text}")
    patched = httpx.patch(
        write_base + PARAMS,
        content=b'{"initial_wait_time": 1}',
        headers={**auth, "Content-Type": "application/merge-patch+json"},
    )
    if patched.status_code != 200:
        raise SystemExit(f"PATCH {write_base}{PARAMS}: {patched.status_code} {patched.text}")


def verdict(label: str, value: float, target: float, unit: str = "") -> str:
    ok = "OK" if value >= target else "MISSED"
    return f"{label}: {value:.2f}{unit} (target >= {target:g}{unit}) {ok}"


def report(cases: list[Case], ns: argparse.Namespace) -> None:
    by = {c.series.name: c.series for c in cases}

    def ratio(a: str, b: str, attr: str = "rps") -> float:
        return by[a].median(attr) / by[b].median(attr)

    print(machine_note())
    print(
        f"wrk -t{ns.threads} -c{ns.connections} -d{round(ns.duration)}s, "
        f"{ns.rounds} interleaved rounds, medians; cpu = server CPU time per request"
    )
    servers = {c.server.pid: c for c in cases}
    for pid, c in servers.items():
        loaded = c.server.native_modules("uvloop", "httptools") or ["neither"]
        name = c.series.name.split()[0]
        print(f"  {name} (pid {pid}) has loaded: {', '.join(loaded)} (of uvloop, httptools)")
    for c in cases:
        print("  " + c.series.describe())
    print()
    print(verdict("GET parameters / healthz throughput", ratio(GET_H, HEALTH), 0.90))
    print(
        f"  cpu per request: healthz {by[HEALTH].median('cpu_us_per_req'):.0f} us, "
        f"parameters {by[GET_H].median('cpu_us_per_req'):.0f} us"
    )
    if GET_P in by:
        print(
            verdict(
                "  without the fast path (plain: HAPAIR_FASTPATH=off)", ratio(GET_P, HEALTH_P), 0.90
            )
            + f"  (cpu per request: healthz {by[HEALTH_P].median('cpu_us_per_req'):.0f} us, "
            f"parameters {by[GET_P].median('cpu_us_per_req'):.0f} us)"
        )
    for what, ours, theirs in (("reads", GET_H, GET_A), ("writes", PATCH_H, PATCH_A)):
        if theirs in by:
            cpu = ratio(theirs, ours, "cpu_us_per_req")
            ok = by[ours].ok_rps() / by[theirs].ok_rps()
            print(
                verdict(f"hapair / fastapi {what}", ratio(ours, theirs), 1.5, "x")
                + f"  (2xx only: {ok:.2f}x; cpu per request, fastapi / hapair: {cpu:.2f}x)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--skip-alt", action="store_true", help="only hapair's own ratio")
    parser.add_argument("--skip-writes", action="store_true")
    parser.add_argument(
        "--without-fastpath",
        action="store_true",
        help="also a unit without the fast path of GET parameters (HAPAIR_FASTPATH=off)",
    )
    ns = parser.parse_args(argv)
    if not wrk_available():
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    token = "bench-" + secrets.token_hex(8)
    auth = {"Authorization": f"Bearer {token}"}
    with Procs() as procs:
        unit, direct, shared = start_hapair(procs, token)
        sanity(direct, shared, auth)
        cases = [
            Case(Series(HEALTH), direct + "/healthz", unit),
            Case(Series(GET_H), direct + PARAMS, unit, auth),
        ]
        if ns.without_fastpath:
            plain, plain_direct, _ = start_hapair(
                procs, token, "hapair-plain", {"HAPAIR_FASTPATH": "off"}
            )
            cases += [
                Case(Series(HEALTH_P), plain_direct + "/healthz", plain),
                Case(Series(GET_P), plain_direct + PARAMS, plain, auth),
            ]
        if not ns.skip_alt:
            alt, alt_url = start_alt(procs, token)
            sanity(alt_url, alt_url, auth)
            cases.append(Case(Series(GET_A), alt_url + PARAMS, alt, auth))
            if not ns.skip_writes:
                script = patch_script(procs.dir, token)
                cases += [
                    Case(Series(PATCH_H), shared + PARAMS, unit, script=script),
                    Case(Series(PATCH_A), alt_url + PARAMS, alt, script=script),
                ]
        # Warm-up (imports, pools, code paths), not counted.
        for case in cases:
            run_wrk(
                case.url, server=case.server, duration=1, connections=ns.connections,
                headers=case.headers, script=case.script,
            )  # fmt: skip
        for rnd in range(ns.rounds):
            for case in cases if rnd % 2 == 0 else reversed(cases):
                case.run(ns.duration, ns.connections, ns.threads)
        report(cases, ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
