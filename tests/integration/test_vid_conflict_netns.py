"""Virtual-ID conflicts with real senders (SPEC 5b' "Virtual ID conflicts"; issue 18 point 3).

A pair (``LanPair``: first 192.0.2.11, second .12, shared .10, so virtual ID 10) runs in the
namespaces of a ``tests.netns.Lan``; on the same bridge, in hosts of their own:

- another hapair pair (another pair key, shared 192.0.2.20, units .21 and .22) PATCHed to
  virtual ID 10;
- a real keepalived (Debian) with a ``vrrp_instance`` whose ``virtual_router_id`` is 10 (its
  virtual address 192.0.2.200, not the pair's).

Each unit of the pair shows one ``virtual-id-conflict`` alert per sender, naming the sender's
address, and the first pair's stream carries the ``alert`` events; no role or icon changes on
either pair (each unit's status polled all along, and no ``role`` event on the stream). Once the
sender stops, the alerts clear by themselves and the stream carries their ends
(``"ended": true``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from hapair.cli.up_netns import PREFIX4
from tests.integration.lanpair import HEARTBEAT, PORT, LanPair
from tests.netns import needs_netns, netns_executor
from tests.support import NsHapairProcess, poll

pytestmark = [pytest.mark.timeout(180), needs_netns()]

VID = 10  # the pair's automatic virtual ID (192.0.2.10)
OTHER_SHARED = "192.0.2.20"
OTHER = {"first": ("other1", "192.0.2.21", "2001:db8::21"),
         "second": ("other2", "192.0.2.22", "2001:db8::22")}  # fmt: skip
KEEPALIVED = ("vrrp", "192.0.2.30", "2001:db8::30")
UNITS = ("first", "second")


def conflicts(pair: LanPair, url: str, name: str) -> list[str]:
    """The details of ``name``'s ``virtual-id-conflict`` alerts, as its own status says."""
    r = pair.request("GET", f"{url}/api/v1/ha/status", timeout=1.0)
    assert r.status_code == 200, r.text
    me = next(u for u in r.json()["units"] if u["name"] == name)
    return sorted(a["detail"] for a in me["alerts"] if a["reason"] == "virtual-id-conflict")


def detail(kind: str, sender: str) -> str:
    what = "a VRRP advertisement" if kind == "vrrp" else "an advert of another pair"
    return f"{what} with this pair's virtual ID from {sender}"


class Watch:
    """Each unit's (role, icon) as its own status says, from the client, all along."""

    def __init__(self, pair: LanPair, units: dict[str, str]) -> None:
        self.pair, self.units = pair, units  # label -> status URL of that unit
        self.seen: dict[str, set[tuple[str, str]]] = {label: set() for label in units}
        self.stop = threading.Event()
        self._ex = netns_executor(pair.lan.ns("client"))

    def _run(self) -> None:
        with pair_http(self.pair) as c:
            while not self.stop.is_set():
                for label, url in self.units.items():
                    name = label.split("/")[-1]
                    try:
                        body = c.get(f"{url}/api/v1/ha/status").json()
                    except (httpx.HTTPError, ValueError):
                        continue  # an answer that did not come in time claims nothing
                    me = next(u for u in body["units"] if u["name"] == name)
                    self.seen[label].add((me["role"], me["icon"]))
                self.stop.wait(0.2)

    def __enter__(self) -> Watch:
        self._future = self._ex.submit(self._run)
        return self

    def __exit__(self, *_: object) -> None:
        if not self.stop.is_set():
            self.stop.set()
            self._future.result(timeout=10)
            self._ex.shutdown()


def hold(seconds: float, check: Callable[[], bool], what: str) -> None:
    """``check()`` stays true for ``seconds``, checked all along (a deadline, no sleep)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert check(), what
        threading.Event().wait(0.2)


def pair_http(pair: LanPair) -> httpx.Client:
    return httpx.Client(
        headers={"Authorization": f"Bearer {pair.token}"}, timeout=1.0, trust_env=False
    )


class Stream:
    """``GET /ha/events?types=alert,role`` of ``url`` followed from the client namespace."""

    def __init__(self, pair: LanPair, url: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self._socket: socket.socket | None = None
        self._ex = netns_executor(pair.lan.ns("client"))
        self._token, self._url = pair.token, url
        self._future = self._ex.submit(self._run)
        assert self.connected.wait(10), f"stream not connected: {self.error!r}"

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        params = {"types": "alert,role"}
        url = f"{self._url}/api/v1/ha/events"
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5.0, read=60.0), trust_env=False) as c,
                connect_sse(c, "GET", url, headers=headers, params=params) as src,
            ):
                assert src.response.status_code == 200, src.response.read()
                self._socket = src.response.extensions["network_stream"].get_extra_info("socket")
                self.connected.set()
                for sse in src.iter_sse():
                    if sse.data:  # (not the keepalive)
                        self.events.append((sse.event, json.loads(sse.data)))
        except BaseException as exc:  # the close below ends it too
            self.error = exc
        finally:
            self.connected.set()

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [data for kind, data in list(self.events) if kind == type_]

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._future.exception(timeout=10)
        self._ex.shutdown()


@pytest.fixture
def stream_on_first(lan_pair: LanPair) -> Iterator[Stream]:
    """The pair started, then its active's stream followed (so only live events arrive)."""
    lan_pair.start_pair()
    stream = Stream(lan_pair, lan_pair.url("first"))
    try:
        yield stream
    finally:
        stream.close()


