"""Failover as a client sees it (SPEC 7, issue 23): kill -9 and SIGSTOP of the active, hapair
and keepalived side by side in the same namespaces, and what each costs at idle.

Run from the repository root: ``python -m bench.failover [--runs 10] [--keepalived]``.

As root (network namespaces): ``hapair up --netns``'s topology under a unique prefix, each unit
``hapair serve`` in its namespace with its embedded Redis and the shared address 192.0.2.10 as a
virtual IP (``--shared-interface eth0``); the client is a namespace on the same bridge, and its
requests go through the virtual IP, following the gratuitous ARPs. Without root: the pair on
loopback (127.0.0.11/.12, shared 127.0.0.10), where a frozen process keeps the shared socket, so
a SIGSTOP failover cannot complete before SIGCONT: the figure printed for it is when the
survivor *says* it cannot serve (``shared-address-unavailable``).

Each run: ``--ha-timeout`` (3) and ``--heartbeat`` (1 s, the default of ``hapair serve``); the
fault hits the active at a phase of its heartbeat (one interval after the pair has settled and
the standby is in sync, then a chosen time after the next beat, when the units tick and send
their heartbeats and adverts); the phases are drawn once (``Phases``: one uniform draw in each
tenth of 0.05 s to the interval less 0.05 s, shuffled; ``--seed``) and keepalived's faults
come at the same phases after its master's adverts (tcpdump on the client's eth0), so the two
medians differ by what the systems do, not by the draw; four prober threads
in the client (staggered, 0.3 s timeout, a new connection per request, each polling every 20 ms)
GET ``/api/v1/unit`` on the shared address; the figure is the time from the fault to the first
answer naming the other unit, and (from the new active's ``deadline`` log line) from the last
sign of life it had of its partner, the SPEC's measure. After kill -9
the killed unit is started again (it comes back standby) and the next run goes the other way;
after SIGSTOP the unit is resumed at once and the time until the pair has one active, serving,
and one standby (each as it says itself: SPEC 7's "resumed frozen active"), then until the
standby is in sync again, and when the resumed host's address went, are printed too.

In namespaces the kernel keeps the record: ``ip -ts monitor address`` on each unit's eth0 times
the virtual IP's add and removal (microseconds), tcpdump on the client's eth0 (when installed)
the gratuitous ARPs as they arrive; and beside the probers a client of its own process
(``bench/fresh_client.py``) opens a new connection every 5 ms without waiting on the earlier
ones, so "address added -> first answer" (issue 23 point 2) is not the probers' wait on a
connection that a frozen host's kernel accepted. Then ``--idle`` seconds at rest: RSS
(``VmRSS``) and CPU (utime + stime from ``/proc``) of each unit's hapair process and its Redis.

``--keepalived`` (``bench/keepalived.py``): then the hapair units stop and keepalived 2.2.7 runs in
the same two namespaces with the same virtual IP (advert 1 s, master-down 3.01 s), each beside a
tiny TCP responder that answers its unit's name; the same probers, faults (to keepalived's
whole process group; SIGSTOP freezes the unit's responder too, as a frozen hapair unit's server
freezes with it) and idle measure.

Nothing here waits for a state with a fixed sleep: every wait polls with a deadline. The only
sleeps are the phase before a fault and the probers' 20 ms period.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.common import (
    FIRST,
    ROOT,
    SECOND,
    SHARED,
    Proc,
    Procs,
    hapair_args,
    machine_note,
    partner_of,
    poll,
    seconds_line,
    set_ha_timeout,
)
from hapair.cli.lan import IPV4, PREFIX4, SHARED_IP, LanTopology, enter_netns, ip
from hapair.clock import next_beat
from hapair.store.embedded import free_port

T = TypeVar("T")
HEARTBEAT = 1.0
HA_TIMEOUT = 3
PROBERS = 4
PROBE_PERIOD = 0.02
FRESH_PERIOD = 0.005


def netns_usable() -> bool:
    return os.geteuid() == 0 and Path("/run").exists() and ip("netns", check=False).returncode == 0


class Site:
    """Where the pair runs and where the client stands: namespaces, or loopback."""

    def __init__(self, procs: Procs, *, netns: bool, heartbeat: float = HEARTBEAT) -> None:
        self.procs = procs
        self.heartbeat = heartbeat
        self.netns = netns
        self.token = "bench-" + secrets.token_hex(8)
        self.key = secrets.token_hex(16)
        self.topology: LanTopology | None = None
        self.add_to_answer: list[float] = []  # virtual IP added (kernel) -> client's first answer
        self.garp_to_answer: list[float] = []  # gratuitous ARP seen by the client -> first answer
        self.resync: list[float] = []  # SIGCONT -> one active, the other standby and in sync
        self.address_gone: list[float] = []  # SIGCONT -> the resumed host's address removed
        self.add_to_fresh: list[float] = []  # virtual IP added -> first answer, FRESH_PERIOD client
        # the kernel's own record of each address change on the units' eth0 (``ip -ts monitor``,
        # microseconds), and of each ARP frame the client's eth0 sees (tcpdump, when installed)
        self.watches: dict[str, Proc] = {}
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
            for host in ("first", "second"):
                ns = self.topology.ns(host)
                watch = ["ip", "-n", ns, "-ts", "monitor", "address", "dev", "eth0"]
                self.watches[host] = procs.start(f"addresses-{host}", watch)
            if shutil.which("tcpdump"):
                self.watches["client"] = procs.start("arp-client", [
                    "ip", "netns", "exec", self.topology.ns("client"),
                    "tcpdump", "-i", "eth0", "-n", "-l", "--immediate-mode", "-tt", "arp",
                ])  # fmt: skip
        else:
            self.port = free_port(SHARED)
            self.hosts = {"first": FIRST, "second": SECOND}
            self.shared_host = SHARED
        self.module = "hapair"  # what ``python -m`` runs for a unit
        self.ready_timeout = 30.0  # longer under ``bench/traced.py`` (tracemalloc slows a start)
        self.units: dict[str, Proc] = {}
        self.starts = {"first": 0, "second": 0}
        self.life_to_answer: list[float] = []  # partner last heard (log) -> first answer
        self.life_to_any: list[float] = []  # ... -> the first answer to either client

    def describe(self) -> str:
        if self.topology is not None:
            return (
                f"network namespaces {self.topology.prefix}-*: units {self.hosts['first']} and "
                f"{self.hosts['second']}, virtual IP {self.shared_host} on eth0, client "
                f"{IPV4['client']} on the same bridge"
            )
        why = "--loopback" if netns_usable() else "no root for namespaces"
        return f"one host (loopback 127.0.0.11/.12, shared 127.0.0.10; {why})"

    def close(self, keep_logs: Path | None = None) -> None:
        """Stops everything; ``keep_logs``: first copies every log the run wrote there (units,
        keepalived), to read beside the run's timeline."""
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in self.procs.dir.rglob("*.log"):
                name = log.relative_to(self.procs.dir).as_posix().replace("/", "_")
                shutil.copy(log, keep_logs / name)
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
    def start(self, name: str, env: dict[str, str] | None = None) -> None:
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
            heartbeat=self.heartbeat,
            extra=extra,
        )
        args[2] = self.module  # ``-m hapair``, or ``bench.profiled`` (``bench/idle.py``)
        if self.topology is not None:
            args = [*self.topology.exec_prefix(name), *args]
        self.starts[name] += 1
        # every kill -9 run restarts a unit: more than 3 boots in 5 minutes would pacify it
        env = {"HAPAIR_PACIFY_MAX_BOOTS": "1000", **(env or {})}
        proc = self.procs.start(f"{name}-{self.starts[name]}", args, env)
        self.units[name] = proc

        def ready() -> bool:
            if not proc.alive():
                raise SystemExit(f"{name} exited {proc.popen.returncode}:\n{proc.tail()}")
            return self.request("GET", f"{self.url(name)}/readyz", timeout=1).status_code == 200

        poll(ready, timeout=self.ready_timeout, interval=0.05, what=f"{name} ready")

    def settled(self, active: str, standby: str) -> bool:
        """``active`` serves the shared address and ``standby`` is the standby, in sync (its
        replication link up: the exchange that follows a link coming up is behind us)."""
        a, s = self.me(active), self.me(standby)
        return bool(
            a["role"] == "active"
            and a["serving_shared"]
            and s["role"] == "standby"
            and s.get("in_sync")
        )

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
        walls: list[float] = []

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
                        walls.append(time.time())
                        found.set()
                    else:
                        time.sleep(PROBE_PERIOD)

        pool = self.client or ThreadPoolExecutor(max_workers=PROBERS)
        futures = [pool.submit(probe, i * 0.3 / PROBERS) for i in range(PROBERS)]
        fresh = self._fresh_client(name, since, timeout)
        for f in futures:
            f.result()
        fresh_wall = self._fresh_answer(fresh, timeout)
        if pool is not self.client:
            pool.shutdown()
        if not at:
            raise TimeoutError(f"{name} never answered on {self.shared} within {timeout} s")
        self._record(name, min(walls) - (min(at) - since), min(walls), fresh_wall)
        return min(at) - since

    def _fresh_client(
        self, name: str, since: float, timeout: float
    ) -> subprocess.Popen[str] | None:
        """In namespaces: ``bench/fresh_client.py`` in the client's namespace, a client that
        never waits on a frozen host (its own process: see there)."""
        if self.topology is None:
            return None
        left = max(0.0, timeout - (time.monotonic() - since))
        return subprocess.Popen(
            ["ip", "netns", "exec", self.topology.ns("client"), sys.executable, "-m",
             "bench.fresh_client", self.shared_host, str(self.port), self.token, name,
             f"{left:.3f}"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip

    @staticmethod
    def _fresh_answer(fresh: subprocess.Popen[str] | None, timeout: float) -> float | None:
        """The fresh client's first answer (wall clock), or None; it is stopped either way."""
        if fresh is None:
            return None
        try:
            out, _ = fresh.communicate(timeout=timeout)
        finally:
            if fresh.poll() is None:
                fresh.kill()
                fresh.wait()
        return float(out) if out.strip() else None

    def _record(
        self, name: str, fault_wall: float, answer: float, fresh_wall: float | None
    ) -> None:
        """One run's figures from the kernel's and the units' records, and its timeline (to
        read beside the units' logs, ``--keep-logs``): ``answer`` is the probers' first."""
        added = self.added_at(name, fault_wall)
        garp = self.garp_at(added - 0.001) if added is not None else None
        stamp = datetime.fromtimestamp(fault_wall).strftime("%H:%M:%S.%f")[:-3]
        line = f"  fault at {stamp} (wall), {name} answered after {answer - fault_wall:.3f} s"
        heard = self.last_heard(name, fault_wall)
        if heard is not None:
            self.life_to_answer.append(answer - heard)
            if fresh_wall is not None:
                self.life_to_any.append(min(answer, fresh_wall) - heard)
            line += (
                f"; partner last heard {fault_wall - heard:.3f} s before the fault, "
                f"{answer - heard:.3f} s before the answer"
            )
        if added is not None:
            self.add_to_answer.append(answer - added)
            line += f"; address added {answer - added:.3f} s before the answer"
        if garp is not None:
            self.garp_to_answer.append(answer - garp)
            line += f", its gratuitous ARP at the client {answer - garp:.3f} s before"
        if added is not None and fresh_wall is not None:
            self.add_to_fresh.append(fresh_wall - added)
            line += f"; a new connection every 5 ms: {fresh_wall - added:.4f} s after the add"
        print(line, flush=True)

    def _log_events(self, name: str, event: str, since_wall: float) -> list[dict[str, Any]]:
        """The log lines of unit ``name`` with ``event`` stamped at or after ``since_wall``."""
        proc = self.units.get(name)
        if proc is None:
            return []
        found = []
        for line in proc.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError, AttributeError):
                e = json.loads(line)
                if e.get("event") == event and _ts(e["ts"]) >= since_wall:
                    found.append(e)
        return found

    def last_heard(self, name: str, since_wall: float) -> float | None:
        """The last sign of life of its partner ``name`` had when its failover deadline came
        after ``since_wall``: the ``deadline`` line's ``last_heard`` (``engine/node.py``)."""
        found = self._log_events(name, "deadline", since_wall)
        return _ts(found[0]["last_heard"]) if found else None

    def added_at(self, name: str, since_wall: float) -> float | None:
        """When ``name``'s kernel first added the virtual IP after ``since_wall`` (wall clock,
        microseconds): the ``ip -ts monitor address`` line of its eth0. (The unit's own
        ``announce`` log line is written after the add and the first gratuitous ARP, back on
        the event loop: a few to 20 ms late, so it read some runs as negative.)"""
        watch = self.watches.get(name)
        if watch is None:
            return None
        for line in watch.log.read_text(errors="replace").splitlines():
            stamp, _, rest = line.partition("] ")
            if f"inet {self.shared_host}/" not in rest or rest.startswith("Deleted"):
                continue
            with contextlib.suppress(ValueError):
                ts = datetime.fromisoformat(stamp.lstrip("[")).timestamp()
                if ts >= since_wall:
                    return ts
        return None

    def removed_at(self, name: str, since_wall: float) -> float | None:
        """When ``name``'s kernel last removed the virtual IP after ``since_wall`` (its lease
        ran out or the unit removed it): the ``Deleted`` line of ``ip -ts monitor``."""
        watch = self.watches.get(name)
        if watch is None:
            return None
        found = None
        for line in watch.log.read_text(errors="replace").splitlines():
            stamp, _, rest = line.partition("] ")
            if f"inet {self.shared_host}/" in rest and rest.startswith("Deleted"):
                with contextlib.suppress(ValueError):
                    ts = datetime.fromisoformat(stamp.lstrip("[")).timestamp()
                    if ts >= since_wall:
                        found = ts
        return found

    def garp_at(self, since_wall: float) -> float | None:
        """When the client's eth0 first saw a gratuitous ARP for the virtual IP after
        ``since_wall`` (tcpdump's ``-tt`` time), or None without tcpdump. Asked from the add:
        from the fault it could find the former active's re-announce of the run before."""
        watch = self.watches.get("client")
        if watch is None:
            return None
        needle = f"Request who-has {self.shared_host} tell {self.shared_host}"
        for line in watch.log.read_text(errors="replace").splitlines():
            if needle not in line:
                continue
            with contextlib.suppress(ValueError):
                ts = float(line.split()[0])
                if ts >= since_wall:
                    return ts
        return None


def ms_line(label: str, values: list[float], tail: str = "") -> str:
    ms = sorted(round(1000 * v, 1) for v in values)
    return (
        f"{label}: median {statistics.median(ms):.1f} ms, min {ms[0]}, max {ms[-1]} "
        f"(n={len(ms)}: {', '.join(map(str, ms))}){tail}"
    )


def _ts(stamp: str) -> float:
    """A log's RFC 3339 timestamp as POSIX time."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# a fault comes this long or more after the last message of the system under test (its
# news has reached the other unit), so "the phase" is the time since that message
PHASE_FROM = 0.05


class Phases:
    """When each fault comes after the last message (a heartbeat or an advert), the same for
    hapair and keepalived: stratified over the interval, ``PHASE_FROM`` clear of both messages
    (one uniform draw in each tenth of that span, for ten runs, in a shuffled order), one
    list for the kills and one for the freezes. With independent draws the two systems'
    medians of ten runs differed by up to 0.2 s on the draw alone (the fault's phase decides
    most of the time to failover); with the same phases they differ by what the systems do."""

    def __init__(self, runs: int, interval: float, seed: int) -> None:
        rnd = random.Random(seed)
        self.seed = seed
        self.kills = self._draw(rnd, runs, interval)
        self.freezes = self._draw(rnd, runs, interval)

    @staticmethod
    def _draw(rnd: random.Random, runs: int, interval: float) -> list[float]:
        # within the interval, clear of both messages (one later would follow the next one)
        span = interval - 2 * PHASE_FROM
        values = [PHASE_FROM + span * (i + rnd.random()) / runs for i in range(runs)]
        rnd.shuffle(values)
        return values


def settle_then(interval: float) -> None:
    """One interval after the pair settled before the fault's phase is counted (a delay, not a
    wait for a state): a pair that has just settled still makes the extra exchanges of its
    settling (a replication link that came up, a role change), each a sign of life at its own
    phase (seen: the SIGSTOP runs, which settle within 0.1 s of SIGCONT, heard their partner
    0.02 to 0.32 s before the fault in 10 of 10 when the fault came at once)."""
    time.sleep(interval)


def after_beat(interval: float, phase: float) -> None:
    """Sleeps until ``phase`` after a beat of hapair's heartbeat: each unit ticks, sends its
    heartbeat and its advert at multiples of the interval on the monotonic clock (``clock.
    next_beat``, the same clock in every namespace of the host), so its partner last heard it
    a few milliseconds after the last beat."""
    settle_then(interval)
    beat = next_beat(time.monotonic(), interval)
    time.sleep(max(0.0, beat + phase - time.monotonic()))


def run_kills(site: Site, phases: list[float], active: str) -> tuple[list[float], str]:
    """kill -9 of the settled active at each phase; the killed unit comes back standby."""
    times: list[float] = []
    for phase in phases:
        standby = partner_of(active)
        site.wait_settled(active, standby)
        after_beat(site.heartbeat, phase)
        killed = time.monotonic()
        site.kill9(active)
        times.append(site.failover_time(standby, killed))
        site.start(active)
        site.wait_settled(standby, active)
        active = standby
    return times, active


def run_freezes(
    site: Site, phases: list[float], active: str
) -> tuple[list[float], list[float], str]:
    """Failover times (client's view) and, after SIGCONT, the time to one active."""
    times, resumes = [], []
    standby = partner_of(active)
    for phase in phases:
        site.wait_settled(active, standby)
        pid = site.units[active].pid
        after_beat(site.heartbeat, phase)
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
        resumed, resumed_wall = time.monotonic(), time.time()

        def one_active(pair: tuple[str, str] = (active, standby)) -> str:
            for a, s in (pair[::-1], pair):
                if site.settled(a, s):
                    return a
            return ""

        def roles(pair: tuple[str, str] = (active, standby)) -> str:
            """SPEC 7's measure: one active serving, the other standby, each as it says."""
            for a, s in (pair[::-1], pair):
                me_a, role_s = site.me(a), site.me(s)["role"]
                if me_a["role"] == "active" and me_a["serving_shared"] and role_s == "standby":
                    return a
            return ""

        poll(roles, timeout=20, interval=0.02, what="one active after SIGCONT")
        resumes.append(time.monotonic() - resumed)
        winner = poll(one_active, timeout=20, interval=0.02, what="in sync after SIGCONT")
        site.resync.append(time.monotonic() - resumed)
        gone = site.removed_at(active, resumed_wall - 10)
        if gone is not None:
            site.address_gone.append(gone - resumed_wall)
        active, standby = winner, partner_of(winner)
    return times, resumes, active


# ---- idle cost ------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (the embedded Redis of a hapair unit)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cost(groups: dict[str, list[int]], seconds: float) -> dict[str, tuple[float, float]]:
    """Per group of pids: (RSS in MB at the end, % of one core over ``seconds`` at rest)."""
    before = {k: sum(cpu_s(p) for p in pids) for k, pids in groups.items()}
    start = time.monotonic()
    time.sleep(seconds)  # the measurement window itself: nothing is waited for
    took = time.monotonic() - start
    out = {}
    for k, pids in groups.items():
        used = sum(cpu_s(p) for p in pids) - before[k]
        out[k] = (sum(rss_mb(p) for p in pids), 100 * used / took)
    return out


def cost_line(label: str, cost: dict[str, tuple[float, float]]) -> str:
    parts = [f"{k}: {mb:.1f} MB RSS, {pct:.2f} % of a core" for k, (mb, pct) in cost.items()]
    return f"{label}: " + "; ".join(parts)


def summary(values: list[float]) -> str:
    """A table cell: median (min-max)."""
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


# ---- keepalived -----------------------------------------------------------------------------


class KeepalivedSide:
    """keepalived in the site's namespaces (``bench/keepalived.py``), probed like hapair."""

    def __init__(self, site: Site) -> None:
        from bench import keepalived as kad

        assert site.topology is not None
        self.kad = kad
        self.site = site
        self.k = kad.Keepalived(site.topology, site.procs.dir / "keepalived")
        self.left_behind = False  # a killed keepalived left the virtual IP on its host
        self.faults: list[float] = []  # when each fault came (monotonic)
        # each VRRP advert as the client's eth0 sees it (the faults' phases count from them)
        self.adverts = site.procs.start("vrrp-client", [
            "ip", "netns", "exec", site.topology.ns("client"),
            "tcpdump", "-i", "eth0", "-n", "-l", "--immediate-mode", "-tt", "vrrp",
        ])  # fmt: skip

    def advert_times(self) -> list[float]:
        """The monotonic times of the VRRP adverts the client saw so far."""
        offset = time.time() - time.monotonic()
        found = []
        for line in self.adverts.log.read_text(errors="replace").splitlines():
            if "VRRP" in line and "Advertisement" in line:
                with contextlib.suppress(ValueError, IndexError):
                    found.append(float(line.split()[0]) - offset)
        return found

    def after_advert(self, phase: float) -> None:
        """Sleeps until ``phase`` after an advert of the master (``after_beat``'s twin). The
        master advertises every second on its own timer (1.0002 s apart, measured), so the
        advert is the last one seen plus whole intervals: a wait for the next line of the
        capture read it up to 0.6 s late now and then."""
        settle_then(1.0)
        last = poll(lambda: (a := self.advert_times()) and a[-1], timeout=5, what="an advert")
        now = time.monotonic()
        advert = last + max(0, math.ceil(now + 0.01 - phase - last))
        time.sleep(max(0.0, advert + phase - time.monotonic()))

    def phase_seen(self, fault: float) -> float:
        """How long before ``fault`` the last advert came (the fault's actual phase)."""
        before = [a for a in self.advert_times() if a <= fault]
        return fault - before[-1] if before else float("nan")

    def master(self) -> str:
        held = self.k.holders()
        return held[0] if len(held) == 1 else ""

    def answer_from(self, name: str, since: float, timeout: float = 15) -> float:
        """Seconds from ``since`` to the first answer of ``name``'s responder through the
        virtual IP, as the first of ``PROBERS`` staggered client threads sees it."""
        found = threading.Event()
        at: list[float] = []

        def probe(delay: float) -> None:
            time.sleep(delay)  # staggering the probers
            while not found.is_set() and time.monotonic() - since < timeout:
                if self.kad.ask_name(0.3) == name:
                    at.append(time.monotonic())
                    found.set()
                else:
                    time.sleep(PROBE_PERIOD)

        assert self.site.client is not None
        futures = [self.site.client.submit(probe, i * 0.3 / PROBERS) for i in range(PROBERS)]
        for f in futures:
            f.result()
        if not at:
            raise TimeoutError(f"{name} never answered on the virtual IP")
        return min(at) - since

    def start(self) -> str:
        self.k.start_responders()
        for name in ("first", "second"):
            poll(lambda n=name: self.site.on_client(lambda: self.kad.direct_name(n)) == n,
                 timeout=10, what=f"responder in {name}")  # fmt: skip
        self.k.start("first")
        self.k.start("second")
        active = poll(self.master, timeout=self.kad.settle_time() + 10, what="a master")
        self.answer_from(active, time.monotonic())
        return active

    def kills(self, phases: list[float], active: str) -> tuple[list[float], str]:
        times: list[float] = []
        for phase in phases:
            standby = partner_of(active)
            self.after_advert(phase)
            killed = time.monotonic()
            self.faults.append(killed)
            self.k.units[active].signal(signal.SIGKILL)
            times.append(self.answer_from(standby, killed))
            self.k.units[active].popen.wait()
            if active in self.k.holders():
                self.left_behind = True  # keepalived leaves its address on SIGKILL
                assert self.site.topology is not None
                ip("-n", self.site.topology.ns(active), "addr", "del",
                   f"{SHARED_IP}/{PREFIX4}", "dev", "eth0", check=False)  # fmt: skip
            self.k.start(active)
            poll(lambda a=standby: self.master() == a, timeout=15, what=f"{standby} master")
            active = standby
        return times, active

    def freezes(self, phases: list[float], active: str) -> list[float]:
        times: list[float] = []
        for phase in phases:
            standby = partner_of(active)
            self.after_advert(phase)
            stopped = time.monotonic()
            self.faults.append(stopped)
            # the unit freezes whole: keepalived and the service it fronts (the responder), as
            # a frozen hapair unit's server freezes with its engine (a client's request to the
            # frozen host hangs in both cases, rather than answering the old name at once)
            self.k.units[active].signal(signal.SIGSTOP)
            self.k.responders[active].signal(signal.SIGSTOP)
            try:
                times.append(self.answer_from(standby, stopped))
            finally:
                self.k.units[active].signal(signal.SIGCONT)
                self.k.responders[active].signal(signal.SIGCONT)
            active = poll(self.master, timeout=20, what="one master after SIGCONT")
            poll(lambda a=active: self.site.on_client(lambda: self.kad.ask_name(0.3)) == a,
                 timeout=15, what=f"{active} answering")  # fmt: skip
        return times

    def run(self, phases: Phases, idle: float) -> str:
        """Both faults and the idle cost; prints them and returns the table's row."""
        try:
            active = self.start()
            kills, active = self.kills(phases.kills, active)
            freezes = self.freezes(phases.freezes, active)
            groups = {f"keepalived {n}": self.k.units[n].pids() for n in ("first", "second")}
            cost = idle_cost(groups, idle)
        finally:
            self.k.close()
        print(seconds_line("keepalived, kill -9 -> the other answers", kills))
        print(seconds_line("keepalived, SIGSTOP -> the other answers", freezes))
        seen = [self.phase_seen(f) for f in self.faults]
        intended = phases.kills + phases.freezes
        print(
            "keepalived: each fault after the master's last advert (capture), intended: "
            + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(seen, intended, strict=False))
        )
        print(f"keepalived left the virtual IP on a killed unit's host: {self.left_behind}")
        print(cost_line(f"idle {idle:.0f} s, keepalived (parent + VRRP child)", cost))
        return (
            f"| keepalived 2.2.7, advert 1 s, master-down 3.01 s | {summary(kills)} | "
            f"{summary(freezes)} |"
        )


