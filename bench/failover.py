"""Failover as a client sees it (SPEC 7): kill -9 and SIGSTOP of the active, medians of runs.

Run from the repository root: ``python -m bench.failover [--runs 5]``.

As root (network namespaces): ``hapair up --netns``'s topology under a unique prefix, each unit
``hapair serve`` in its namespace with its embedded Redis and the shared address 192.0.2.10 as a
virtual IP (``--shared-interface eth0``); the client is a namespace on the same bridge, and its
requests go through the virtual IP, following the gratuitous ARPs. Without root: the pair on
loopback (127.0.0.11/.12, shared 127.0.0.10), where a frozen process keeps the shared socket, so
a SIGSTOP failover cannot complete before SIGCONT: the figure printed for it is when the
survivor *says* it cannot serve (``shared-address-unavailable``).

Each run: ``ha_timeout`` 3, heartbeat 0.5 s; the fault hits the active; four prober threads in
the client (staggered, 0.3 s timeout, a new connection per request) GET ``/api/v1/unit`` on the
shared address; the figure is the time from the fault to the first answer naming the other
unit. After kill -9 the killed unit is started again (it comes back standby) and the next run
goes the other way; after SIGSTOP the unit is resumed at once and the time until the pair has
one active, serving, and one standby (each as it says itself) is printed too.

Nothing here waits for a state with a fixed sleep: every wait polls with a deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.common import (
    FIRST,
    SECOND,
    SHARED,
    Proc,
    Procs,
    hapair_args,
    kill_failovers,
    machine_note,
    partner_of,
    poll,
    seconds_line,
    set_ha_timeout,
)
from hapair.cli.lan import IPV4, PREFIX4, SHARED_IP, LanTopology, enter_netns, ip
from hapair.store.embedded import free_port

T = TypeVar("T")
HEARTBEAT = 0.5
HA_TIMEOUT = 3
PROBERS = 4


def netns_usable() -> bool:
    return os.geteuid() == 0 and Path("/run").exists() and ip("netns", check=False).returncode == 0


class Site:
    """Where the pair runs and where the client stands: namespaces, or loopback."""

    def __init__(self, procs: Procs, *, netns: bool) -> None:
        self.procs = procs
        self.netns = netns
        self.token = "bench-" + secrets.token_hex(8)
        self.key = secrets.token_hex(16)
        self.topology: LanTopology | None = None
        self.client: ThreadPoolExecutor | None = None
        if netns:
            self.topology = LanTopology(f"hpb-{os.getpid()}-{secrets.token_hex(2)}")
            self.topology.__enter__()
            self.client = ThreadPoolExecutor(
                max_workers=PROBERS + 2,
                initializer=enter_netns,
                initargs=(self.topology.ns("client"),),
            )
            self.port = 8080
            self.hosts = {"first": IPV4["first"], "second": IPV4["second"]}
            self.shared_host = SHARED_IP
        else:
            self.port = free_port(SHARED)
            self.hosts = {"first": FIRST, "second": SECOND}
            self.shared_host = SHARED
        self.units: dict[str, Proc] = {}
        self.starts = {"first": 0, "second": 0}

    def describe(self) -> str:
        if self.topology is not None:
            return (
                f"network namespaces {self.topology.prefix}-*: units {self.hosts['first']} and "
                f"{self.hosts['second']}, virtual IP {self.shared_host} on eth0, client "
                f"{IPV4['client']} on the same bridge"
            )
        why = "--loopback" if netns_usable() else "no root for namespaces"
        return f"one host (loopback 127.0.0.11/.12, shared 127.0.0.10; {why})"

    def close(self) -> None:
        for proc in self.units.values():
            if proc.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)
        if self.client is not None:
            self.client.shutdown(wait=True, cancel_futures=True)
        self.procs.close()
        if self.topology is not None:
            self.topology.close()

    # the client -----------------------------------------------------------------------------
    def on_client(self, fn: Callable[[], T]) -> T:
        return self.client.submit(fn).result() if self.client is not None else fn()

    def http(self, timeout: float) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}", "Connection": "close"}
        return httpx.Client(headers=headers, timeout=timeout, trust_env=False)

    def request(self, method: str, url: str, timeout: float = 2.0, **kw: Any) -> httpx.Response:
        def call() -> httpx.Response:
            with self.http(timeout) as c:
                return c.request(method, url, **kw)

        return self.on_client(call)

    def url(self, name: str) -> str:
        return f"http://{self.hosts[name]}:{self.port}"

    @property
    def shared(self) -> str:
        return f"http://{self.shared_host}:{self.port}"

    def me(self, name: str) -> dict[str, Any]:
        body = self.request("GET", f"{self.url(name)}/api/v1/ha/status", timeout=1).json()
        return next(u for u in body["units"] if u["name"] == name)

    def shared_name(self, timeout: float = 0.3) -> str | None:
        try:
            r = self.request("GET", f"{self.shared}/api/v1/unit", timeout=timeout)
        except httpx.HTTPError:
            return None
        return str(r.json()["name"]) if r.status_code == 200 else None

    # the units ------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        other = partner_of(name)
        extra = ["--log-level", "info"]
        if self.topology is not None:
            extra += ["--shared-interface", "eth0", "--shared-prefix", str(PREFIX4)]
        args = hapair_args(
            self.procs.dir / name,
            mode=name,
            listen=f"{self.hosts[name]}:{self.port}",
            partner=f"{self.hosts[other]}:{self.port}",
            shared=f"{self.shared_host}:{self.port}",
            pair_key=self.key,
            token=self.token,
            heartbeat=HEARTBEAT,
            extra=extra,
        )
        if self.topology is not None:
            args = [*self.topology.exec_prefix(name), *args]
        self.starts[name] += 1
        # every kill -9 run restarts a unit: more than 3 boots in 5 minutes would pacify it
        env = {"HAPAIR_PACIFY_MAX_BOOTS": "1000"}
        proc = self.procs.start(f"{name}-{self.starts[name]}", args, env)
        self.units[name] = proc

        def ready() -> bool:
            if not proc.alive():
                raise SystemExit(f"{name} exited {proc.popen.returncode}:\n{proc.tail()}")
            return self.request("GET", f"{self.url(name)}/readyz", timeout=1).status_code == 200

        poll(ready, timeout=30, interval=0.05, what=f"{name} ready")

    def settled(self, active: str, standby: str) -> bool:
        a, s = self.me(active), self.me(standby)
        return bool(a["role"] == "active" and a["serving_shared"] and s["role"] == "standby")

    def wait_settled(self, active: str, standby: str, timeout: float = 20) -> None:
        poll(lambda: self.settled(active, standby), timeout=timeout, interval=0.02,
             what=f"{active} active, {standby} standby")  # fmt: skip

    def kill9(self, name: str) -> None:
        self.units[name].kill9()

    def failover_time(self, name: str, since: float, timeout: float = 15) -> float:
        """Seconds from ``since`` to the first answer naming ``name`` on the shared address,
        as the first of ``PROBERS`` staggered client threads sees it."""
        found = threading.Event()
        at: list[float] = []

        def probe(delay: float) -> None:
            time.sleep(delay)  # staggering the probers, not waiting for a state
            with self.http(0.3) as c:
                while not found.is_set() and time.monotonic() - since < timeout:
                    try:
                        r = c.get(f"{self.shared}/api/v1/unit")
                    except httpx.HTTPError:
                        continue
                    if r.status_code == 200 and r.json().get("name") == name:
                        at.append(time.monotonic())
                        found.set()
                    else:
                        time.sleep(0.01)

        pool = self.client or ThreadPoolExecutor(max_workers=PROBERS)
        futures = [pool.submit(probe, i * 0.3 / PROBERS) for i in range(PROBERS)]
        for f in futures:
            f.result()
        if pool is not self.client:
            pool.shutdown()
        if not at:
            raise TimeoutError(f"{name} never answered on {self.shared} within {timeout} s")
        return min(at) - since


def run_freezes(site: Site, runs: int, active: str) -> tuple[list[float], list[float]]:
    """Failover times (client's view) and, after SIGCONT, the time to one active."""
    times, resumes = [], []
    standby = partner_of(active)
    for _ in range(runs):
        site.wait_settled(active, standby)
        pid = site.units[active].pid
        stopped = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            if site.netns:
                times.append(site.failover_time(standby, stopped))
            else:

                def unavailable(s: str = standby) -> bool:
                    me = site.me(s)
                    return bool(me["reason"] == "shared-address-unavailable")

                poll(unavailable, timeout=15, interval=0.02, what="shared-address-unavailable")
                times.append(time.monotonic() - stopped)
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()

        def one_active(pair: tuple[str, str] = (active, standby)) -> str:
            for a, s in (pair[::-1], pair):
                if site.settled(a, s):
                    return a
            return ""

        winner = poll(one_active, timeout=20, interval=0.02, what="one active after SIGCONT")
        resumes.append(time.monotonic() - resumed)
        active, standby = winner, partner_of(winner)
    return times, resumes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--loopback", action="store_true", help="one host even as root")
    ns = parser.parse_args(argv)
    print(machine_note())
    site = Site(Procs(prefix="hapair-failover-"), netns=netns_usable() and not ns.loopback)
    print(f"where: {site.describe()}")
    try:
        site.start("first")
        poll(lambda: site.shared_name() == "first", timeout=20, what="first on the shared address")
        site.start("second")
        site.wait_settled("first", "second")
        set_ha_timeout(site.request, site.shared, site.url("second"), HA_TIMEOUT)
        target = HA_TIMEOUT + 1.0
        print(f"ha_timeout {HA_TIMEOUT} s, heartbeat {HEARTBEAT} s, {ns.runs} runs each")
        kills, active = kill_failovers(site, ns.runs, "first")
        answers = "new active answers on the shared address"
        print(seconds_line(f"kill -9 of the active -> {answers}", kills, target))
        freezes, resumes = run_freezes(site, ns.runs, active)
        if site.netns:
            print(seconds_line(f"SIGSTOP of the active -> {answers}", freezes, target))
        else:
            label = (
                "SIGSTOP of the active -> survivor says shared-address-unavailable "
                "(one host: it cannot bind the frozen unit's socket)"
            )
            print(seconds_line(label, freezes))
        resumed = "SIGCONT -> one active serving, the other standby"
        print(seconds_line(resumed, resumes, 2 * HEARTBEAT))
    except BaseException:
        for name, proc in site.units.items():
            print(f"--- {name} ({proc.log}):\n{proc.tail(15)}", file=sys.stderr)
        raise
    finally:
        site.close()
    print(machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