def alert_events(stream: Stream, sender: str, *, ended: bool) -> set[str]:
    """The units of the ``virtual-id-conflict`` alert events naming ``sender``."""
    return {
        e["unit"]
        for e in stream.of("alert")
        if e["reason"] == "virtual-id-conflict"
        and e["detail"].endswith(f" {sender}")
        and bool(e.get("ended")) is ended
    }


def statuses(pair: LanPair, units: dict[str, str]) -> dict[str, tuple[str, str]]:
    out = {}
    for label, url in units.items():
        name = label.split("/")[-1]
        body = pair.request("GET", f"{url}/api/v1/ha/status", timeout=2.0).json()
        me = next(u for u in body["units"] if u["name"] == name)
        out[label] = (me["role"], me["icon"])
    return out


class OtherPair:
    """A second hapair pair on the LAN: another pair key, the same admin token as ``pair``."""

    def __init__(self, pair: LanPair) -> None:
        self.pair = pair
        key = pair.tmp / "other.key"
        key.write_text(secrets.token_urlsafe(32) + "\n")
        key.chmod(0o600)
        self.procs: dict[str, NsHapairProcess] = {}
        for name, partner in (("first", "second"), ("second", "first")):
            host, ipv4, ipv6 = OTHER[name]
            pair.lan.add_host(host, ipv4, ipv6)
            args = [
                "--listen", f"{ipv4}:{PORT}",
                "--data-dir", str(pair.tmp / host),
                "--mode", name,
                "--partner", f"{OTHER[partner][1]}:{PORT}",
                "--shared", f"{OTHER_SHARED}:{PORT}",
                "--shared-interface", "eth0",
                "--shared-prefix", str(PREFIX4),
                "--heartbeat-interval", str(HEARTBEAT),
                "--pair-key-file", str(key),
                "--admin-token-file", str(pair.tmp / "admin.token"),
            ]  # fmt: skip
            proc = NsHapairProcess(
                pair.lan.exec_prefix(host), args, log_path=pair.tmp / f"{host}.log"
            )
            pair.factory.processes.append(proc)  # stopped by pid at teardown, logs printed
            self.procs[name] = proc

    def url(self, name: str) -> str:
        return f"http://{OTHER[name][1]}:{PORT}"

    def start(self) -> None:
        for name in UNITS:
            proc = self.procs[name].start()

            def ready(p: NsHapairProcess = proc, n: str = name) -> bool:
                if p.returncode is not None:
                    raise AssertionError(f"other {n} exited {p.returncode}:\n{p.log_tail()}")
                r = self.pair.request("GET", f"{self.url(n)}/readyz", timeout=1)
                return r.status_code == 200

            poll(ready, timeout=20, interval=0.1, what=f"other {name} ready")
        paired = {"other/first": ("active", "green-active"), "other/second": ("standby", "green")}
        poll(lambda: statuses(self.pair, self.units()) == paired, timeout=20, what="paired")

    def units(self) -> dict[str, str]:
        return {f"other/{n}": self.url(n) for n in UNITS}

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()


def wait_conflicts(pair: LanPair, urls: dict[str, str], want: list[str], what: str,
                   timeout: float = 15) -> None:  # fmt: skip
    """Until each unit (name -> its URL) shows exactly the conflicts ``want``."""
    poll(lambda: all(conflicts(pair, url, n) == want for n, url in urls.items()),
         timeout=timeout, what=what)  # fmt: skip


def wait_alerts(stream: Stream, senders: list[str], *, ended: bool, what: str) -> None:
    """Until the stream holds both units' alert events (or ends) for each of ``senders``."""
    poll(lambda: all(alert_events(stream, s, ended=ended) == set(UNITS) for s in senders),
         timeout=10, what=what)  # fmt: skip


