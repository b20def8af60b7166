"""``GET /api/v1/ha/events`` delivery under stress: a slow client is cut off without slowing
writes, and a standby's stream survives its active's death (SPEC 5a)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import ADMIN_TOKEN, PARAMS, MakePair, start_unit
from tests.integration.pairs import Pair
from tests.integration.sse import EVENTS, Follower
from tests.support import HapairFactory, poll

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


@pytest.mark.xdist_group("timing")  # a ratio to a baseline: never beside the other timing tests
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
            print(f"300 writes: {baseline:.2f} s alone, {with_slow / 2:.2f} s with a slow client")
            # A client that held writes up would stop them once its 16 KiB were full (each
            # write then waits on it): the writes go on. A bound no loaded machine breaks; the
            # cost of clients to writes is measured by bench/events.py, not asserted here.
            assert with_slow / 2 < baseline * 5 + 5, (baseline, with_slow / 2)
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
    # the standby's stream is its Redis, a replica: a client that connects before the replica
    # has synced gets what the sync brings (revision 1 here) as news, rightly; this test
    # follows the writes after it
    pair.wait_in_sync(via=pair.first)
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
