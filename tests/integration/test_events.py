"""``GET /api/v1/ha/events`` (SPEC 5a) with a real SSE client (httpx-sse) against real processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.integration.conftest import ADMIN_TOKEN, PARAMS, MakePair, Unit, problem, start_unit
from tests.integration.pairs import Pair
from tests.support import HapairFactory, poll

EVENTS = "/api/v1/ha/events"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Follower:
    """A client following the stream in a thread; its events are collected as they arrive."""

    def __init__(
        self,
        base: str,
        token: str = ADMIN_TOKEN,
        *,
        last_id: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        self.events: list[ServerSentEvent] = []
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self._stop = False
        headers = {"Authorization": f"Bearer {token}"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
        self._args = (f"{base}{EVENTS}", headers, params or {})
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.connected.wait(10), f"not connected: {self.error!r}"

    def _run(self) -> None:
        url, headers, params = self._args
        try:
            with connect_sse(self._client, "GET", url, headers=headers, params=params) as src:
                assert src.response.status_code == 200, src.response.read()
                self.connected.set()
                for sse in src.iter_sse():
                    if self._stop:
                        return
                    self.events.append(sse)
        except BaseException as exc:  # reported by the test (the thread cannot raise)
            self.error = exc
        finally:
            self.connected.set()
            self.ended.set()

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [json.loads(e.data) for e in self.events if e.event == type_]

    def revisions(self) -> list[int]:
        return [d["revision"] for d in self.of("revision")]

    def wait_revisions(self, expected: list[int], timeout: float = 5) -> None:
        poll(
            lambda: (
                self.revisions()[: len(expected)] == expected
                and len(self.revisions()) >= len(expected)
            ),
            timeout=timeout,
            what=f"revisions {expected} (have {self.revisions()})",
        )

    def close(self) -> None:
        self._stop = True
        self._client.close()
        self._thread.join(5)


@pytest.fixture
def unit(hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[Unit]:
    u = start_unit(
        hapair_factory,
        tmp_path / "unit",
        env={"HAPAIR_EVENTS_KEEPALIVE_S": "0.3", "HAPAIR_EVENTS_KEEP": "8"},
    )
    try:
        yield u
    finally:
        u.close_clients()


def _patch(client: httpx.Client, n: int) -> int:
    r = client.patch(
        PARAMS,
        json={"l4_sync_threshold": n},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["revision"])


def test_events_revision_reaches_client_with_id_type_and_data(unit: Unit) -> None:
    c = unit.client()
    f = Follower(unit.direct)
    try:
        rev = _patch(c, 5)
        f.wait_revisions([rev])
        ev = f.events[-1]
        assert ev.event == "revision"
        assert ev.id and "-" in ev.id
        data = json.loads(ev.data)
        assert data["actor"] == "bootstrap-admin"
        assert data["changes"] == {"l4_sync_threshold": [3, 5]}
        assert data["at"].endswith("Z") and "T" in data["at"]
    finally:
        f.close()


def test_events_resume_gives_no_gap_and_no_duplicate(unit: Unit) -> None:
    c = unit.client()
    f = Follower(unit.direct)
    try:
        revs = [_patch(c, n) for n in (4, 5, 6)]
        f.wait_revisions(revs)
    finally:
        f.close()
    ids = [e.id for e in f.events if e.event == "revision"]
    # ids increase
    keys = [tuple(int(p) for p in (i or "").split("-")) for i in ids]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    missed = [_patch(c, n) for n in (7, 8)]  # while nobody is connected
    for how in ("header", "query"):
        g = (
            Follower(unit.direct, last_id=ids[0])
            if how == "header"
            else Follower(unit.direct, params={"since": str(ids[0])})
        )
        try:
            live = _patch(c, 9 if how == "header" else 10)
            expected = [*revs[1:], *missed, *([live] if how == "header" else [live - 1, live])]
            g.wait_revisions(expected)
            assert g.revisions() == expected, how  # nothing twice, nothing missing
            assert not g.of("reset")
        finally:
            g.close()


def test_events_reset_when_id_is_older_than_kept(unit: Unit) -> None:
    c = unit.client()
    f = Follower(unit.direct)
    try:
        first = _patch(c, 4)
        f.wait_revisions([first])
    finally:
        f.close()
    old_id = f.events[-1].id
    revs = [_patch(c, n) for n in range(5, 15)]  # HAPAIR_EVENTS_KEEP=8: the first is trimmed
    g = Follower(unit.direct, last_id=old_id)
    try:
        g.wait_revisions(revs[-8:])
        assert g.events[0].event == "reset"
        reset = json.loads(g.events[0].data)
        assert reset["oldest"] == g.events[1].id
        assert g.revisions() == revs[-8:]
    finally:
        g.close()


def test_events_types_filter_and_bad_input_are_problems(unit: Unit) -> None:
    c = unit.client()
    only_role = Follower(unit.direct, params={"types": "role,pair"})
    both = Follower(unit.direct, params={"types": "revision"})
    try:
        rev = _patch(c, 4)
        both.wait_revisions([rev])
        assert not only_role.of("revision")
    finally:
        only_role.close()
        both.close()
    d = unit.client(shared=False)
    problem(d.get(EVENTS, params={"types": "revision,bogus"}), 400, "malformed")
    problem(d.get(EVENTS, params={"types": ""}), 400, "malformed")
    problem(d.get(EVENTS, params={"since": "yesterday"}), 400, "malformed")
    problem(d.get(EVENTS, params={"since": "1-2-3"}), 400, "malformed")
    problem(d.get(EVENTS, headers={"Last-Event-ID": "abc"}), 400, "malformed")
    problem(d.get(EVENTS, params={"since": "9" * 30}), 400, "malformed")
    problem(unit.client(token=None).get(EVENTS), 401, "unauthorized")


@pytest.mark.parametrize("attempt", range(3))
def test_events_unit_with_stream_clients_stops_at_once_on_sigterm(
    hapair_factory: HapairFactory, tmp_path: Path, attempt: int
) -> None:
    """A stop once waited for the fan-out reader forever: the cancellation of its blocked XREAD
    was lost (the reader task stayed 'cancelling', back in XREAD), until the SIGKILL 10 s later
    or the 15 s watchdog. Timing decides whether a stop meets it (about one in two, here, before
    the fix): three units. Each must exit by itself, status 0, no ``shutdown-stuck``."""
    unit = start_unit(
        hapair_factory, tmp_path / f"unit{attempt}", env={"HAPAIR_EVENTS_KEEPALIVE_S": "0.3"}
    )
    try:
        c = unit.client()
        filtered = Follower(unit.direct, params={"types": "role,pair"})
        every = Follower(unit.direct, params={"types": "revision"})
        try:
            every.wait_revisions([_patch(c, 4)])
        finally:
            filtered.close()
            every.close()
        bogus = unit.client(shared=False).get(EVENTS, params={"types": "bogus"})
        problem(bogus, 400, "malformed")
    finally:
        unit.close_clients()
    status = unit.proc.terminate()
    assert status == 0, f"exit {status} (-9: it had to be killed)\n{unit.proc.log_tail()}"
    assert "shutdown-stuck" not in unit.proc.log_text()


def test_events_viewer_token_on_direct_address(unit: Unit, tmp_path: Path) -> None:
    from tests.integration.conftest import create_token

    viewer = create_token(unit.data_dir, "viewer")
    f = Follower(unit.direct, token=viewer)
    try:
        rev = _patch(unit.client(), 4)
        f.wait_revisions([rev])
    finally:
        f.close()


def test_events_non_ha_unit_answers_ha_disabled(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    u = start_unit(hapair_factory, tmp_path / "solo", ha=False)
    try:
        problem(u.client().get(EVENTS), 409, "ha-disabled")
    finally:
        u.close_clients()


def test_events_keepalive_comment_arrives(unit: Unit) -> None:
    assert unit.shared is not None
    with (
        httpx.Client(timeout=5) as client,
        client.stream("GET", f"{unit.shared}{EVENTS}", headers=AUTH) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        start = time.monotonic()
        for raw in resp.iter_lines():
            if raw == ": keepalive":
                break
        # HAPAIR_EVENTS_KEEPALIVE_S=0.3 here; 15 s by default
        assert time.monotonic() - start < 3


ALT = {
    "ha_timeout": 3,
    "use_broadcast": True,
    "update_interface": "eth1",
    "hard_reboot_on_link_failure": True,
    "l4_connection_updates": True,
    "l4_sync_threshold": 4,
    "l4_sync_period": 60,
    "l4_sync_refresh_period": 10,
    "l7_persistence_updates": True,
    "multicast_interface": "eth1",
    "use_virtual_mac": True,
}


def _timed_writes(client: httpx.Client, n: int) -> float:
    """``n`` full replaces, each changing a dozen fields (revision events of ~700 bytes)."""
    start = time.perf_counter()
    for i in range(n):
        r = client.put(PARAMS, json=ALT if i % 2 == 0 else {})
        assert r.status_code == 200, r.text
    return time.perf_counter() - start


def test_events_slow_client_is_disconnected_and_never_slows_writes(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    u = start_unit(
        hapair_factory,
        tmp_path / "unit",
        env={"HAPAIR_EVENTS_QUEUE": "20", "HAPAIR_EVENTS_CLIENT_BUFFER": "16384"},
    )
    try:
        c = u.client()
        baseline = _timed_writes(c, 300)
        host, port = u.direct.removeprefix("http://").split(":")
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # a client that reads nothing, with small buffers (loopback's 64 KiB segments would
        # let the kernel buffer megabytes before the unit notices)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        slow.connect((host, int(port)))
        slow.sendall(
            f"GET {EVENTS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}"
            "\r\n\r\n".encode()
        )
        live = Follower(u.direct)  # a client that keeps up, for comparison
        try:
            with_slow = _timed_writes(c, 300) + _timed_writes(c, 300)
            assert with_slow / 2 < baseline * 1.5 + 0.5, (baseline, with_slow / 2)
            # the slow client was cut off: its socket reaches EOF or a reset after what the
            # kernel had buffered, instead of blocking forever
            slow.settimeout(0.5)

            def cut_off() -> bool:
                try:
                    return slow.recv(1 << 20) == b""
                except ConnectionResetError:
                    return True
                except TimeoutError:
                    return False

            poll(cut_off, timeout=10, interval=0.01, what="the slow client disconnected")
            assert "events-client-dropped" in u.proc.log_text()
            # the client that kept up got every one of the 600 revisions
            poll(lambda: len(live.revisions()) == 600, timeout=10, what="600 revisions")
            assert live.error is None
        finally:
            live.close()
            slow.close()
    finally:
        u.close_clients()


def test_events_standby_direct_address_sees_write_and_survivor_keeps_history(
    make_pair: MakePair,
) -> None:
    pair = make_pair(heartbeat=0.3)
    pair.start_both()
    r = pair.http.patch(f"{pair.shared_url}{PARAMS}", json={"ha_timeout": 3})
    assert r.status_code == 200, r.text
    f = Follower(pair.second.url, token=pair.token)  # the standby's direct address
    try:
        seen = [_shared_patch(pair, n) for n in (4, 5)]
        f.wait_revisions(seen)
    finally:
        f.close()
    last_id = [e.id for e in f.events if e.event == "revision"][-1]
    assert last_id is not None
    missed = [_shared_patch(pair, n) for n in (6, 7)]
    # replication is asynchronous: before the kill, the standby's Redis holds the events
    probe = Follower(pair.second.url, token=pair.token, params={"since": last_id})
    try:
        probe.wait_revisions(missed)
    finally:
        probe.close()
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second, timeout=15)
    g = Follower(pair.second.url, token=pair.token, last_id=last_id)
    try:
        g.wait_revisions(missed)
        live = _shared_patch(pair, 8)
        g.wait_revisions([*missed, live], timeout=10)
        assert g.revisions() == [*missed, live]
        # the survivor's own role change, written by it once its Redis is the master
        poll(
            lambda: any(
                d["unit"] == "second" and d["to"] == "active" and d["cause"] == "partner-lost"
                for d in g.of("role")
            ),
            timeout=5,
            what="second's role event (partner-lost)",
        )
    finally:
        g.close()


def _shared_patch(pair: Pair, n: int) -> int:
    def ok() -> int | None:
        try:
            r = pair.http.patch(f"{pair.shared_url}{PARAMS}", json={"l4_sync_threshold": n})
        except httpx.HTTPError:
            return None
        return int(r.json()["revision"]) if r.status_code == 200 else None

    revision = poll(ok, timeout=10, what="a write on the shared address")
    assert revision is not None
    return revision


def test_hapair_events_json_prints_events(unit: Unit) -> None:
    rev = _patch(unit.client(), 4)
    cmd = [sys.executable, "-m", "hapair", "events", "--url", unit.direct]
    cmd += ["--token", ADMIN_TOKEN, "--since", "0-0", "--json"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = json.loads(proc.stdout.readline())
            lines.append(got)
            if got["event"] == "revision" and got["data"]["revision"] == rev:
                break
        assert lines[-1]["data"]["revision"] == rev, lines
        assert lines[-1]["id"]
    finally:
        proc.terminate()  # by pid
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()