def test_another_pair_with_the_same_virtual_id_is_a_conflict_that_clears(
    lan_pair: LanPair, stream_on_first: Stream
) -> None:
    stream = stream_on_first
    mine = {n: lan_pair.url(n) for n in UNITS}
    other = OtherPair(lan_pair)
    other.start()  # virtual ID 20 (192.0.2.20): no conflict yet
    watched = {**mine, **other.units()}
    before = statuses(lan_pair, watched)
    wait_conflicts(lan_pair, mine, [], "no conflict before", timeout=1)
    senders = [OTHER[n][1] for n in UNITS]
    with Watch(lan_pair, mine) as watch, Watch(lan_pair, other.units()) as other_watch:
        started = time.monotonic()
        url = f"http://{OTHER_SHARED}:{PORT}/api/v1/ha/parameters"
        r = lan_pair.request("PATCH", url, json={"virtual_id": VID})
        assert r.status_code == 200, r.text
        want = sorted(detail("hapair", s) for s in senders)
        wait_conflicts(lan_pair, mine, want, "both units show both other units as conflicts")
        shown = time.monotonic() - started
        # the other pair sees this one the same way
        theirs = sorted(detail("hapair", s) for s in ("192.0.2.11", "192.0.2.12"))
        urls = {n: other.url(n) for n in UNITS}
        wait_conflicts(lan_pair, urls, theirs, "the other pair shows this one as conflicts")
        wait_alerts(stream, senders, ended=False, what="both units' alert events on the stream")
        other_watch.__exit__()  # what the other pair does once stopped is no conflict's doing
        stopped = time.monotonic()
        other.stop()
        wait_conflicts(lan_pair, mine, [], "the conflicts to clear once the other pair stopped")
        cleared = time.monotonic() - stopped
        wait_alerts(stream, senders, ended=True, what="both units' alert ends on the stream")
    print(
        f"another pair: conflicts shown on both units {shown:.2f} s after its PATCH virtual_id; "
        f"cleared {cleared:.2f} s after it began stopping; roles and icons seen meanwhile: "
        f"{watch.seen}, {other_watch.seen}; alert events: {stream.of('alert')}"
    )
    paired = {"first": ("active", "green-active"), "second": ("standby", "green")}
    assert statuses(lan_pair, mine) == {n: before[n] for n in UNITS} == paired
    assert watch.seen == {n: {before[n]} for n in mine}
    assert other_watch.seen == {label: {before[label]} for label in other.units()}
    assert stream.of("role") == []


ADVERT_INT = 3  # keepalived's seconds between adverts: 6 of the pair's heartbeat intervals


def _keepalived_conf(vrid: int) -> str:
    return f"""global_defs {{
    router_id hapair_test_conflict
}}
vrrp_instance conflict {{
    state MASTER
    interface eth0
    virtual_router_id {vrid}
    priority 150
    advert_int {ADVERT_INT}
    virtual_ipaddress {{
        192.0.2.200/24 dev eth0
    }}
}}
"""


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")
def test_a_keepalived_with_the_virtual_id_as_vrid_is_a_conflict_that_clears(
    lan_pair: LanPair, stream_on_first: Stream, tmp_path: Path
) -> None:
    stream = stream_on_first
    mine = {n: lan_pair.url(n) for n in UNITS}
    host, address, ipv6 = KEEPALIVED
    lan_pair.lan.add_host(host, address, ipv6)
    before = statuses(lan_pair, mine)
    conf = tmp_path / "keepalived.conf"
    conf.write_text(_keepalived_conf(VID))
    pids = [str(tmp_path / f"{k}.pid") for k in ("main", "vrrp", "check", "bfd")]
    want = [detail("vrrp", address)]
    with Watch(lan_pair, mine) as watch:
        with (tmp_path / "keepalived.log").open("wb") as out:
            started = time.monotonic()
            proc = subprocess.Popen(
                [*lan_pair.lan.exec_prefix(host), "keepalived", "--dont-fork", "--log-console",
                 "--log-detail", "--no-syslog", "--vrrp", "-f", str(conf), "-p", pids[0],
                 "-r", pids[1], "-c", pids[2], "-b", pids[3]],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            # keepalived sends once master: 3 x advert_int (and a skew) after its start
            wait_conflicts(lan_pair, mine, want, "keepalived's adverts shown as a conflict", 40)
            wait_alerts(stream, [address], ended=False, what="both units' alerts on the stream")
            shown = time.monotonic() - started
            # it lasts while keepalived sends (each advert_int apart, longer than 3 of the
            # pair's intervals): held over 3 of its adverts, one alert per unit, no end
            hold(
                3 * ADVERT_INT,
                lambda: all(conflicts(lan_pair, mine[n], n) == want for n in UNITS),
                "the conflict lasts",
            )
            assert alert_events(stream, address, ended=True) == set()
        finally:
            stopped = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)  # its session: keepalived and its VRRP child
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        wait_conflicts(lan_pair, mine, [], "the conflict to clear once keepalived stopped", 40)
        cleared = time.monotonic() - stopped
        wait_alerts(stream, [address], ended=True, what="both units' alert ends on the stream")
    print(
        f"keepalived (advert_int {ADVERT_INT}): conflict shown on both units {shown:.2f} s after "
        f"it started (it sends once master, 3 x advert_int after its start); cleared "
        f"{cleared:.2f} s after SIGTERM; roles and icons seen meanwhile: {watch.seen}; alert "
        f"events: {stream.of('alert')}"
    )
    raised = [e for e in stream.of("alert") if not e["ended"]]
    assert sorted(e["unit"] for e in raised) == list(UNITS), "one alert per unit, no flapping"
    assert statuses(lan_pair, mine) == before
    assert watch.seen == {label: {before[label]} for label in mine}
    assert stream.of("role") == []
    assert lan_pair.lan.holders("192.0.2.200") == []  # keepalived's address went with it
