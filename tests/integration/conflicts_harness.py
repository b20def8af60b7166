"""The harness of test_vid_conflict_netns.py (virtual-ID conflicts with real senders): what
each unit says (``conflicts``, ``statuses``, ``Watch`` all along), the event stream followed
from the client's namespace (``Stream``), another pair in namespaces of the same LAN
(``NsPair``) and a keepalived in the foreground (``keepalived_conf``, ``keepalived``,
``stop_keepalived``; test_adverts_netns.py starts it too)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from hapair.cli.lan import LanTopology
from tests.integration.lanpair import HEARTBEAT, PORT, LanPair
from tests.netns import netns_executor
from tests.support import NsHapairProcess, poll

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


def hold(seconds: float, check: Callable[[], bool], what: str) -> int:
    """``check()`` stays true for ``seconds``, checked all along (a deadline, no sleep); a
    status call that did not answer in time tells nothing, but at least 3 must answer. How
    many checks answered."""
    end = time.monotonic() + seconds
    answered = 0
    while time.monotonic() < end:
        try:
            ok = check()
        except httpx.HTTPError:
            ok = None
        assert ok is not False, what
        answered += ok is True
        threading.Event().wait(0.2)
    assert answered >= 3, f"{what}: only {answered} checks answered"
    return answered


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


def host_port(ip: str) -> str:
    return f"[{ip}]:{PORT}" if ":" in ip else f"{ip}:{PORT}"


class NsPair:
    """A hapair pair in namespaces of ``pair``'s LAN (``units``: mode -> (host, its address)),
    with its own pair key and the admin token of ``pair``, whose HTTP it uses."""

    def __init__(self, pair: LanPair, label: str, units: dict[str, tuple[str, str]],
                 shared_ip: str, prefix: int) -> None:  # fmt: skip
        self.pair, self.label, self.addresses = pair, label, units
        self.shared = f"http://{host_port(shared_ip)}"
        key = pair.tmp / f"{label}.key"
        key.write_text(secrets.token_urlsafe(32) + "\n")
        key.chmod(0o600)
        self.procs: dict[str, NsHapairProcess] = {}
        for name, partner in (("first", "second"), ("second", "first")):
            host, address = units[name]
            args = [
                "--listen", host_port(address),
                "--data-dir", str(pair.tmp / f"{label}-{name}"),
                "--mode", name,
                "--partner", host_port(units[partner][1]),
                "--shared", host_port(shared_ip),
                "--shared-interface", "eth0",
                "--shared-prefix", str(prefix),
                "--heartbeat-interval", str(HEARTBEAT),
                "--pair-key-file", str(key),
                "--admin-token-file", str(pair.tmp / "admin.token"),
            ]  # fmt: skip
            log_path = pair.tmp / f"{label}-{name}.log"
            proc = NsHapairProcess(pair.lan.exec_prefix(host), args, log_path=log_path)
            pair.factory.processes.append(proc)  # stopped by pid at teardown, logs printed
            self.procs[name] = proc

    def url(self, name: str) -> str:
        return f"http://{host_port(self.addresses[name][1])}"

    def start(self) -> None:
        """first active, then second standby."""
        for name in UNITS:
            proc = self.procs[name].start()

            def ready(p: NsHapairProcess = proc, n: str = name) -> bool:
                if p.returncode is not None:
                    raise AssertionError(f"{self.label} {n} exited {p.returncode}:\n{p.log_tail()}")
                r = self.pair.request("GET", f"{self.url(n)}/readyz", timeout=1)
                return r.status_code == 200

            poll(ready, timeout=20, interval=0.1, what=f"{self.label} {name} ready")
            role = "active" if name == "first" else "standby"
            poll(lambda n=name, r=role: statuses(self.pair, {n: self.url(n)})[n][0] == r,  # type: ignore[misc]
                 timeout=20, what=f"{self.label} {name} {role}")  # fmt: skip

    def units(self) -> dict[str, str]:
        """label/name -> URL, for ``Watch`` and ``statuses``."""
        return {f"{self.label}/{n}": self.url(n) for n in UNITS}

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.signal_stop()
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


def keepalived_conf(vrid: int, *, ipv6: bool = False, advert_int: int = 1) -> str:
    """One VRRP instance, master on ``eth0`` with VRID ``vrid`` every ``advert_int`` seconds;
    its virtual address 192.0.2.200/24 (``ipv6``: 2001:db8::200/64, VRRPv3), not a pair's."""
    six, address = ("6", "2001:db8::200/64") if ipv6 else ("", "192.0.2.200/24")
    return f"""global_defs {{
    router_id hapair_test_conflict{six}
}}
vrrp_instance conflict{six} {{
    state MASTER
    interface eth0
    virtual_router_id {vrid}
    priority 150
    advert_int {advert_int}
    virtual_ipaddress {{
        {address} dev eth0
    }}
}}
"""


def keepalived(lan: LanTopology, host: str, conf: str, tmp: Path) -> subprocess.Popen[bytes]:
    """keepalived in ``host``'s namespace, in the foreground with its own pid files, in a
    session of its own (stopped by that pid: ``stop_keepalived``)."""
    path = tmp / "keepalived.conf"
    path.write_text(conf)
    pids = [str(tmp / f"{k}.pid") for k in ("main", "vrrp", "check", "bfd")]
    with (tmp / "keepalived.log").open("wb") as out:
        return subprocess.Popen(
            [*lan.exec_prefix(host), "keepalived", "--dont-fork", "--log-console",
             "--log-detail", "--no-syslog", "--vrrp", "-f", str(path), "-p", pids[0],
             "-r", pids[1], "-c", pids[2], "-b", pids[3]],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop_keepalived(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # its session: keepalived and its VRRP child
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def statuses_links(pair: LanPair, url: str, name: str) -> dict[str, bool]:
    r = pair.request("GET", f"{url}/api/v1/ha/status", timeout=1.0)
    me = next(u for u in r.json()["units"] if u["name"] == name)
    found: dict[str, bool] = me["links"]
    return found