def hapair_runs(site: Site, ns: argparse.Namespace, phases: Phases) -> str:
    """Both faults against the hapair pair and its idle cost; prints them, returns the row."""
    site.start("first")
    poll(lambda: site.shared_name() == "first", timeout=20, what="first on the shared address")
    site.start("second")
    site.wait_settled("first", "second")
    set_ha_timeout(site.request, site.shared, site.url("second"), ns.ha_timeout)
    target = ns.ha_timeout + 1.0
    print(f"ha_timeout {ns.ha_timeout} s, heartbeat {ns.heartbeat} s, {ns.runs} runs each")
    kills, active = run_kills(site, phases.kills, "first")
    answers = "new active answers on the shared address"
    print(seconds_line(f"kill -9 of the active -> {answers}", kills, target))
    freezes, resumes, active = run_freezes(site, phases.freezes, active)
    if site.netns:
        print(seconds_line(f"SIGSTOP of the active -> {answers}", freezes, target))
    else:
        label = (
            "SIGSTOP of the active -> survivor says shared-address-unavailable "
            "(one host: it cannot bind the frozen unit's socket)"
        )
        print(seconds_line(label, freezes))
    resumed = "SIGCONT -> one active serving, the other standby"
    print(seconds_line(resumed, resumes, 2 * ns.heartbeat))
    print(seconds_line(f"{resumed}, in sync (the bench's settled)", site.resync))
    if site.address_gone:
        print(seconds_line(
            "SIGCONT -> the resumed former active's address gone (kernel; < 0: before SIGCONT)",
            site.address_gone, 2 * ns.heartbeat))  # fmt: skip
    if site.add_to_answer:
        print(ms_line(
            "virtual IP added (the new active's kernel, ip monitor) -> client's first answer",
            site.add_to_answer, "; issue 23's target <= 15 ms"))  # fmt: skip
    if site.add_to_fresh:
        print(ms_line(
            "virtual IP added (kernel) -> first answer to a client opening a new connection "
            "every 5 ms", site.add_to_fresh, "; issue 23's target <= 15 ms"))  # fmt: skip
    if site.garp_to_answer:
        print(ms_line(
            "gratuitous ARP at the client (tcpdump) -> client's first answer",
            site.garp_to_answer))  # fmt: skip
    if site.life_to_answer:
        print(seconds_line(
            "partner last heard (the new active's deadline log line) -> client's first answer, "
            "both faults", site.life_to_answer, ns.ha_timeout + 0.1))  # fmt: skip
    if site.life_to_any:
        print(seconds_line(
            "partner last heard -> the first answer to either client (the probers, or the "
            "one opening a new connection every 5 ms)", site.life_to_any,
            ns.ha_timeout + 0.1))  # fmt: skip
    over = [t for t in kills + freezes if t > ns.ha_timeout + 0.1]
    print(f"runs over ha_timeout + 0.1 s from the fault: {len(over)} of {len(kills + freezes)}")
    site.wait_settled(active, partner_of(active))
    groups = {
        f"hapair {name} ({'active' if name == active else 'standby'})": [
            proc.pid,
            *children(proc.pid),
        ]
        for name, proc in site.units.items()
    }
    cost = idle_cost(groups, ns.idle)
    print(cost_line(f"idle {ns.idle:.0f} s, hapair + its Redis", cost))
    return (
        f"| hapair, `ha_timeout` {ns.ha_timeout}, heartbeat {ns.heartbeat:g} s | "
        f"{summary(kills)} | {summary(freezes)} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT)
    parser.add_argument("--ha-timeout", type=int, default=HA_TIMEOUT)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds at rest measured")
    parser.add_argument("--keepalived", action="store_true", help="keepalived beside (netns)")
    parser.add_argument("--loopback", action="store_true", help="one host even as root")
    parser.add_argument("--keep-logs", type=Path, help="copy the units' logs here at the end")
    parser.add_argument("--seed", type=int, help="the faults' phases (Phases); else random")
    ns = parser.parse_args(argv)
    print(machine_note())
    phases = Phases(ns.runs, ns.heartbeat, random.randrange(2**32) if ns.seed is None else ns.seed)
    print(
        f"phases (seed {phases.seed}; the same for keepalived): kill -9 "
        + ", ".join(f"{p:.2f}" for p in phases.kills)
        + "; SIGSTOP "
        + ", ".join(f"{p:.2f}" for p in phases.freezes)
        + " s after the last heartbeat or advert"
    )
    site = Site(
        Procs(prefix="hapair-failover-"),
        netns=netns_usable() and not ns.loopback,
        heartbeat=ns.heartbeat,
    )
    print(f"where: {site.describe()}")
    rows: list[str] = []
    try:
        rows.append(hapair_runs(site, ns, phases))
        if ns.keepalived and site.netns:
            for proc in site.units.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)
                proc.stop()
            rows.insert(0, KeepalivedSide(site).run(phases, ns.idle))
        print("\n| system | kill -9, median (min-max) | SIGSTOP, median (min-max) |")
        print("| --- | --- | --- |")
        print("\n".join(rows))
    except BaseException:
        for name, proc in site.units.items():
            print(f"--- {name} ({proc.log}):\n{proc.tail(15)}", file=sys.stderr)
        raise
    finally:
        site.close(keep_logs=ns.keep_logs)
    print(machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
